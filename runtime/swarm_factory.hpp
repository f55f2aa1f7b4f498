// The SwarmFactory: turns a validated spec (a tree of swarms) into running actors, resolving
// every agent's LLM settings before spawning anything; keeps the registry of running swarms.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/agent.hpp"
#include "actors/concurrent.hpp"
#include "runtime/broadcast_channel.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/memory_messages.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/tool_messages.hpp"
#include "runtime/live_members.hpp"
#include "runtime/llm_resolution.hpp"

namespace swarm {

/// A swarm's actors: the root speaks the agent protocol for the whole swarm.
struct built_swarm {
  std::string name;                           ///< registry name: the spec's name, "#N" if reused
  agent_actor root;                           ///< the root coordinator
  std::vector<actors::member> agents;         ///< every agent, in spec order
  std::vector<actors::member> swarms;         ///< every coordinator, root last
  std::shared_ptr<broadcast_channel> channel; ///< every agent of the tree is subscribed
  std::shared_ptr<live_members> live;         ///< members restarted by supervision
  std::vector<caf::actor> services;           ///< the swarm's own helpers (pool, LLM path):
                                              ///< stopped with it
};

/// What the runtime spawned for a swarm before its agents: their LLM path and services.
struct swarm_wiring {
  llm_actor llm;                 ///< every agent's LLM path (the swarm's broker)
  tool_runner_actor tool_runner; ///< null: no tools
  /// The tools to offer an agent's model (its permitted, declared ones).
  std::function<std::vector<tool_spec>(const agent_id&)> tool_specs;
  working_memory_actor working;     ///< null: no working memory
  long_term_memory_actor long_term; ///< null: no long-term memory
  std::vector<caf::actor> services; ///< stopped with the swarm
  bool stream_tokens = false;       ///< agents' calls tell their tokens (llm_token events)
  /// Spawns agent `index` (spec order) from its config, where it is to run; null: in this
  /// process. A cluster node places agents on other nodes through it. Supervision spawns a
  /// replacement in this process either way.
  std::function<caf::expected<agent_actor>(size_t index,
                                           const std::shared_ptr<const actors::agent_config>&)>
      spawn_agent;
};

class swarm_factory {
public:
  swarm_factory(caf::actor_system& sys, monitor_actor monitor);

  /// Resolves every agent first (errc::no_endpoint names the agent), then spawns the agents
  /// (wired to `wiring`: LLM path, tools, memory tiers), the sub-swarms (bottom up) and the root.
  /// Nothing is spawned when resolution fails. The swarm is added to the registry under a unique
  /// name, with `wiring.services` (stopped with it).
  [[nodiscard]] caf::expected<built_swarm> build(const swarm_spec& spec,
                                                 const llm_overrides& overrides,
                                                 swarm_wiring wiring,
                                                 const env_reader& env = read_env);

  /// Names of the running swarms.
  std::vector<std::string> running() const;

  /// How many agents the running swarms have (their spec's agents; restarts replace, not add).
  uint64_t agent_count() const;

  /// Removes `name` from the registry; returns the swarm so its actors can be stopped.
  std::optional<built_swarm> remove(const std::string& name);

private:
  caf::actor_system& sys_;
  monitor_actor monitor_;
  mutable std::mutex mtx_;
  std::map<std::string, built_swarm> registry_; // guarded by mtx_
};

} // namespace swarm
