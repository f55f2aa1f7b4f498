// Sandbox start-up cost per tool call: `true` run through run_sandboxed (fork, rlimits,
// bubblewrap's namespaces and mounts, seccomp, prlimit) next to a plain fork+exec of `true`.
// Prints median and p99 wall time per call over N runs. bench/RESULTS.md records the figures.
#include "actors/sandbox.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "runtime/core/errc.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double micros(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// Median and p99 (nearest rank) of `xs`, in µs.
std::pair<double, double> median_p99(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto at = [&](double q) {
    auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
    return xs[std::min(i, xs.size() - 1)];
  };
  return {at(0.5), at(0.99)};
}

bool plain_true() {
  pid_t pid = ::fork();
  if (pid < 0)
    return false;
  if (pid == 0) {
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    char* envp[] = {nullptr};
    ::execve(argv[0], argv, envp);
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace

int main(int argc, char** argv) {
  size_t runs = 200;
  std::string bwrap = swarm::actors::default_bwrap;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::stoul(argv[++i]);
    } else if (a == "--bwrap" && i + 1 < argc) {
      bwrap = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_sandbox [--runs N (default 200)] [--bwrap PATH]\n");
      return 2;
    }
  }
  if (runs == 0) {
    std::fprintf(stderr, "bench_sandbox: --runs must be positive\n");
    return 2;
  }
  if (auto err = swarm::actors::probe_sandbox(bwrap)) {
    std::fprintf(stderr, "bench_sandbox: %s\n", swarm::describe(err).c_str());
    return 1;
  }
  auto ws = std::filesystem::temp_directory_path() /
            ("swarm-bench-sandbox-" + std::to_string(::getpid()));
  std::filesystem::create_directories(ws);
  swarm::actors::sandbox_request req;
  req.argv = {"true"};
  req.workspace = ws;
  req.bwrap = bwrap;
  std::vector<double> sandboxed;
  std::vector<double> plain;
  for (size_t i = 0; i < runs + 5; ++i) { // 5 warm-up calls of each, not counted
    auto t0 = clock_type::now();
    auto res = swarm::actors::run_sandboxed(req);
    auto t1 = clock_type::now();
    if (!res || res->exit_code != 0) {
      std::fprintf(stderr, "bench_sandbox: sandboxed true failed: %s\n",
                   res ? res->err.c_str() : swarm::describe(res.error()).c_str());
      return 1;
    }
    bool ok = plain_true();
    auto t2 = clock_type::now();
    if (!ok) {
      std::fprintf(stderr, "bench_sandbox: plain fork+exec of /bin/true failed\n");
      return 1;
    }
    if (i >= 5) {
      sandboxed.push_back(micros(t1 - t0));
      plain.push_back(micros(t2 - t1));
    }
  }
  std::filesystem::remove_all(ws);
  auto [s50, s99] = median_p99(sandboxed);
  auto [p50, p99] = median_p99(plain);
  std::printf("| variant | runs | median ms | p99 ms |\n|---|---|---|---|\n");
  std::printf("| sandboxed `true` (bwrap + seccomp + rlimits) | %zu | %.2f | %.2f |\n", runs,
              s50 / 1000, s99 / 1000);
  std::printf("| plain fork+exec `/bin/true` | %zu | %.2f | %.2f |\n", runs, p50 / 1000,
              p99 / 1000);
  std::printf("| sandbox overhead (median) | | %.2f | |\n", (s50 - p50) / 1000);
  return 0;
}
