// The LLM tape: an llm_actor in front of another that keeps every finished call in a cassette
// and serves calls already kept (docs/decisions.md):
//   record:  every call goes to a cassette file (keyed by the request's content);
//   replay:  calls are answered from a cassette only; a request it lacks is errc::replay_missing.
// The run journal is kept by each swarm's LLM broker (runtime/llm_broker), keyed by journal_key.
#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "runtime/core/call_store.hpp"
#include "runtime/core/handles.hpp"

namespace swarm::net {

/// What the tape does with each chat_request.
enum class tape_mode {
  record, ///< call `inner` for every call and keep it (key: request content)
  replay, ///< serve kept calls only (key: request content); `inner` is not used
};

/// The key of `req` in the run journal: "RUN\nAGENT\nTASK\nSTEP\nN", N counting earlier calls
/// with the same run, agent, task and step (a retried step). Empty for a call outside a run.
std::string journal_key(const chat_request& req, uint32_t occurrence);

/// The key of `req` in a cassette: a SHA-256 (hex) over everything that shapes the reply
/// (model, messages, tools, response_format, temperature, max_tokens, logprobs), then ":N" for the
/// N-th identical request of the recording.
std::string content_key(const chat_request& req, uint32_t occurrence);

/// Spawns a tape in front of `inner` (may be null in replay mode). Embedding requests always pass
/// through (in replay mode they fail: embeddings are not recorded). When the store cannot keep a
/// finished call (disk full, I/O error) the call fails with that error: a journaled run never
/// acts on a reply it could not journal. A call `inner` has not answered a second past its
/// `timeout` is cancelled there (chat_cancel) and fails with errc::llm_timeout.
llm_actor spawn_llm_tape(caf::actor_system& sys, llm_actor inner, std::shared_ptr<call_store> store,
                         tape_mode mode);

} // namespace swarm::net
