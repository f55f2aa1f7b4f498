// SwarmFactory: spec -> agents + coordinator.
#include "runtime/swarm_factory.hpp"

#include <caf/actor_system.hpp>

#include "actors/agent.hpp"
#include "runtime/core/errc.hpp"

namespace swarm {

swarm_factory::swarm_factory(caf::actor_system& sys, llm_actor llm, monitor_actor monitor)
    : sys_(sys), llm_(std::move(llm)), monitor_(std::move(monitor)) {}

caf::expected<built_swarm> swarm_factory::build(const swarm_spec& spec,
                                                const llm_overrides& overrides,
                                                const env_reader& env) {
  // Resolve everything before the first spawn: a failure leaves no partial swarm behind.
  std::vector<actors::agent_config> configs;
  configs.reserve(spec.agents.size());
  for (const auto& a : spec.agents) {
    auto llm = resolve_llm(spec, a, overrides, env);
    if (!llm)
      return std::move(llm.error());
    actors::agent_config cfg;
    cfg.id = agent_id{spec.name, a.name};
    cfg.system_prompt = a.system_prompt;
    cfg.model = llm->model;
    cfg.endpoint = llm->endpoint;
    cfg.temperature = llm->temperature;
    cfg.max_tokens = llm->max_tokens;
    cfg.stream = llm->stream;
    cfg.llm_timeout = llm->timeout;
    cfg.short_term_tokens = a.short_term_tokens;
    configs.push_back(std::move(cfg));
  }
  if (spec.root.architecture != "concurrent")
    return make_error(errc::invalid_spec,
                      "architecture '" + spec.root.architecture + "' is not supported by this build");

  built_swarm out;
  out.name = spec.name;
  for (auto& cfg : configs) {
    auto name = cfg.id.name;
    out.agents.push_back({name, actors::spawn_agent(sys_, std::move(cfg), llm_, monitor_)});
  }
  actors::concurrent_config coord;
  coord.id = agent_id{"", spec.name};
  coord.guards = spec.root.guards;
  const auto& names = spec.root.members;
  for (const auto& name : names)
    for (const auto& m : out.agents)
      if (m.name == name)
        coord.members.push_back(m);
  if (names.empty())
    coord.members = out.agents;
  out.root = actors::spawn_concurrent(sys_, std::move(coord), monitor_);
  return out;
}

} // namespace swarm
