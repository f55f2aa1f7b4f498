// The LLM gate: grant, forward, release. Every call is in `calls` from its arrival until its
// grant is released, and only the path that removes it releases it: exactly once. Grants and
// releases happen on the pool's core under its lock (no message); a call that must wait for a
// slot or its rate buckets goes to the pool actor's queue.
#include "runtime/llm_gate.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

uint64_t quarter(uint64_t bytes) {
  return (bytes + 3) / 4;
}

/// Tickets to withdraw waiting grant requests: unique among all gates of the process.
uint64_t next_ticket() {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

/// A call between its arrival and the release of its grant.
template <class Result>
struct gated_call {
  caf::typed_response_promise<Result> rp;
  uint64_t ticket = 0;
  uint64_t lease = 0;    ///< 0 while waiting for the grant
  bool answered = false; ///< cancelled while waiting: answered, the grant still to come
  usage estimate;        ///< the grant's estimate: charged when the reply states no usage
  event head;            ///< chat calls: run, task and agent, for budget_warning events
  /// Chat calls with fallbacks left: the request as it came, to send to the next one if this
  /// attempt fails (null: none left).
  std::shared_ptr<chat_request> again;
  uint32_t fallback = 0; ///< 0: the request's endpoint; i: its fallbacks[i - 1]
  std::chrono::steady_clock::time_point deadline; ///< the call's one deadline, from its arrival
  bool cancelling = false; ///< a chat_cancel went to `inner`: its failure is not fallen back from
};

/// A chat call going on to its next fallback: what its new admission keeps of the call.
struct readmission {
  caf::typed_response_promise<chat_result> rp;
  uint32_t fallback = 0;
  std::chrono::steady_clock::time_point deadline;
};

/// True if `res` states no valid usage: a chat reply says so; an embedding reply without tokens.
bool lacks_usage(const chat_result& res) {
  return res.usage_estimated;
}

bool lacks_usage(const embedding_result& res) {
  return res.use.total_tokens() == 0;
}

/// Puts the grant's estimate in a reply that states no usage (the calls count stays the
/// client's); true if it did.
template <class Result>
bool charge_estimate(Result& res, const usage& estimate) {
  if (!lacks_usage(res))
    return false;
  res.use.prompt_tokens = estimate.prompt_tokens;
  res.use.completion_tokens = estimate.completion_tokens;
  if constexpr (std::is_same_v<Result, chat_result>)
    res.usage_estimated = true;
  return true;
}

template <class Result>
using call_map = std::unordered_map<uint64_t, gated_call<Result>>;

struct gate_state {
  llm_actor inner;
  resource_pool_actor pool;
  std::shared_ptr<detail::pool_core> core; ///< null if the pool was gone when the gate started
  caf::error no_pool;                      ///< why `core` is null
  llm_gate_options opts;
  call_map<chat_result> chats;
  call_map<embedding_result> embeds;

  gate_state() = default;
  gate_state(const gate_state&) = delete;
  gate_state& operator=(const gate_state&) = delete;

  // The gate is going away: nothing may keep a slot. Held grants are released (zero usage: the
  // replies will never be seen); waiting requests are withdrawn.
  ~gate_state() {
    if (!core)
      return;
    auto drop = [this](auto& calls) {
      for (auto& [id, call] : calls) {
        if (call.lease != 0)
          release(call.lease, usage{});
        else
          caf::anon_send(pool, grant_withdraw{call.ticket});
      }
    };
    drop(chats);
    drop(embeds);
  }

  /// Releases `lease` on the core and wakes the pool if callers wait for the slot; the monitor
  /// hears of budgets the use took past 80 % (as about the call `head`, when it has a run).
  void release(uint64_t lease, const usage& use, bool estimated = false,
               const event* head = nullptr) const {
    auto out = detail::pool_release(*core, lease, use, estimated);
    if (out.wake)
      caf::anon_send(pool, detail::pool_wake{std::move(*out.wake), false});
    if (!opts.monitor || head == nullptr || head->run_id.empty())
      return;
    for (const auto& x : out.crossed) {
      auto e = *head;
      e.name = to_string(x.level);
      e.text = describe(x);
      caf::anon_send(opts.monitor, std::move(e));
    }
  }

  static inline const char* name = "swarm.llm_gate";
};

using gate_pointer = llm_actor::stateful_pointer<gate_state>;

/// The text of an error's context (its message), or empty.
std::string context_text(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

std::string ms_text(caf::timespan x) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(x).count()) + " ms";
}

