// The embedding facade: owns the actor system, the LLM client and the monitor.
#include "runtime/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
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
#include "runtime/cluster_node.hpp"
#include "runtime/cluster_placement.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"
#include "runtime/core/events.hpp"
#include "runtime/core/run_id.hpp"
#include "runtime/core/step_log.hpp"
#include "runtime/core/types.hpp"
#include "runtime/detail/runtime_state.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/monitor.hpp"
#include "runtime/pool_options.hpp"
#include "runtime/resource_pool.hpp"
#include "runtime/run_records.hpp"
#include "runtime/scheduler_options.hpp"
#include "runtime/swarm_factory.hpp"
#include "runtime/swarm_tools.hpp"
#include "runtime/workspaces.hpp"

namespace swarm {

namespace {

swarm_config make_config(const runtime_options& opts) {
  swarm_config cfg;
  register_types(cfg);
  actors::register_agent_type(cfg); // other nodes may spawn agents here
  apply_scheduler_options(cfg, opts);
  if (!opts.cluster.listen.empty())
    apply_cluster_config(cfg, opts.cluster.link, opts.cluster.heartbeat_interval,
                         opts.cluster.failure_timeout);
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
    if (opts.event_log) {
      out.events = std::make_shared<memory::event_log>(
          out.db, memory::event_log_options{opts.event_log_retention, opts.event_log_max_runs});
      if (auto pruned = out.events->prune(); !pruned)
        return std::move(pruned.error());
    }
  } else if (opts.event_log) {
    return make_error(errc::invalid_argument,
                      "an event log (runtime_options::event_log) needs a data directory");
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
  // Counted: until runtime::on_event adds a listener, senders skip the monitor.
  // The event log listens to every event for as long as the runtime lives.
  cfg.event_listeners = std::make_shared<std::atomic<int64_t>>(p.events ? 1 : 0);
  if (!opts.cluster.listen.empty())
    cfg.hosted_agents = std::make_shared<std::atomic<int64_t>>(0);
  return cfg;
}

} // namespace

runtime::impl::impl(const runtime_options& opts, llm_overrides ov, persistence p)
    : cfg(make_config(opts, p)), sys(cfg), overrides(std::move(ov)), store(std::move(p)),
      client(std::make_shared<net::llm_client>(opts.llm)),
      monitor(spawn_monitor(sys, store.events)), llm(make_llm_chain(opts)), factory(sys, monitor),
      stream_tokens(opts.stream_tokens), max_connections(opts.llm.max_connections_per_endpoint),
      data_dir(opts.data_dir),
      workspaces(std::make_shared<run_workspaces>(data_dir, opts.keep_workspaces)) {}

std::string new_run_id() {
  return make_run_id();
}

// -- runtime ------------------------------------------------------------------------------------

namespace {

// On a cluster node, the agents go where place_agents puts them: `wiring` spawns those of
// other nodes there. A runtime that is no node refuses agents pinned to a node.
caf::error place_on_cluster(const std::shared_ptr<runtime::impl>& rt, const swarm_spec& spec,
                            swarm_wiring& wiring) {
  auto pinned = std::find_if(spec.agents.begin(), spec.agents.end(),
                             [](const agent_spec& a) { return !a.node.empty(); });
  if (!rt->node) {
    if (pinned == spec.agents.end())
      return {};
    return make_error(errc::invalid_argument,
                      "agent '" + pinned->name + "' is pinned to node '" + pinned->node +
                          "', but this runtime is no cluster node (runtime_options::cluster, "
                          "swarm node)");
  }
  caf::expected<placement_view> view{placement_view{}};
  caf::scoped_actor self{rt->sys};
  self->request(rt->node, std::chrono::seconds(10), placement_request{})
      .receive([&](placement_view& v) { view = std::move(v); },
               [&](caf::error& err) { view = std::move(err); });
  if (!view)
    return std::move(view.error());
  auto where = place_agents(spec, *view);
  if (!where)
    return std::move(where.error());
  if (std::all_of(where->begin(), where->end(), [](size_t k) { return k == 0; }))
    return {}; // all here: the factory's own spawn
  std::vector<bool> pins;
  for (const auto& a : spec.agents)
    pins.push_back(!a.node.empty());
  // An agent placed by the policy whose node is lost while it is spawned there is spawned here
  // instead; one pinned to that node is refused, as when its node is not up.
  wiring.spawn_agent =
      [rt, view = std::move(*view), where = std::move(*where), pins = std::move(pins),
       llm = wiring.llm](
          size_t i,
          const std::shared_ptr<const actors::agent_config>& cfg) -> caf::expected<agent_actor> {
    auto k = where[i];
    if (k != 0) {
      auto there = spawn_agent_on(rt->sys, view.nodes[k], view.members[k].name, *cfg, llm,
                                  rt->monitor, std::chrono::seconds(10));
      if (there || (i < pins.size() && pins[i]))
        return there;
    }
    return actors::spawn_agent(rt->sys, cfg, llm, rt->monitor);
  };
  return {};
}

// `stream_tokens`: its agents' calls tell their tokens (llm_token events); null: as the
// runtime's options say.
caf::expected<swarm_handle> spawn_swarm(const std::shared_ptr<runtime::impl>& rt,
                                        const swarm_spec& spec, const llm_overrides& given,
                                        const llm_environment& environment,
                                        std::optional<bool> stream_tokens = std::nullopt) {
  if (rt->stopped)
    return make_error(errc::runtime_stopped, "the runtime was stopped");
  // OPENAI_BASE_URL / OPENAI_MODEL as `environment` has them (a resumption: as first seen).
  auto env = environment.reader();
  // Endpoints are checked before anything is spawned; a replayed call reaches none.
  auto overrides = given;
  overrides.offline = overrides.offline || rt->store.replay;
  if (auto checked = check_llm_settings(spec, overrides, env); !checked)
    return std::move(checked.error());
  // The swarm's LLM path: agent -> its broker (journal, grant from its resource pool, the
  // client, settled usage, journal write off the scheduler threads) -> agent.
  auto popts = pool_options_from(spec);
  auto has_default = std::any_of(spec.resources.endpoints.begin(), spec.resources.endpoints.end(),
                                 [](const auto& ep) { return ep.url == "default"; });
  if (!has_default)
    popts.default_endpoint.max_concurrent = rt->max_connections;
  auto pool = spawn_resource_pool(rt->sys, std::move(popts));
  auto broker_opts = broker_options_from(spec);
  broker_opts.monitor = rt->monitor;
  broker_opts.journal = rt->store.journal;
  if (rt->store.recording)
    broker_opts.inner = rt->llm; // the cassette records or replays every call
  auto path = spawn_llm_broker(rt->sys, rt->client, pool, std::move(broker_opts));
  std::vector<caf::actor> services{caf::actor_cast<caf::actor>(pool),
                                   caf::actor_cast<caf::actor>(path)};
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
  wiring.stream_tokens = stream_tokens.value_or(rt->stream_tokens);
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
  if (auto err = place_on_cluster(rt, spec, wiring)) {
    stop_services();
    return err;
  }
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
  st->spec_repaired = spec.repaired;
  st->overrides = llm_overrides{given.url, given.model};
  st->environment = environment;
  return swarm_handle{std::move(st)};
}

caf::expected<std::pair<swarm_handle, task_input>>
prepare_resume_on(const std::shared_ptr<runtime::impl>& rt, const std::string& run_id) {
  auto& journal = rt->store.journal;
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
  auto team = spawn_swarm(rt, *spec, merge_overrides(rt->overrides, h), llm_environment::of(h));
  if (!team)
    return std::move(team.error());
  return std::pair<swarm_handle, task_input>{
      std::move(*team), task_input{h.task_text, h.run_id, h.task_id, run_mode::resume}};
}

caf::expected<std::optional<run_info>> find_run_on(runtime::impl& rt, const std::string& run_id) {
  auto& journal = rt.store.journal;
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
    std::lock_guard<std::mutex> guard{rt.mtx};
    running_now = rt.active_runs.count(run_id) > 0;
  }
  return std::optional<run_info>{to_run_info(**header, running_now)};
}

} // namespace

