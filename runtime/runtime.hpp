// The engine users embed: swarm::runtime spawns swarms from specs; swarm_handle runs them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"
#include "runtime/core/options.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/tool_messages.hpp"
#include "runtime/health.hpp"
#include "runtime/llm_resolution.hpp"

namespace swarm {

/// One task for a swarm.
struct task_input {
  std::string text;
  std::string run_id;  ///< empty: a fresh id is made
  std::string task_id; ///< empty: a fresh id is made (see result::task_id)
};

/// What a swarm (or one of its agents) has spent, as its resource pool accounts it.
struct spending {
  usage use;                    ///< settled tokens and calls
  double cost_usd = 0;          ///< at the spec's prices (resources.prices)
  uint64_t reserved_tokens = 0; ///< held by calls in flight
};

/// A running swarm. Cheap to copy; valid while any copy or the runtime lives.
class swarm_handle {
public:
  /// Runs one task through the swarm and waits for its result. A swarm-level failure (every
  /// member failed) is an error; partial failures are in result::trace.
  [[nodiscard]] caf::expected<result> run(task_input in) const;

  /// Sends `text` to every agent of the swarm, nested swarms included (it lands in their
  /// short-term memory). Reaches every agent even right after spawn.
  void broadcast(std::string text) const;

  /// Sends `text` to the agent called `name`; errc::unknown_agent if there is none.
  [[nodiscard]] caf::error dm(const std::string& name, std::string text) const;

  /// Probes every agent and coordinator of the swarm at once; each answers within `timeout` or
  /// is reported not alive. Returns after at most about `timeout`. Agents first, in spec order.
  std::vector<agent_health> health_check(std::chrono::milliseconds timeout) const;

  /// Tool calls of this swarm waiting for a human decision (tools marked needs_approval),
  /// oldest first. A server can list them and decide later.
  std::vector<pending_approval> pending_approvals() const;

  /// Approves or rejects pending tool call `id` (a rejection's `reason` is told to the model).
  /// errc::invalid_argument if no call `id` is pending.
  [[nodiscard]] caf::error decide(uint64_t id, bool approve, std::string reason = {}) const;

  /// What the swarm has spent so far, over all its runs.
  spending spent() const;

  /// What each agent has spent so far, in spec order.
  std::vector<std::pair<std::string, spending>> spent_per_agent() const;

  /// Stops the swarm's actors and removes it from the runtime's registry. Idempotent.
  void stop() const;

  /// The swarm's registry name (the spec's name; "name#2" for a second instance).
  const std::string& name() const;

  /// Names of the swarm's agents, in spec order.
  std::vector<std::string> agents() const;

  struct state;
  explicit swarm_handle(std::shared_ptr<const state> st) : state_(std::move(st)) {}

private:
  std::shared_ptr<const state> state_;
};

/// The runtime: actor system, LLM client, monitor. Stops everything on destruction.
class runtime {
public:
  /// Starts the runtime. With a data directory it opens the database there (the run journal,
  /// the memory tiers): a directory that is not ours, corrupt or in use by another process is an
  /// error, thrown as std::runtime_error with the directory named (see open()).
  explicit runtime(runtime_options opts = {}, llm_overrides overrides = {});

  /// Like the constructor, but returns the error instead of throwing it.
  [[nodiscard]] static caf::expected<std::unique_ptr<runtime>> open(runtime_options opts = {},
                                                                    llm_overrides overrides = {});
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Builds and starts the swarm of `spec`. Fails (spawning nothing) when an agent has no
  /// endpoint or the architecture is unknown.
  [[nodiscard]] caf::expected<swarm_handle> spawn(const swarm_spec& spec);

  /// Names of the running swarms.
  std::vector<std::string> swarms() const;

  /// Continues run `run_id`, killed or failed, from the run journal in the data directory: the
  /// swarm is rebuilt from the spec kept there and the task runs again with the same ids; every
  /// LLM call that had finished is answered from the journal, not sent again.
  /// Errors: errc::unknown_run (no such run, or no journal: options without data_dir),
  /// errc::invalid_spec (the kept spec no longer loads), and those of swarm_handle::run.
  [[nodiscard]] caf::expected<result> resume(const std::string& run_id);

  /// The first half of resume: the run's swarm, rebuilt from the journal, and its task, ready
  /// for swarm_handle::run (so a caller can watch approvals and spending while it runs). Same
  /// errors as resume.
  [[nodiscard]] caf::expected<std::pair<swarm_handle, task_input>>
  prepare_resume(const std::string& run_id);

  /// Calls `fn` for every later event of every run, on a runtime thread. Must not block.
  void on_event(std::function<void(const event&)> fn);

  /// Stops every swarm and the LLM client; pending runs end with errc::runtime_stopped.
  /// Idempotent; the destructor calls it.
  void stop();

  struct impl;

private:
  explicit runtime(std::shared_ptr<impl> ptr) : impl_(std::move(ptr)) {}

  std::shared_ptr<impl> impl_;
};

} // namespace swarm