/// What the caller sees when the pool does not grant. The wait ended at `grant_timeout` or at
/// the call's own deadline `call_timeout`, whichever is sooner.
caf::error refusal(const caf::error& err, const agent_id& agent, const std::string& endpoint,
                   caf::timespan grant_timeout, caf::timespan call_timeout) {
  auto who = "agent '" + agent.str() + "'";
  if (is(err, errc::budget_exhausted))
    return make_error(errc::budget_exhausted, "call of " + who + " refused: " + context_text(err));
  if (err == caf::sec::request_timeout) {
    auto text = "call of " + who + " got no slot on " + endpoint + " within ";
    if (call_timeout < grant_timeout)
      return make_error(errc::llm_timeout, text + "the call's timeout of " + ms_text(call_timeout) +
                                               " (llm.timeout_ms)");
    return make_error(errc::llm_timeout,
                      text + ms_text(grant_timeout) + " (resources.grant_timeout_ms)");
  }
  return err;
}

/// Removes call `id` if it is still the one with `ticket`; releases its grant with `use` and
/// answers it with `value` (unless it was answered when cancelled). A reply that states no usage
/// is charged the grant's estimate, and says so.
template <class Result, class Value>
void finish(gate_pointer self, call_map<Result>& calls, uint64_t id, uint64_t ticket,
            const usage& use, Value&& value) {
  auto i = calls.find(id);
  if (i == calls.end() || i->second.ticket != ticket)
    return; // already finished on another path
  auto call = std::move(i->second);
  calls.erase(i);
  auto charged = use;
  bool estimated = false;
  if constexpr (std::is_same_v<std::decay_t<Value>, Result>) {
    estimated = charge_estimate(value, call.estimate);
    charged = value.use;
    if constexpr (std::is_same_v<Result, chat_result>)
      value.fallback = call.fallback;
  }
  if (call.lease != 0)
    self->state.release(call.lease, charged, estimated, &call.head);
  if (!call.answered)
    call.rp.deliver(std::forward<Value>(value));
}

template <class Result, class Request>
caf::typed_response_promise<Result> admit(gate_pointer self, call_map<Result> gate_state::*member,
                                          Request& req, grant_request ask,
                                          readmission* resumed = nullptr);

grant_request chat_grant(const chat_request& req, const llm_gate_options& opts);

/// Chat call `id` failed with `err` on its attempt `ticket`: if the failure is one another
/// endpoint may not have, time is left and a fallback too, its grant is released, an
/// llm_fallback event tells the switch, and the call is admitted again on the next fallback
/// (a grant of its own: its endpoint's slots, its model's price). False: `err` stands.
bool fall_back(gate_pointer self, uint64_t id, uint64_t ticket, const caf::error& err) {
  // Less than this left of the deadline: the next endpoint could not answer in time anyway.
  constexpr auto min_left = std::chrono::milliseconds(50);
  auto& st = self->state;
  auto i = st.chats.find(id);
  if (i == st.chats.end() || i->second.ticket != ticket)
    return false;
  auto& call = i->second;
  if (!call.again || call.answered || call.cancelling || !llm_falls_back(err))
    return false;
  auto left = call.deadline - std::chrono::steady_clock::now();
  if (left < min_left)
    return false;
  auto req = std::move(*call.again);
  auto next = std::move(req.fallbacks.front());
  req.fallbacks.erase(req.fallbacks.begin());
  if (st.opts.monitor) {
    auto e = call.head;
    e.kind = event_kind::llm_fallback;
    e.step = req.step;
    e.name = next.model;
    e.text = next.endpoint.url;
    e.error =
        make_error(static_cast<errc>(err.code()),
                   "model " + req.model + " at " + req.endpoint.url + ": " + context_text(err));
    caf::anon_send(st.opts.monitor, std::move(e));
  }
  readmission resumed{std::move(call.rp), call.fallback + 1, call.deadline};
  auto lease = call.lease;
  st.chats.erase(i);
  if (lease != 0)
    st.release(lease, usage{}); // the failed attempt, as finish() releases a failed call
  req.endpoint = std::move(next.endpoint);
  req.model = std::move(next.model);
  req.timeout = std::chrono::duration_cast<caf::timespan>(left);
  auto ask = chat_grant(req, st.opts);
  admit(self, &gate_state::chats, req, std::move(ask), &resumed);
  return true;
}

