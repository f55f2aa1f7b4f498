// The concurrent coordinator: fans a task out to every member and gathers all their results.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

/// Spawns a member again from its spec (same id), in place of `dead`, its actor that died or was
/// killed: supervision's restart. When another coordinator already replaced `dead`, the
/// replacement is returned and nothing is spawned.
using respawn_fn = std::function<caf::expected<agent_actor>(const agent_actor& dead)>;

/// A member of a swarm as its coordinator sees it.
struct member {
  std::string name;
  agent_actor handle;
  std::vector<std::string> skills; ///< an agent's skills; a sub-swarm's: its agents' union
  bool leaf = true;                ///< an agent; false: a sub-swarm's coordinator
  /// Spawns the member again from its spec (same id); null: it cannot be restarted. Called by
  /// its coordinator's supervision (coordination.hpp) on the coordinator's thread. Shared, so
  /// that copying a member stays cheap whatever the function holds.
  std::shared_ptr<const respawn_fn> respawn;
};

struct concurrent_config {
  agent_id id;                 ///< the swarm's own id (its name in the parent, or the root)
  std::vector<member> members; ///< asked in this order; results keep it
  guard_options guards;
};

/// The swarm's answer from its members' results (in member order): the members' texts under
/// their names, usage summed, every member result kept in `trace`. Fails with
/// errc::all_members_failed only when every member failed; partial failures stay in `trace`.
result combine_concurrent(const agent_id& self, const std::string& task_id,
                          std::vector<result> members);

/// Spawns a concurrent coordinator. `monitor` may be a null handle.
agent_actor spawn_concurrent(caf::actor_system& sys, concurrent_config cfg, monitor_actor monitor);

} // namespace swarm::actors
