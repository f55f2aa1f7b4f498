// The LLM client behind an actor handle, so agents reach it by message (response promises),
// never by blocking a scheduler thread.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include <caf/fwd.hpp>

#include "runtime/core/handles.hpp"

namespace swarm::net {

class llm_client;

/// The LLM client's delta callback for `req`: each piece of its answer goes to `monitor` as an
/// llm_token event while anyone listens (events_wanted); empty unless `req.stream_tokens` and a
/// monitor. It runs on an I/O thread and only sends.
std::function<void(std::string_view)> token_sink(const monitor_actor& monitor,
                                                 const chat_request& req);

/// Spawns the actor that forwards chat_request / embedding_request / chat_cancel to `client`
/// and answers each request when the client completes it. A request with `stream_tokens` is
/// streamed, and each piece of its answer goes to `monitor` (if any) as an llm_token event.
llm_actor spawn_llm_actor(caf::actor_system& sys, std::shared_ptr<llm_client> client,
                          monitor_actor monitor = {});

} // namespace swarm::net