/// Sends granted call `id` to `inner`; its answer finishes it.
template <class Result, class Request>
void forward(gate_pointer self, call_map<Result> gate_state::*member, uint64_t id, uint64_t ticket,
             Request req) {
  // No timeout of our own (a timer costs more than the rest of the gate): the LLM actor answers
  // every call by its own timeout, its death reaches the down handler, and a reply that never
  // comes loses only the slot until the pool's lease expiry reclaims it.
  self->request(self->state.inner, caf::infinite, std::move(req))
      .then(
          [self, member, id, ticket](Result& res) {
            auto use = res.use;
            finish(self, self->state.*member, id, ticket, use, std::move(res));
          },
          [self, member, id, ticket](caf::error& err) {
            if constexpr (std::is_same_v<Result, chat_result>)
              if (fall_back(self, id, ticket, err))
                return;
            finish(self, self->state.*member, id, ticket, usage{}, std::move(err));
          });
}

/// Keeps what call `id` needs to go on to a fallback: its deadline, the fallbacks used so far
/// and, if any are left, the request.
template <class Result, class Request>
void keep_for_fallback(gated_call<Result>& call, const Request& req,
                       std::chrono::steady_clock::time_point deadline, const readmission* resumed) {
  call.deadline = resumed ? resumed->deadline : deadline;
  if constexpr (std::is_same_v<Request, chat_request>) {
    call.fallback = resumed ? resumed->fallback : 0;
    if (!req.fallbacks.empty())
      call.again = std::make_shared<chat_request>(req);
  }
}

