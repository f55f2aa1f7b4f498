// How the runtime configures CAF's scheduler (see scheduler_options.hpp).
#include "runtime/scheduler_options.hpp"

#include <chrono>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/timespan.hpp>

namespace swarm {

void apply_scheduler_options(caf::actor_system_config& cfg, const runtime_options& opts) {
  if (opts.scheduler_threads > 0)
    cfg.set("scheduler.max-threads", opts.scheduler_threads);
  cfg.set("scheduler.policy", caf::atom_from_string(opts.scheduler_policy));
  if (opts.scheduler_policy != "stealing")
    return;
  // CAF's idle worker polls its queue 100 times (stealing every 10th), then 500 times with a
  // 50 us sleep between polls, then sleeps 10 ms at a time, stealing on each wake. The middle
  // phase is what burns CPU while agents wait on LLM calls (3.5 ms per 20 ms call, of which
  // ~3.2 ms in the workers, against 0.25 ms without it); the throughput benchmarks did not
  // measurably miss it. Keep the first and last phases at CAF's defaults (docs/decisions.md).
  cfg.set("work-stealing.aggressive-poll-attempts", size_t{100});
  cfg.set("work-stealing.aggressive-steal-interval", size_t{10});
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
  cfg.set("work-stealing.relaxed-steal-interval", size_t{1});
  cfg.set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::milliseconds(10)});
}

} // namespace swarm
