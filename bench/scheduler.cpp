// Scenario `scheduler` (issue F): what the runtime's scheduler burns while agents wait on LLM
// calls, against `swarm mock-llm` in its own process (its CPU is never counted): (a) CPU per call
// of one agent calling a 20 ms endpoint in a loop, (b) CPU of N agents all waiting on a 2 s
// endpoint, as a share of one core. CPU is this process's user+sys time (getrusage), so the
// figures hold on a shared machine where wall time does not. The floor of each, in the same run:
// a bare Beast client (bench/bare_client.hpp) making the same calls, (a) one at a time on the
// caller's thread, (b) all N in flight on one io thread, measured over the same window. Each
// figure also goes to `swarm bench` (bench/records.hpp). Usage: bench_scheduler [--help].
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench/agents_run.hpp"
#include "bench/args.hpp"
#include "bench/bare_client.hpp"
#include "bench/mock_process.hpp"
#include "bench/records.hpp"
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

// The request agent-0 of agents_spec sends, as the bare client sends it.
std::string bare_body() {
  std::ostringstream body;
  body << R"({"model":"mock","messages":[{"role":"system","content":"You are agent-0."},)"
       << R"({"role":"user","content":")" << task_text << R"("}]})";
  return body.str();
}

const char* chat_target = "/v1/chat/completions";

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

// (a)'s floor: the same `calls` requests, one at a time on one keep-alive connection.
seq_row measure_sequential_bare(const swarm::bench::mock_process& mock, size_t calls) {
  swarm::bench::bare_session bare{"127.0.0.1", mock.port()};
  auto body = bare_body();
  seq_row r;
  for (int i = 0; i < 5; ++i) // warm-up, as above
    r.failed += bare.call(chat_target, body) ? 0 : 1;
  auto c0 = cpu_seconds();
  auto t0 = clock_type::now();
  for (size_t i = 0; i < calls; ++i)
    r.failed += bare.call(chat_target, body) ? 0 : 1;
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

// The process's CPU share over the window [30 %, 80 %) of `latency_ms` after `start` returned:
// sending n calls takes well under 30 % of the latency, and the window ends 20 % before the first
// answer can come.
double waiting_share(int latency_ms) {
  auto lead = std::chrono::milliseconds(latency_ms * 3 / 10);
  auto window = std::chrono::milliseconds(latency_ms / 2);
  std::this_thread::sleep_for(lead);
  auto w0 = cpu_seconds();
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(window);
  auto w1 = cpu_seconds();
  return (w1 - w0) / std::chrono::duration<double>(clock_type::now() - t0).count();
}

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
  r.core_share = waiting_share(latency_ms);
  runner.join();
  r.run_cpu_ms = (cpu_seconds() - c0) * 1e3;
  r.failed = failed;
  return r;
}

