// The sequential coordinator: a pipeline; each member gets the task and the previous answer.
#pragma once

#include <vector>

#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

struct sequential_config {
  agent_id id;                 ///< the swarm's own id
  std::vector<member> members; ///< in spec order
  guard_options guards;
};

/// Spawns a sequential coordinator (docs/architectures.md). `monitor` may be a null handle.
agent_actor spawn_sequential(caf::actor_system& sys, sequential_config cfg, monitor_actor monitor);

} // namespace swarm::actors
