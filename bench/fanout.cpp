// Scenario `fanout`: one concurrent coordinator, N agents, one chat completion each, against
// `swarm mock-llm` in its own process; the same N requests by a bare Beast client and by libcurl
// multi as the floors. Prints a markdown table, then scenario
// `sequential`: one call at a time through the runtime, a bare Beast connection and a curl easy
// handle in rotating order, their p50 and p99, and the p50 latency the runtime adds to one call.
// Both hand their figures to `swarm bench` (bench/records.hpp). Usage: bench_fanout [--help].
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <malloc.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "bench/agents_run.hpp"
#include "bench/args.hpp"
#include "bench/bare_client.hpp"
#include "bench/curl_client.hpp"
#include "bench/mock_process.hpp"
#include "bench/records.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"

extern char** environ;

namespace {

using namespace swarm::bench;
using clock_type = std::chrono::steady_clock;

long proc_status_kb(const char* key) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0)
      return std::stol(line.substr(std::string{key}.size()));
  return 0;
}

void reset_peak_rss() {
  std::ofstream{"/proc/self/clear_refs"} << "5";
}

struct row {
  size_t n;
  int latency_ms;
  double wall_ms, bare_wall_ms, curl_wall_ms;
  double cpu_us_per_call, bare_cpu_us_per_call, curl_cpu_us_per_call;
  double peak_rss_mb, kb_per_inflight;
  size_t failed; // ours and both floors': any makes the row's figures void
};

/// The `p` quantile of `xs` (0 < p < 1, nearest rank); 0 for none.
double quantile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto at = static_cast<size_t>(p * static_cast<double>(xs.size()));
  return xs[std::min(at, xs.size() - 1)];
}

// The request agent-0 sends, as the bare clients send it.
std::string bare_body() {
  std::ostringstream body;
  body << R"({"model":"mock","messages":[{"role":"system","content":"You are agent-0."},)"
       << R"({"role":"user","content":")" << task_text << R"("}]})";
  return body.str();
}

row measure(const std::string& swarm_bin, size_t n, int latency_ms, int rounds,
            const std::string& policy) {
  swarm::bench::mock_process mock{swarm_bin,
                                  "latency: {fixed_ms: " + std::to_string(latency_ms) +
                                      "}\ndefault: {reply: 'ok from {{system}}'}\n",
                                  "fanout-" + std::to_string(latency_ms)};
  row r{n, latency_ms, 0, 0, 0, 0, 0, 0, 0, 0, 0};

  // -- our runtime
  {
    swarm::runtime_options opts;
    opts.scheduler_threads = 2;
    opts.scheduler_policy = policy;
    swarm::runtime rt{opts, {mock.url(), "mock"}};
    auto team = rt.spawn(agents_spec("fanout", n));
    if (!team)
      throw std::runtime_error(swarm::describe(team.error()));
    (void)team->run({task_text}); // warm-up: connections, allocator
    std::vector<double> walls;
    double cpu = 0;
    // What earlier rows and the warm-up freed goes back to the system first, so the figures
    // below are this row's own, whatever ran before it in the process.
    malloc_trim(0);
    long rss_before = proc_status_kb("VmRSS:");
    reset_peak_rss();
    for (int i = 0; i < rounds; ++i) {
      auto c0 = cpu_seconds();
      auto t0 = clock_type::now();
      auto out = team->run({task_text});
      walls.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
      cpu += cpu_seconds() - c0;
      r.failed += failures(out, n);
    }
    long hwm = proc_status_kb("VmHWM:");
    r.wall_ms = median(walls);
    r.cpu_us_per_call = cpu * 1e6 / static_cast<double>(n * static_cast<size_t>(rounds));
    r.peak_rss_mb = static_cast<double>(hwm) / 1024.0;
    r.kb_per_inflight =
        static_cast<double>(std::max(0L, hwm - rss_before)) / static_cast<double>(n);
  }

  // -- the floors: same requests, same connection bound, no actors: a bare Beast client, then
  // libcurl multi. One warm-up (connections), then the rounds.
  auto floor_of = [&](auto fanout, double& wall_ms, double& cpu_us_per_call) {
    auto body = bare_body();
    swarm::llm_client_options defaults;
    auto conns = defaults.max_connections_per_endpoint;
    (void)fanout("127.0.0.1", mock.port(), "/v1/chat/completions", body, std::min<size_t>(n, conns),
                 conns);
    std::vector<double> walls;
    double cpu = 0;
    for (int i = 0; i < rounds; ++i) {
      auto c0 = cpu_seconds();
      auto t0 = clock_type::now();
      auto out = fanout("127.0.0.1", mock.port(), "/v1/chat/completions", body, n, conns);
      walls.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
      cpu += cpu_seconds() - c0;
      r.failed += out.failed;
    }
    wall_ms = median(walls);
    cpu_us_per_call = cpu * 1e6 / static_cast<double>(n * static_cast<size_t>(rounds));
  };
  floor_of(swarm::bench::bare_fanout, r.bare_wall_ms, r.bare_cpu_us_per_call);
  floor_of(swarm::bench::curl_fanout, r.curl_wall_ms, r.curl_cpu_us_per_call);
  return r;
}

