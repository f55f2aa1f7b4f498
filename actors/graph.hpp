// The graph coordinator: members as a DAG with conditional edges and fan-in.
#pragma once

#include <vector>

#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

struct graph_config {
  agent_id id;                 ///< the swarm's own id
  std::vector<member> members; ///< in spec order
  guard_options guards;
  graph_options options;
};

/// Spawns a graph coordinator (docs/architectures.md). `monitor` may be a null handle.
agent_actor spawn_graph(caf::actor_system& sys, graph_config cfg, monitor_actor monitor);

} // namespace swarm::actors