// Starts the node when `opts` name an address to listen on: its load is this runtime's, the
// runs submitted to it run here, and the runs it left unfinished are resumed.
caf::error runtime::start_node(const std::shared_ptr<impl>& rt, const cluster_options& opts) {
  if (opts.listen.empty())
    return {};
  std::weak_ptr<impl> weak = rt;
  node_host host;
  host.load = [weak] {
    auto st = weak.lock();
    if (!st)
      return node_load{};
    auto hosted = st->cfg.hosted_agents ? st->cfg.hosted_agents->load() : 0;
    return node_load{static_cast<uint64_t>(std::max<int64_t>(hosted, 0)),
                     st->client->stats().in_flight};
  };
  host.run_worker = [weak] {
    auto st = weak.lock();
    return st && !st->stopped ? spawn_run_worker(st) : caf::actor{};
  };
  auto started = start_cluster_node(rt->sys, opts, std::move(host));
  if (!started)
    return std::move(started.error());
  {
    std::lock_guard<std::mutex> guard{rt->mtx};
    rt->node = std::move(*started);
  }
  resume_interrupted(rt);
  return {};
}

// Every run of the journal that was running when this node's process ended (killed, or stopped
// past its drain timeout) is resumed here, in a worker of its own: the node owns the runs it
// accepted. A run that cannot resume (its spec no longer loads) stays as the journal has it:
// `swarm run --resume` names why.
void runtime::resume_interrupted(const std::shared_ptr<impl>& rt) {
  if (!rt->store.journal)
    return;
  auto runs = rt->store.journal->runs();
  if (!runs)
    return;
  for (const auto& h : *runs) {
    if (h.status != "running" && h.status != "interrupted")
      continue;
    run_submission sub;
    sub.run_id = h.run_id;
    sub.mode = static_cast<uint8_t>(run_mode::resume);
    caf::anon_send(spawn_run_worker(rt), std::move(sub));
  }
}

