// The embedding facade: owns the actor system, the LLM client and the monitor.
#include "runtime/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "memory/long_term_actor.hpp"
#include "memory/working.hpp"
#include "net/cassette.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "net/llm_tape.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/events.hpp"
#include "runtime/core/run_id.hpp"
#include "runtime/core/step_log.hpp"
#include "runtime/core/types.hpp"
#include "runtime/llm_gate.hpp"
#include "runtime/monitor.hpp"
#include "runtime/pool_options.hpp"
#include "runtime/resource_pool.hpp"
#include "runtime/run_records.hpp"
#include "runtime/swarm_factory.hpp"
#include "runtime/swarm_tools.hpp"
#include "runtime/workspaces.hpp"

namespace swarm {

namespace {

swarm_config make_config(const runtime_options& opts) {
  swarm_config cfg;
  register_types(cfg);
  if (opts.scheduler_threads > 0)
    cfg.set("scheduler.max-threads", opts.scheduler_threads);
  cfg.set("scheduler.policy", caf::atom_from_string(opts.scheduler_policy));
  return cfg;
}

std::string make_run_id() {
  static std::atomic<uint64_t> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "run-%llx-%04x-%llu", static_cast<unsigned long long>(ms),
                rd() & 0xffffu, static_cast<unsigned long long>(counter.fetch_add(1)));
  return buf;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the runtime keeps on disk and on tape, opened before the actor system starts.
struct persistence {
  std::shared_ptr<memory::database> db;     // null without a data directory
  std::shared_ptr<memory::journal> journal; // null unless journaling
  std::shared_ptr<net::cassette> recording; // record_file or replay_file
  bool replay = false;                      // replay_file: no call reaches an endpoint
};

caf::expected<persistence> open_persistence(const runtime_options& opts) {
  persistence out;
  if (!opts.record_file.empty() && !opts.replay_file.empty())
    return make_error(errc::invalid_argument, "record_file and replay_file exclude each other");
  if (!opts.data_dir.empty()) {
    auto db = memory::database::open(opts.data_dir);
    if (!db)
      return std::move(db.error());
    out.db = std::move(*db);
    if (opts.journal)
      out.journal = std::make_shared<memory::journal>(out.db);
  }
  if (!opts.record_file.empty()) {
    auto c = net::cassette::create(opts.record_file);
    if (!c)
      return std::move(c.error());
    out.recording = std::move(*c);
  } else if (!opts.replay_file.empty()) {
    auto c = net::cassette::load(opts.replay_file);
    if (!c)
      return std::move(c.error());
    out.replay = true;
    out.recording = std::move(*c);
  }
  return out;
}

// Coordinator steps go to the run journal (step_log.hpp).
class journal_step_log final : public step_log {
public:
  explicit journal_step_log(std::shared_ptr<memory::journal> j) : journal_(std::move(j)) {}

  caf::error record(const std::string& run_id, const result& r) override {
    memory::journaled_step step;
    step.task_id = r.task_id;
    step.agent = r.agent.str();
    step.text = r.text;
    step.error = r.error ? describe(r.error) : std::string{};
    step.confidence = r.confidence;
    step.use = r.use;
    return journal_->put_step(run_id, step);
  }

private:
  std::shared_ptr<memory::journal> journal_;
};

swarm_config make_config(const runtime_options& opts, const persistence& p) {
  auto cfg = make_config(opts);
  if (p.journal)
    cfg.steps = std::make_shared<journal_step_log>(p.journal);
  return cfg;
}

} // namespace

struct runtime::impl {
  impl(const runtime_options& opts, llm_overrides ov, persistence p)
      : cfg(make_config(opts, p)), sys(cfg), overrides(std::move(ov)), store(std::move(p)),
        client(std::make_shared<net::llm_client>(opts.llm)), monitor(spawn_monitor(sys)),
        llm(make_llm_chain(opts)), factory(sys, monitor), stream_tokens(opts.stream_tokens),
        max_connections(opts.llm.max_connections_per_endpoint), data_dir(opts.data_dir),
        workspaces(std::make_shared<run_workspaces>(data_dir, opts.keep_workspaces)) {}

