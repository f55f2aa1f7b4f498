// What the LLM broker (runtime/llm_broker.cpp) decides without actors, for its own use: settling
// replies without usage, the errors it answers with, and the token sink of streamed calls.
#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/timespan.hpp>

#include "net/llm_client.hpp"
#include "runtime/core/handles.hpp"

namespace swarm::detail {

/// Puts the grant's `estimate` in a reply that states no valid usage (a chat reply says so:
/// usage_estimated, which stays set; an embedding reply has no tokens). The calls count stays
/// the client's. True if it did.
bool charge_estimate(chat_result& res, const usage& estimate);
bool charge_estimate(embedding_result& res, const usage& estimate);

/// The text of an error's context (its message), or its description.
std::string context_text(const caf::error& err);

/// "N ms".
std::string ms_text(caf::timespan x);

/// What the caller sees when the pool does not grant: a budget refusal naming `agent`, or (a
/// request_timeout) errc::llm_timeout naming `endpoint` and whichever of `grant_timeout` and
/// the call's own `call_timeout` ended the wait; any other error as it is.
caf::error refusal(const caf::error& err, const agent_id& agent, const std::string& endpoint,
                   caf::timespan grant_timeout, caf::timespan call_timeout);

} // namespace swarm::detail
