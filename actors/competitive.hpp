// The competitive coordinator: members race; the judge's best, the most confident, or the first k
// win.
#pragma once

#include <vector>

#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

struct competitive_config {
  agent_id id;                 ///< the swarm's own id
  std::vector<member> members; ///< in spec order
  guard_options guards;
  competitive_options options;
  member judge; ///< select: judge only; null handle otherwise
};

/// Spawns a competitive coordinator (docs/architectures.md). `monitor` may be a null handle.
agent_actor spawn_competitive(caf::actor_system& sys, competitive_config cfg,
                              monitor_actor monitor);

} // namespace swarm::actors