  // The runtime's part of the LLM path: the client, behind the recording or replay tape. Each
  // swarm adds its own gate and journal tape in front (spawn_swarm; docs/decisions.md).
  llm_actor make_llm_chain(const runtime_options& opts) {
    llm_actor out;
    if (opts.replay_file.empty())
      out = net::spawn_llm_actor(sys, client, monitor);
    if (store.recording)
      out = net::spawn_llm_tape(sys, out, store.recording,
                                opts.replay_file.empty() ? net::tape_mode::record
                                                         : net::tape_mode::replay);
    return out;
  }

  swarm_config cfg;
  caf::actor_system sys;
  llm_overrides overrides;
  persistence store;
  std::shared_ptr<net::llm_client> client;
  monitor_actor monitor; // before llm: the client's actor tells it streamed tokens
  llm_actor llm;
  swarm_factory factory;
  bool stream_tokens;     // agents ask for llm_token events (runtime_options::stream_tokens)
  size_t max_connections; // the client's limit per endpoint: the pool's default slots
  std::string data_dir;
  std::shared_ptr<run_workspaces> workspaces; // the runs' tool workspaces, under data_dir
  std::atomic<bool> stopped{false};
  working_memory_actor working;     // spawned at the first swarm that needs it (guarded by mtx)
  long_term_memory_actor long_term; // idem

  /// The runtime's memory tiers that `spec` needs, spawned on first use. The long-term memory
  /// takes its embedding settings from the first spec that needs it.
  caf::error memory_for(const swarm_spec& spec, const llm_overrides& ov, const env_reader& env) {
    bool need_working = spec.memory.working;
    bool need_long = spec.memory.long_term || uses_memory_tools(spec);
    if (!need_working && !need_long)
      return {};
    if (!store.db)
      return make_error(
          errc::invalid_argument,
          "swarm '" + spec.name +
              "' uses memory (memory: or memory tools), which "
              "needs a data directory (runtime_options::data_dir, swarm run --data-dir)");
    std::lock_guard<std::mutex> guard{mtx};
    if (need_working && !working)
      working = memory::spawn_working_memory(sys, store.db, monitor);
    if (need_long && !long_term) {
      memory::long_term_memory_options lopts;
      if (spec.memory.embeddings_model) {
        memory::embedding_options e;
        e.llm = llm;
        e.model = *spec.memory.embeddings_model;
        auto endpoint = resolve_embeddings(spec, ov, env); // the agents' chain
        if (!endpoint)
          return std::move(endpoint.error());
        e.endpoint = std::move(*endpoint);
        lopts.embeddings = std::move(e);
      }
      long_term = memory::spawn_long_term_memory(sys, store.db, std::move(lopts), monitor);
    }
    return {};
  }
  std::atomic<uint64_t> next_task{1};
  std::mutex mtx;
  std::set<std::string> active_runs; // journaled runs being run now (guarded by mtx)

  /// Forgets run `run_id` (run_mode::fresh): its journal entries and working-memory notes.
  caf::error forget_run(const std::string& run_id) {
    if (auto gone = store.journal->forget_run(run_id); !gone)
      return std::move(gone.error());
    std::unique_lock<std::mutex> guard{mtx};
    if (!working) {
      // No actor owns the notes yet; it is spawned under mtx, so nobody else touches them.
      memory::working_store notes{store.db};
      if (auto gone = notes.forget_run(run_id); !gone)
        return std::move(gone.error());
      return {};
    }
    auto actor = working;
    guard.unlock();
    caf::error err;
    caf::scoped_actor self{sys};
    self->request(actor, std::chrono::seconds(60), wm_forget_run{run_id})
        .receive([](uint64_t) {}, [&](caf::error& e) { err = std::move(e); });
    return err;
  }
  std::vector<caf::actor> subscribers; // on_event forwarders (guarded by mtx); swarms live in
                                       // the factory's registry

