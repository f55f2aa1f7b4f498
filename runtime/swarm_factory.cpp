// SwarmFactory: spec tree -> agents + coordinators; the registry of running swarms.
#include "runtime/swarm_factory.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/agent.hpp"
#include "actors/architectures.hpp"
#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

// Everything one tree needs while it is being built.
struct tree_builder {
  caf::actor_system& sys;
  const swarm_spec& spec;
  const monitor_actor& monitor;
  std::shared_ptr<live_members> live;
  std::map<std::string, actors::member> agents;
  std::map<std::string, actors::member> built; // sub-swarms spawned so far, by name
  std::vector<actors::member> coordinators;
  // The agents, as every sub-swarm's respawn looks up its roles (made by the first respawner).
  std::shared_ptr<const std::map<std::string, actors::member>> roles;

  actors::member role(const std::string& name) const {
    if (name.empty())
      return {};
    auto i = agents.find(name);
    return i == agents.end() ? actors::member{} : i->second;
  }

  caf::expected<actors::member> member_named(const std::string& name) {
    if (auto i = agents.find(name); i != agents.end())
      return i->second;
    if (auto i = built.find(name); i != built.end())
      return i->second;
    if (const auto* sub = spec.find_swarm(name))
      return node(*sub);
    return make_error(errc::invalid_spec, "'" + name + "' names no agent or swarm");
  }

  caf::expected<agent_actor> spawn_coordinator(const swarm_node_spec& node, agent_id id,
                                               std::vector<actors::member> members) {
    const auto* arch = actors::find_architecture(node.architecture);
    if (arch == nullptr)
      return make_error(errc::invalid_spec,
                        "architecture '" + node.architecture + "' is not supported");
    return arch->spawn(
        sys, node, std::move(id), std::move(members),
        [this](const std::string& name) { return role(name); }, monitor);
  }

  // How supervision spawns sub-swarm `node` again: over its members' and roles' live actors.
  std::shared_ptr<const actors::respawn_fn> respawner(const swarm_node_spec& node, agent_id id,
                                                      std::vector<actors::member> members) {
    if (!roles) // every agent is spawned before the first node: one map for every node
      roles = std::make_shared<const std::map<std::string, actors::member>>(agents);
    return std::make_shared<const actors::respawn_fn>(
        [sys = &sys, node, id = std::move(id), members = std::move(members), roles = roles,
         monitor = monitor, live = live](const agent_actor& dead) -> caf::expected<agent_actor> {
          if (auto now = live->get(false, node.name, dead); now != dead)
            return now; // another coordinator restarted it already
          if (live->closed())
            return make_error(errc::runtime_stopped, "swarm '" + node.name + "' is stopping");
          const auto* arch = actors::find_architecture(node.architecture);
          if (arch == nullptr)
            return make_error(errc::invalid_spec,
                              "architecture '" + node.architecture + "' is gone");
          auto now = members;
          for (auto& m : now)
            m.handle = live->get(m.leaf, m.name, m.handle);
          auto role = [&](const std::string& name) {
            auto i = roles->find(name);
            if (i == roles->end())
              return actors::member{};
            auto m = i->second;
            m.handle = live->get(true, name, m.handle);
            return m;
          };
          auto h = arch->spawn(*sys, node, id, std::move(now), role, monitor);
          if (h && !live->set(false, node.name, *h)) { // closed meanwhile: it must not run
            caf::anon_send_exit(*h, caf::exit_reason::kill);
            return make_error(errc::runtime_stopped, "swarm '" + node.name + "' is stopping");
          }
          return h;
        });
  }

  // Spawns `node` after its members (depth first); a sub-swarm's skills are its members'.
  caf::expected<actors::member> node(const swarm_node_spec& node, bool root = false) {
    std::vector<actors::member> members;
    std::vector<std::string> skills;
    for (const auto& name : node.members) {
      auto m = member_named(name);
      if (!m)
        return m;
      for (const auto& s : m->skills)
        if (std::find(skills.begin(), skills.end(), s) == skills.end())
          skills.push_back(s);
      members.push_back(std::move(*m));
    }
    agent_id id{root ? std::string{} : spec.name, node.name};
    auto handle = spawn_coordinator(node, id, members);
    if (!handle)
      return std::move(handle.error());
    actors::member out{node.name, std::move(*handle), std::move(skills), false};
    if (!root)
      out.respawn = respawner(node, std::move(id), std::move(members));
    coordinators.push_back(out);
    if (!root)
      built.emplace(node.name, out);
    return out;
  }
};

} // namespace

swarm_factory::swarm_factory(caf::actor_system& sys, monitor_actor monitor)
    : sys_(sys), monitor_(std::move(monitor)) {}

