// The collaborative coordinator: members answer in parallel, then majority, weighted, consensus or
// synthesize.
#pragma once

#include <vector>

#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

struct collaborative_config {
  agent_id id;                 ///< the swarm's own id
  std::vector<member> members; ///< in spec order
  guard_options guards;
  collaborative_options options;
  member aggregator; ///< synthesize only; null handle otherwise
};

/// Spawns a collaborative coordinator (docs/architectures.md). `monitor` may be a null handle.
agent_actor spawn_collaborative(caf::actor_system& sys, collaborative_config cfg,
                                monitor_actor monitor);

} // namespace swarm::actors
