// The architecture registry: one row per architecture (name, one-line description, spawn), the
// only place that maps a swarm's `architecture:` to the coordinator that runs it.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

/// The agent a role key names (`lead`, `judge`, ...); an empty member when the key is unset.
using role_lookup = std::function<member(const std::string& name)>;

/// Spawns the coordinator of `node` over `members` (already spawned, in spec order).
using spawn_architecture = caf::expected<agent_actor> (*)(caf::actor_system& sys,
                                                          const swarm_node_spec& node, agent_id id,
                                                          std::vector<member> members,
                                                          const role_lookup& role,
                                                          const monitor_actor& monitor);

/// One architecture. A new architecture is its file pair (actors/NAME.{hpp,cpp}) plus one row
/// here; its name and options table live with the spec reader (runtime/core/
/// spec_swarm_fields.cpp), and `architecture_registry_mismatch` keeps the two lists equal.
struct architecture {
  std::string_view name;
  std::string_view description; ///< the spec's one line (swarm::architectures() summary)
  spawn_architecture spawn;
};

/// Every architecture, in the order of swarm::supported_architectures().
std::span<const architecture> architecture_registry();

/// The row of `name`, or nullptr.
const architecture* find_architecture(std::string_view name);

/// Empty when the registry's names and descriptions are the spec's (swarm::architectures()),
/// in the same order; otherwise what differs first. Checked by a unit test.
std::string architecture_registry_mismatch();

} // namespace swarm::actors