caf::expected<built_swarm> swarm_factory::build(const swarm_spec& spec,
                                                const llm_overrides& overrides, swarm_wiring wiring,
                                                const env_reader& env) {
  // Resolve everything before the first spawn: a failure leaves no partial swarm behind.
  std::vector<actors::agent_config> configs;
  configs.reserve(spec.agents.size());
  // One target per distinct endpoint, key and model, shared by the agents that use it.
  std::map<std::tuple<std::string, std::string, std::string>,
           std::shared_ptr<const actors::llm_target>>
      targets;
  for (const auto& a : spec.agents) {
    auto llm = resolve_llm(spec, a, overrides, env);
    if (!llm)
      return std::move(llm.error());
    actors::agent_config cfg;
    cfg.id = agent_id{spec.name, a.name};
    cfg.system_prompt = a.system_prompt;
    cfg.model = llm->model;
    cfg.endpoint = llm->endpoint;
    // Agents share a target only if they share its fallbacks too.
    auto model_key = llm->model;
    for (const auto& f : llm->fallbacks)
      model_key += '\n' + f.endpoint.url + '\n' + f.endpoint.api_key + '\n' + f.model;
    auto& target = targets[{llm->endpoint.url, llm->endpoint.api_key, model_key}];
    if (!target)
      target = std::make_shared<const actors::llm_target>(
          actors::llm_target{llm->endpoint, llm->model, llm->fallbacks});
    cfg.target = target;
    cfg.temperature = llm->temperature;
    cfg.max_tokens = llm->max_tokens;
    cfg.stream = llm->stream;
    cfg.stream_tokens = wiring.stream_tokens;
    cfg.logprobs = a.logprobs;
    cfg.llm_timeout = llm->timeout;
    cfg.short_term_tokens = a.short_term_tokens;
    cfg.summarize_overflow = spec.memory.overflow == "summarize";
    if (wiring.tool_runner && !a.tools.empty()) {
      cfg.tool_runner = wiring.tool_runner;
      cfg.tools = wiring.tool_specs(cfg.id);
      cfg.max_tool_steps = a.max_tool_steps;
    }
    cfg.working = wiring.working;
    cfg.long_term = wiring.long_term;
    if (wiring.long_term)
      cfg.recall_from = {"agent:" + cfg.id.str(), "swarm:" + spec.name};
    cfg.recall_k = spec.memory.recall_k;
    for (const auto& p : spec.resources.prices)
      if (p.model == cfg.model) {
        cfg.prompt_price = p.prompt_per_million;
        cfg.completion_price = p.completion_per_million;
        cfg.priced = true;
      }
    for (const auto& f : llm->fallbacks)
      for (const auto& p : spec.resources.prices)
        if (p.model == f.model)
          cfg.fallback_prices.push_back({p.model, p.prompt_per_million, p.completion_per_million});
    configs.push_back(std::move(cfg));
  }
  auto check = [&](const swarm_node_spec& n) -> caf::error {
    if (actors::find_architecture(n.architecture) == nullptr)
      return make_error(errc::invalid_spec, "swarm '" + n.name + "': architecture '" +
                                                n.architecture + "' is not supported");
    return {};
  };
  if (auto err = check(spec.root))
    return err;
  for (const auto& s : spec.swarms)
    if (auto err = check(s))
      return err;

  built_swarm out;
  out.channel = std::make_shared<broadcast_channel>(sys_);
  out.live = std::make_shared<live_members>();
  tree_builder tree{sys_, spec, monitor_, out.live, {}, {}, {}};
  for (size_t i = 0; i < configs.size(); ++i) {
    // The agent and its respawn share one config: a million agents do not hold two copies.
    auto cfg = std::make_shared<const actors::agent_config>(std::move(configs[i]));
    agent_actor handle;
    if (wiring.spawn_agent) {
      auto placed = wiring.spawn_agent(i, cfg);
      if (!placed) {
        for (auto& m : out.agents)
          caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
        return std::move(placed.error());
      }
      handle = std::move(*placed);
    } else {
      handle = actors::spawn_agent(sys_, cfg, wiring.llm, monitor_);
    }
    out.channel->add(handle);
    actors::member m{spec.agents[i].name, handle, spec.agents[i].skills};
    // Supervision spawns it again from its config, in the broadcast channel, as the live one.
    m.respawn = std::make_shared<const actors::respawn_fn>(
        [sys = &sys_, cfg = std::move(cfg), llm = wiring.llm, monitor = monitor_,
         channel = out.channel, live = out.live,
         name = m.name](const agent_actor& dead) -> caf::expected<agent_actor> {
          if (auto now = live->get(true, name, dead); now != dead)
            return now; // another coordinator restarted it already
          if (live->closed())
            return make_error(errc::runtime_stopped, "agent '" + name + "': its swarm is stopping");
          auto h = actors::spawn_agent(*sys, cfg, llm, monitor);
          if (!live->set(true, name, h)) { // closed meanwhile: it must not run
            caf::anon_send_exit(h, caf::exit_reason::kill);
            return make_error(errc::runtime_stopped, "agent '" + name + "': its swarm is stopping");
          }
          channel->replace(dead, h);
          return h;
        });
    tree.agents.emplace(m.name, m);
    out.agents.push_back(std::move(m));
  }
  // Specs built in code may leave the root's defaults unset; the loader fills them the same way.
  swarm_node_spec root = spec.root;
  if (root.name.empty())
    root.name = spec.name;
  if (root.members.empty())
    for (const auto& a : spec.agents)
      root.members.push_back(a.name);
  auto top = tree.node(root, true);
  out.swarms = std::move(tree.coordinators);
  if (!top) {
    // Validation makes this unreachable for loaded specs; stop what was spawned regardless.
    for (auto& m : out.agents)
      caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
    for (auto& m : out.swarms)
      caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
    return std::move(top.error());
  }
  out.root = top->handle;
  out.services = std::move(wiring.services);
  std::lock_guard<std::mutex> guard{mtx_};
  out.name = spec.name;
  for (int n = 2; registry_.count(out.name) > 0; ++n)
    out.name = spec.name + "#" + std::to_string(n);
  registry_.emplace(out.name, out);
  return out;
}

std::vector<std::string> swarm_factory::running() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  for (const auto& [name, _] : registry_)
    out.push_back(name);
  return out;
}

uint64_t swarm_factory::agent_count() const {
  std::lock_guard<std::mutex> guard{mtx_};
  uint64_t n = 0;
  for (const auto& [name, sw] : registry_)
    n += sw.agents.size();
  return n;
}

std::optional<built_swarm> swarm_factory::remove(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = registry_.find(name);
  if (i == registry_.end())
    return std::nullopt;
  auto out = std::move(i->second);
  registry_.erase(i);
  return out;
}

} // namespace swarm
