// The engine users embed: swarm::runtime spawns swarms from specs; swarm_handle runs them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/cluster_messages.hpp"
#include "runtime/core/messages.hpp"
#include "runtime/core/options.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/tool_messages.hpp"
#include "runtime/health.hpp"
#include "runtime/llm_resolution.hpp"

namespace swarm {

/// What swarm_handle::run does with a run id that the run journal already has. Without a
/// journal (no data directory) every run is new and the mode does not matter.
enum class run_mode : uint8_t {
  /// A new run. An id the journal has is errc::run_exists, naming the run and how to resume it
  /// or start it afresh; nothing runs and the journal is left as it was.
  start,
  /// Continue the journaled run of this id: every LLM call it finished is answered from the
  /// journal. Its task text, its task id (when task_input::task_id is given) and its spec (the
  /// digest of the spec's text) must be the journaled ones, else errc::run_exists: a journal
  /// entry never answers a call of another task or spec. A run that is done returns its stored
  /// result (see run_info::outcome) without running; an id the journal lacks starts a new run.
  resume,
  /// Start over under this id: the journal's header, calls and steps of the old run and its
  /// working-memory notes are forgotten first.
  fresh,
};

/// One task for a swarm.
struct task_input {
  std::string text;
  std::string run_id;  ///< empty: a fresh id is made
  std::string task_id; ///< empty: a fresh id is made (see result::task_id); resume: the run's
  run_mode mode = run_mode::start;
};

/// A run as the run journal keeps it (runtime::find_run).
struct run_info {
  std::string run_id;
  std::string swarm;
  std::string task_text;
  /// "done", "failed", "cancelled", "budget_exhausted", "interrupted" (stopped or killed during
  /// the run; it can resume), or "running" (running now in this runtime).
  std::string status;
  std::string error;       ///< why it did not finish, when it did not
  int64_t started_ms = 0;  ///< Unix milliseconds
  int64_t finished_ms = 0; ///< Unix milliseconds; 0 while running or interrupted
  /// Done: its stored result: text, task id, agent, usage, confidence, and its members' results
  /// (result::trace one level deep: their own traces are not kept).
  result outcome;
};

/// A fresh run id ("run-" + time + random), for callers that want to know the id before the
/// run starts (to print it, to name an events file).
std::string new_run_id();

/// What a swarm (or one of its agents) has spent, as its resource pool accounts it.
struct spending {
  usage use;                    ///< settled tokens and calls
  double cost_usd = 0;          ///< at the spec's prices (resources.prices)
  uint64_t reserved_tokens = 0; ///< held by calls in flight
  /// False when some calls used a model without a resources.prices entry: `cost_usd` counts them
  /// as free, so the real cost is unknown.
  bool cost_known = true;
};

/// What a runtime's shared parts are doing (runtime::stats): its LLM client, its data directory.
struct runtime_stats {
  uint64_t llm_requests = 0;           ///< chat and embedding calls started
  uint64_t llm_attempts = 0;           ///< HTTP attempts (requests + retries)
  uint64_t llm_retries = 0;            ///< attempts after a retryable failure
  uint64_t llm_cancelled = 0;          ///< calls abandoned by their caller
  uint64_t llm_connections_opened = 0; ///< connections to endpoints opened
  uint64_t llm_in_flight = 0;          ///< calls under way now
  uint64_t storage_bytes = 0;          ///< the database's files (0 without a data directory)
  uint64_t wal_files = 0;              ///< its write-ahead log files now
  uint64_t wal_bytes = 0;
};

/// A swarm's resource pool right now, over all its endpoints.
struct pool_occupancy {
  size_t held = 0;      ///< concurrency slots held by calls in flight
  size_t waiting = 0;   ///< calls waiting for a slot or for their rate limit
  size_t reclaimed = 0; ///< leases that expired unreleased since the swarm started
};

/// A running swarm. Cheap to copy; valid while any copy or the runtime lives.
class swarm_handle {
public:
  /// Runs one task through the swarm and waits for its result. A swarm-level failure (every
  /// member failed) is an error; partial failures are in result::trace. A failure a budget
  /// caused (a member anywhere refused with errc::budget_exhausted) is errc::budget_exhausted,
  /// its message the coordinator's error (run_error, status "budget_exhausted"). With a run journal
  /// the run's header is written first and its end status last (run_info::status); a run id the
  /// journal already has is handled as `in.mode` says (run_mode). A swarm keeps the LLM
  /// overrides and the OPENAI_BASE_URL/OPENAI_MODEL it was spawned with; they go to the
  /// journal so that a resumption resolves endpoints and models as the first attempt did.
  [[nodiscard]] caf::expected<result> run(task_input in) const;

  /// Sends `text` to every agent of the swarm, nested swarms included (it lands in their
  /// short-term memory). Reaches every agent even right after spawn.
  void broadcast(std::string text) const;

  /// Sends `text` to the agent called `name`; errc::unknown_agent if there is none.
  [[nodiscard]] caf::error dm(const std::string& name, std::string text) const;

  /// Kills the actor of agent or sub-swarm `name` as a crash would (exit reason `kill`): a way
  /// to watch supervision work (chaos testing). Its coordinator restarts it and asks its task
  /// again as the swarm's `supervision` allows. errc::unknown_agent if there is none.
  [[nodiscard]] caf::error kill(const std::string& name) const;

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

  /// Its pool's slots held and calls waiting now.
  pool_occupancy occupancy() const;

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
/// One runtime::on_event registration. While it lives its callback gets every event; when it is
/// destroyed or cancelled, the callback is unsubscribed and a call in progress is waited for, so
/// once cancel() returns the callback is never called again and what it captured may go. Must
/// not be cancelled from inside its own callback.
class event_subscription {
public:
  event_subscription() = default;
  event_subscription(event_subscription&&) noexcept = default;
  event_subscription& operator=(event_subscription&& other) noexcept;
  event_subscription(const event_subscription&) = delete;
  event_subscription& operator=(const event_subscription&) = delete;
  ~event_subscription();

