// Where a swarm's agents run when the runtime is a cluster node: each agent's node, decided
// before anything is spawned from the spec (`node:` pins, `placement:` policies) and the
// cluster's up members; and the remote spawn of an agent on the node chosen.
#pragma once

#include <chrono>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/agent.hpp"
#include "runtime/core/cluster_messages.hpp"
#include "runtime/core/spec.hpp"

namespace swarm {

/// For each agent of `spec`, in spec order, the index into `view.members` of the node it runs
/// on (0 is the node that asks). An agent's `node:` names the member it runs on; otherwise the
/// placement of the innermost swarm that lists it decides: spread (the member with the fewest of
/// this swarm's agents so far, the asking node first on ties), pack (the asking node) or
/// least_loaded (the fewest agents and calls in flight, counting this swarm's so far). A pin to
/// a name that is not up is errc::invalid_argument naming the agent and the up members.
caf::expected<std::vector<size_t>> place_agents(const swarm_spec& spec, const placement_view& view);

/// Spawns the agent of `cfg` in the process of `node` (a member's node actor), which must have
/// registered the agent type (every runtime does). errc::node_unreachable names the node.
caf::expected<agent_actor> spawn_agent_on(caf::actor_system& sys, const caf::actor& node,
                                          const std::string& node_name,
                                          const actors::agent_config& cfg, llm_actor llm,
                                          monitor_actor monitor, std::chrono::milliseconds timeout);

} // namespace swarm
