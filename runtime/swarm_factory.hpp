// The SwarmFactory: turns a validated spec into running actors, resolving every agent's LLM
// settings before spawning anything.
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/llm_resolution.hpp"

namespace swarm {

/// A swarm's actors: the root speaks the agent protocol for the whole swarm.
struct built_swarm {
  std::string name;
  agent_actor root;
  std::vector<actors::member> agents; ///< the leaf agents, in spec order
};

class swarm_factory {
public:
  swarm_factory(caf::actor_system& sys, llm_actor llm, monitor_actor monitor);

  /// Resolves every agent first (errc::no_endpoint names the agent), then spawns the agents
  /// and the coordinator of `spec.architecture`. Nothing is spawned when resolution fails.
  [[nodiscard]] caf::expected<built_swarm>
  build(const swarm_spec& spec, const llm_overrides& overrides, const env_reader& env = read_env);

private:
  caf::actor_system& sys_;
  llm_actor llm_;
  monitor_actor monitor_;
};

} // namespace swarm
