// Scenario `messaging` (issue B): the agent layer's own costs next to bare CAF, in one process with
// two scheduler threads: (a) dm throughput, (b) spawning idle agents (time, memory per agent),
// (c) broadcast to 100 k agents. Prints markdown tables and hands each
// figure to `swarm bench` (bench/records.hpp). Usage: bench_messaging [--help].
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <malloc.h>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/group_manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/agent.hpp"
#include "bench/records.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "runtime/runtime.hpp"
#include "runtime/scheduler_options.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using go_atom = caf::atom_constant<caf::atom("go")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

long proc_status_kb(const char* key) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0)
      return std::stol(line.substr(std::string{key}.size()));
  return 0;
}

// Bytes the allocator has handed out and not taken back (every arena, mmapped chunks included):
// unlike VmRSS it is not hidden by memory a previous round freed.
double heap_in_use() {
  auto mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd);
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[xs.size() / 2];
}

// The payload of every dm: sender "producer-0" (fits SSO) and a 48-byte text (on the heap),
// the same for agents and bare actors.
const std::string dm_text = "status update: shard 17 finished, 4096 rows ok.";

// -- bare CAF counterparts ------------------------------------------------------------------------

struct bare_state {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

// A bare event-based actor: counts dm/broadcast messages and their bytes (trivial work), answers
// health probes like an agent does.
caf::behavior bare_receiver(caf::stateful_actor<bare_state>* self, size_t id) {
  return {
      [self](swarm::dm& m) {
        ++self->state.messages;
        self->state.bytes += m.from.size() + m.text.size();
      },
      [self](swarm::broadcast& m) {
        ++self->state.messages;
        self->state.bytes += m.from.size() + m.text.size();
      },
      [self, id](swarm::health_probe& p) {
        return swarm::health_report{p.nonce, {"bare", std::to_string(id)}, self->state.messages, 0};
      },
  };
}

// -- drivers --------------------------------------------------------------------------------------

// Sends `quota` dms round robin to `targets` in batches (re-scheduling itself between batches so
// receivers run), then one health_probe to each target; per-sender FIFO means a target's answer
// comes after it handled every dm. Tells `notify` done when every target answered.
template <class Handle>
caf::behavior producer(caf::event_based_actor* self, std::shared_ptr<std::vector<Handle>> targets,
                       size_t quota, caf::actor notify) {
  constexpr size_t batch = 1000;
  auto sent = std::make_shared<size_t>(0);
  auto answers = std::make_shared<size_t>(0);
  return {
      [=](go_atom) {
        const auto& ts = *targets;
        size_t n = std::min(batch, quota - *sent);
        for (size_t i = 0; i < n; ++i)
          self->send(ts[(*sent + i) % ts.size()], swarm::dm{"producer-0", dm_text});
        *sent += n;
        if (*sent < quota)
          self->send(self, go_atom::value);
        else
          for (const auto& t : ts)
            self->send(t, swarm::health_probe{1});
      },
      [=](swarm::health_report&) {
        if (++*answers == targets->size())
          self->send(notify, done_atom::value);
      },
  };
}

// Probes every target once and tells `notify` when all answered (no timers: one message each).
// Sends in batches, re-scheduling itself between them: one handler enqueuing 100 k jobs makes the
// other worker spin on the work-stealing queue's lock (measured: seconds instead of milliseconds).
template <class Handle>
caf::behavior prober(caf::event_based_actor* self, std::shared_ptr<std::vector<Handle>> targets,
                     caf::actor notify) {
  constexpr size_t batch = 1000;
  auto sent = std::make_shared<size_t>(0);
  auto answers = std::make_shared<size_t>(0);
  return {
      [=](go_atom) {
        size_t end = std::min(targets->size(), *sent + batch);
        for (; *sent < end; ++*sent)
          self->send((*targets)[*sent], swarm::health_probe{2});
        if (*sent < targets->size())
          self->send(self, go_atom::value);
      },
      [=](swarm::health_report&) {
        if (++*answers == targets->size())
          self->send(notify, done_atom::value);
      },
  };
}

// Waits (bounded) for `n` done atoms; false on timeout.
bool await_done(caf::scoped_actor& self, size_t n, std::chrono::seconds limit) {
  bool ok = true;
  for (size_t i = 0; i < n && ok; ++i)
    self->receive([](done_atom) {}, caf::after(limit) >>
                                        [&] {
                                          std::cerr << "timeout waiting for done\n";
                                          ok = false;
                                        });
  return ok;
}

template <class Handle>
bool probe_all(caf::actor_system& sys, std::shared_ptr<std::vector<Handle>> targets) {
  caf::scoped_actor self{sys};
  auto p = sys.spawn(prober<Handle>, targets, caf::actor{self});
  caf::anon_send(p, go_atom::value);
  bool ok = await_done(self, 1, std::chrono::seconds(120));
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  return ok;
}

// Stops `handles` (no waiting).
template <class Handle>
void stop(std::vector<Handle>& handles) {
  for (auto& h : handles)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  handles.clear();
  handles.shrink_to_fit();
}

// Waits (bounded) until the registry is back to `base` running actors, then gives freed memory
// back to the OS so the next round starts from a similar heap.
void await_stopped(caf::actor_system& sys, size_t base) {
  auto t0 = clock_type::now();
  while (sys.registry().running() > base && seconds_since(t0) < 120)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (sys.registry().running() > base)
    std::cerr << "await_stopped: " << sys.registry().running() << " actors still running (base "
              << base << ")\n";
  malloc_trim(0);
}

// With --own-target each agent makes its own llm_target from its endpoint and model (what the
// first runs of this benchmark measured); by default they share one, as the factory shares one
// per distinct endpoint, key and model.
bool own_target = false;

swarm::actors::agent_config realistic_config(size_t i) {
  static const auto shared_target = [] {
    auto t = std::make_shared<swarm::actors::llm_target>();
    t->endpoint.url = "http://127.0.0.1:8089/v1";
    t->model = "mock-model";
    return std::shared_ptr<const swarm::actors::llm_target>{std::move(t)};
  }();
  swarm::actors::agent_config cfg;
  auto name = "agent-" + std::to_string(i);
  cfg.id = {"bench", name};
  cfg.system_prompt =
      "You are " + name + ", a worker of the benchmark swarm. Answer in one short line.";
  if (own_target) {
    cfg.model = "mock-model";
    cfg.endpoint.url = "http://127.0.0.1:8089/v1";
  } else {
    cfg.target = shared_target;
  }
  return cfg;
}

// -- (a) throughput -------------------------------------------------------------------------------

struct throughput_row {
  double ours_msgs_s = 0, bare_msgs_s = 0;
};

template <class Handle>
double run_throughput(caf::actor_system& sys, const std::vector<Handle>& receivers,
                      size_t messages) {
  constexpr size_t producers = 2;
  caf::scoped_actor self{sys};
  std::vector<caf::actor> ps;
  size_t per = receivers.size() / producers;
  for (size_t p = 0; p < producers; ++p) {
    auto part = std::make_shared<std::vector<Handle>>(receivers.begin() + p * per,
                                                      receivers.begin() + (p + 1) * per);
    ps.push_back(sys.spawn(producer<Handle>, part, messages / producers, caf::actor{self}));
  }
  auto t0 = clock_type::now();
  for (auto& p : ps)
    caf::anon_send(p, go_atom::value);
  bool ok = await_done(self, producers, std::chrono::seconds(120));
  double secs = seconds_since(t0);
  for (auto& p : ps)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  return ok ? static_cast<double>(messages) / secs : 0;
}

throughput_row measure_throughput(caf::actor_system& sys, size_t receivers, size_t messages,
                                  int rounds) {
  auto base = sys.registry().running();
  std::vector<swarm::agent_actor> agents;
  std::vector<caf::actor> bare;
  for (size_t i = 0; i < receivers; ++i) {
    agents.push_back(swarm::actors::spawn_agent(sys, realistic_config(i), {}, {}));
    bare.push_back(sys.spawn(bare_receiver, i));
  }
  std::vector<double> ours, theirs;
  for (int r = 0; r < rounds; ++r) { // alternate, so both see the same machine
    ours.push_back(run_throughput(sys, agents, messages));
    theirs.push_back(run_throughput(sys, bare, messages));
  }
  stop(agents);
  stop(bare);
  await_stopped(sys, base);
  return {median(ours), median(theirs)};
}

// -- (b) spawn ------------------------------------------------------------------------------------

struct spawn_sample {
  double spawn_s = 0; // the spawn loop (what the caller waits for)
  double ready_s = 0; // until every actor answered one probe (initialised and running)
  double rss_b = 0;   // VmRSS delta / N
  double heap_b = 0;  // allocator bytes in use delta / N
  double rss_total_mb = 0;
  double idle_rss_b = 0; // VmRSS delta / N right after the spawn loop, before any message
};

struct spawn_row {
  size_t n = 0;
  spawn_sample ours, bare;
};

template <class Handle, class Spawn>
spawn_sample spawn_once(caf::actor_system& sys, size_t n, Spawn spawn_one) {
  auto base = sys.registry().running();
  auto handles = std::make_shared<std::vector<Handle>>();
  handles->reserve(n); // the handle vector is the caller's, not the actors' footprint
  spawn_sample s;
  long rss0 = proc_status_kb("VmRSS:");
  double heap0 = heap_in_use();
  auto t0 = clock_type::now();
  for (size_t i = 0; i < n; ++i)
    handles->push_back(spawn_one(i));
  s.spawn_s = seconds_since(t0);
  s.idle_rss_b =
      static_cast<double>(proc_status_kb("VmRSS:") - rss0) * 1024.0 / static_cast<double>(n);
  if (!probe_all(sys, handles))
    std::cerr << "spawn: not every actor answered\n";
  s.ready_s = seconds_since(t0);
  long rss1 = proc_status_kb("VmRSS:");
  s.rss_b = static_cast<double>(rss1 - rss0) * 1024.0 / static_cast<double>(n);
  s.heap_b = (heap_in_use() - heap0) / static_cast<double>(n);
  s.rss_total_mb = static_cast<double>(rss1 - rss0) / 1024.0;
  stop(*handles);
  await_stopped(sys, base);
  return s;
}

spawn_sample median_of(const std::vector<spawn_sample>& xs) {
  auto pick = [&](auto field) {
    std::vector<double> v;
    for (const auto& x : xs)
      v.push_back(x.*field);
    return median(v);
  };
  return {pick(&spawn_sample::spawn_s),      pick(&spawn_sample::ready_s),
          pick(&spawn_sample::rss_b),        pick(&spawn_sample::heap_b),
          pick(&spawn_sample::rss_total_mb), pick(&spawn_sample::idle_rss_b)};
}

spawn_row measure_spawn(caf::actor_system& sys, size_t n, int rounds) {
  std::vector<spawn_sample> ours, bare;
  for (int r = 0; r < rounds; ++r) {
    ours.push_back(spawn_once<swarm::agent_actor>(sys, n, [&](size_t i) {
      return swarm::actors::spawn_agent(sys, realistic_config(i), {}, {});
    }));
    bare.push_back(
        spawn_once<caf::actor>(sys, n, [&](size_t i) { return sys.spawn(bare_receiver, i); }));
  }
  return {n, median_of(ours), median_of(bare)};
}

// -- (c) broadcast --------------------------------------------------------------------------------

struct broadcast_row {
  size_t n = 0;
  double ours_s = 0, bare_s = 0;             // group send until every member answered a later probe
  double ours_probe_s = 0, bare_probe_s = 0; // the probe round alone (no broadcast)
  double api_send_s = 0, api_all_s = 0;      // swarm_handle::broadcast, then health_check
  double api_probe_s = 0;                    // health_check alone
  size_t api_alive = 0;
};

// Group broadcast to every member of `handles`, then a probe round; returns {with, probe-only}.
template <class Handle>
std::pair<double, double> group_broadcast(caf::actor_system& sys,
                                          std::shared_ptr<std::vector<Handle>> handles) {
  auto grp = sys.groups().anonymous();
  for (const auto& h : *handles)
    grp.subscribe(caf::actor_cast<caf::strong_actor_ptr>(h));
  probe_all(sys, handles); // warm: every member initialised
  auto t0 = clock_type::now();
  probe_all(sys, handles);
  double probe_only = seconds_since(t0);
  t0 = clock_type::now();
  caf::anon_send(grp, swarm::broadcast{"user", dm_text});
  probe_all(sys, handles);
  double with = seconds_since(t0);
  for (const auto& h : *handles)
    grp.unsubscribe(caf::actor_cast<caf::actor_control_block*>(h));
  return {with, probe_only};
}

broadcast_row measure_broadcast(caf::actor_system& sys, size_t n, int rounds) {
  broadcast_row row;
  row.n = n;
  auto base = sys.registry().running();
  auto agents = std::make_shared<std::vector<swarm::agent_actor>>();
  auto bare = std::make_shared<std::vector<caf::actor>>();
  for (size_t i = 0; i < n; ++i) {
    agents->push_back(swarm::actors::spawn_agent(sys, realistic_config(i), {}, {}));
    bare->push_back(sys.spawn(bare_receiver, i));
  }
  std::vector<double> ours, ours_probe, theirs, theirs_probe;
  for (int r = 0; r < rounds; ++r) {
    auto [a, ap] = group_broadcast(sys, agents);
    auto [b, bp] = group_broadcast(sys, bare);
    ours.push_back(a);
    ours_probe.push_back(ap);
    theirs.push_back(b);
    theirs_probe.push_back(bp);
  }
  row.ours_s = median(ours);
  row.ours_probe_s = median(ours_probe);
  row.bare_s = median(theirs);
  row.bare_probe_s = median(theirs_probe);
  stop(*agents);
  stop(*bare);
  await_stopped(sys, base);
  return row;
}

// The public path: a runtime's swarm of n agents, swarm_handle::broadcast, then health_check
// (its probes reach each agent after the broadcast: the group enqueues synchronously).
void measure_api_broadcast(broadcast_row& row, int rounds, const std::string& policy) {
  swarm::runtime_options opts;
  opts.scheduler_threads = 2;
  opts.scheduler_policy = policy;
  swarm::runtime rt{opts, {"http://127.0.0.1:9/v1", "mock-model"}}; // no LLM call is made
  swarm::swarm_spec spec;
  spec.name = "bcast";
  spec.root.architecture = "concurrent";
  spec.agents.resize(row.n);
  for (size_t i = 0; i < row.n; ++i) {
    spec.agents[i].name = "agent-" + std::to_string(i);
    spec.agents[i].system_prompt = "You are agent-" + std::to_string(i) + ".";
  }
  auto team = rt.spawn(spec);
  if (!team) {
    std::cerr << "spawn: " << swarm::describe(team.error()) << "\n";
    return;
  }
  (void)team->health_check(std::chrono::seconds(60)); // warm-up
  std::vector<double> send, all, probe;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = clock_type::now();
    auto h = team->health_check(std::chrono::seconds(60));
    probe.push_back(seconds_since(t0));
    t0 = clock_type::now();
    team->broadcast(dm_text);
    send.push_back(seconds_since(t0));
    h = team->health_check(std::chrono::seconds(60));
    all.push_back(seconds_since(t0));
    row.api_alive = static_cast<size_t>(
        std::count_if(h.begin(), h.end(), [](const auto& x) { return x.alive && !x.coordinator; }));
  }
  row.api_send_s = median(send);
  row.api_all_s = median(all);
  row.api_probe_s = median(probe);
  team->stop();
}

