// The LLM client behind a typed actor: requests become client calls, completions come back as
// messages to the actor, which then delivers the response promises on its own thread.
#include "net/llm_actor.hpp"

#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"

namespace swarm::net {

namespace {

using chat_done_atom = caf::atom_constant<caf::atom("llmdone")>;
using embed_done_atom = caf::atom_constant<caf::atom("embdone")>;

/// The interface the actor really has: llm_actor plus the completions the client's I/O threads
/// send back. Callers only ever see the llm_actor subset.
using llm_actor_impl =
    llm_actor::extend<caf::reacts_to<chat_done_atom, uint64_t, chat_result>,
                      caf::reacts_to<chat_done_atom, uint64_t, caf::error>,
                      caf::reacts_to<embed_done_atom, uint64_t, embedding_result>,
                      caf::reacts_to<embed_done_atom, uint64_t, caf::error>>;

struct llm_actor_state {
  std::shared_ptr<llm_client> client;
  monitor_actor monitor; // hears llm_token events of calls that ask for them
  std::unordered_map<uint64_t, caf::typed_response_promise<chat_result>> chats;
  std::unordered_map<uint64_t, caf::typed_response_promise<embedding_result>> embeds;

  llm_actor_state() = default;
  llm_actor_state(const llm_actor_state&) = delete;
  llm_actor_state& operator=(const llm_actor_state&) = delete;

  // The actor is going away: its calls are abandoned (their replies would go nowhere).
  ~llm_actor_state() {
    if (!client)
      return;
    for (auto& [id, rp] : chats)
      client->cancel(id);
    for (auto& [id, rp] : embeds)
      client->cancel(id);
  }

  static inline const char* name = "llm_actor";
};

template <class Promise>
void deliver(std::unordered_map<uint64_t, Promise>& pending, uint64_t id, auto&& value) {
  auto i = pending.find(id);
  if (i == pending.end())
    return;
  auto rp = std::move(i->second);
  pending.erase(i);
  rp.deliver(std::forward<decltype(value)>(value));
}

llm_actor_impl::behavior_type
llm_actor_behavior(llm_actor_impl::stateful_pointer<llm_actor_state> self,
                   std::shared_ptr<llm_client> client, monitor_actor monitor) {
  self->state.client = std::move(client);
  self->state.monitor = std::move(monitor);
  return {
      [self](chat_request& req) -> caf::typed_response_promise<chat_result> {
        auto rp = self->make_response_promise<chat_result>();
        auto id = req.call_id;
        if (self->state.chats.count(id) > 0 || self->state.embeds.count(id) > 0) {
          rp.deliver(make_error(errc::invalid_argument,
                                "call_id " + std::to_string(id) + " is already in flight"));
          return rp;
        }
        self->state.chats.emplace(id, rp);
        auto hdl = caf::actor_cast<llm_actor_impl>(self);
        auto on_delta = token_sink(self->state.monitor, req);
        if (req.stream_tokens)
          req.stream = true;
        // Runs on an I/O thread: only send a message, never touch the actor's state.
        self->state.client->chat(
            std::move(req),
            [hdl, id](caf::expected<chat_result> res) {
              if (res)
                caf::anon_send(hdl, chat_done_atom::value, id, std::move(*res));
              else
                caf::anon_send(hdl, chat_done_atom::value, id, std::move(res.error()));
            },
            std::move(on_delta));
        return rp;
      },
      [self](embedding_request& req) -> caf::typed_response_promise<embedding_result> {
        auto rp = self->make_response_promise<embedding_result>();
        auto id = req.call_id;
        if (self->state.chats.count(id) > 0 || self->state.embeds.count(id) > 0) {
          rp.deliver(make_error(errc::invalid_argument,
                                "call_id " + std::to_string(id) + " is already in flight"));
          return rp;
        }
        self->state.embeds.emplace(id, rp);
        auto hdl = caf::actor_cast<llm_actor_impl>(self);
        self->state.client->embed(std::move(req), [hdl, id](caf::expected<embedding_result> res) {
          if (res)
            caf::anon_send(hdl, embed_done_atom::value, id, std::move(*res));
          else
            caf::anon_send(hdl, embed_done_atom::value, id, std::move(res.error()));
        });
        return rp;
      },
      [self](const chat_cancel& x) { self->state.client->cancel(x.call_id); },
      [self](chat_done_atom, uint64_t id, chat_result& res) {
        deliver(self->state.chats, id, std::move(res));
      },
      [self](chat_done_atom, uint64_t id, caf::error& err) {
        deliver(self->state.chats, id, std::move(err));
      },
      [self](embed_done_atom, uint64_t id, embedding_result& res) {
        deliver(self->state.embeds, id, std::move(res));
      },
      [self](embed_done_atom, uint64_t id, caf::error& err) {
        deliver(self->state.embeds, id, std::move(err));
      },
  };
}

} // namespace

llm_client::delta_callback token_sink(const monitor_actor& monitor, const chat_request& req) {
  if (!req.stream_tokens || !monitor)
    return {};
  event e;
  e.kind = event_kind::llm_token;
  e.run_id = req.run_id;
  e.task_id = req.task_id;
  e.agent = req.agent;
  e.name = req.model;
  e.step = req.step;
  return [monitor, e](std::string_view delta) {
    if (!events_wanted(monitor))
      return;
    auto x = e;
    x.text.assign(delta);
    emit_event(monitor, std::move(x));
  };
}

llm_actor spawn_llm_actor(caf::actor_system& sys, std::shared_ptr<llm_client> client,
                          monitor_actor monitor) {
  auto hdl = sys.spawn(llm_actor_behavior, std::move(client), std::move(monitor));
  return caf::actor_cast<llm_actor>(hdl);
}

} // namespace swarm::net