runtime::runtime(runtime_options opts, llm_overrides overrides) {
  if (!opts.cluster.listen.empty())
    if (auto err = check_cluster_options(opts.cluster))
      throw std::runtime_error(describe(err));
  auto p = open_persistence(opts);
  if (!p)
    throw std::runtime_error(describe(p.error()));
  impl_ = std::make_shared<impl>(opts, std::move(overrides), std::move(*p));
  if (auto err = start_node(impl_, opts.cluster)) {
    impl_->stop();
    throw std::runtime_error(describe(err));
  }
}

caf::expected<std::unique_ptr<runtime>> runtime::open(runtime_options opts,
                                                      llm_overrides overrides) {
  // A node's options are checked before anything starts (no actor system, no data directory).
  if (!opts.cluster.listen.empty())
    if (auto err = check_cluster_options(opts.cluster))
      return err;
  auto p = open_persistence(opts);
  if (!p)
    return std::move(p.error());
  auto ptr = std::make_shared<impl>(opts, std::move(overrides), std::move(*p));
  if (auto err = start_node(ptr, opts.cluster)) {
    ptr->stop();
    return err;
  }
  return std::unique_ptr<runtime>{new runtime{std::move(ptr)}};
}

runtime::~runtime() {
  stop();
}

void runtime::stop() {
  impl_->stop();
}

std::vector<node_info> runtime::cluster_members() const {
  if (!impl_->node)
    return {};
  auto members = swarm::cluster_members(impl_->sys, impl_->node, std::chrono::seconds(10));
  return members ? std::move(*members) : std::vector<node_info>{};
}

void runtime::leave_cluster(std::chrono::milliseconds timeout) {
  impl_->leave_cluster(timeout);
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
  return prepare_resume_on(impl_, run_id);
}

caf::expected<std::optional<run_info>> runtime::find_run(const std::string& run_id) const {
  return find_run_on(*impl_, run_id);
}

std::vector<std::string> runtime::swarms() const {
  return impl_->factory.running();
}

std::vector<std::string> runtime::storage_damage() const {
  return impl_->store.db ? impl_->store.db->damage() : std::vector<std::string>{};
}

// The forwarder calls the callback under the state's mutex, and cancel() clears it under the
// same mutex: after cancel() returns no call is running and none will start.
struct event_subscription::state {
  std::mutex mtx;
  std::function<void(const event&)> fn;
  std::function<void(const logged_event&)> logged;
  caf::actor forwarder;
  std::shared_ptr<std::atomic<int64_t>> listeners; ///< the runtime's; one of them until cancel()
};

event_subscription& event_subscription::operator=(event_subscription&& other) noexcept {
  if (this != &other) {
    cancel();
    state_ = std::move(other.state_);
  }
  return *this;
}

event_subscription::~event_subscription() {
  cancel();
}

void event_subscription::cancel() {
  if (!state_)
    return;
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->fn = nullptr;
    state_->logged = nullptr;
  }
  caf::anon_send_exit(state_->forwarder, caf::exit_reason::user_shutdown);
  if (state_->listeners)
    state_->listeners->fetch_sub(1, std::memory_order_seq_cst);
  state_.reset();
}

