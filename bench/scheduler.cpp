// Scenario `scheduler` (issue F): what the runtime's scheduler burns while agents wait on LLM
// calls, against `swarm mock-llm` in its own process (its CPU is never counted): (a) CPU per call
// of one agent calling a 20 ms endpoint in a loop, (b) CPU of N agents all waiting on a 2 s
// endpoint, as a share of one core. CPU is this process's user+sys time (getrusage), so the
// figures hold on a shared machine where wall time does not. Usage: bench_scheduler [--help].
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench/agents_run.hpp"
#include "bench/args.hpp"
#include "bench/mock_process.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"

namespace {

using namespace swarm::bench;
using clock_type = std::chrono::steady_clock;

// CPU seconds per thread name (/proc/self/task/*/schedstat: ns on the CPU; comm: the name), to
// tell which threads burn it.
std::map<std::string, double> cpu_by_thread() {
  std::map<std::string, double> out;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr)
    return out;
  while (auto* e = readdir(d)) {
    if (e->d_name[0] == '.')
      continue;
    std::string dir = std::string{"/proc/self/task/"} + e->d_name;
    std::ifstream comm{dir + "/comm"};
    std::ifstream stat{dir + "/schedstat"};
    std::string name;
    double ns = 0;
    if (std::getline(comm, name) && stat >> ns)
      out[name] += ns / 1e9;
  }
  closedir(d);
  return out;
}

void print_thread_delta(const std::map<std::string, double>& before, size_t calls) {
  std::fprintf(stderr, "  CPU us/call by thread:");
  for (const auto& [name, secs] : cpu_by_thread()) {
    auto it = before.find(name);
    double d = secs - (it == before.end() ? 0 : it->second);
    if (d > 0)
      std::fprintf(stderr, " %s=%.0f", name.c_str(), d * 1e6 / static_cast<double>(calls));
  }
  std::fprintf(stderr, "\n");
}

swarm::runtime_options options(const std::string& policy, size_t connections) {
  swarm::runtime_options opts;
  opts.scheduler_threads = 2;
  if (!policy.empty())
    opts.scheduler_policy = policy;
  opts.llm.max_connections_per_endpoint = std::max<size_t>(connections, 1);
  opts.llm.max_idle_per_endpoint = std::max<size_t>(connections, 1);
  return opts;
}

// (a) One agent, `calls` sequential runs of one call each; CPU and wall per call.
struct seq_row {
  double cpu_us_per_call = 0, wall_ms_per_call = 0;
  size_t failed = 0;
};

seq_row measure_sequential(const swarm::bench::mock_process& mock, const std::string& policy,
                           size_t calls) {
  swarm::runtime rt{options(policy, 1), {mock.url(), "mock"}};
  auto team = rt.spawn(agents_spec("sched", 1));
  if (!team)
    throw std::runtime_error(swarm::describe(team.error()));
  seq_row r;
  for (int i = 0; i < 5; ++i) // warm-up: connection, allocator
    r.failed += failures(team->run({task_text}), 1);
  auto threads0 = cpu_by_thread();
  auto c0 = cpu_seconds();
  auto t0 = clock_type::now();
  for (size_t i = 0; i < calls; ++i)
    r.failed += failures(team->run({task_text}), 1);
  print_thread_delta(threads0, calls);
  auto wall = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  r.cpu_us_per_call = (cpu_seconds() - c0) * 1e6 / static_cast<double>(calls);
  r.wall_ms_per_call = wall / static_cast<double>(calls);
  return r;
}

// (b) N agents, one call each on a slow endpoint: the process's CPU over a window in which every
// call has been sent and none answered, as a share of one core.
struct wait_row {
  double core_share = 0; // CPU seconds / wall seconds over the window
  double run_cpu_ms = 0; // the whole run (send, wait, answers)
  size_t failed = 0;
};

