// Cross-field validation of a spec once every object is read: the rules between keys, names and
// references (members, roles, tools), graph and sub-swarm cycles, nesting depth; and the pass
// that runs the reader and then these checks.
#include <algorithm>
#include <unordered_set>

#include "runtime/core/detail/spec_reader.hpp"
#include "runtime/core/graph_cycles.hpp"

namespace swarm::detail {

namespace {

// Deepest chain of sub-swarms below the root: coordinators are spawned one level at a time.
constexpr size_t max_nesting = 16;

bool contains(std::span<const std::string_view> list, std::string_view x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

/// Line of the key `key` of an object, else of its architecture, else `object_line`.
int line_of_key(const object_keys& keys, const std::string& key, int object_line) {
  if (auto i = keys.given.find(key); i != keys.given.end())
    return i->second;
  if (auto i = keys.given.find("architecture"); i != keys.given.end())
    return i->second;
  return object_line;
}

/// `message` with "{}" replaced by `value`.
std::string fill(std::string_view message, std::string_view value) {
  std::string out{message};
  if (auto at = out.find("{}"); at != std::string::npos)
    out.replace(at, 2, value);
  return out;
}

} // namespace

void spec_reader::apply_rules(std::span<const key_rule> rules, const table& t,
                              const object_keys& keys, std::string_view architecture,
                              const std::string& path, int object_line) {
  for (const auto& rule : rules) {
    if (!rule.architecture.empty() && rule.architecture != architecture)
      continue;
    auto value = rule.cause == "architecture" ? std::optional<std::string>{architecture}
                                              : keys.value_of(rule.cause, t.find(rule.cause));
    if (!value || contains(rule.values, *value) == rule.negate)
      continue;
    std::string key{rule.key};
    bool given = keys.given.contains(key);
    if (rule.require && !given &&
        !(!rule.unless.empty() && keys.given.contains(std::string{rule.unless}))) {
      auto message = rule.message.empty()
                         ? "is required for " + std::string{rule.cause} + ": " + *value
                         : fill(rule.message, *value);
      fail(join_path(path, key), std::move(message),
           line_of_key(keys, std::string{rule.cause}, object_line));
    } else if (!rule.require && given) {
      fail(join_path(path, key), fill(rule.message, *value), keys.given.at(key));
    }
  }
}

void spec_reader::apply_dependencies(std::span<const key_dependency> dependencies,
                                     const object_keys& keys, const std::string& path) {
  for (const auto& d : dependencies) {
    auto i = keys.given.find(std::string{d.key});
    if (i != keys.given.end() && !keys.given.contains(std::string{d.needs}))
      fail(join_path(path, d.key), std::string{d.message}, i->second);
  }
}

void spec_reader::check_agent_tools() {
  if (!tools_checkable)
    return;
  for (const auto& ref : agent_tools) {
    if (tool_names.contains(ref.name))
      continue;
    if (contains(builtin_tools(), ref.name))
      fail(ref.path,
           "names no declared tool: '" + ref.name + "' (built in, but list it under tools:)",
           ref.line);
    else
      fail(ref.path, "names no declared tool: '" + excerpt(ref.name) + "'", ref.line);
  }
}

void spec_reader::check_members(swarm_draft& x) {
  if (!x.members) {
    if (x.keys.given.contains("members"))
      return; // reported while reading
    if (!x.is_root) {
      fail(join_path(x.path, "members"), "is required", x.node.line);
      return;
    }
    for (const auto& agent : spec.agents)
      x.node.members.push_back(agent.name);
    return;
  }
  std::unordered_map<std::string, int> seen; // member -> line of its first mention
  for (const auto& member : *x.members) {
    auto [first, first_use] = seen.emplace(member.name, member.line);
    if (!first_use) {
      fail(member.path,
           "duplicate member '" + excerpt(member.name) + "' (first at line " +
               std::to_string(first->second) + ")",
           member.line);
      continue;
    }
    if (agents_read && !agent_names.contains(member.name) && !swarm_index.contains(member.name))
      fail(member.path, "names no agent or swarm: '" + excerpt(member.name) + "'", member.line);
    x.node.members.push_back(member.name);
  }
}

void spec_reader::check_roles(const swarm_draft& x) {
  if (!agents_read)
    return;
  for (const auto& role : x.roles) {
    if (agent_names.contains(role.name))
      continue;
    if (swarm_index.contains(role.name))
      fail(role.path, "names no agent: '" + excerpt(role.name) + "' (it is a swarm)", role.line);
    else
      fail(role.path, "names no agent: '" + excerpt(role.name) + "'", role.line);
  }
}

void spec_reader::check_graph(const swarm_draft& x) {
  const auto& members = x.node.members;
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < members.size(); ++i)
    index.emplace(members[i], i);
  adjacency next(members.size());
  std::vector<std::vector<size_t>> edge_of(members.size()); // parallel to next: index in edges
  const auto& edges = x.node.graph.edges;
  for (size_t e = 0; e < edges.size(); ++e) {
    auto from = index.find(edges[e].from);
    auto to = index.find(edges[e].to);
    if (from == index.end() || to == index.end())
      continue;
    next[from->second].push_back(to->second);
    edge_of[from->second].push_back(e);
  }
  std::vector<std::string_view> names(members.begin(), members.end());
  // The first cycle is reported at the edge that closes it.
  find_cycles(next, {}, [&](const found_cycle& cycle) {
    auto e = edge_of[cycle.from][cycle.edge];
    fail(index_path(join_path(x.path, "edges"), x.edge_indices[e]),
         "cycle " + cycle_text(cycle.path, names), edges[e].line);
    return false;
  });
}

void spec_reader::check_swarm(swarm_draft& x) {
  if (!x.is_map)
    return;
  check_members(x);
  check_roles(x);
  if (x.known_architecture) {
    // The causes of swarm rules are the architecture and the architecture's own options.
    const auto& options = *find_architecture(x.node.architecture)->options;
    apply_rules(swarm_rules(), options, x.keys, x.node.architecture, x.path, x.node.line);
  }
  const auto& members = x.node.members;
  bool members_known = x.members.has_value() || (x.is_root && !x.keys.given.contains("members"));
  if (members_known) {
    std::unordered_set<std::string_view> member_set(members.begin(), members.end());
    for (const auto& ref : x.member_names)
      if (!member_set.contains(ref.name))
        fail(ref.path, "names no member: '" + excerpt(ref.name) + "'", ref.line);
    if (x.keys.given.contains("k") && x.node.competitive.k > members.size() && !members.empty())
      fail(join_path(x.path, "k"),
           "must be at most " + std::to_string(members.size()) + " (the number of members)",
           x.keys.given.at("k"));
  }
  if (x.node.architecture == "graph" && members_known)
    check_graph(x);
}

void spec_reader::check_tree() {
  for (size_t i = 1; i < swarms.size(); ++i) {
    const auto& x = swarms[i];
    if (auto agent = agent_names.find(x.node.name); agent != agent_names.end())
      fail(x.path,
           "name '" + excerpt(x.node.name) + "' is taken by an agent (line " +
               std::to_string(agent->second) + ")",
           x.name_line);
  }
  // Sub-swarm -> its sub-swarm members, once each, with the member entry that names them.
  adjacency next(swarms.size());
  std::vector<std::vector<const name_ref*>> entry_of(swarms.size()); // parallel to next
  for (size_t i = 0; i < swarms.size(); ++i) {
    if (!swarms[i].members)
      continue;
    std::unordered_set<size_t> children;
    for (const auto& member : *swarms[i].members) {
      auto target = swarm_index.find(member.name);
      if (target == swarm_index.end() || agent_names.contains(member.name))
        continue; // an agent (a swarm of an agent's name is reported)
      if (children.insert(target->second).second) {
        next[i].push_back(target->second);
        entry_of[i].push_back(&member);
      }
    }
  }
  // From every sub-swarm (the root is no one's member); each swarm's depth (1: only agents) is
  // known once its members are finished.
  std::vector<size_t> starts;
  for (size_t i = 1; i < swarms.size(); ++i)
    starts.push_back(i);
  std::vector<std::string_view> names;
  for (const auto& s : swarms)
    names.push_back(s.node.name);
  std::vector<size_t> depth(swarms.size(), 1);
  bool has_cycle = false;
  find_cycles(
      next, starts,
      [&](const found_cycle& cycle) {
        has_cycle = true;
        // Reported at the member entry that starts the cycle from its first swarm.
        auto first = cycle.path.front();
        auto to = cycle.path.size() > 1 ? cycle.path[1] : first;
        auto at = std::find(next[first].begin(), next[first].end(), to) - next[first].begin();
        const auto& entry = *entry_of[first][static_cast<size_t>(at)];
        fail(entry.path, "cycle: " + cycle_text(cycle.path, names), entry.line);
        return true;
      },
      [&](size_t node) {
        for (auto target : next[node])
          depth[node] = std::max(depth[node], depth[target] + 1);
      });
  if (has_cycle)
    return;
  size_t root_depth = 0;
  for (auto target : next.front())
    root_depth = std::max(root_depth, depth[target]);
  if (root_depth > max_nesting)
    fail(join_path(swarms.front().path, "members"),
         "sub-swarms nest deeper than " + std::to_string(max_nesting) + " levels",
         line_of_key(swarms.front().keys, "members", swarms.front().node.line));
}

spec_parse_result spec_reader::read(const yaml_node& root, std::string_view source) {
  spec.source = std::string{source};
  auto& root_draft = swarms.emplace_back();
  root_draft.path = "swarm";
  root_draft.is_root = true;
  // A missing top-level key has no line worth naming.
  read_object(spec_table, root, "", &spec, 0);
  const auto* agents = root.find("agents");
  agents_read = agents && agents->is_sequence() && !agents->items.empty();
  const auto* tools = root.find("tools");
  tools_checkable = !tools || tools->is_sequence();
  for (auto& draft : swarms)
    check_swarm(draft);
  check_tree();
  check_agent_tools();
  spec_parse_result out;
  if (problems_.empty()) {
    spec.root = std::move(swarms.front().node);
    spec.root.name = spec.name;
    for (size_t i = 1; i < swarms.size(); ++i)
      spec.swarms.push_back(std::move(swarms[i].node));
    out.spec = std::move(spec);
  } else {
    // Keys are visited in document order but names are checked last: report by line.
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const spec_problem& a, const spec_problem& b) { return a.line < b.line; });
    out.problems = std::move(problems_);
  }
  return out;
}

} // namespace swarm::detail
