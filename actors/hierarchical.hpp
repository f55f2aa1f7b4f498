// The hierarchical coordinator: the lead plans (JSON schema), workers are assigned by skill, the
// lead aggregates.
#pragma once

#include <vector>

#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

struct hierarchical_config {
  agent_id id;                 ///< the swarm's own id
  std::vector<member> members; ///< in spec order
  guard_options guards;
  hierarchical_options options;
  member lead; ///< plans and aggregates
};

/// Spawns a hierarchical coordinator (docs/architectures.md). `monitor` may be a null handle.
agent_actor spawn_hierarchical(caf::actor_system& sys, hierarchical_config cfg,
                               monitor_actor monitor);

} // namespace swarm::actors
