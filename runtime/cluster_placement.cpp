// Placement policies and the remote spawn of agents.
#include "runtime/cluster_placement.hpp"

#include <map>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/make_message.hpp>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

// The placement of the innermost swarm listing each agent (the root's for the rest).
std::map<std::string, std::string> policies(const swarm_spec& spec) {
  std::map<std::string, std::string> out;
  for (const auto& a : spec.agents)
    out[a.name] = spec.root.placement;
  // Sub-swarms are listed before the swarms that contain them are resolved; an agent is listed
  // by one swarm at most, so the order does not matter.
  for (const auto& s : spec.swarms)
    for (const auto& m : s.members)
      if (out.count(m) > 0)
        out[m] = s.placement;
  return out;
}

} // namespace

caf::expected<std::vector<size_t>> place_agents(const swarm_spec& spec,
                                                const placement_view& view) {
  std::vector<size_t> out;
  out.reserve(spec.agents.size());
  if (view.members.empty())
    return make_error(errc::node_unreachable, "this node is not up: it places no agents");
  std::vector<uint64_t> placed(view.members.size(), 0);
  auto policy = policies(spec);
  for (size_t i = 0; i < spec.agents.size(); ++i) {
    const auto& a = spec.agents[i];
    size_t at = 0;
    if (!a.node.empty()) {
      at = view.members.size();
      for (size_t k = 0; k < view.members.size(); ++k)
        if (view.members[k].name == a.node)
          at = k;
      if (at == view.members.size()) {
        std::string up;
        for (const auto& m : view.members)
          up += (up.empty() ? "" : ", ") + m.name;
        return make_error(errc::invalid_argument, "agents[" + std::to_string(i) + "] '" + a.name +
                                                      "': node '" + a.node +
                                                      "' is not an up member of the cluster "
                                                      "(up: " +
                                                      up + ")");
      }
    } else if (policy[a.name] != "pack") {
      bool by_load = policy[a.name] == "least_loaded";
      auto cost = [&](size_t k) {
        const auto& m = view.members[k];
        return placed[k] + (by_load ? m.agents + m.in_flight : 0);
      };
      for (size_t k = 1; k < view.members.size(); ++k)
        if (cost(k) < cost(at))
          at = k;
    }
    ++placed[at];
    out.push_back(at);
  }
  return out;
}

caf::expected<agent_actor> spawn_agent_on(caf::actor_system& sys, const caf::actor& node,
                                          const std::string& node_name,
                                          const actors::agent_config& cfg, llm_actor llm,
                                          monitor_actor monitor,
                                          std::chrono::milliseconds timeout) {
  auto spawned = sys.middleman().remote_spawn<agent_actor>(
      node.node(), actors::agent_type_name,
      caf::make_message(actors::portable_config(cfg), std::move(llm), std::move(monitor)), timeout);
  if (!spawned)
    return make_error(errc::node_unreachable, "agent '" + cfg.id.str() +
                                                  "' could not be spawned on node '" + node_name +
                                                  "': " + sys.render(spawned.error()));
  return std::move(*spawned);
}

} // namespace swarm
