// The swarm's LLM broker: one actor per swarm between its agents and the LLM client. Per chat
// call: journal lookup, grant from the resource pool, the client's call, settled usage,
// fallbacks, budget warnings, the journal write (off the scheduler threads), the answer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "runtime/core/call_store.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/resource_pool.hpp"

namespace swarm::net {
class llm_client;
} // namespace swarm::net

namespace swarm {

/// Per broker.
struct llm_broker_options {
  /// Longest wait for a grant (`resources.grant_timeout_ms`); past it, or past the call's own
  /// deadline (chat_request::timeout) if that comes first, the call fails with errc::llm_timeout
  /// without being sent. Default: 60 s.
  caf::timespan grant_timeout = std::chrono::seconds(60);
  /// Completion estimate of a chat request without `max_tokens`. Default: 1024.
  uint64_t default_completion_tokens = 1024;
  /// Priority of the broker's grant requests (higher first). Default: 0.
  int32_t priority = 0;
  /// Hears budget_warning when a chat call's use takes a budget past 80 %, llm_fallback at each
  /// switch, and llm_token for the pieces of calls that ask for them. Default: none.
  monitor_actor monitor;
  /// The run journal (null: none). A chat call of a run (non-empty run_id) is looked up under
  /// its journal key (net::journal_key: run, agent, task, step and the how-many-th such call of
  /// this broker) before anything else: a kept reply answers it at once, without a grant. A call
  /// that goes out is answered only once its reply is kept; the store is written on the broker's
  /// own writer thread, never on a scheduler thread. A put that fails fails the call with its
  /// error: a journaled run never acts on a reply it could not journal.
  std::shared_ptr<call_store> journal;
  /// Null: granted calls go to the client directly. Else they go to this actor (the runtime's
  /// record or replay cassette, net/llm_tape) and the client is not used; if it dies, the calls
  /// sent to it fail with errc::llm_connect_failed.
  llm_actor inner;
  /// Test hook: counts every message the broker handles (requests, cancels, the client's and
  /// the writer's completions, the pool's answers). Default: none.
  std::shared_ptr<std::atomic<uint64_t>> handled;
};

/// Prompt estimate of a chat request: ceil(bytes / 4) of the text it sends (every message's
/// content, name and tool calls' names and arguments; the offered tools' names, descriptions and
/// schemas; the response format) plus 4 per message.
uint64_t estimate_prompt_tokens(const chat_request& req);

/// Completion estimate: `max_tokens` if set, else `opts.default_completion_tokens`.
uint64_t estimate_completion_tokens(const chat_request& req, const llm_broker_options& opts);

/// Estimate of an embedding request: ceil(bytes / 4) of each input.
uint64_t estimate_embedding_tokens(const embedding_request& req);

/// Spawns the broker: an actor with the llm_actor interface that gets a grant from `pool` before
/// it sends each request to `client` (on the pool's shared core, without a message, unless the
/// call must wait for a slot or its rate buckets: then it queues at the pool actor, FIFO per
/// priority), and releases the grant exactly once: with the reply's `usage`, with zero usage if
/// the call failed (an error carries no usage) or was never sent, or when the broker stops. A
/// reply that states no valid usage (chat_result::usage_estimated; an embedding reply without
/// tokens) is charged the grant's estimate instead, which the caller gets in the reply's `use`
/// (still marked usage_estimated). `req.timeout` is the call's one deadline from its arrival: it
/// bounds the wait for the grant, and a call granted after a wait is sent with what is left of
/// it (the client ends it there, closing it on the wire: errc::llm_timeout; one granted past it
/// is not sent). A budget refusal answers errc::budget_exhausted naming the level and the agent,
/// and the client is never called. A chat_cancel for a call still waiting for its grant
/// withdraws it (errc::llm_cancelled); for a sent call it reaches the client's cancel. Embedding
/// requests are granted like chat requests (they take the endpoint's slots; they name no agent,
/// so their use counts for agent "" of swarm "" and for the runtime); they are not journaled. A
/// sent request carries the endpoint's max_concurrent as `endpoint.max_connections`: the client
/// opens that many connections to it, no more. A request with `stream_tokens` is streamed, each
/// piece going to the monitor as an llm_token event. See llm_broker_options::journal for the
/// journal. Mailbox deliveries per chat call: the request, the client's completion, the
/// writer's "kept" (journaled calls only) and the answer.
///
/// Fallbacks: a chat call that fails with an error llm_falls_back accepts, while at least 50 ms
/// of its deadline are left and `req.fallbacks` has an entry left, is not answered: its grant is
/// released (zero usage), the monitor hears an llm_fallback event, and the call is admitted again
/// on the next fallback's endpoint and model (a grant of that endpoint, priced with that model)
/// with what is left of its deadline. The answer says which one answered (chat_result::fallback).
/// A cancelled call does not fall back.
llm_actor spawn_llm_broker(caf::actor_system& sys, std::shared_ptr<net::llm_client> client,
                           resource_pool_actor pool, llm_broker_options opts = {});

/// True if a chat call that failed with `err` (after the client's retries) goes on to its next
/// fallback: timeouts, connection, TLS and protocol failures (invalid response, truncated
/// stream), HTTP 429 after its retries, and HTTP 5xx, 404 (the model or path is not there) and
/// 408. Not: other 4xx (400 and 422 would fail anywhere; 401 and 403 are a wrong key, which a
/// fallback would hide), budget refusals, cancellation.
bool llm_falls_back(const caf::error& err);

} // namespace swarm
