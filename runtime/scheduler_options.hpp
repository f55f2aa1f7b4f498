// How the runtime configures CAF's scheduler from runtime_options: policy, threads, and how idle
// workers of the work-stealing policy poll before they sleep.
#pragma once

#include "runtime/core/options.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace swarm {

/// Sets `scheduler.policy`, `scheduler.max-threads` and, for the "stealing" policy, the idle
/// workers' polling (`work-stealing.*`, see docs/decisions.md) on `cfg` from `opts`.
void apply_scheduler_options(caf::actor_system_config& cfg, const runtime_options& opts);

} // namespace swarm