wait_row measure_waiting(const swarm::bench::mock_process& mock, const std::string& policy,
                         size_t n, int latency_ms) {
  swarm::runtime rt{options(policy, n), {mock.url(), "mock"}};
  auto team = rt.spawn(agents_spec("sched", n));
  if (!team)
    throw std::runtime_error(swarm::describe(team.error()));
  (void)team->health_check(std::chrono::seconds(60)); // every agent initialised
  wait_row r;
  auto c0 = cpu_seconds();
  std::atomic<size_t> failed{0};
  std::thread runner{[&] { failed = failures(team->run({task_text}), n); }};
  // Sending n calls takes well under 30 % of the latency; the window ends 20 % before the
  // first answer can come.
  auto lead = std::chrono::milliseconds(latency_ms * 3 / 10);
  auto window = std::chrono::milliseconds(latency_ms / 2);
  std::this_thread::sleep_for(lead);
  auto w0 = cpu_seconds();
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(window);
  auto w1 = cpu_seconds();
  r.core_share = (w1 - w0) / std::chrono::duration<double>(clock_type::now() - t0).count();
  runner.join();
  r.run_cpu_ms = (cpu_seconds() - c0) * 1e3;
  r.failed = failed;
  return r;
}

} // namespace

int main(int argc, char** argv) {
  std::string swarm_bin = SWARM_BINARY;
  std::string policy; // empty: the runtime's default
  size_t calls = 200;
  std::vector<size_t> waiting{1, 1000};
  int rounds = 3;
  int wait_latency_ms = 2000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--swarm" && i + 1 < argc)
      swarm_bin = argv[++i];
    else if (a == "--policy" && i + 1 < argc)
      policy = argv[++i];
    else if (a == "--calls" && i + 1 < argc)
      calls = std::stoul(argv[++i]);
    else if (a == "--waiting" && i + 1 < argc)
      waiting = swarm::bench::parse_sizes(argv[++i]);
    else if (a == "--wait-latency-ms" && i + 1 < argc)
      wait_latency_ms = std::stoi(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::stoi(argv[++i]);
    else {
      std::cerr << "usage: bench_scheduler [--policy stealing|sharing] (default: the runtime's) "
                   "[--calls 200] [--waiting 1,1000] [--wait-latency-ms 2000] [--rounds 3] "
                   "[--swarm PATH]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  swarm::bench::raise_fd_limit();
  std::string shown =
      policy.empty() ? "default (" + swarm::runtime_options{}.scheduler_policy + ")" : policy;
  std::printf("policy: %s, %d rounds, medians\n\n", shown.c_str(), rounds);

  {
    swarm::bench::mock_process mock{swarm_bin, "latency: {fixed_ms: 20}\ndefault: {reply: 'ok'}\n",
                                    "sched-seq"};
    std::vector<double> cpu, wall;
    size_t failed = 0;
    for (int i = 0; i < rounds; ++i) {
      auto r = measure_sequential(mock, policy, calls);
      cpu.push_back(r.cpu_us_per_call);
      wall.push_back(r.wall_ms_per_call);
      failed += r.failed;
    }
    std::printf("| (a) one agent, sequential, 20 ms | calls/round | CPU/call us | wall/call ms | "
                "failed |\n|---|---|---|---|---|\n");
    std::printf("| %s | %zu | %.1f | %.2f | %zu |\n\n", shown.c_str(), calls, median(cpu),
                median(wall), failed);
    std::fflush(stdout);
  }
  {
    swarm::bench::mock_process mock{swarm_bin,
                                    "latency: {fixed_ms: " + std::to_string(wait_latency_ms) +
                                        "}\ndefault: {reply: 'ok'}\n",
                                    "sched-wait"};
    std::printf("| (b) agents waiting on a %d ms endpoint | N | %% of a core while waiting | CPU "
                "ms of the whole run | failed |\n|---|---|---|---|---|\n",
                wait_latency_ms);
    for (auto n : waiting) {
      std::vector<double> share, run_cpu;
      size_t failed = 0;
      for (int i = 0; i < rounds; ++i) {
        auto r = measure_waiting(mock, policy, n, wait_latency_ms);
        share.push_back(r.core_share * 100);
        run_cpu.push_back(r.run_cpu_ms);
        failed += r.failed;
      }
      std::printf("| %s | %zu | %.2f | %.1f | %zu |\n", shown.c_str(), n, median(share),
                  median(run_cpu), failed);
      std::fflush(stdout);
    }
  }
  return 0;
}
