// The embedding facade: owns the actor system, the LLM client and the monitor.
#include "runtime/runtime.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "runtime/monitor.hpp"
#include "runtime/swarm_factory.hpp"

namespace swarm {

namespace {

caf::actor_system_config make_config(const runtime_options& opts) {
  caf::actor_system_config cfg;
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

} // namespace

struct runtime::impl {
  explicit impl(const runtime_options& opts, llm_overrides ov)
      : cfg(make_config(opts)), sys(cfg), overrides(std::move(ov)),
        client(std::make_shared<net::llm_client>(opts.llm)), llm(net::spawn_llm_actor(sys, client)),
        monitor(spawn_monitor(sys)), factory(sys, llm, monitor) {}

  caf::actor_system_config cfg;
  caf::actor_system sys;
  llm_overrides overrides;
  std::shared_ptr<net::llm_client> client;
  llm_actor llm;
  monitor_actor monitor;
  swarm_factory factory;
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> next_task{1};
  std::mutex mtx;
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
    return true;
  }

  void stop() {
    if (stopped.exchange(true))
      return;
    client->stop();
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
  }
};

struct swarm_handle::state {
  std::shared_ptr<runtime::impl> rt;
  built_swarm swarm;
};

// -- swarm_handle -------------------------------------------------------------------------------

caf::expected<result> swarm_handle::run(task_input in) const {
  auto& rt = *state_->rt;
  if (rt.stopped)
    return make_error(errc::runtime_stopped, "the runtime was stopped");
  task t;
  t.run_id = in.run_id.empty() ? make_run_id() : std::move(in.run_id);
  t.id = "t" + std::to_string(rt.next_task.fetch_add(1));
  t.text = std::move(in.text);
  t.from = "user";
  caf::expected<result> out{make_error(errc::runtime_stopped, "no reply")};
  caf::scoped_actor self{rt.sys};
  self->request(state_->swarm.root, caf::infinite, std::move(t))
      .receive([&](result& r) { out = std::move(r); },
               [&](caf::error& err) {
                 out = rt.stopped ? make_error(errc::runtime_stopped, describe(err)) : err;
               });
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
  return probe_health(state_->rt->sys, std::move(targets), timeout);
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

runtime::runtime(runtime_options opts, llm_overrides overrides)
    : impl_(std::make_shared<impl>(opts, std::move(overrides))) {}

runtime::~runtime() {
  stop();
}

void runtime::stop() {
  impl_->stop();
}

caf::expected<swarm_handle> runtime::spawn(const swarm_spec& spec) {
  if (impl_->stopped)
    return make_error(errc::runtime_stopped, "the runtime was stopped");
  auto built = impl_->factory.build(spec, impl_->overrides);
  if (!built)
    return std::move(built.error());
  auto st = std::make_shared<swarm_handle::state>();
  st->rt = impl_;
  st->swarm = std::move(*built);
  return swarm_handle{std::move(st)};
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
