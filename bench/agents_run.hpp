// What the benchmarks that run a flat swarm through the runtime share (bench_fanout,
// bench_scheduler): N agents under one concurrent coordinator, the one task they all get, how
// a run's failures are counted, the process's CPU time and medians.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <sys/resource.h>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::bench {

/// The task every agent gets.
inline const char* task_text = "Summarise the benefits of actor runtimes in one line.";

/// Swarm `name`: one concurrent coordinator over agents agent-0 .. agent-(n-1) ("You are
/// agent-i."), every timeout 5 minutes.
inline swarm_spec agents_spec(const std::string& name, size_t n) {
  swarm_spec spec;
  spec.name = name;
  spec.root.architecture = "concurrent";
  spec.root.guards.member_timeout = std::chrono::minutes(5);
  spec.agents.resize(n);
  for (size_t i = 0; i < n; ++i) {
    spec.agents[i].name = "agent-" + std::to_string(i);
    spec.agents[i].system_prompt = "You are agent-" + std::to_string(i) + ".";
    spec.agents[i].llm.timeout = std::chrono::minutes(5);
    // The smallest window: each request carries the system prompt and the task, as the bare
    // client's does, and every call of an agent is the same request.
    spec.agents[i].short_term_tokens = 1;
  }
  return spec;
}

/// The members of `n` that failed in run `out` (all of them when the run itself failed).
inline size_t failures(const caf::expected<result>& out, size_t n) {
  if (!out)
    return n;
  size_t failed = 0;
  for (const auto& m : out->trace)
    failed += m.error ? 1 : 0;
  return failed;
}

/// This process's user + system CPU seconds so far.
inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// The median of `xs` (the upper one of an even count); 0 for none.
inline double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[xs.size() / 2];
}

} // namespace swarm::bench