/// Grants `req` on the pool's core and forwards it to `inner`, or queues it at the pool actor
/// and forwards it once granted; see spawn_llm_gate.
template <class Result, class Request>
caf::typed_response_promise<Result> admit(gate_pointer self, call_map<Result> gate_state::*member,
                                          Request& req, grant_request ask, readmission* resumed) {
  auto& st = self->state;
  auto& calls = st.*member;
  caf::typed_response_promise<Result> rp;
  if constexpr (std::is_same_v<Result, chat_result>)
    rp = resumed ? std::move(resumed->rp) : self->make_response_promise<Result>();
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
  auto arrived_at = std::chrono::steady_clock::now();
  ask.timeout = std::min(st.opts.grant_timeout, call_timeout);
  ask.lease = call_timeout;
  usage estimate{ask.prompt_tokens, ask.completion_tokens, 0};
  event head;
  if constexpr (std::is_same_v<Request, chat_request>) {
    head.kind = event_kind::budget_warning;
    head.run_id = req.run_id;
    head.task_id = req.task_id;
    head.agent = req.agent;
  }
  auto adm = detail::pool_admit(*st.core, ask);
  if (adm.what == detail::admission::refused) {
    rp.deliver(refusal(adm.err, ask.agent, ask.endpoint, st.opts.grant_timeout, call_timeout));
    return rp;
  }
  // The client opens as many connections to the endpoint as the pool grants slots on it.
  req.endpoint.max_connections = static_cast<uint32_t>(
      std::min<size_t>(adm.max_concurrent, std::numeric_limits<uint32_t>::max()));
  auto ticket = next_ticket();
  if (adm.what == detail::admission::granted) {
    if (adm.sweep.count() > 0)
      self->delayed_send(st.pool, adm.sweep, detail::lease_sweep{});
    auto& call = calls
                     .emplace(id,
                              gated_call<Result>{
                                  rp, ticket, adm.lease, false, estimate, head, {}, 0, {}, false})
                     .first->second;
    keep_for_fallback(call, req, arrived_at + call_timeout, resumed);
    forward(self, member, id, ticket, std::move(req));
    return rp;
  }
  // It must wait: the pool actor queues it (its place is kept meanwhile) and grants it later.
  auto& call = calls
                   .emplace(id,
                            gated_call<Result>{
                                rp, ticket, 0, false, estimate, std::move(head), {}, 0, {}, false})
                   .first->second;
  keep_for_fallback(call, req, arrived_at + call_timeout, resumed);
  ask.ticket = ticket;
  auto agent = ask.agent;
  auto endpoint = ask.endpoint;
  auto arrived = std::chrono::steady_clock::now();
  // No timeout of our own: the pool answers by `ask.timeout`, and a grant that arrived after we
  // stopped waiting would be a slot nobody releases.
  self->request(st.pool, caf::infinite, detail::pool_enqueue{std::move(ask), std::move(adm.res)})
      .then(
          [self, member, id, ticket, arrived, req = std::move(req)](grant& g) mutable {
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
              finish(self, calls, id, ticket, usage{},
                     make_error(errc::llm_timeout, "call " + std::to_string(id) +
                                                       " got its slot past its timeout of " +
                                                       ms_text(req.timeout)));
              return;
            }
            req.timeout = left;
            forward(self, member, id, ticket, std::move(req));
          },
          [self, member, id, ticket, agent = std::move(agent), endpoint = std::move(endpoint),
           call_timeout](caf::error& err) {
            auto& calls = self->state.*member;
            auto i = calls.find(id);
            if (i == calls.end() || i->second.ticket != ticket)
              return;
            auto call = std::move(i->second);
            calls.erase(i);
            if (!call.answered)
              call.rp.deliver(
                  refusal(err, agent, endpoint, self->state.opts.grant_timeout, call_timeout));
          });
  return rp;
}

/// Answers every forwarded call with `err` and releases its grant (zero usage): `inner` is gone.
template <class Result>
void fail_forwarded(gate_pointer self, call_map<Result>& calls, const caf::error& err) {
  for (auto i = calls.begin(); i != calls.end();) {
    auto& call = i->second;
    if (call.lease == 0) {
      ++i;
      continue;
    }
    self->state.release(call.lease, usage{});
    if (!call.answered)
      call.rp.deliver(err);
    i = calls.erase(i);
  }
}

/// Cancels call `id` of `calls` if it is there; false if it is not.
template <class Result>
bool cancel(gate_pointer self, call_map<Result>& calls, uint64_t id) {
  auto i = calls.find(id);
  if (i == calls.end())
    return false;
  auto& call = i->second;
  if (call.lease != 0) {
    call.cancelling = true;
    self->send(self->state.inner, chat_cancel{id}); // its error reply releases the grant
  } else if (!call.answered) {
    call.answered = true;
    call.rp.deliver(make_error(errc::llm_cancelled, "call " + std::to_string(id) +
                                                        " cancelled while waiting for a grant"));
    self->send(self->state.pool, grant_withdraw{call.ticket});
  }
  return true;
}

