// The swarm's LLM broker (see llm_broker.hpp). Every call is in `chats` or `embeds` from its
// arrival until it is answered, and only the path that removes it answers it; its grant is
// released exactly once, by whichever path sets `lease` to 0. Grants and releases happen on the
// pool's core under its lock (no message); a call that must wait for a slot or its rate buckets
// goes to the pool actor's queue. The client's completions and the journal writer's "kept" come
// back as messages from their own threads.
#include "runtime/llm_broker.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "net/llm_tape.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"
#include "runtime/detail/broker_calls.hpp"
#include "runtime/detail/broker_rules.hpp"
#include "runtime/detail/journal_keys.hpp"
#include "runtime/detail/journal_writer.hpp"

namespace swarm {

namespace {

using detail::charge_estimate;
using detail::context_text;
using detail::ms_text;
using detail::refusal;

using detail::broker_actor;
using detail::brokered_call;
using detail::call_context;
using detail::call_map;
using detail::call_origin;
using detail::chat_done_atom;
using detail::embed_done_atom;
using detail::head_of;
using detail::kept_atom;

struct broker_state {
  std::shared_ptr<net::llm_client> client;
  resource_pool_actor pool;
  std::shared_ptr<detail::pool_core> core; ///< null if the pool was gone when the broker started
  caf::error no_pool;                      ///< why `core` is null
  llm_broker_options opts;
  std::unique_ptr<detail::journal_writer> writer; ///< null without a journal
  detail::journal_keys seen; ///< occurrences of journal keys, per run (bounded, see there)
  uint64_t tickets = 0;      ///< this broker's tickets to withdraw waiting grant requests
  call_map<chat_result> chats;
  call_map<embedding_result> embeds;
  /// The journal keys each caller was given, in order (at most max_given). A caller that dies (a
  /// crash, its node lost) leaves its keys to `orphans`: its replacement, asking the same step of
  /// the same task again, gets the same key, so a call its predecessor finished is answered from
  /// the journal (or taken over while still in flight), never sent again.
  std::map<caf::actor_addr, std::deque<std::string>> given;
  std::map<std::string, std::deque<std::string>> orphans; ///< occurrence-0 key -> keys left
  static constexpr size_t max_given = 512;
  static constexpr size_t max_orphans = 4096;

  broker_state() = default;
  broker_state(const broker_state&) = delete;
  broker_state& operator=(const broker_state&) = delete;

  // The broker is going away: nothing may keep a slot. Held grants are released (zero usage:
  // the replies will never be seen), waiting requests withdrawn, sent calls cancelled.
  ~broker_state() {
    auto drop = [this](auto& calls) {
      for (auto& [id, call] : calls) {
        if (call.sent && call.lease != 0 && !opts.inner && client)
          client->cancel(id);
        if (!core)
          continue;
        if (call.lease != 0)
          release(call.lease, usage{});
        else if (!call.sent)
          caf::anon_send(pool, grant_withdraw{call.ticket});
      }
    };
    drop(chats);
    drop(embeds);
  }

  void tick() const {
    if (opts.handled)
      opts.handled->fetch_add(1, std::memory_order_relaxed);
  }

  /// A journal key claimed for a call (claim_key).
  struct claimed_key {
    std::string key;
    bool new_caller = false; ///< the caller must be monitored
    bool left = false;       ///< a dead caller's key: its call may still be in flight
  };

  /// The journal key of `req` for `caller`: one a dead caller left for it (see `given`), else a
  /// new occurrence (key_for).
  claimed_key claim_key(const chat_request& req, const caf::actor_addr& caller) {
    claimed_key out;
    auto o = orphans.find(net::journal_key(req, 0));
    if (o != orphans.end()) {
      out.key = std::move(o->second.front());
      out.left = true;
      o->second.pop_front();
      if (o->second.empty())
        orphans.erase(o);
    } else {
      out.key = key_for(req);
    }
    if (!caller)
      return out;
    auto [g, fresh] = given.try_emplace(caller);
    g->second.push_back(out.key);
    if (g->second.size() > max_given)
      g->second.pop_front();
    out.new_caller = fresh;
    return out;
  }