// What the runtime's call path adds to one call, against a mock answering at once: `calls`
// rounds of the same request, one through a one-agent swarm (swarm_handle::run: caller,
// coordinator, agent, broker, client), one by a bare keep-alive Beast connection and one by a
// curl easy handle, both on the caller's thread, in rotating order in one run.
struct added_row {
  size_t calls = 0;
  double added_us = 0;       // median over the rounds of (runtime - Beast)
  double runtime_us = 0;     // median of the runtime's calls
  double bare_us = 0;        // median of the Beast client's calls
  double curl_us = 0;        // median of curl's calls
  double runtime_p99_us = 0; // and their 99th percentiles
  double bare_p99_us = 0;
  double curl_p99_us = 0;
  double runtime_cpu_us = 0; // process CPU per call while each client's calls ran
  double bare_cpu_us = 0;
  double curl_cpu_us = 0;
  size_t failed = 0; // ours and both floors'
};

added_row measure_added(const std::string& swarm_bin, size_t calls, const std::string& policy) {
  swarm::bench::mock_process mock{swarm_bin, "default: {reply: 'ok from {{system}}'}\n",
                                  "fanout-added"};
  swarm::runtime_options opts;
  opts.scheduler_threads = 2;
  opts.scheduler_policy = policy;
  swarm::runtime rt{opts, {mock.url(), "mock"}};
  auto team = rt.spawn(agents_spec("fanout", 1));
  if (!team)
    throw std::runtime_error(swarm::describe(team.error()));
  swarm::bench::bare_session bare{"127.0.0.1", mock.port()};
  swarm::bench::curl_session curl{"127.0.0.1", mock.port()};
  auto body = bare_body();
  added_row r;
  r.calls = calls;
  auto us_since = [](clock_type::time_point t0) {
    return std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
  };
  // The process's CPU time (every thread) while each client's call runs: the calls never
  // overlap, so what the process burns during one is that client's, plus whatever the runtime's
  // idle threads burn meanwhile (which counts against the floors, not for them).
  auto cpu_us = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  };
  double runtime_cpu = 0, bare_cpu = 0, curl_cpu = 0;
  // One call of a client (`call` returns its failures): its wall time in µs; its CPU time is
  // added to `cpu`.
  auto timed = [&](double& cpu, auto call) {
    auto c0 = cpu_us();
    auto t0 = clock_type::now();
    r.failed += call();
    auto took = us_since(t0);
    cpu += cpu_us() - c0;
    return took;
  };
  auto through_runtime = [&] {
    return timed(runtime_cpu, [&] { return failures(team->run({task_text}), 1); });
  };
  auto bare_call = [&] {
    return timed(bare_cpu, [&] { return bare.call("/v1/chat/completions", body) ? 0 : 1; });
  };
  auto curl_call = [&] {
    return timed(curl_cpu, [&] { return curl.call("/v1/chat/completions", body) ? 0 : 1; });
  };
  for (int i = 0; i < 20; ++i) { // warm-up: connections, allocator
    (void)through_runtime();
    (void)bare_call();
    (void)curl_call();
  }
  r.failed = 0;
  runtime_cpu = bare_cpu = curl_cpu = 0;
  std::vector<double> runtime_us, bare_us, curl_us, added_us;
  for (size_t i = 0; i < calls; ++i) {
    double a = 0, b = 0, c = 0;
    switch (i % 3) { // each client goes first, second and third in turn
    case 0:
      a = through_runtime();
      b = bare_call();
      c = curl_call();
      break;
    case 1:
      b = bare_call();
      c = curl_call();
      a = through_runtime();
      break;
    default:
      c = curl_call();
      a = through_runtime();
      b = bare_call();
      break;
    }
    runtime_us.push_back(a);
    bare_us.push_back(b);
    curl_us.push_back(c);
    added_us.push_back(a - b);
  }
  r.added_us = median(added_us);
  r.runtime_us = median(runtime_us);
  r.bare_us = median(bare_us);
  r.curl_us = median(curl_us);
  r.runtime_p99_us = quantile(runtime_us, 0.99);
  r.bare_p99_us = quantile(bare_us, 0.99);
  r.curl_p99_us = quantile(curl_us, 0.99);
  auto n = static_cast<double>(std::max<size_t>(calls, 1));
  r.runtime_cpu_us = runtime_cpu / n;
  r.bare_cpu_us = bare_cpu / n;
  r.curl_cpu_us = curl_cpu / n;
  return r;
}