  /// Unsubscribes now; idempotent.
  void cancel();

  struct state;

private:
  friend class runtime;
  explicit event_subscription(std::shared_ptr<state> ptr) : state_(std::move(ptr)) {}

  std::shared_ptr<state> state_;
};

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

  /// What opening the data directory's database found damaged or lost
  /// (memory::database::damage), one sentence each; empty without a data directory or when the
  /// store was healthy.
  std::vector<std::string> storage_damage() const;

  /// Continues run `run_id`, killed or failed, from the run journal in the data directory: the
  /// swarm is rebuilt from the spec kept there and the task runs again with the same ids; every
  /// LLM call that had finished is answered from the journal, not sent again. A run that is
  /// done answers with its stored result. The LLM overrides are the first attempt's, field by
  /// field replaced by this runtime's that are set; OPENAI_BASE_URL and OPENAI_MODEL are read
  /// as they were when the run started (runs journaled before they were recorded: as now).
  /// Errors: errc::unknown_run (no such run, or no journal: options without data_dir),
  /// errc::invalid_spec (the kept spec no longer loads), and those of swarm_handle::run.
  [[nodiscard]] caf::expected<result> resume(const std::string& run_id);

  /// The first half of resume: the run's swarm, rebuilt from the journal, and its task (mode
  /// run_mode::resume), ready for swarm_handle::run (so a caller can watch approvals and
  /// spending while it runs). Same errors as resume.
  [[nodiscard]] caf::expected<std::pair<swarm_handle, task_input>>
  prepare_resume(const std::string& run_id);

  /// Run `run_id` as the journal keeps it; none if the journal does not have it. A run whose
  /// header says running but that no swarm of this runtime is running was interrupted (this
  /// runtime holds the data directory, so no other process can be running it).
  /// Errors: errc::unknown_run without a journal, io_error if its header cannot be read.
  [[nodiscard]] caf::expected<std::optional<run_info>> find_run(const std::string& run_id) const;

  /// Calls `fn` for every later event of every run, on a runtime thread, until the returned
  /// subscription goes (or the runtime stops). `fn` must not block.
  [[nodiscard]] event_subscription on_event(std::function<void(const event&)> fn);

  /// Counters of the LLM client and the sizes of the data directory's database, now.
  runtime_stats stats() const;

  /// Every run the journal keeps, newest first (by start time). errc::unknown_run without a
  /// journal.
  [[nodiscard]] caf::expected<std::vector<run_info>> runs() const;

  /// Cancels run `run_id`, running now in this runtime: its swarm stops asking, cancels what
  /// its members do and answers with what is done; the run ends "cancelled" (errc::cancelled).
  /// Returns at once. errc::unknown_run if no run of that id runs here now.
  [[nodiscard]] caf::error cancel_run(const std::string& run_id);

  /// Run `run_id`'s events with event::run_seq > `after` as the event log keeps them, oldest
  /// first, at most `limit`. Errors: errc::invalid_argument without an event log
  /// (runtime_options::event_log), io_error if the log cannot be read.
  [[nodiscard]] caf::expected<std::vector<logged_event>>
  run_events(const std::string& run_id, uint64_t after, size_t limit) const;

  /// Calls `fn`, on a runtime thread, for run `run_id`'s events with run_seq > `after`: those
  /// the event log has first, then each later one as the run goes, in order, none missed and
  /// none twice, until the returned subscription goes. `fn` must not block.
  /// errc::invalid_argument without an event log.
  [[nodiscard]] caf::expected<event_subscription>
  follow_run(const std::string& run_id, uint64_t after,
             std::function<void(const logged_event&)> fn);

  /// The cluster as this runtime's node sees it (runtime_options::cluster): the node itself
  /// first, then every member it knows, by name. Empty when this runtime is no node.
  std::vector<node_info> cluster_members() const;

  /// Drains this runtime's node: the members are told it takes no new work; waits until no run
  /// runs here or `timeout` passed, then tells them it leaves for good. No-op without a node;
  /// stop() leaves at once.
  void leave_cluster(std::chrono::milliseconds timeout);

  /// Stops every swarm and the LLM client; pending runs end with errc::runtime_stopped.
  /// Idempotent; the destructor calls it.
  void stop();

  struct impl;

private:
  explicit runtime(std::shared_ptr<impl> ptr) : impl_(std::move(ptr)) {}

  /// Starts the node of runtime_options::cluster, if it names an address to listen on.
  static caf::error start_node(const std::shared_ptr<impl>& rt, const cluster_options& opts);

  /// Resumes, each in a run worker, the journal's runs that were running when the process
  /// ended.
  static void resume_interrupted(const std::shared_ptr<impl>& rt);

  /// on_event on the runtime state `rt`; with `follow`, follow_events instead (`logged` gets the
  /// events, `fn` none).
  static event_subscription subscribe(const std::shared_ptr<impl>& rt,
                                      std::function<void(const event&)> fn,
                                      std::function<void(const logged_event&)> logged = {},
                                      std::optional<follow_events> follow = std::nullopt);

  /// The actor a node hands a run submitted from another process: it runs the one
  /// run_submission it gets on `rt` and answers it (docs/cluster.md, "Runs from anywhere").
  static caf::actor spawn_run_worker(const std::shared_ptr<impl>& rt);

  /// What a run worker does with its submission.
  static caf::expected<result> serve_run(const std::shared_ptr<impl>& rt, run_submission sub);

  std::shared_ptr<impl> impl_;
};

} // namespace swarm
