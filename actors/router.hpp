// The router coordinator: one member per task, picked by an LLM agent or by rules.
#pragma once

#include <vector>

#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

struct router_config {
  agent_id id;                 ///< the swarm's own id
  std::vector<member> members; ///< in spec order
  guard_options guards;
  router_options options;
  member router; ///< picks the member; null handle: the routes decide
};

/// Spawns a router coordinator (docs/architectures.md). `monitor` may be a null handle.
agent_actor spawn_router(caf::actor_system& sys, router_config cfg, monitor_actor monitor);

} // namespace swarm::actors
