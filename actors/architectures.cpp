// The architecture registry's rows: each turns a swarm node of the spec into its coordinator's
// config and spawns it.
#include "actors/architectures.hpp"

#include <algorithm>

#include "actors/collaborative.hpp"
#include "actors/competitive.hpp"
#include "actors/graph.hpp"
#include "actors/group_chat.hpp"
#include "actors/hierarchical.hpp"
#include "actors/router.hpp"
#include "actors/sequential.hpp"

namespace swarm::actors {

namespace {

using nodes = const swarm_node_spec&;
using roles = const role_lookup&;
using monitors = const monitor_actor&;
using caf::actor_system;

// The descriptions are the spec's (runtime/core/spec_swarm_fields.cpp, `architecture_rows`).
constexpr architecture rows[] = {
    {"concurrent", "fan out to every member, gather every answer",
     [](actor_system& sys, nodes n, agent_id id, std::vector<member> ms, roles,
        monitors mon) -> caf::expected<agent_actor> {
       return spawn_concurrent(sys, {id, std::move(ms), n.guards}, mon);
     }},
    {"sequential", "a pipeline: each member gets the task and the previous answer",
     [](actor_system& sys, nodes n, agent_id id, std::vector<member> ms, roles,
        monitors mon) -> caf::expected<agent_actor> {
       return spawn_sequential(sys, {id, std::move(ms), n.guards}, mon);
     }},
    {"hierarchical", "a lead plans, workers are assigned by skill, the lead aggregates",
     [](actor_system& sys, nodes n, agent_id id, std::vector<member> ms, roles role,
        monitors mon) -> caf::expected<agent_actor> {
       return spawn_hierarchical(
           sys, {id, std::move(ms), n.guards, n.hierarchical, role(n.hierarchical.lead)}, mon);
     }},
    {"collaborative", "members answer in parallel, then voting, consensus rounds or synthesis",
     [](actor_system& sys, nodes n, agent_id id, std::vector<member> ms, roles role,
        monitors mon) -> caf::expected<agent_actor> {
       return spawn_collaborative(
           sys, {id, std::move(ms), n.guards, n.collaborative, role(n.collaborative.aggregator)},
           mon);
     }},
    {"competitive", "members race; a judge, confidence or the first k pick the winner",
     [](actor_system& sys, nodes n, agent_id id, std::vector<member> ms, roles role,
        monitors mon) -> caf::expected<agent_actor> {
       return spawn_competitive(
           sys, {id, std::move(ms), n.guards, n.competitive, role(n.competitive.judge)}, mon);
     }},
    {"group_chat", "turns on a shared transcript until a marker, max_turns or a judge",
     [](actor_system& sys, nodes n, agent_id id, std::vector<member> ms, roles role,
        monitors mon) -> caf::expected<agent_actor> {
       return spawn_group_chat(sys,
                               {id, std::move(ms), n.guards, n.group_chat,
                                role(n.group_chat.selector), role(n.group_chat.judge)},
                               mon);
     }},
    {"graph", "a DAG of members with conditional edges and fan-in",
     [](actor_system& sys, nodes n, agent_id id, std::vector<member> ms, roles,
        monitors mon) -> caf::expected<agent_actor> {
       return spawn_graph(sys, {id, std::move(ms), n.guards, n.graph}, mon);
     }},
    {"router", "one member per task, picked by an LLM router or by regex routes",
     [](actor_system& sys, nodes n, agent_id id, std::vector<member> ms, roles role,
        monitors mon) -> caf::expected<agent_actor> {
       return spawn_router(sys, {id, std::move(ms), n.guards, n.router, role(n.router.router)},
                           mon);
     }},
};

} // namespace

std::span<const architecture> architecture_registry() {
  return rows;
}

const architecture* find_architecture(std::string_view name) {
  for (const auto& row : rows)
    if (row.name == name)
      return &row;
  return nullptr;
}

std::string architecture_registry_mismatch() {
  auto spec = swarm::architectures();
  for (size_t i = 0; i < std::max(spec.size(), std::size(rows)); ++i) {
    if (i >= std::size(rows))
      return "the spec's architecture '" + std::string{spec[i].name} + "' has no registry row";
    if (i >= spec.size())
      return "the registry's architecture '" + std::string{rows[i].name} +
             "' is not in the spec's list";
    if (rows[i].name != spec[i].name)
      return "architecture " + std::to_string(i) + ": the registry has '" +
             std::string{rows[i].name} + "', the spec '" + std::string{spec[i].name} + "'";
    if (rows[i].description != spec[i].summary)
      return "architecture '" + std::string{rows[i].name} + "': the registry describes it as '" +
             std::string{rows[i].description} + "', the spec as '" + std::string{spec[i].summary} +
             "'";
  }
  return {};
}

} // namespace swarm::actors
