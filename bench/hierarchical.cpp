// Scenario `hierarchical` (issue B): a lead plans N independent subtasks, N workers answer them,
// the lead aggregates; against `swarm mock-llm` (own process) at a fixed latency. Compares the
// wall time with the critical-path floor (plan, one subtask, aggregation: 3 sequential calls).
// Prints a markdown table (and JSON with --json FILE). Usage: bench_hierarchical [--help].
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "bench/args.hpp"
#include "bench/mock_process.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"

extern char** environ;

namespace {

using clock_type = std::chrono::steady_clock;

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[xs.size() / 2];
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// The mock's script: the planning prompt gets a plan of `n` independent subtasks, the
// aggregation prompt a fixed answer, everything else (the workers) "done".
std::string script_text(size_t n, int latency_ms) {
  std::ostringstream out;
  out << "latency: {fixed_ms: " << latency_ms << "}\n"
      << "default: {reply: 'done'}\n"
      << "rules:\n"
      << "  - match: {user: '^Write the final answer'}\n"
      << "    reply: 'final answer'\n"
      << "  - match: {user: '^Plan the task'}\n"
      << "    json: {subtasks: [";
  for (size_t i = 0; i < n; ++i)
    out << (i ? ", " : "") << "{id: s" << i << ", text: 'Answer part " << i
        << " in one word.', skill: '', depends_on: []}";
  out << "]}\n";
  return out.str();
}

swarm::swarm_spec hierarchical_spec(size_t workers) {
  swarm::swarm_spec spec;
  spec.name = "hier";
  spec.root.architecture = "hierarchical";
  spec.root.hierarchical.lead = "lead";
  spec.root.hierarchical.max_subtasks = static_cast<uint32_t>(workers);
  spec.root.guards.member_timeout = std::chrono::minutes(2);
  spec.agents.resize(workers + 1);
  spec.agents[0].name = "lead";
  spec.agents[0].system_prompt = "You are the lead: plan, then aggregate.";
  for (size_t i = 1; i <= workers; ++i) {
    auto& a = spec.agents[i];
    a.name = "w" + std::to_string(i - 1);
    a.system_prompt = "You are worker " + a.name + ".";
    spec.root.members.push_back(a.name);
  }
  for (auto& a : spec.agents)
    a.llm.timeout = std::chrono::minutes(2);
  return spec;
}

// One agent behind a concurrent coordinator: the cost of one LLM call through our layers.
swarm::swarm_spec single_spec() {
  swarm::swarm_spec spec;
  spec.name = "single";
  spec.root.architecture = "concurrent";
  spec.agents.resize(1);
  spec.agents[0].name = "solo";
  spec.agents[0].system_prompt = "You are solo.";
  return spec;
}

struct row {
  size_t workers = 0;
  int latency_ms = 0;
  size_t max_connections = 0;
  double wall_ms = 0;   // median of the runs
  double single_ms = 0; // median of single-call runs
  size_t llm_calls = 0; // of the last run (usage.calls)
  size_t failed = 0;    // failed members over all runs
  int runs = 0;
};

row measure(const std::string& swarm_bin, size_t workers, int latency_ms, size_t max_connections,
            int runs) {
  swarm::bench::mock_process mock{swarm_bin, script_text(workers, latency_ms), "hier"};
  row r;
  r.workers = workers;
  r.latency_ms = latency_ms;
  r.max_connections = max_connections;
  r.runs = runs;
  swarm::runtime_options opts;
  opts.scheduler_threads = 2;
  opts.llm.max_connections_per_endpoint = max_connections;
  opts.llm.max_idle_per_endpoint = max_connections; // keep the connections between runs
  swarm::runtime rt{opts, {mock.url(), "mock"}};
  auto single = rt.spawn(single_spec());
  auto team = rt.spawn(hierarchical_spec(workers));
  if (!single || !team)
    throw std::runtime_error("spawn failed");
  const char* task_text = "Answer the thousand questions of the benchmark.";
  (void)single->run({"warm-up"});
  std::vector<double> singles;
  for (int i = 0; i < std::max(runs, 5); ++i) {
    auto t0 = clock_type::now();
    auto out = single->run({"one call"});
    singles.push_back(ms_since(t0));
    if (!out)
      ++r.failed;
  }
  r.single_ms = median(singles);
  (void)team->run({task_text}); // warm-up: connections, allocator
  std::vector<double> walls;
  for (int i = 0; i < runs; ++i) {
    auto t0 = clock_type::now();
    auto out = team->run({task_text});
    walls.push_back(ms_since(t0));
    if (!out) {
      std::cerr << "run failed: " << swarm::describe(out.error()) << "\n";
      r.failed += workers;
      continue;
    }
    r.llm_calls = out->use.calls;
    for (const auto& m : out->trace)
      r.failed += m.error ? 1 : 0;
    if (out->text != "final answer")
      std::cerr << "unexpected final answer: " << out->text.substr(0, 200) << "\n";
  }
  r.wall_ms = median(walls);
  return r;
}

} // namespace

int main(int argc, char** argv) {
  std::string swarm_bin = SWARM_BINARY;
  std::string json_path;
  size_t workers = 1000;
  int latency = 20;
  int runs = 5;
  std::vector<size_t> pools{1024, 256};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--swarm" && i + 1 < argc)
      swarm_bin = argv[++i];
    else if (a == "--json" && i + 1 < argc)
      json_path = argv[++i];
    else if (a == "--runs" && i + 1 < argc)
      runs = std::stoi(argv[++i]);
    else if (a == "--workers" && i + 1 < argc)
      workers = std::stoul(argv[++i]);
    else if (a == "--latency" && i + 1 < argc)
      latency = std::stoi(argv[++i]);
    else if (a == "--pools" && i + 1 < argc) {
      pools = swarm::bench::parse_sizes(argv[++i]);
    } else {
      std::cerr << "usage: bench_hierarchical [--workers 1000] [--latency 20] [--runs 5] "
                   "[--pools 1024,256] [--json FILE] [--swarm PATH]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  swarm::bench::raise_fd_limit();

  std::vector<row> rows;
  std::printf("| workers | latency | max conns/endpoint | wall ms (median of %d) | one call ms | "
              "floor ms (3 calls) | wall / floor | LLM calls | failed |\n"
              "|---|---|---|---|---|---|---|---|---|\n",
              runs);
  for (auto pool : pools) {
    auto r = measure(swarm_bin, workers, latency, pool, runs);
    rows.push_back(r);
    double floor = 3 * r.single_ms;
    std::printf("| %zu | %d ms | %zu | %.1f | %.1f | %.1f | %.2f | %zu | %zu |\n", r.workers,
                r.latency_ms, r.max_connections, r.wall_ms, r.single_ms, floor, r.wall_ms / floor,
                r.llm_calls, r.failed);
    std::fflush(stdout);
  }
  if (!json_path.empty()) {
    std::ofstream out{json_path};
    out << "[\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      out << "  {\"workers\": " << r.workers << ", \"latency_ms\": " << r.latency_ms
          << ", \"max_connections\": " << r.max_connections << ", \"wall_ms\": " << r.wall_ms
          << ", \"single_call_ms\": " << r.single_ms << ", \"floor_ms\": " << 3 * r.single_ms
          << ", \"llm_calls\": " << r.llm_calls << ", \"failed\": " << r.failed << "}"
          << (i + 1 < rows.size() ? ",\n" : "\n");
    }
    out << "]\n";
  }
  return 0;
}
