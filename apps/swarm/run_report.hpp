// What `swarm run` reports when its run ends, however it ends: the one JSON object of `--json`
// and the closing lines on stderr.
#pragma once

#include <string>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

#include "runtime/core/events.hpp"
#include "runtime/runtime.hpp"

namespace swarm::cli {

/// How a run ended, as `swarm run` saw it.
struct run_end {
  std::string run_id;
  std::string swarm;
  std::string data_dir;
  caf::expected<result> out{result{}}; ///< the swarm's answer, or why there is none
  bool interrupted = false;            ///< SIGINT or SIGTERM stopped it
  double seconds = 0;
};

/// The run's status: run_status of its error, "interrupted" when a signal stopped it.
std::string status_of(const run_end& end);

/// A result with its trace: {"agent", "task_id", "text", "usage", "confidence", "error", "trace"}.
boost::json::object result_json(const result& r);

/// The one JSON object: {"run_id", "status", "swarm", "data_dir", "duration_ms", "error"
/// ({"code", "message"} or null), "text", "usage", "members" (every member's state and answer,
/// partial results included), "decisions", "llm" (calls, failures, tokens), "tools", "trace"
/// (when the swarm answered), "spending" (when `team` is given)}.
boost::json::object report_json(const run_end& end, const run_view& view, const swarm_handle* team);

/// The closing lines on stderr: what happened to the agents, the LLM calls and the tools, and
/// how to inspect or continue the run.
void print_summary(const run_end& end, const run_view& view);

} // namespace swarm::cli