  /// Caller `who` died: its keys go to `orphans`, in the order it was given them.
  void orphan_keys_of(const caf::actor_addr& who) {
    auto g = given.find(who);
    if (g == given.end())
      return;
    for (auto& key : g->second) {
      auto base = key.substr(0, key.rfind('\n') + 1) + "0";
      orphans[base].push_back(std::move(key));
    }
    given.erase(g);
    // Bounded: keys nobody claimed (their runs ended, or no replacement came) go, oldest
    // positions first (keys sort by run id, then agent, task and step).
    while (orphans.size() > max_orphans)
      orphans.erase(orphans.begin());
  }

  /// The chat call of journal key `key` still in flight and not answered, if any.
  brokered_call<chat_result>* in_flight(const std::string& key) {
    for (auto& [id, call] : chats)
      if (call.key == key && !call.answered)
        return &call;
    return nullptr;
  }

  /// The journal key of `req`, counting it (net::journal_key, as the run journal keeps them).
  std::string key_for(const chat_request& req) {
    auto base = net::journal_key(req, 0);
    auto n = seen.next(req.run_id, base, [this](const std::string& run) {
      // Its journaled calls keep the request as it came, up to their answer.
      return std::any_of(chats.begin(), chats.end(), [&run](const auto& x) {
        return x.second.original && !x.second.key.empty() && x.second.original->run_id == run;
      });
    });
    return n == 0 ? base : net::journal_key(req, n);
  }

  /// Releases `lease` on the core and wakes the pool if callers wait for the slot; returns the
  /// budgets the use took past 80 %.
  std::vector<budget_crossing> release(uint64_t lease, const usage& use,
                                       bool estimated = false) const {
    auto out = detail::pool_release(*core, lease, use, estimated);
    if (out.wake)
      caf::anon_send(pool, detail::pool_wake{std::move(*out.wake), false});
    return std::move(out.crossed);
  }

