// Reading the event stream: a run's status, the one-line form of a decision, and the state of a
// run folded from its events (run_view), shared by every consumer (CLI progress, JSON, servers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "runtime/core/messages.hpp"

namespace swarm {

/// The status of a run that ended with `err`: "done" (no error), "cancelled",
/// "interrupted" (the runtime stopped: the run can resume), "budget_exhausted" or "failed".
std::string run_status(const caf::error& err);

/// The error a run ends with, given the swarm's error `err` and its members' results `trace`:
/// a run that failed (run_status "failed") because a budget refused a call (a member anywhere in
/// `trace`, recursively, failed with errc::budget_exhausted) ends with errc::budget_exhausted,
/// its message the whole of `err`'s text ("all_members_failed: ..."); any other `err` as it is.
caf::error run_error(const caf::error& err, const std::vector<result>& trace);

/// A decision_made event as one line: "majority: 408 (4 of 5, confidence 0.80)",
/// "judge: poetic wins 8.5/10", "routed to poet", "consensus in round 2: 408 (5 of 5)".
std::string decision_line(const event& e);

/// One participant of a run as its events tell it.
struct member_view {
  agent_id agent;
  bool leaf = true;
  std::string state = "pending"; ///< pending, running, done, failed, skipped or cancelled
  uint32_t tasks = 0;            ///< tasks started
  uint32_t ended = 0;            ///< tasks that ended (answered, failed or cancelled)
  uint32_t round = 0;            ///< round or turn of its latest task; 0: none
  std::string text;              ///< its latest answer (done), or why it was skipped
  caf::error error;              ///< failed or cancelled: why
  usage use;                     ///< summed over its finished tasks (a coordinator's: its swarm's)
  caf::timespan busy{0};         ///< summed duration of its finished tasks
  uint32_t restarts = 0;         ///< times supervision spawned it again
};

/// One tool call of a run as its events tell it.
struct tool_call_view {
  agent_id agent;
  std::string task_id;
  std::string name;
  std::string arguments;
  std::string decision; ///< "approved", "rejected" (by a human or the permissions), or empty
  bool finished = false;
  std::string output; ///< its first 2,000 bytes
  caf::error error;
  caf::timespan duration{0};
};

/// A run folded from its events: who works now, who is done, what was decided, what was spent.
/// Events of other runs are ignored. Not thread-safe.
class run_view {
public:
  /// A view of run `run_id`; empty: the run of the first run_started applied.
  explicit run_view(std::string run_id = {});

  /// Lists `names` (agents, in spec order) as pending members before any of them starts.
  void expect(const std::string& swarm, const std::vector<std::string>& names);

  /// Folds `e` in; false when it belongs to another run.
  bool apply(const event& e);

  const std::string& run_id() const { return run_id_; }
  /// "running" until run_finished, then its status.
  const std::string& status() const { return status_; }
  bool finished() const { return finished_; }
  /// Members in order of first mention (expected ones first).
  const std::vector<member_view>& members() const { return members_; }
  /// The agents (leaves) only.
  std::vector<const member_view*> agents() const;
  /// Agents in the swarm, as run_started said (else the expected ones).
  uint32_t total_agents() const { return total_; }
  /// decision_made events, in order.
  const std::vector<event>& decisions() const { return decisions_; }
  /// The run_finished event (kind run_finished once finished()).
  const event& finish() const { return finish_; }
  /// LLM calls finished (successfully or not), and their usage and cost.
  uint64_t llm_calls() const { return llm_calls_; }
  uint64_t llm_failures() const { return llm_failures_; }
  /// Members spawned again by supervision (member_restarted), over the whole run.
  uint32_t restarts() const { return restarts_; }
  const usage& llm_use() const { return llm_use_; }
  double cost_usd() const { return cost_usd_; }
  /// Some call's model had no price: cost_usd() is a lower bound.
  bool cost_unknown() const { return cost_unknown_; }
  /// Every tool call, in the order they were asked for.
  const std::vector<tool_call_view>& tool_call_list() const { return tools_; }
  /// Tool calls finished, and of those failed or rejected.
  uint64_t tool_calls() const { return tool_calls_; }
  uint64_t tool_failures() const { return tool_failures_; }

private:
  member_view& member(const event& e);
  tool_call_view* open_tool_call(const event& e);

  std::string run_id_;
  std::string status_ = "running";
  bool finished_ = false;
  uint32_t total_ = 0;
  std::vector<member_view> members_;
  std::vector<event> decisions_;
  event finish_;
  uint64_t llm_calls_ = 0;
  uint64_t llm_failures_ = 0;
  uint32_t restarts_ = 0;
  usage llm_use_;
  double cost_usd_ = 0;
  bool cost_unknown_ = false;
  std::vector<tool_call_view> tools_;
  uint64_t tool_calls_ = 0;
  uint64_t tool_failures_ = 0;
};

} // namespace swarm