void record_fanout(const row& r) {
  std::vector<param> params{{"n", r.n}, {"latency_ms", r.latency_ms}};
  auto put = [&](const char* metric, const char* unit, double value,
                 std::vector<std::pair<std::string, double>> floors) {
    record(figure{"fanout", params, metric, unit, better::lower, value, std::move(floors)});
  };
  put("wall_ms", "ms", r.wall_ms,
      {{"bare Beast client", r.bare_wall_ms}, {"libcurl multi", r.curl_wall_ms}});
  put("cpu_us_per_call", "us", r.cpu_us_per_call,
      {{"bare Beast client", r.bare_cpu_us_per_call}, {"libcurl multi", r.curl_cpu_us_per_call}});
  put("kb_per_inflight", "KB", r.kb_per_inflight, {});
  put("peak_rss_mb", "MB", r.peak_rss_mb, {});
  put("failed", "requests", static_cast<double>(r.failed), {});
}

void record_sequential(const added_row& a) {
  std::vector<param> params{{"calls", a.calls}, {"latency_ms", 0}};
  auto put = [&](const char* metric, const char* unit, double value,
                 std::vector<std::pair<std::string, double>> floors) {
    record(figure{"sequential", params, metric, unit, better::lower, value, std::move(floors)});
  };
  put("call_us_p50", "us", a.runtime_us,
      {{"bare Beast client", a.bare_us}, {"libcurl easy", a.curl_us}});
  put("call_us_p99", "us", a.runtime_p99_us,
      {{"bare Beast client", a.bare_p99_us}, {"libcurl easy", a.curl_p99_us}});
  put("added_us_p50", "us", a.added_us, {});
  put("cpu_us_per_call", "us", a.runtime_cpu_us,
      {{"bare Beast client", a.bare_cpu_us}, {"libcurl easy", a.curl_cpu_us}});
  put("failed", "requests", static_cast<double>(a.failed), {});
}

} // namespace

int main(int argc, char** argv) {
  std::string swarm_bin = SWARM_BINARY;
  std::vector<size_t> sizes{10, 100, 1000, 10000};
  std::vector<size_t> latencies{0, 20};
  std::string only; // "fanout", "sequential" or both
  int rounds = 5;
  size_t added_calls = 1000;
  std::string policy = "stealing";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--swarm" && i + 1 < argc)
      swarm_bin = argv[++i];
    else if (a == "--policy" && i + 1 < argc)
      policy = argv[++i];
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::stoi(argv[++i]);
    else if (a == "--added-calls" && i + 1 < argc)
      added_calls = std::stoul(argv[++i]);
    else if (a == "--sizes" && i + 1 < argc)
      sizes = swarm::bench::parse_sizes(argv[++i]);
    else if (a == "--latencies" && i + 1 < argc)
      latencies = swarm::bench::parse_sizes(argv[++i]);
    else if (a == "--only" && i + 1 < argc &&
             (std::string{argv[i + 1]} == "fanout" || std::string{argv[i + 1]} == "sequential"))
      only = argv[++i];
    else {
      std::cerr << "usage: bench_fanout [--sizes 10,100,1000,10000] [--latencies 0,20] "
                   "[--rounds 5] [--added-calls 1000] [--only fanout|sequential] "
                   "[--swarm PATH] [--policy stealing|sharing]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  swarm::bench::raise_fd_limit();

  std::vector<row> rows;
  if (only != "sequential") {
    std::printf(
        "| N | latency | wall/round ms | bare ms | curl ms | wall ratio | CPU/call us | bare "
        "CPU/call us | curl CPU/call us | peak RSS MB | KB/in-flight call | failed |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (auto latency : latencies)
      for (auto n : sizes) {
        auto r = measure(swarm_bin, n, static_cast<int>(latency), rounds, policy);
        rows.push_back(r);
        record_fanout(r);
        std::printf("| %zu | %d ms | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f | %.2f "
                    "| %zu |\n",
                    r.n, r.latency_ms, r.wall_ms, r.bare_wall_ms, r.curl_wall_ms,
                    r.wall_ms / r.bare_wall_ms, r.cpu_us_per_call, r.bare_cpu_us_per_call,
                    r.curl_cpu_us_per_call, r.peak_rss_mb, r.kb_per_inflight, r.failed);
        std::fflush(stdout);
      }
  }
  if (added_calls > 0 && only != "fanout") {
    auto a = measure_added(swarm_bin, added_calls, policy);
    record_sequential(a);
    std::printf("\np50 added latency (N = 1, 0 ms, %zu rounds, runtime - bare of each round): %.1f "
                "us; p50 runtime %.1f us, p50 bare %.1f us, ratio %.2f, p50 curl %.1f us; p99 "
                "runtime %.1f us, bare %.1f us, curl %.1f us; CPU per call runtime %.1f us, bare "
                "%.1f us, curl %.1f us; failed %zu\n",
                a.calls, a.added_us, a.runtime_us, a.bare_us, a.runtime_us / a.bare_us, a.curl_us,
                a.runtime_p99_us, a.bare_p99_us, a.curl_p99_us, a.runtime_cpu_us, a.bare_cpu_us,
                a.curl_cpu_us, a.failed);
  }
  return 0;
}