event_subscription runtime::on_event(std::function<void(const event&)> fn) {
  return subscribe(impl_, std::move(fn));
}

runtime_stats runtime::stats() const {
  runtime_stats out;
  auto c = impl_->client->stats();
  out.llm_requests = c.requests;
  out.llm_attempts = c.attempts;
  out.llm_retries = c.retries;
  out.llm_cancelled = c.cancelled;
  out.llm_connections_opened = c.connections_opened;
  out.llm_in_flight = c.in_flight;
  if (const auto& db = impl_->store.db) {
    if (auto bytes = db->disk_usage())
      out.storage_bytes = *bytes;
    auto wal = db->wal_files();
    out.wal_files = wal.files;
    out.wal_bytes = wal.bytes;
  }
  return out;
}

caf::expected<std::vector<run_info>> runtime::runs() const {
  auto& journal = impl_->store.journal;
  if (!journal)
    return make_error(errc::unknown_run, "this runtime keeps no run journal (no data directory, "
                                         "or journal off)");
  auto headers = journal->runs();
  if (!headers)
    return std::move(headers.error());
  std::vector<run_info> out;
  out.reserve(headers->size());
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    for (const auto& h : *headers)
      out.push_back(to_run_info(h, impl_->active_runs.count(h.run_id) > 0));
  }
  std::stable_sort(out.begin(), out.end(), [](const run_info& a, const run_info& b) {
    return a.started_ms > b.started_ms;
  });
  return out;
}

caf::error runtime::cancel_run(const std::string& run_id) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto i = impl_->cancellable.find(run_id);
  if (i == impl_->cancellable.end())
    return make_error(errc::unknown_run, "no run '" + run_id + "' runs in this runtime now");
  caf::anon_send(i->second.root, task_cancel{i->second.task_id});
  return {};
}

namespace {

caf::error no_event_log() {
  return make_error(errc::invalid_argument,
                    "this runtime keeps no event log (runtime_options::event_log)");
}

} // namespace

caf::expected<std::vector<logged_event>> runtime::run_events(const std::string& run_id,
                                                             uint64_t after, size_t limit) const {
  if (!impl_->store.events)
    return no_event_log();
  return impl_->store.events->read(run_id, after, limit);
}

caf::expected<event_subscription> runtime::follow_run(const std::string& run_id, uint64_t after,
                                                      std::function<void(const logged_event&)> fn) {
  if (!impl_->store.events)
    return no_event_log();
  return subscribe(impl_, {}, std::move(fn), swarm::follow_events{{}, run_id, after});
}

event_subscription runtime::subscribe(const std::shared_ptr<impl>& rt,
                                      std::function<void(const event&)> fn,
                                      std::function<void(const logged_event&)> logged,
                                      std::optional<follow_events> follow) {
  auto st = std::make_shared<event_subscription::state>();
  st->fn = std::move(fn);
  st->logged = std::move(logged);
  // The state is a spawn argument, not a capture: see spawn_monitor.
  st->forwarder = rt->sys.spawn(
      [](caf::event_based_actor*, std::shared_ptr<event_subscription::state> sub) -> caf::behavior {
        return {[sub](const event& e) {
                  std::lock_guard<std::mutex> guard{sub->mtx};
                  if (sub->fn)
                    sub->fn(e);
                },
                [sub](const logged_event& e) {
                  std::lock_guard<std::mutex> guard{sub->mtx};
                  if (sub->logged)
                    sub->logged(e);
                }};
      },
      st);
  {
    // A forwarder that exited (its subscription cancelled) is no longer reachable: dropped.
    std::lock_guard<std::mutex> guard{rt->mtx};
    auto& subs = rt->subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [](const caf::actor_addr& a) {
                                return !caf::actor_cast<caf::strong_actor_ptr>(a);
                              }),
               subs.end());
    subs.push_back(st->forwarder.address());
  }
  if (follow) {
    // The event log listens already: a follower needs no count of its own.
    follow->subscriber = st->forwarder;
    caf::anon_send(rt->monitor, std::move(*follow));
    return event_subscription{std::move(st)};
  }
  // Counted before the subscription is sent: events of any run started after this reach it.
  st->listeners = rt->cfg.event_listeners;
  if (st->listeners)
    st->listeners->fetch_add(1, std::memory_order_seq_cst);
  caf::anon_send(rt->monitor, subscribe_events{st->forwarder});
  return event_subscription{std::move(st)};
}

// -- runs submitted to this runtime's node ------------------------------------------------------