// (b)'s floor: the same n requests in flight at once from the bare async client (one io
// thread, one connection each, as the runtime gets above), over the same window.
wait_row measure_waiting_bare(const swarm::bench::mock_process& mock, size_t n, int latency_ms) {
  auto body = bare_body();
  wait_row r;
  auto c0 = cpu_seconds();
  std::atomic<size_t> failed{0};
  std::thread runner{[&] {
    failed = swarm::bench::bare_fanout("127.0.0.1", mock.port(), chat_target, body, n, n).failed;
  }};
  r.core_share = waiting_share(latency_ms);
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
  std::string only = "sequential,wait";
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
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else {
      std::cerr << "usage: bench_scheduler [--policy stealing|sharing] (default: the runtime's) "
                   "[--only sequential,wait] [--calls 200] [--waiting 1,1000] "
                   "[--wait-latency-ms 2000] [--rounds 3] [--swarm PATH]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  bool run_sequential = false, run_wait = false;
  {
    std::stringstream ss{only};
    for (std::string part; std::getline(ss, part, ',');) {
      if (part == "sequential")
        run_sequential = true;
      else if (part == "wait")
        run_wait = true;
      else {
        std::cerr << "--only: unknown part '" << part << "' (sequential, wait)\n";
        return 2;
      }
    }
  }
  swarm::bench::raise_fd_limit();
  std::string shown =
      policy.empty() ? "default (" + swarm::runtime_options{}.scheduler_policy + ")" : policy;
  std::printf("policy: %s, %d rounds (ours and the bare client alternate), medians\n\n",
              shown.c_str(), rounds);

  constexpr int seq_latency_ms = 20;
  if (run_sequential) {
    swarm::bench::mock_process mock{swarm_bin,
                                    "latency: {fixed_ms: " + std::to_string(seq_latency_ms) +
                                        "}\ndefault: {reply: 'ok'}\n",
                                    "sched-seq"};
    std::vector<double> cpu, wall, bare_cpu, bare_wall;
    size_t failed = 0, bare_failed = 0;
    for (int i = 0; i < rounds; ++i) {
      auto r = measure_sequential(mock, policy, calls);
      cpu.push_back(r.cpu_us_per_call);
      wall.push_back(r.wall_ms_per_call);
      failed += r.failed;
      auto b = measure_sequential_bare(mock, calls);
      bare_cpu.push_back(b.cpu_us_per_call);
      bare_wall.push_back(b.wall_ms_per_call);
      bare_failed += b.failed;
    }
    std::printf("| (a) one agent, sequential, %d ms | calls/round | CPU/call us | wall/call ms | "
                "failed |\n|---|---|---|---|---|\n",
                seq_latency_ms);
    std::printf("| %s | %zu | %.1f | %.2f | %zu |\n", shown.c_str(), calls, median(cpu),
                median(wall), failed);
    std::printf("| bare Beast client | %zu | %.1f | %.2f | %zu |\n\n", calls, median(bare_cpu),
                median(bare_wall), bare_failed);
    std::fflush(stdout);
    if (failed == 0 && bare_failed == 0)
      record(figure{"sequential",
                    {{"latency_ms", seq_latency_ms}},
                    "cpu_us_per_call",
                    "us",
                    better::lower,
                    median(cpu),
                    {{"bare Beast client", median(bare_cpu)}}});
  }
  if (run_wait) {
    swarm::bench::mock_process mock{swarm_bin,
                                    "latency: {fixed_ms: " + std::to_string(wait_latency_ms) +
                                        "}\ndefault: {reply: 'ok'}\n",
                                    "sched-wait"};
    std::printf("| (b) N calls waiting on a %d ms endpoint | N | %% of a core while waiting | "
                "CPU ms of the whole run | failed |\n|---|---|---|---|---|\n",
                wait_latency_ms);
    for (auto n : waiting) {
      std::vector<double> share, run_cpu, bare_share, bare_run_cpu;
      size_t failed = 0, bare_failed = 0;
      for (int i = 0; i < rounds; ++i) {
        auto r = measure_waiting(mock, policy, n, wait_latency_ms);
        share.push_back(r.core_share * 100);
        run_cpu.push_back(r.run_cpu_ms);
        failed += r.failed;
        auto b = measure_waiting_bare(mock, n, wait_latency_ms);
        bare_share.push_back(b.core_share * 100);
        bare_run_cpu.push_back(b.run_cpu_ms);
        bare_failed += b.failed;
      }
      std::printf("| %s | %zu | %.3f | %.1f | %zu |\n", shown.c_str(), n, median(share),
                  median(run_cpu), failed);
      std::printf("| bare Beast client | %zu | %.3f | %.1f | %zu |\n", n, median(bare_share),
                  median(bare_run_cpu), bare_failed);
      std::fflush(stdout);
      if (failed == 0 && bare_failed == 0)
        record(figure{"idle-wait",
                      {{"n", n}, {"latency_ms", wait_latency_ms}},
                      "core_pct_waiting",
                      "%",
                      better::lower,
                      median(share),
                      {{"bare Beast client", median(bare_share)}}});
    }
  }
  return 0;
}