std::vector<size_t> parse_sizes(const std::string& text) {
  std::vector<size_t> out;
  std::stringstream ss{text};
  for (std::string x; std::getline(ss, x, ',');)
    out.push_back(std::stoul(x));
  return out;
}

} // namespace

int main(int argc, char** argv) {
  size_t receivers = 1000;
  size_t messages = 2'000'000;
  std::vector<size_t> spawn_sizes{100'000, 1'000'000};
  size_t broadcast_n = 100'000;
  int rounds = 3;
  std::string policy = swarm::runtime_options{}.scheduler_policy; // the runtime's default
  std::string only = "dm,spawn,broadcast";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc)
      rounds = std::stoi(argv[++i]);
    else if (a == "--receivers" && i + 1 < argc)
      receivers = std::stoul(argv[++i]);
    else if (a == "--messages" && i + 1 < argc)
      messages = std::stoul(argv[++i]);
    else if (a == "--spawn" && i + 1 < argc)
      spawn_sizes = parse_sizes(argv[++i]);
    else if (a == "--policy" && i + 1 < argc)
      policy = argv[++i];
    else if (a == "--broadcast" && i + 1 < argc)
      broadcast_n = std::stoul(argv[++i]);
    else if (a == "--own-target")
      own_target = true;
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else {
      std::cerr << "usage: bench_messaging [--receivers 1000] [--messages 2000000] "
                   "[--spawn 100000,1000000] [--broadcast 100000] [--rounds 3] [--policy "
                   "stealing|sharing] [--own-target] [--only dm,spawn,broadcast]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  receivers = std::max<size_t>(2, receivers - receivers % 2);
  bool run_dm = false, run_spawn = false, run_broadcast = false;
  {
    std::stringstream ss{only};
    for (std::string part; std::getline(ss, part, ',');) {
      if (part == "dm")
        run_dm = true;
      else if (part == "spawn")
        run_spawn = true;
      else if (part == "broadcast")
        run_broadcast = true;
      else {
        std::cerr << "--only: unknown part '" << part << "' (dm, spawn, broadcast)\n";
        return 2;
      }
    }
  }
  using swarm::bench::better;
  using swarm::bench::figure;
  using swarm::bench::record;

  caf::actor_system_config cfg;
  swarm::register_types(cfg);
  // The runtime's scheduler settings (policy, and the idle workers' polling), on 2 threads.
  swarm::runtime_options sched;
  sched.scheduler_threads = 2;
  sched.scheduler_policy = policy;
  swarm::apply_scheduler_options(cfg, sched);
  caf::actor_system sys{cfg};

  throughput_row tp;
  if (run_dm) {
    std::printf(
        "## (a) dm throughput: 2 producers -> %zu receivers, %zu msgs/round, median of %d\n\n",
        receivers, messages, rounds);
    tp = measure_throughput(sys, receivers, messages, rounds);
    std::printf("| receivers | agent dm msg/s | bare CAF msg/s | ratio |\n|---|---|---|---|\n");
    std::printf("| %zu | %.0f | %.0f | %.2f |\n\n", receivers, tp.ours_msgs_s, tp.bare_msgs_s,
                tp.ours_msgs_s / tp.bare_msgs_s);
    std::fflush(stdout);
    record(figure{"messaging",
                  {{"receivers", receivers}},
                  "dm_msgs_per_s",
                  "msg/s",
                  better::higher,
                  tp.ours_msgs_s,
                  {{"bare CAF", tp.bare_msgs_s}}});
  }

  std::vector<spawn_row> spawns;
  if (run_spawn) {
    std::printf("## (b) spawn idle actors, median of %d\n\n", rounds);
    std::printf("| N | kind | spawn s | spawn/s | idle RSS B/actor | ready s | RSS B/actor | "
                "heap B/actor | RSS MB |\n"
                "|---|---|---|---|---|---|---|---|---|\n");
    for (auto n : spawn_sizes) {
      auto r = measure_spawn(sys, n, rounds);
      spawns.push_back(r);
      for (auto [kind, s] : {std::pair{"agent", r.ours}, std::pair{"bare CAF", r.bare}})
        std::printf("| %zu | %s | %.2f | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f |\n", n, kind,
                    s.spawn_s, static_cast<double>(n) / s.spawn_s, s.idle_rss_b, s.ready_s, s.rss_b,
                    s.heap_b, s.rss_total_mb);
      std::fflush(stdout);
      auto per_s = [n](const spawn_sample& s) { return static_cast<double>(n) / s.spawn_s; };
      record(figure{"spawn",
                    {{"n", n}},
                    "spawn_per_s",
                    "actors/s",
                    better::higher,
                    per_s(r.ours),
                    {{"bare CAF", per_s(r.bare)}}});
      // After every actor handled one message (initialised), as the table's "RSS B/actor".
      record(figure{"spawn",
                    {{"n", n}},
                    "rss_bytes_per_agent",
                    "B",
                    better::lower,
                    r.ours.rss_b,
                    {{"bare CAF", r.bare.rss_b}}});
      // Until every agent answered one probe, and what the N agents hold then in all.
      record(figure{"spawn",
                    {{"n", n}},
                    "ready_s",
                    "s",
                    better::lower,
                    r.ours.ready_s,
                    {{"bare CAF", r.bare.ready_s}}});
      record(figure{"spawn",
                    {{"n", n}},
                    "rss_mb_total",
                    "MB",
                    better::lower,
                    r.ours.rss_total_mb,
                    {{"bare CAF", r.bare.rss_total_mb}}});
    }
  }

  broadcast_row bc;
  if (run_broadcast) {
    std::printf("\n## (c) broadcast to %zu, median of %d\n\n", broadcast_n, rounds);
    bc = measure_broadcast(sys, broadcast_n, rounds);
    measure_api_broadcast(bc, rounds, policy);
    auto n = static_cast<double>(bc.n);
    std::printf("| path | until all processed s | deliveries/s | probe round alone s |\n"
                "|---|---|---|---|\n");
    std::printf("| agents, CAF group + probe round | %.3f | %.0f | %.3f |\n", bc.ours_s,
                n / bc.ours_s, bc.ours_probe_s);
    std::printf("| bare CAF, CAF group + probe round | %.3f | %.0f | %.3f |\n", bc.bare_s,
                n / bc.bare_s, bc.bare_probe_s);
    std::printf("| swarm_handle::broadcast + health_check (send %.3f s, %zu alive) | %.3f | %.0f | "
                "%.3f |\n",
                bc.api_send_s, bc.api_alive, bc.api_all_s, n / bc.api_all_s, bc.api_probe_s);
    std::fflush(stdout);
    record(figure{"broadcast",
                  {{"n", bc.n}},
                  "deliveries_per_s",
                  "msg/s",
                  better::higher,
                  n / bc.ours_s,
                  {{"bare CAF group", n / bc.bare_s}}});
    if (bc.api_all_s > 0) // 0: the runtime's swarm did not spawn (said above)
      record(figure{
          "broadcast", {{"n", bc.n}}, "handle_broadcast_s", "s", better::lower, bc.api_all_s, {}});
  }

  return 0;
}
