// The API's JSON: runs, swarms and approvals as the routes answer them, error bodies, and the
// small readers of request bodies and query values. Pure functions (tests/serve/api_json_test).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"
#include "runtime/core/tool_messages.hpp"
#include "runtime/health.hpp"
#include "runtime/runtime.hpp"

namespace swarm::serve {

/// `{"error": {"code", "message", ...extra}}`.
boost::json::object error_body(std::string_view code, std::string_view message,
                               boost::json::object extra = {});

/// The HTTP status an error of the runtime stands for: 400 for what the caller got wrong
/// (invalid_spec, invalid_argument, no_endpoint), 404 unknown_run and unknown_agent, 409
/// run_exists, 429 budget_exhausted, 503 runtime_stopped, 507 storage_full, else 500.
unsigned http_status_of(const caf::error& err);

/// A run: `{"id", "swarm", "task", "status", "error", "started_ms", "finished_ms", "result",
/// "members"}`; `error` and `result` null when there is none; `members` (done runs: each
/// member's result) only `with_members`.
boost::json::object to_json(const run_info& r, bool with_members = true);

/// The run a JSON object of to_json(run_info) describes (a client of the API): its id, swarm,
/// task, status, times, error, and once done its result with the members' results as its
/// trace. errc::invalid_argument for an object that is no run.
caf::expected<run_info> run_info_from_json(const boost::json::object& o);

/// What the API tells of a swarm.
struct swarm_summary {
  std::string name;
  std::string architecture;
  std::vector<std::string> agents;
  spending spent;
  std::vector<std::pair<std::string, spending>> spent_per_agent;
  size_t live_runs = 0;
  std::vector<agent_health> health; ///< when asked for
};

/// `{"name", "architecture", "agents": [{"name", "usage", "cost_usd", "alive"?}], "usage",
/// "cost_usd", "cost_known", "runs_active", "health"?: {"alive", "total", "members"}}`.
boost::json::object to_json(const swarm_summary& s, bool with_health);

/// `{"id": "SWARM:N", "swarm", "run_id", "agent", "tool", "arguments", "call_id"}`.
boost::json::object to_json(const std::string& swarm, const pending_approval& a);

/// The swarm and number of an approval id "SWARM:N"; none if it is not one.
std::optional<std::pair<std::string, uint64_t>> parse_approval_id(std::string_view id);

/// `{"data": [EVENT...], "next": SEQ}` from logged events (their JSON as kept); `next` is the
/// last one's run_seq, or `after` when there is none.
std::string events_page(const std::vector<logged_event>& events, uint64_t after);

/// A request body that must be one JSON object; else errc::invalid_argument saying why not.
caf::expected<boost::json::object> parse_object(std::string_view body);

/// Field `key` of `o` if it is a string / a bool; none if absent or another type.
std::optional<std::string> string_field(const boost::json::object& o, std::string_view key);
std::optional<bool> bool_field(const boost::json::object& o, std::string_view key);

/// A decimal whole number of at most 18 digits; none for anything else.
std::optional<uint64_t> parse_count(std::string_view s);

} // namespace swarm::serve
