// Spec -> resource pool options: endpoints, budgets per level with per-field inheritance, prices.
#include "runtime/pool_options.hpp"

#include <deque>
#include <set>

#include "runtime/core/ids.hpp"

namespace swarm {

namespace {

budget_limit limit_of(const budget_spec& x) {
  return budget_limit{x.tokens, x.usd};
}

/// `own` where it sets a field, `fallback` where it leaves it 0.
budget_limit inherit(const budget_spec& own, const budget_spec& fallback) {
  return budget_limit{own.tokens != 0 ? own.tokens : fallback.tokens,
                      own.usd != 0 ? own.usd : fallback.usd};
}

bool is_set(const budget_spec& x) {
  return x.tokens != 0 || x.usd != 0;
}

/// Every agent's enclosing sub-swarms by agent key, nearest first (breadth first up the
/// `members` lists; a sub-swarm inside a sub-swarm makes its agents count for both). The root is
/// left out: it is every agent's `agent_id::swarm`.
std::map<std::string, std::vector<std::string>> agent_swarms_of(const swarm_spec& spec) {
  std::map<std::string, std::vector<const swarm_node_spec*>> parents; // member -> sub-swarms
  for (const auto& s : spec.swarms)
    for (const auto& m : s.members)
      parents[m].push_back(&s);
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& a : spec.agents) {
    std::vector<std::string> keys;
    std::set<const swarm_node_spec*> seen;
    std::deque<const std::string*> todo{&a.name};
    while (!todo.empty()) {
      auto i = parents.find(*todo.front());
      todo.pop_front();
      if (i == parents.end())
        continue;
      for (const auto* s : i->second) {
        if (!seen.insert(s).second)
          continue;
        keys.push_back(agent_id{spec.name, s->name}.str());
        todo.push_back(&s->name);
      }
    }
    if (!keys.empty())
      out[agent_id{spec.name, a.name}.str()] = std::move(keys);
  }
  return out;
}

} // namespace

resource_pool_options pool_options_from(const swarm_spec& spec) {
  resource_pool_options out;
  const auto& res = spec.resources;
  for (const auto& ep : res.endpoints) {
    endpoint_limits limits{ep.max_concurrent, ep.requests_per_minute, ep.tokens_per_minute};
    if (ep.url == "default")
      out.default_endpoint = limits;
    else
      out.endpoints[ep.url] = limits;
  }
  auto& budgets = out.budgets;
  budgets.runtime = limit_of(res.runtime);
  budgets.per_agent = limit_of(res.per_agent);
  budgets.per_swarm = limit_of(res.per_swarm);
  for (const auto& a : spec.agents)
    if (is_set(a.budget))
      budgets.agents[agent_id{spec.name, a.name}.str()] = inherit(a.budget, res.per_agent);
  if (is_set(spec.root.budget))
    budgets.swarms[agent_id{std::string{}, spec.name}.str()] =
        inherit(spec.root.budget, res.per_swarm);
  for (const auto& s : spec.swarms)
    if (is_set(s.budget))
      budgets.swarms[agent_id{spec.name, s.name}.str()] = inherit(s.budget, res.per_swarm);
  budgets.agent_swarms = agent_swarms_of(spec);
  for (const auto& p : res.prices)
    out.prices.models[p.model] = model_price{p.prompt_per_million, p.completion_per_million};
  return out;
}

llm_broker_options broker_options_from(const swarm_spec& spec) {
  llm_broker_options out;
  out.grant_timeout = spec.resources.grant_timeout;
  return out;
}

} // namespace swarm