caf::actor runtime::spawn_run_worker(const std::shared_ptr<impl>& rt) {
  // Detached: the run blocks the worker's thread. The runtime waits at stop() until every
  // worker let go of it (runtime::impl::serving), so its state is never destroyed here.
  auto serving = rt->serving;
  serving->fetch_add(1);
  return rt->sys.spawn<caf::detached>(
      [serving](caf::blocking_actor* self, std::shared_ptr<impl> held) {
        self->receive([&](run_submission& sub) {
          auto rp = self->make_response_promise();
          caf::expected<result> out{make_error(errc::runtime_stopped, "no answer")};
          try {
            out = serve_run(held, std::move(sub));
          } catch (const std::exception& e) {
            out = make_error(errc::runtime_stopped,
                             std::string{"the node failed to run it: "} + e.what());
          }
          held.reset();
          if (out)
            rp.deliver(std::move(*out));
          else
            rp.deliver(std::move(out.error()));
        });
        held.reset();
        serving->fetch_sub(1);
      },
      rt);
}

caf::expected<result> runtime::serve_run(const std::shared_ptr<impl>& rt, run_submission sub) {
  if (sub.mode > static_cast<uint8_t>(run_mode::fresh))
    return make_error(errc::invalid_argument,
                      "run mode " + std::to_string(sub.mode) + " is none of start, resume, fresh");
  auto mode = static_cast<run_mode>(sub.mode);
  std::optional<swarm_handle> team;
  task_input in;
  if (sub.spec_text.empty()) {
    if (mode != run_mode::resume || sub.run_id.empty())
      return make_error(errc::invalid_argument,
                        "a run submitted without a spec must resume a run id of this node");
    auto known = find_run_on(*rt, sub.run_id);
    if (known && *known && (*known)->status == "done")
      return std::move((*known)->outcome);
    if (known && *known && (*known)->status == "running")
      return make_error(errc::run_exists, "run '" + sub.run_id +
                                              "' is running at this node now; ask for it "
                                              "again once it ended");
    auto prepared = prepare_resume_on(rt, sub.run_id);
    if (!prepared)
      return std::move(prepared.error());
    team = std::move(prepared->first);
    in = std::move(prepared->second);
  } else {
    auto spec = load_spec_text(sub.spec_text, sub.spec_source);
    if (!spec)
      return std::move(spec.error());
    if (sub.no_memory)
      disable_memory(*spec);
    // The submitter's --llm-url and --model win; else this node's own, then its environment.
    auto overrides = rt->overrides;
    if (!sub.llm_url.empty())
      overrides.url = sub.llm_url;
    if (!sub.model.empty())
      overrides.model = sub.model;
    auto spawned = spawn_swarm(rt, *spec, overrides, llm_environment::current(), sub.stream_tokens);
    if (!spawned)
      return std::move(spawned.error());
    team = std::move(*spawned);
    in = task_input{sub.task, sub.run_id.empty() ? new_run_id() : sub.run_id, {}, mode};
  }
  // Every event of the run to the submitter, run_finished last: waited for (2 s) before the
  // subscription goes, since the monitor may still be passing it on when the run returns.
  event_subscription watch;
  auto finished = std::make_shared<std::promise<void>>();
  auto passed_on = finished->get_future();
  if (sub.events)
    watch = subscribe(rt, [run = in.run_id, to = sub.events, finished,
                           said = std::make_shared<bool>(false)](const event& e) {
      if (e.run_id != run)
        return;
      caf::anon_send(to, e);
      if (e.kind == event_kind::run_finished && !std::exchange(*said, true))
        finished->set_value();
    });
  // Its tool calls that need approval are decided as the submitter said, as they come.
  std::atomic<bool> ran{false};
  std::thread approver{[&] {
    auto reason = "rejected: a run on a cluster cannot ask anyone (swarm run --cluster "
                  "--approve yes approves such calls)";
    while (!ran) {
      for (const auto& p : team->pending_approvals())
        (void)team->decide(p.id, sub.approve_tools, reason);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }};
  struct joined { // also when run throws: a joinable thread's destructor terminates
    std::atomic<bool>& ran;
    std::thread& approver;
    ~joined() {
      ran = true;
      approver.join();
    }
  } join_approver{ran, approver};
  auto out = team->run(std::move(in));
  if (sub.events)
    passed_on.wait_for(std::chrono::seconds(2));
  team->stop();
  return out;
}

} // namespace swarm
