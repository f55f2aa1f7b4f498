// The project's one error enum, registered with CAF as the error category "swarm".
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace swarm {

/// Every failure the runtime reports. Values are stable: they cross the wire.
enum class errc : uint8_t {
  none = 0,
  invalid_spec,         ///< a swarm spec failed validation
  io_error,             ///< reading or writing a local file failed
  invalid_argument,     ///< a caller passed a value outside the contract
  no_endpoint,          ///< no LLM endpoint configured (spec, flag or OPENAI_BASE_URL)
  llm_connect_failed,   ///< could not resolve or connect to the LLM endpoint
  llm_tls_failed,       ///< TLS handshake or certificate verification failed
  llm_timeout,          ///< the per-request deadline passed
  llm_http_error,       ///< the endpoint answered a non-success HTTP status
  llm_rate_limited,     ///< HTTP 429 and no retries left
  llm_invalid_response, ///< the body was not the JSON the API promises
  llm_stream_truncated, ///< an SSE stream ended before [DONE]
  llm_cancelled,        ///< the caller abandoned the request
  member_failed,        ///< a swarm member answered with an error
  all_members_failed,   ///< every member of a swarm failed
  budget_exhausted,     ///< the resource pool refused a grant
  cancelled,            ///< a task was cancelled
  unknown_agent,        ///< no agent of that name in the swarm
  runtime_stopped,      ///< the runtime shut down while work was pending
  member_timeout,       ///< a member did not answer within member_timeout (it was cancelled)
  deadline_exceeded,    ///< a swarm's deadline passed (members cancelled, partial result)
  max_messages_reached, ///< a coordinator sent its max_messages
  max_rounds_reached,   ///< rounds/turns ran out before the architecture's goal
  invalid_plan,         ///< the lead's plan was malformed twice
  invalid_reply,        ///< an agent's structured reply (vote, score, choice) was malformed
  no_quorum,            ///< no answer reached the quorum (or a tie with tie: fail)
  no_route,             ///< a router found no member for the task
  replay_missing,       ///< --replay: the recording has no reply for this request
  unknown_run,          ///< no run of that id in the journal (resume)
  storage_full,         ///< the disk or quota holding the data directory is full
  tool_refused,         ///< the agent may not call that tool (not in its list)
  tool_unavailable,     ///< the tool cannot run here (e.g. no working sandbox)
  tool_failed,          ///< the tool ran and failed (non-zero exit, bad arguments...)
  tool_timeout,         ///< the tool ran past its wall-clock timeout and was killed
  approval_rejected,    ///< a human rejected a needs_approval tool call
  max_tool_steps,       ///< the model kept calling tools past max_tool_steps
  run_exists,           ///< the journal already has a run of that id (resume it or start afresh)
  data_dir_unusable,    ///< the data directory is locked by another process, read-only, corrupt
                        ///< or not ours
  member_down,          ///< a member actor died (an exception, a crash of its behaviour, a kill)
  node_unreachable,     ///< a cluster node could not be reached, or refused the link
  node_lost,            ///< the link to the node running a run was lost during it
};

/// The CAF error category of `errc`.
constexpr caf::atom_value errc_category = caf::atom("swarm");

/// Short stable name of a code, e.g. "llm_timeout".
std::string to_string(errc x);

/// Makes a CAF error of the swarm category with a human-readable context.
caf::error make_error(errc x);
caf::error make_error(errc x, std::string context);

/// True if `err` is of the swarm category and has code `x`.
bool is(const caf::error& err, errc x);

/// The stable name of any error's code: "llm_timeout" (swarm), "request_timeout" (CAF system),
/// "category(code)" otherwise; "none" for no error.
std::string error_code(const caf::error& err);

/// The human-readable context of an error, without its code; may be empty.
std::string error_message(const caf::error& err);

/// Renders any error (swarm, CAF system or other category) as one line:
/// "llm_timeout: no reply from http://... within 30s".
std::string describe(const caf::error& err);

} // namespace swarm
