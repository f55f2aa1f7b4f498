// The gate in front of the LLM actor: every call is granted by the resource pool before it is
// sent, and its grant is released with the call's actual usage when it returns.
#pragma once

#include <chrono>
#include <cstdint>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "runtime/core/handles.hpp"
#include "runtime/resource_pool.hpp"

namespace swarm {

/// Per gate.
struct llm_gate_options {
  /// Longest wait for a grant (`resources.grant_timeout_ms`); past it, or past the call's own
  /// deadline (chat_request::timeout) if that comes first, the call fails with errc::llm_timeout
  /// without being sent. Default: 60 s.
  caf::timespan grant_timeout = std::chrono::seconds(60);
  /// Completion estimate of a chat request without `max_tokens`. Default: 1024.
  uint64_t default_completion_tokens = 1024;
  /// Priority of the gate's grant requests (higher first). Default: 0.
  int32_t priority = 0;
  /// Hears budget_warning when a chat call's use takes a budget past 80 %. Default: none.
  monitor_actor monitor;
};

/// Prompt estimate of a chat request: ceil(bytes / 4) of the text it sends (every message's
/// content, name and tool calls' names and arguments; the offered tools' names, descriptions and
/// schemas; the response format) plus 4 per message.
uint64_t estimate_prompt_tokens(const chat_request& req);

/// Completion estimate: `max_tokens` if set, else `opts.default_completion_tokens`.
uint64_t estimate_completion_tokens(const chat_request& req, const llm_gate_options& opts);

/// Estimate of an embedding request: ceil(bytes / 4) of each input.
uint64_t estimate_embedding_tokens(const embedding_request& req);

/// Spawns an actor with the llm_actor interface that gets a grant from `pool` before it forwards
/// each request to `inner` (on the pool's shared core, without a message, unless the call must
/// wait for a slot or its rate buckets: then it queues at the pool actor, FIFO per priority), and
/// releases the grant exactly once: with the reply's `usage`, with zero usage if the call failed
/// (an error carries no usage) or was never sent, or when `inner` dies. A reply that states no
/// valid usage (chat_result::usage_estimated; an embedding reply without tokens) is charged the
/// grant's estimate instead, which the caller gets in the reply's `use` (still marked
/// usage_estimated). `req.timeout` is the call's one deadline from its arrival: it bounds the
/// wait for the grant, and a call granted after a wait is forwarded with what is left of it (one
/// granted past it is not sent: errc::llm_timeout). A budget refusal answers
/// errc::budget_exhausted naming the level and the agent, and `inner` is never called. A
/// chat_cancel for a call still waiting for its grant withdraws it (errc::llm_cancelled); for a
/// forwarded call it is passed on. Embedding requests are granted like chat requests (they take the
/// endpoint's slots; they name no agent, so their use counts for agent "" of swarm "" and for the
/// runtime). A forwarded request carries the endpoint's max_concurrent as
/// `endpoint.max_connections`: the LLM client opens that many connections to it, no more.
///
/// Fallbacks: a chat call that fails with an error llm_falls_back accepts, while at least 50 ms
/// of its deadline are left and `req.fallbacks` has an entry left, is not answered: its grant is
/// released (zero usage), the monitor hears an llm_fallback event, and the call is admitted again
/// on the next fallback's endpoint and model (a grant of that endpoint, priced with that model)
/// with what is left of its deadline. The answer says which one answered (chat_result::fallback).
/// A cancelled call does not fall back.
llm_actor spawn_llm_gate(caf::actor_system& sys, llm_actor inner, resource_pool_actor pool,
                         llm_gate_options opts = {});

/// True if a chat call that failed with `err` (after the client's retries) goes on to its next
/// fallback: timeouts, connection, TLS and protocol failures (invalid response, truncated
/// stream), HTTP 429 after its retries, and HTTP 5xx, 404 (the model or path is not there) and
/// 408. Not: other 4xx (400 and 422 would fail anywhere; 401 and 403 are a wrong key, which a
/// fallback would hide), budget refusals, cancellation.
bool llm_falls_back(const caf::error& err);

} // namespace swarm