  /// Removes swarm `name` from the registry and stops its actors; false if it is not running.
  bool stop_swarm(const std::string& name) {
    auto sw = factory.remove(name);
    if (!sw)
      return false;
    sw->channel->clear();
    for (const auto& m : sw->swarms)
      caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
    for (const auto& m : sw->agents)
      caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
    for (const auto& a : sw->services)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    return true;
  }

  void stop() {
    if (stopped.exchange(true))
      return;
    client->stop();
    workspaces->close(); // a temporary root goes; later tool calls are refused
    for (const auto& name : factory.running())
      stop_swarm(name);
    std::vector<caf::actor> subs;
    {
      std::lock_guard<std::mutex> guard{mtx};
      subs.swap(subscribers);
    }
    for (auto& a : subs)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
    std::lock_guard<std::mutex> guard{mtx};
    if (working)
      caf::anon_send_exit(working, caf::exit_reason::user_shutdown);
    if (long_term)
      caf::anon_send_exit(long_term, caf::exit_reason::user_shutdown);
  }
};

struct swarm_handle::state {
  std::shared_ptr<runtime::impl> rt;
  built_swarm swarm;
  resource_pool_actor pool;      // the swarm's budgets and accounting
  tool_runner_actor tool_runner; // null: the swarm has no tools
  bool consolidate = false;      // long-term memory gets the run's salient notes at its end
  std::string spec_name;         // agents' ids name it (the registry name may be "name#2")
  std::string spec_source;       // kept in the run journal so the run can resume
  std::string spec_text;
  std::string spec_digest;     // of spec_text: a resumption must run the same spec
  llm_overrides overrides;     // the swarm was resolved with these (kept in the journal)
  llm_environment environment; // and these OPENAI_BASE_URL / OPENAI_MODEL (idem)
};

std::string new_run_id() {
  return make_run_id();
}

// -- swarm_handle -------------------------------------------------------------------------------

namespace {

// Marks a journaled run as run by this runtime while it lives (runtime::find_run); false from
// claimed() if it already was.
class active_run {
public:
  active_run(runtime::impl& rt, std::string id) : rt_(rt), id_(std::move(id)) {
    std::lock_guard<std::mutex> guard{rt_.mtx};
    claimed_ = rt_.active_runs.insert(id_).second;
  }
  ~active_run() {
    if (!claimed_)
      return;
    std::lock_guard<std::mutex> guard{rt_.mtx};
    rt_.active_runs.erase(id_);
  }
  active_run(const active_run&) = delete;
  active_run& operator=(const active_run&) = delete;
  bool claimed() const { return claimed_; }

private:
  runtime::impl& rt_;
  std::string id_;
  bool claimed_ = false;
};

} // namespace

caf::expected<result> swarm_handle::run(task_input in) const {
  auto& rt = *state_->rt;
  if (rt.stopped)
    return make_error(errc::runtime_stopped, "the runtime was stopped");
  if (auto why = in.run_id.empty() ? std::string{} : run_id_problem(in.run_id); !why.empty())
    return make_error(errc::invalid_argument, why); // it would name the run's workspace
  task t;
  t.run_id = in.run_id.empty() ? make_run_id() : std::move(in.run_id);
  t.text = std::move(in.text);
  t.from = "user";
  memory::run_record header;
  std::optional<active_run> active;
  if (rt.store.journal) {
    active.emplace(rt, t.run_id);
    if (!active->claimed())
      return make_error(errc::run_exists, "run '" + t.run_id + "' is running now in this runtime");
    // What the journal has under this id decides (run_mode); a finished run is not run again.
    auto kept =
        check_run_start(*rt.store.journal, {t.run_id, in.task_id, t.text, state_->spec_digest},
                        in.mode, [&] { return rt.forget_run(t.run_id); });
    if (!kept)
      return std::move(kept.error());
    if (*kept && (*kept)->status == "done")
      return stored_result(**kept);
    if (*kept) {
      header = std::move(**kept);
      if (in.task_id.empty())
        in.task_id = header.task_id; // the keys of the journaled calls hold it
    } else {
      header.started_ms = now_ms();
    }
  }
  // A run that can resume (it did not finish, and the journal has it) keeps its workspace.
  workspace_run workspace{rt.workspaces, t.run_id, in.mode == run_mode::fresh};
  if (workspace.error())
    return workspace.error();
  t.id =
      in.task_id.empty() ? "t" + std::to_string(rt.next_task.fetch_add(1)) : std::move(in.task_id);
  if (rt.store.journal) {
    // The header first: a run the journal does not know could not be resumed.
    header.run_id = t.run_id;
    header.swarm = state_->swarm.name;
    header.spec_source = state_->spec_source;
    header.spec_text = state_->spec_text;
    header.spec_digest = state_->spec_digest;
    header.task_id = t.id;
    header.task_text = t.text;
    header.llm_url = state_->overrides.url;
    header.model = state_->overrides.model;
    header.env_base_url = state_->environment.base_url;
    header.env_model = state_->environment.model;
    header.env_recorded = true;
    header.status = "running";
    header.finished_ms = 0;
    header.error.clear();
    if (auto err = rt.store.journal->put_run(header))
      return err;
  }
  auto run_id = t.run_id;
  caf::expected<result> out{make_error(errc::runtime_stopped, "no reply")};
  caf::scoped_actor self{rt.sys};
  // Sent, not requested, and the root monitored: if the swarm is stopped while it works (its
  // actors exit with the answer still promised), the down message ends the wait.
  const auto& root = state_->swarm.root;
  event started;
  started.kind = event_kind::run_started;
  started.run_id = run_id;
  started.task_id = t.id;
  started.agent = agent_id{{}, state_->spec_name};
  started.leaf = false;
  started.text = t.text;
  started.total = static_cast<uint32_t>(state_->swarm.agents.size());
  auto finished = started; // run_finished, filled in at the end
  finished.kind = event_kind::run_finished;
  finished.text.clear();
  caf::anon_send(rt.monitor, std::move(started));
  auto run_started_at = std::chrono::steady_clock::now();
  self->monitor(root);
  self->send(root, std::move(t));
  bool waiting = true;
  self->receive_while(waiting)(
      [&](result& r) {
        out = std::move(r);
        waiting = false;
      },
      [&](caf::error& err) {
        out = rt.stopped ? make_error(errc::runtime_stopped, describe(err)) : err;
        waiting = false;
      },
      [&](caf::down_msg& down) {
        if (down.source != root.address())
          return;
        out = make_error(errc::runtime_stopped,
                         "swarm '" + state_->swarm.name + "' stopped before it answered");
        waiting = false;
      });
  if (rt.stopped) {
    // Stopping fails the LLM calls first, so members may answer (with those errors, or the
    // swarm with a partial result) before its actors exit: the run ends as stopped, whatever
    // they said; their answers are in the events.
    auto why = !out ? out.error() : out->error;
    if (!why || !is(why, errc::runtime_stopped))
      out =
          make_error(errc::runtime_stopped, "the runtime was stopped during the run" +
                                                (why ? " (" + describe(why) + ")" : std::string{}));
  }
  if (out && !out->error && state_->consolidate && rt.long_term) {
    // The run's salient working-memory notes become long-term memories of the swarm.
    self->request(rt.long_term, std::chrono::seconds(120),
                  ltm_consolidate{run_id, "swarm:" + state_->spec_name})
        .receive([](const consolidation_report&) {},
                 [&](caf::error& err) {
                   out = make_error(errc::io_error, "run " + run_id +
                                                        " finished, but consolidating its "
                                                        "working memory failed: " +
                                                        describe(err));
                 });
  }
  auto err = out ? out->error : out.error();
  workspace.end(err && rt.store.journal);
  finished.name = run_status(err);
  finished.error = err;
  finished.duration = std::chrono::steady_clock::now() - run_started_at;
  if (out) {
    finished.text = out->text;
    finished.use = out->use;
    finished.confidence = out->confidence;
  }
  caf::anon_send(rt.monitor, std::move(finished));
  if (rt.store.journal) {
    // Also when the runtime was stopped: the run ends "interrupted" and can resume.
    header.finished_ms = now_ms();
    header.status = run_status(err);
    header.error = err ? describe(err) : std::string{};
    header.result_text = out ? out->text : std::string{};
    if (out && !err) {
      header.result_agent = out->agent;
      header.result_prompt_tokens = out->use.prompt_tokens;
      header.result_completion_tokens = out->use.completion_tokens;
      header.result_calls = out->use.calls;
      header.result_confidence = out->confidence;
      header.result_trace = journaled_trace(*out);
    }
    if (auto put_err = rt.store.journal->put_run(header); put_err && !err)
      return put_err;
  }
  if (out && out->error)
    return out->error;
  return out;
}

void swarm_handle::broadcast(std::string text) const {
  state_->swarm.channel->send(swarm::broadcast{"user", std::move(text)});
}

std::vector<agent_health> swarm_handle::health_check(std::chrono::milliseconds timeout) const {
  const auto& sw = state_->swarm;
  std::vector<health_target> targets;
  for (const auto& m : sw.agents)
    targets.push_back({agent_id{sw.name, m.name}, m.handle, false});
  for (const auto& m : sw.swarms)
    targets.push_back({agent_id{sw.name, m.name}, m.handle, true});
  auto out = probe_health(state_->rt->sys, std::move(targets), timeout);
  event e;
  e.kind = event_kind::health_checked;
  e.agent = agent_id{{}, state_->spec_name};
  e.leaf = false;
  e.total = static_cast<uint32_t>(out.size());
  size_t alive = 0;
  std::string silent;
  for (const auto& h : out) {
    alive += h.alive;
    if (!h.alive)
      silent += (silent.empty() ? "; not answering: " : ", ") + h.agent.name + " (" +
                error_code(h.error) + ")";
  }
  e.text = std::to_string(alive) + " of " + std::to_string(out.size()) + " alive" + silent;
  caf::anon_send(state_->rt->monitor, std::move(e));
  return out;
}

namespace {

spending to_spending(const caf::expected<usage_report>& r) {
  spending out;
  if (r) {
    out.use = r->use;
    out.cost_usd = r->cost_usd;
    out.reserved_tokens = r->reserved_tokens;
    out.cost_known = r->unpriced_calls == 0;
  }
  return out;
}

} // namespace

spending swarm_handle::spent() const {
  resource_pool_client pool{state_->rt->sys, state_->pool};
  return to_spending(pool.usage_total());
}

std::vector<std::pair<std::string, spending>> swarm_handle::spent_per_agent() const {
  resource_pool_client pool{state_->rt->sys, state_->pool};
  std::vector<std::pair<std::string, spending>> out;
  for (const auto& m : state_->swarm.agents)
    out.emplace_back(m.name, to_spending(pool.usage_of(agent_id{state_->spec_name, m.name})));
  return out;
}

std::vector<pending_approval> swarm_handle::pending_approvals() const {
  std::vector<pending_approval> out;
  if (!state_->tool_runner)
    return out;
  caf::scoped_actor self{state_->rt->sys};
  self->request(state_->tool_runner, std::chrono::seconds(10), list_approvals{})
      .receive([&](std::vector<pending_approval>& xs) { out = std::move(xs); }, [](caf::error&) {});
  return out;
}

caf::error swarm_handle::decide(uint64_t id, bool approve, std::string reason) const {
  if (!state_->tool_runner)
    return make_error(errc::invalid_argument, "swarm '" + state_->swarm.name + "' has no tools");
  caf::error err;
  caf::scoped_actor self{state_->rt->sys};
  self->request(state_->tool_runner, std::chrono::seconds(10),
                approval_decision{id, approve, std::move(reason)})
      .receive([](bool) {}, [&](caf::error& e) { err = std::move(e); });
  return err;
}

void swarm_handle::stop() const {
  state_->rt->stop_swarm(state_->swarm.name);
}

caf::error swarm_handle::dm(const std::string& name, std::string text) const {
  for (const auto& m : state_->swarm.agents)
    if (m.name == name) {
      caf::anon_send(m.handle, swarm::dm{"user", std::move(text)});
      return {};
    }
  return make_error(errc::unknown_agent,
                    "no agent '" + name + "' in swarm '" + state_->swarm.name + "'");
}

const std::string& swarm_handle::name() const {
  return state_->swarm.name;
}

std::vector<std::string> swarm_handle::agents() const {
  std::vector<std::string> out;
  for (const auto& m : state_->swarm.agents)
    out.push_back(m.name);
  return out;
}

// -- runtime ------------------------------------------------------------------------------------

namespace {

caf::expected<swarm_handle> spawn_swarm(const std::shared_ptr<runtime::impl>& rt,
                                        const swarm_spec& spec, const llm_overrides& given,
                                        const llm_environment& environment) {
  if (rt->stopped)
    return make_error(errc::runtime_stopped, "the runtime was stopped");
  // OPENAI_BASE_URL / OPENAI_MODEL as `environment` has them (a resumption: as first seen).
  auto env = environment.reader();
  // Endpoints are checked before anything is spawned; a replayed call reaches none.
  auto overrides = given;
  overrides.offline = overrides.offline || rt->store.replay;
  if (auto checked = check_llm_settings(spec, overrides, env); !checked)
    return std::move(checked.error());
  // The swarm's LLM path: agent -> journal tape -> gate (its resource pool) -> the runtime's.
  // The journal sits in front so that a resumed run's finished calls need no grant.
  auto popts = pool_options_from(spec);
  auto has_default = std::any_of(spec.resources.endpoints.begin(), spec.resources.endpoints.end(),
                                 [](const auto& ep) { return ep.url == "default"; });
  if (!has_default)
    popts.default_endpoint.max_concurrent = rt->max_connections;
  auto pool = spawn_resource_pool(rt->sys, std::move(popts));
  auto gate_opts = gate_options_from(spec);
  gate_opts.monitor = rt->monitor;
  auto gate = spawn_llm_gate(rt->sys, rt->llm, pool, std::move(gate_opts));
  std::vector<caf::actor> services{caf::actor_cast<caf::actor>(pool),
                                   caf::actor_cast<caf::actor>(gate)};
  llm_actor path = gate;
  if (rt->store.journal) {
    path = net::spawn_llm_tape(rt->sys, gate, rt->store.journal, net::tape_mode::journal);
    services.push_back(caf::actor_cast<caf::actor>(path));
  }
  auto stop_services = [&services] {
    for (auto& a : services)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  };
  if (auto err = rt->memory_for(spec, overrides, env)) {
    stop_services();
    return err;
  }
  swarm_wiring wiring;
  wiring.llm = path;
  wiring.stream_tokens = rt->stream_tokens;
  if (spec.memory.working)
    wiring.working = rt->working;
  if (spec.memory.long_term)
    wiring.long_term = rt->long_term;
  auto directory = std::make_shared<agent_directory>();
  tool_runner_actor wiring_runner;
  if (!spec.tools.empty()) {
    // Each run's workspace: <data_dir>/workspaces/<run_id>, else in a temporary directory.
    auto root = rt->workspaces->provider();
    auto tools = spawn_swarm_tools(rt->sys, spec, root, rt->monitor, rt->long_term, directory,
                                   rt->store.journal);
    wiring.tool_runner = tools.runner;
    wiring_runner = tools.runner;
    wiring.tool_specs = std::move(tools.specs);
    services.push_back(caf::actor_cast<caf::actor>(tools.runner));
  }
  wiring.services = services;
  auto built = rt->factory.build(spec, overrides, std::move(wiring), env);
  if (!built) {
    stop_services();
    return std::move(built.error());
  }
  for (const auto& m : built->agents)
    directory->add(m.name, m.handle);
  auto st = std::make_shared<swarm_handle::state>();
  st->rt = rt;
  st->pool = std::move(pool);
  st->tool_runner = wiring_runner;
  st->consolidate = spec.memory.long_term && spec.memory.working && spec.memory.consolidate;
  st->swarm = std::move(*built);
  st->spec_name = spec.name;
  st->spec_source = spec.source;
  st->spec_text = spec.text;
  st->spec_digest = spec_digest(spec.text);
  st->overrides = llm_overrides{given.url, given.model};
  st->environment = environment;
  return swarm_handle{std::move(st)};
}

} // namespace

runtime::runtime(runtime_options opts, llm_overrides overrides) {
  auto p = open_persistence(opts);
  if (!p)
    throw std::runtime_error(describe(p.error()));
  impl_ = std::make_shared<impl>(opts, std::move(overrides), std::move(*p));
}

caf::expected<std::unique_ptr<runtime>> runtime::open(runtime_options opts,
                                                      llm_overrides overrides) {
  auto p = open_persistence(opts);
  if (!p)
    return std::move(p.error());
  auto ptr = std::make_shared<impl>(opts, std::move(overrides), std::move(*p));
  return std::unique_ptr<runtime>{new runtime{std::move(ptr)}};
}

runtime::~runtime() {
  stop();
}

void runtime::stop() {
  impl_->stop();
}

caf::expected<swarm_handle> runtime::spawn(const swarm_spec& spec) {
  return spawn_swarm(impl_, spec, impl_->overrides, llm_environment::current());
}

caf::expected<result> runtime::resume(const std::string& run_id) {
  // A finished run answers from its header: nothing is spawned.
  if (auto known = find_run(run_id); known && *known && (*known)->status == "done")
    return std::move((*known)->outcome);
  auto prepared = prepare_resume(run_id);
  if (!prepared)
    return std::move(prepared.error());
  auto& [team, input] = *prepared;
  auto out = team.run(std::move(input));
  team.stop();
  return out;
}

caf::expected<std::pair<swarm_handle, task_input>>
runtime::prepare_resume(const std::string& run_id) {
  auto& journal = impl_->store.journal;
  if (!journal)
    return make_error(errc::unknown_run, "cannot resume " + run_id +
                                             ": this runtime keeps no run journal (no data "
                                             "directory, or journal off)");
  auto header = journal->get_run(run_id);
  if (!header)
    return std::move(header.error());
  if (!*header)
    return make_error(errc::unknown_run,
                      "no run '" + run_id + "' in the journal (" + journal->describe() + ")");
  const auto& h = **header;
  if (h.spec_text.empty())
    return make_error(errc::unknown_run,
                      "run '" + run_id +
                          "' was started from a spec built in "
                          "code; the journal has no spec text to rebuild it from");
  auto spec = load_spec_text(h.spec_text, h.spec_source);
  if (!spec)
    return std::move(spec.error());
  // Per field, the runtime's own override wins (e.g. the endpoint moved), else the first
  // attempt's; the environment's fallbacks are read as the run first saw them.
  auto team =
      spawn_swarm(impl_, *spec, merge_overrides(impl_->overrides, h), llm_environment::of(h));
  if (!team)
    return std::move(team.error());
  return std::pair<swarm_handle, task_input>{
      std::move(*team), task_input{h.task_text, h.run_id, h.task_id, run_mode::resume}};
}

caf::expected<std::optional<run_info>> runtime::find_run(const std::string& run_id) const {
  auto& journal = impl_->store.journal;
  if (!journal)
    return make_error(errc::unknown_run, "no run '" + run_id +
                                             "': this runtime keeps no run journal (no data "
                                             "directory, or journal off)");
  auto header = journal->get_run(run_id);
  if (!header)
    return std::move(header.error());
  if (!*header)
    return std::optional<run_info>{};
  bool running_now = false;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    running_now = impl_->active_runs.count(run_id) > 0;
  }
  return std::optional<run_info>{to_run_info(**header, running_now)};
}

std::vector<std::string> runtime::swarms() const {
  return impl_->factory.running();
}

void runtime::on_event(std::function<void(const event&)> fn) {
  // The callback is a spawn argument, not a capture: see spawn_monitor.
  auto sub = impl_->sys.spawn(
      [](caf::event_based_actor*, std::function<void(const event&)> f) -> caf::behavior {
        return {[f](const event& e) { f(e); }};
      },
      std::move(fn));
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->subscribers.push_back(sub);
  }
  caf::anon_send(impl_->monitor, subscribe_events{sub});
}

} // namespace swarm