  static inline const char* name = "swarm.llm_broker";
};

using broker_pointer = broker_actor::stateful_pointer<broker_state>;

/// Tells the monitor of the budgets chat call `call` took past 80 % (calls of a run only).
template <class Result>
void warn(broker_pointer self, const brokered_call<Result>& call,
          const std::vector<budget_crossing>& crossed) {
  auto& monitor = self->state.opts.monitor;
  if (crossed.empty() || !monitor)
    return;
  event head;
  if (!head_of(call, event_kind::budget_warning, head) || head.run_id.empty())
    return;
  for (const auto& x : crossed) {
    auto e = head;
    e.name = to_string(x.level);
    e.text = describe(x);
    emit_event(monitor, std::move(e));
  }
}

/// Removes call `id` if it is still the one with `ticket`: releases its grant (if it still holds
/// one) with zero usage and answers it with `err` (unless it was answered when cancelled).
template <class Result>
void fail(broker_pointer self, call_map<Result>& calls, uint64_t id, uint64_t ticket,
          caf::error err) {
  auto i = calls.find(id);
  if (i == calls.end() || i->second.ticket != ticket)
    return; // already finished on another path
  auto call = std::move(i->second);
  calls.erase(i);
  if (call.lease != 0)
    self->state.release(call.lease, usage{});
  if (!call.answered)
    call.rp.deliver(std::move(err));
}

template <class Result, class Request>
caf::typed_response_promise<Result> admit(broker_pointer self,
                                          call_map<Result> broker_state::*member, Request& req,
                                          grant_request ask, call_context ctx);

grant_request chat_grant(const chat_request& req, const llm_broker_options& opts) {
  grant_request ask;
  ask.agent = req.agent;
  ask.endpoint = req.endpoint.url;
  ask.model = req.model;
  ask.prompt_tokens = estimate_prompt_tokens(req);
  ask.completion_tokens = estimate_completion_tokens(req, opts);
  return ask;
}

/// Chat call `id` failed with `err` on its attempt `ticket`: if the failure is one another
/// endpoint may not have, time is left and a fallback too, its grant is released, an
/// llm_fallback event tells the switch, and the call is admitted again on the next fallback
/// (a grant of its own: its endpoint's slots, its model's price). False: `err` stands.
bool fall_back(broker_pointer self, uint64_t id, uint64_t ticket, const caf::error& err) {
  // Less than this left of the deadline: the next endpoint could not answer in time anyway.
  constexpr auto min_left = std::chrono::milliseconds(50);
  auto& st = self->state;
  auto i = st.chats.find(id);
  if (i == st.chats.end() || i->second.ticket != ticket)
    return false;
  auto& call = i->second;
  if (!call.original || call.fallback >= call.original->fallbacks.size() || call.answered ||
      call.cancelling || !llm_falls_back(err))
    return false;
  auto left = call.deadline - std::chrono::steady_clock::now();
  if (left < min_left)
    return false;
  const auto& orig = *call.original;
  const auto& next = orig.fallbacks[call.fallback];
  event e;
  if (st.opts.monitor && head_of(call, event_kind::llm_fallback, e)) {
    const auto& model = call.fallback == 0 ? orig.model : orig.fallbacks[call.fallback - 1].model;
    const auto& url =
        call.fallback == 0 ? orig.endpoint.url : orig.fallbacks[call.fallback - 1].endpoint.url;
    e.step = orig.step;
    e.name = next.model;
    e.text = next.endpoint.url;
    e.error = make_error(static_cast<errc>(err.code()),
                         "model " + model + " at " + url + ": " + context_text(err));
    emit_event(st.opts.monitor, std::move(e));
  }
  chat_request req = orig;
  req.endpoint = next.endpoint;
  req.model = next.model;
  req.fallbacks.clear();
  req.timeout = std::chrono::duration_cast<caf::timespan>(left);
  call_context ctx{std::move(call.rp), call.fallback + 1, call.deadline, std::move(call.key),
                   std::move(call.original)};
  auto lease = call.lease;
  st.chats.erase(i);
  if (lease != 0)
    st.release(lease, usage{}); // the failed attempt, as a failed call is released
  auto ask = chat_grant(req, st.opts);
  admit(self, &broker_state::chats, req, std::move(ask), std::move(ctx));
  return true;
}

/// Call `id` (attempt `ticket`) came back with `res`: its grant is settled with the reply's
/// usage (or the estimate), then it is answered, or first kept in the journal if it is journaled.
template <class Result>
void completed(broker_pointer self, call_map<Result>& calls, uint64_t id, uint64_t ticket,
               Result res) {
  auto& st = self->state;
  auto i = calls.find(id);
  if (i == calls.end() || i->second.ticket != ticket || i->second.writing)
    return;
  auto& call = i->second;
  auto estimated = charge_estimate(res, call.estimate);
  if constexpr (std::is_same_v<Result, chat_result>)
    res.fallback = call.fallback;
  if (call.lease != 0)
    warn(self, call, st.release(call.lease, res.use, estimated));
  call.lease = 0;
  if constexpr (std::is_same_v<Result, chat_result>) {
    if (!call.key.empty() && st.writer && !call.answered) {
      // Answered once durable: the writer thread puts it, then tells the broker.
      call.writing = true;
      // A weak handle: the last strong one going on the writer thread would destroy the broker
      // (and its writer) there.
      st.writer->put(call.key, call.original, std::move(res),
                     [addr = self->address(), id, ticket](caf::expected<chat_result> kept) {
                       auto hdl = caf::actor_cast<broker_actor>(addr);
                       if (!hdl)
                         return; // the broker is gone; the entry is kept all the same
                       if (kept)
                         caf::anon_send(hdl, kept_atom::value, id, ticket, std::move(*kept));
                       else
                         caf::anon_send(hdl, kept_atom::value, id, ticket, std::move(kept.error()));
                     });
      return;
    }
  }
  auto rp = std::move(call.rp);
  auto answered = call.answered;
  calls.erase(i);
  if (!answered)
    rp.deliver(std::move(res));
}

/// Call `id` failed with `err` on attempt `ticket`: a fallback, or the error is its answer.
template <class Result>
void failed(broker_pointer self, call_map<Result> broker_state::*member, uint64_t id,
            uint64_t ticket, caf::error err) {
  if constexpr (std::is_same_v<Result, chat_result>)
    if (fall_back(self, id, ticket, err))
      return;
  fail(self, self->state.*member, id, ticket, std::move(err));
}

/// Sends granted call `id` to the client (or the inner actor); its completion finishes it.
template <class Result, class Request>
void send_call(broker_pointer self, call_map<Result> broker_state::*member, uint64_t id,
               uint64_t ticket, Request req) {
  auto& st = self->state;
  (st.*member)[id].sent = true;
  if (st.opts.inner) {
    // No timeout of our own: the inner actor answers every call by its own timeout, and its
    // death reaches the down handler.
    self->request(st.opts.inner, caf::infinite, std::move(req))
        .then(
            [self, member, id, ticket](Result& res) {
              self->state.tick();
              completed(self, self->state.*member, id, ticket, std::move(res));
            },
            [self, member, id, ticket](caf::error& err) {
              self->state.tick();
              failed(self, member, id, ticket, std::move(err));
            });
    return;
  }
  // The client ends the call by its timeout (req.timeout) and always completes it; the
  // callback runs on an I/O thread: it only sends, through a weak handle (the last strong one
  // going there would destroy the broker on that thread).
  auto addr = self->address();
  if constexpr (std::is_same_v<Result, chat_result>) {
    auto on_delta = net::token_sink(st.opts.monitor, req);
    if (req.stream_tokens)
      req.stream = true;
    st.client->chat(
        std::move(req),
        [addr, id, ticket](caf::expected<chat_result> res) {
          auto hdl = caf::actor_cast<broker_actor>(addr);
          if (!hdl)
            return;
          if (res)
            caf::anon_send(hdl, chat_done_atom::value, id, ticket, std::move(*res));
          else
            caf::anon_send(hdl, chat_done_atom::value, id, ticket, std::move(res.error()));
        },
        std::move(on_delta));
  } else {
    st.client->embed(std::move(req), [addr, id, ticket](caf::expected<embedding_result> res) {
      auto hdl = caf::actor_cast<broker_actor>(addr);
      if (!hdl)
        return;
      if (res)
        caf::anon_send(hdl, embed_done_atom::value, id, ticket, std::move(*res));
      else
        caf::anon_send(hdl, embed_done_atom::value, id, ticket, std::move(res.error()));
    });
  }
}

/// Grants `req` on the pool's core and sends it, or queues it at the pool actor and sends it
/// once granted; see spawn_llm_broker.
template <class Result, class Request>
caf::typed_response_promise<Result> admit(broker_pointer self,
                                          call_map<Result> broker_state::*member, Request& req,
                                          grant_request ask, call_context ctx) {
  auto& st = self->state;
  auto& calls = st.*member;
  caf::typed_response_promise<Result> rp;
  if constexpr (std::is_same_v<Result, chat_result>)
    rp = ctx.rp.pending() ? std::move(ctx.rp) : self->make_response_promise<Result>();
  else
    rp = self->make_response_promise<Result>();
  auto id = req.call_id;
  if (calls.count(id) > 0) {
    rp.deliver(make_error(errc::invalid_argument,
                          "call_id " + std::to_string(id) + " is already in flight"));
    return rp;
  }
  if (!st.core) {
    rp.deliver(st.no_pool);
    return rp;
  }
  ask.priority = st.opts.priority;
  // The call's deadline (req.timeout, from now) covers the wait for its grant too.
  auto call_timeout = std::max(req.timeout, caf::timespan{0});
  auto arrived = std::chrono::steady_clock::now();
  ask.timeout = std::min(st.opts.grant_timeout, call_timeout);
  ask.lease = call_timeout;
  auto adm = detail::pool_admit(*st.core, ask);
  if (adm.what == detail::admission::refused) {
    rp.deliver(refusal(adm.err, ask.agent, ask.endpoint, st.opts.grant_timeout, call_timeout));
    return rp;
  }
  // The client opens as many connections to the endpoint as the pool grants slots on it.
  req.endpoint.max_connections = static_cast<uint32_t>(
      std::min<size_t>(adm.max_concurrent, std::numeric_limits<uint32_t>::max()));
  auto ticket = ++st.tickets;
  auto& call = calls[id];
  call.rp = rp;
  call.ticket = ticket;
  call.estimate = usage{ask.prompt_tokens, ask.completion_tokens, 0};
  call.deadline = ctx.deadline == std::chrono::steady_clock::time_point{} ? arrived + call_timeout
                                                                          : ctx.deadline;
  if constexpr (std::is_same_v<Request, chat_request>) {
    call.fallback = ctx.fallback;
    call.key = std::move(ctx.key);
    call.original = std::move(ctx.original);
    if (st.opts.monitor && !call.original) // only events need it
      call.origin = std::make_unique<call_origin>(call_origin{req.run_id, req.task_id, req.agent});
  }
  if (adm.what == detail::admission::granted) {
    if (adm.sweep.count() > 0)
      self->delayed_send(st.pool, adm.sweep, detail::lease_sweep{});
    call.lease = adm.lease;
    send_call(self, member, id, ticket, std::move(req));
    return rp;
  }
  // It must wait: the pool actor queues it (its place is kept meanwhile) and grants it later.
  ask.ticket = ticket;
  auto agent = ask.agent;
  auto endpoint = ask.endpoint;
  // No timeout of our own: the pool answers by `ask.timeout`, and a grant that arrived after we
  // stopped waiting would be a slot nobody releases.
  self->request(st.pool, caf::infinite, detail::pool_enqueue{std::move(ask), std::move(adm.res)})
      .then(
          [self, member, id, ticket, arrived, req = std::move(req)](grant& g) mutable {
            self->state.tick();
            auto& calls = self->state.*member;
            auto i = calls.find(id);
            if (i == calls.end() || i->second.ticket != ticket || i->second.answered) {
              // Cancelled while waiting: the call is never sent.
              self->state.release(g.lease, usage{});
              if (i != calls.end() && i->second.ticket == ticket)
                calls.erase(i);
              return;
            }
            i->second.lease = g.lease;
            // What is left of the call's deadline goes with it: the client ends the call when
            // the agent's deadline passes, not a full timeout after the grant.
            auto left = req.timeout - (std::chrono::steady_clock::now() - arrived);
            if (left <= caf::timespan{0}) {
              fail(self, calls, id, ticket,
                   make_error(errc::llm_timeout, "call " + std::to_string(id) +
                                                     " got its slot past its timeout of " +
                                                     ms_text(req.timeout)));
              return;
            }
            req.timeout = left;
            send_call(self, member, id, ticket, std::move(req));
          },
          [self, member, id, ticket, agent = std::move(agent), endpoint = std::move(endpoint),
           call_timeout](caf::error& err) {
            self->state.tick();
            fail(self, self->state.*member, id, ticket,
                 refusal(err, agent, endpoint, self->state.opts.grant_timeout, call_timeout));
          });
  return rp;
}

/// Answers every sent call with `err` and releases its grant (zero usage): the inner actor is
/// gone.
template <class Result>
void fail_sent(broker_pointer self, call_map<Result>& calls, const caf::error& err) {
  for (auto i = calls.begin(); i != calls.end();) {
    auto& call = i->second;
    if (!call.sent || call.writing) {
      ++i;
      continue;
    }
    if (call.lease != 0)
      self->state.release(call.lease, usage{});
    if (!call.answered)
      call.rp.deliver(err);
    i = calls.erase(i);
  }
}

/// Cancels call `id` of `calls` if it is there; false if it is not.
template <class Result>
bool cancel(broker_pointer self, call_map<Result>& calls, uint64_t id) {
  auto i = calls.find(id);
  if (i == calls.end())
    return false;
  auto& call = i->second;
  auto& st = self->state;
  if (call.writing)
    return true; // answered once kept: the call is over
  if (call.sent) {
    call.cancelling = true; // its error completion releases the grant
    if (st.opts.inner)
      self->send(st.opts.inner, chat_cancel{id});
    else
      st.client->cancel(id);
  } else if (!call.answered) {
    call.answered = true;
    call.rp.deliver(make_error(errc::llm_cancelled, "call " + std::to_string(id) +
                                                        " cancelled while waiting for a grant"));
    self->send(st.pool, grant_withdraw{call.ticket});
  }
  return true;
}

broker_actor::behavior_type broker_behavior(broker_pointer self,
                                            std::shared_ptr<net::llm_client> client,
                                            resource_pool_actor pool, llm_broker_options opts) {
  auto& st = self->state;
  st.client = std::move(client);
  st.pool = std::move(pool);
  st.opts = std::move(opts);
  if (st.opts.journal)
    st.writer = std::make_unique<detail::journal_writer>(st.opts.journal);
  // Calls wait in the mailbox until the pool has handed over its core.
  self->request(st.pool, caf::infinite, detail::pool_core_query{})
      .await(
          [self](detail::pool_core_ref& ref) {
            self->state.tick();
            self->state.core = std::move(ref.core);
          },
          [self](caf::error& err) {
            self->state.tick();
            self->state.no_pool =
                make_error(errc::llm_connect_failed,
                           "the resource pool behind the broker is gone: " + describe(err));
          });
  if (st.opts.inner)
    self->monitor(st.opts.inner);
  // Callers are monitored from their first journaled call (claim_key).
  self->set_down_handler([self](caf::down_msg& msg) {
    if (!self->state.opts.inner || msg.source != self->state.opts.inner.address()) {
      self->state.orphan_keys_of(msg.source); // once per caller, not per call: not ticked
      return;
    }
    self->state.tick();
    auto err = make_error(errc::llm_connect_failed,
                          "the LLM actor behind the broker terminated: " + describe(msg.reason));
    fail_sent(self, self->state.chats, err);
    fail_sent(self, self->state.embeds, err);
  });
  return {
      [self](chat_request& req) -> caf::typed_response_promise<chat_result> {
        auto& st = self->state;
        st.tick();
        std::string key;
        if (st.writer && !req.run_id.empty()) {
          // A resumed run's finished call is answered from the journal, before any grant; so is
          // one that a caller which died had finished (claim_key).
          auto caller = self->current_sender();
          auto claimed = st.claim_key(req, caller ? caller->address() : caf::actor_addr{});
          key = std::move(claimed.key);
          if (claimed.new_caller)
            self->monitor(caller);
          auto hit = st.writer->store().find(key);
          if (!hit || *hit) {
            auto rp = self->make_response_promise<chat_result>();
            if (!hit) {
              rp.deliver(std::move(hit.error()));
            } else {
              auto reply = std::move(**hit);
              reply.call_id = req.call_id;
              rp.deliver(std::move(reply));
            }
            return rp;
          }
          if (auto* call = claimed.left ? st.in_flight(key) : nullptr) {
            // Its caller died with the call still going: this caller takes it over.
            call->rp = self->make_response_promise<chat_result>();
            call->answer_id = req.call_id;
            return call->rp;
          }
        }
        call_context ctx;
        if (!key.empty() || !req.fallbacks.empty())
          ctx.original = std::make_shared<const chat_request>(req);
        ctx.key = std::move(key);
        return admit(self, &broker_state::chats, req, chat_grant(req, st.opts), std::move(ctx));
      },
      [self](embedding_request& req) -> caf::typed_response_promise<embedding_result> {
        self->state.tick();
        grant_request ask;
        ask.endpoint = req.endpoint.url;
        ask.model = req.model;
        ask.prompt_tokens = estimate_embedding_tokens(req);
        return admit(self, &broker_state::embeds, req, std::move(ask), {});
      },
      [self](const chat_cancel& x) {
        auto& st = self->state;
        st.tick();
        if (cancel(self, st.chats, x.call_id) || cancel(self, st.embeds, x.call_id))
          return;
        // Not ours: whoever makes the calls may know it.
        if (st.opts.inner)
          self->send(st.opts.inner, x);
        else
          st.client->cancel(x.call_id);
      },
      [self](chat_done_atom, uint64_t id, uint64_t ticket, chat_result& res) {
        self->state.tick();
        completed(self, self->state.chats, id, ticket, std::move(res));
      },
      [self](chat_done_atom, uint64_t id, uint64_t ticket, caf::error& err) {
        self->state.tick();
        failed(self, &broker_state::chats, id, ticket, std::move(err));
      },
      [self](embed_done_atom, uint64_t id, uint64_t ticket, embedding_result& res) {
        self->state.tick();
        completed(self, self->state.embeds, id, ticket, std::move(res));
      },
      [self](embed_done_atom, uint64_t id, uint64_t ticket, caf::error& err) {
        self->state.tick();
        failed(self, &broker_state::embeds, id, ticket, std::move(err));
      },
      [self](kept_atom, uint64_t id, uint64_t ticket, chat_result& res) {
        self->state.tick();
        auto& calls = self->state.chats;
        auto i = calls.find(id);
        if (i == calls.end() || i->second.ticket != ticket)
          return;
        auto rp = std::move(i->second.rp);
        if (i->second.answer_id != 0)
          res.call_id = i->second.answer_id;
        calls.erase(i);
        rp.deliver(std::move(res));
      },
      [self](kept_atom, uint64_t id, uint64_t ticket, caf::error& err) {
        self->state.tick();
        fail(self, self->state.chats, id, ticket, std::move(err));
      },
  };
}

} // namespace

llm_actor spawn_llm_broker(caf::actor_system& sys, std::shared_ptr<net::llm_client> client,
                           resource_pool_actor pool, llm_broker_options opts) {
  auto hdl = sys.spawn(broker_behavior, std::move(client), std::move(pool), std::move(opts));
  return caf::actor_cast<llm_actor>(hdl);
}

} // namespace swarm
