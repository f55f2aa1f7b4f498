// The group chat coordinator: members take turns on a shared transcript until a guard or the judge
// ends it.
#pragma once

#include <vector>

#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

struct group_chat_config {
  agent_id id;                 ///< the swarm's own id
  std::vector<member> members; ///< in spec order
  guard_options guards;
  group_chat_options options;
  member selector; ///< speaker: selector only; null handle otherwise
  member judge;    ///< optional; null handle when unset
};

/// Spawns a group_chat coordinator (docs/architectures.md). `monitor` may be a null handle.
agent_actor spawn_group_chat(caf::actor_system& sys, group_chat_config cfg, monitor_actor monitor);

} // namespace swarm::actors