llm_actor::behavior_type gate_behavior(gate_pointer self, llm_actor inner, resource_pool_actor pool,
                                       llm_gate_options opts) {
  auto& st = self->state;
  st.inner = std::move(inner);
  st.pool = std::move(pool);
  st.opts = opts;
  // Calls wait in the mailbox until the pool has handed over its core.
  self->request(st.pool, caf::infinite, detail::pool_core_query{})
      .await([self](detail::pool_core_ref& ref) { self->state.core = std::move(ref.core); },
             [self](caf::error& err) {
               self->state.no_pool =
                   make_error(errc::llm_connect_failed,
                              "the resource pool behind the gate is gone: " + describe(err));
             });
  self->monitor(st.inner);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source != self->state.inner.address())
      return;
    auto err = make_error(errc::llm_connect_failed,
                          "the LLM actor behind the gate terminated: " + describe(msg.reason));
    fail_forwarded(self, self->state.chats, err);
    fail_forwarded(self, self->state.embeds, err);
  });
  return {
      [self](chat_request& req) -> caf::typed_response_promise<chat_result> {
        return admit(self, &gate_state::chats, req, chat_grant(req, self->state.opts));
      },
      [self](embedding_request& req) -> caf::typed_response_promise<embedding_result> {
        grant_request ask;
        ask.endpoint = req.endpoint.url;
        ask.model = req.model;
        ask.prompt_tokens = estimate_embedding_tokens(req);
        return admit(self, &gate_state::embeds, req, std::move(ask));
      },
      [self](const chat_cancel& x) {
        auto& st = self->state;
        if (!cancel(self, st.chats, x.call_id) && !cancel(self, st.embeds, x.call_id))
          self->send(st.inner, x); // not ours: the inner actor may know it
      },
  };
}

grant_request chat_grant(const chat_request& req, const llm_gate_options& opts) {
  grant_request ask;
  ask.agent = req.agent;
  ask.endpoint = req.endpoint.url;
  ask.model = req.model;
  ask.prompt_tokens = estimate_prompt_tokens(req);
  ask.completion_tokens = estimate_completion_tokens(req, opts);
  return ask;
}

/// The status of an llm_http_error ("HTTP 503 from ..."); 0 when its message names none.
int http_status(const caf::error& err) {
  auto text = context_text(err);
  auto at = text.find("HTTP ");
  if (at == std::string::npos || at + 8 > text.size())
    return 0;
  int status = 0;
  for (size_t k = at + 5; k < at + 8; ++k) {
    if (text[k] < '0' || text[k] > '9')
      return 0;
    status = status * 10 + (text[k] - '0');
  }
  return status;
}

} // namespace

bool llm_falls_back(const caf::error& err) {
  for (auto code : {errc::llm_timeout, errc::llm_connect_failed, errc::llm_tls_failed,
                    errc::llm_rate_limited, errc::llm_invalid_response, errc::llm_stream_truncated})
    if (is(err, code))
      return true;
  if (!is(err, errc::llm_http_error))
    return false;
  auto status = http_status(err);
  return status >= 500 || status == 404 || status == 408;
}

uint64_t estimate_prompt_tokens(const chat_request& req) {
  uint64_t bytes = req.response_format.size();
  for (const auto& m : req.messages) {
    bytes += m.content.size() + m.name.size();
    for (const auto& call : m.tool_calls)
      bytes += call.name.size() + call.arguments.size();
  }
  for (const auto& tool : req.tools)
    bytes += tool.name.size() + tool.description.size() + tool.parameters.size();
  return quarter(bytes) + 4 * static_cast<uint64_t>(req.messages.size());
}

uint64_t estimate_completion_tokens(const chat_request& req, const llm_gate_options& opts) {
  return req.max_tokens > 0 ? static_cast<uint64_t>(req.max_tokens)
                            : opts.default_completion_tokens;
}

uint64_t estimate_embedding_tokens(const embedding_request& req) {
  uint64_t tokens = 0;
  for (const auto& text : req.input)
    tokens += quarter(text.size());
  return tokens;
}

llm_actor spawn_llm_gate(caf::actor_system& sys, llm_actor inner, resource_pool_actor pool,
                         llm_gate_options opts) {
  return sys.spawn(gate_behavior, std::move(inner), std::move(pool), opts);
}

} // namespace swarm
