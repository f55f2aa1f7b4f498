// The setters with checks of their own: objects read into lists (agents, tools, sub-swarms,
// endpoints, prices, edges, routes) and names that must be unique across the spec.
#include "runtime/core/detail/spec_reader.hpp"

namespace swarm::detail {

namespace {

template <class T>
T& as(void* target) {
  return *static_cast<T*>(target);
}

/// Records `name` as the first use at `line` in `seen`; reports a duplicate ("duplicate WHAT 'x'
/// (first at line N)") and returns false otherwise.
bool first_use(std::unordered_map<std::string, int>& seen, const field_value& v,
               std::string_view what, spec_reader& reader, bool quote = true) {
  auto [first, is_first] = seen.emplace(v.text, v.line);
  if (is_first)
    return true;
  reader.fail(v.path,
              "duplicate " + std::string{what} + " '" + (quote ? excerpt(v.text) : v.text) +
                  "' (first at line " + std::to_string(first->second) + ")",
              v.line);
  return false;
}

} // namespace

void read_root_swarm(void*, const field_value& v, spec_reader& reader) {
  reader.read_swarm(reader.swarms.front(), *v.node, v.line);
}

void add_sub_swarm(void*, const field_value& v, spec_reader& reader) {
  auto& draft = reader.swarms.emplace_back();
  draft.node.name = v.key;
  draft.path = v.path;
  draft.name_line = v.line;
  reader.swarm_index.emplace(v.key, reader.swarms.size() - 1);
  reader.read_swarm(draft, *v.node, v.line);
}

void add_agent(void* spec, const field_value& v, spec_reader& reader) {
  agent_spec agent;
  agent.line = v.line;
  auto keys = reader.read_object(*v.row->object, *v.node, v.path, &agent, v.line);
  // A name refused for its form still names an agent: members naming it are not reported too.
  if (const auto* name = v.node->find("name"); name && name->is_scalar() && agent.name.empty())
    reader.agent_names.emplace(name->text, keys.given["name"]);
  if (agent.system_prompt.empty() && !agent.name.empty())
    agent.system_prompt = agent.role.empty() ? "You are " + agent.name + "."
                                             : "You are " + agent.name + ", " + agent.role + ".";
  as<swarm_spec>(spec).agents.push_back(std::move(agent));
}

void set_agent_name(void* agent, const field_value& v, spec_reader& reader) {
  if (first_use(reader.agent_names, v, "agent name", reader, false))
    as<agent_spec>(agent).name = v.text;
}

void add_agent_tool(void*, const field_value& v, spec_reader& reader) {
  reader.agent_tools.push_back(name_ref{v.text, v.path, v.line});
}

void add_tool(void* spec, const field_value& v, spec_reader& reader) {
  tool_decl tool;
  tool.line = v.line;
  auto keys = reader.read_object(*v.row->object, *v.node, v.path, &tool, v.line);
  if (tool.name.empty())
    return; // no valid name: reported
  reader.apply_rules(tool_rules(), *v.row->object, keys, "", v.path, v.line);
  as<swarm_spec>(spec).tools.push_back(std::move(tool));
}

void set_tool_name(void* tool, const field_value& v, spec_reader& reader) {
  if (first_use(reader.tool_names, v, "tool name", reader, false))
    as<tool_decl>(tool).name = v.text;
}

void set_command(void* tool, const field_value& v, spec_reader& reader) {
  // The program must be named; an argument may be empty.
  if (v.texts.front().empty()) {
    reader.fail(index_path(v.path, 0), "must not be empty", v.node->items.front()->line);
    return;
  }
  as<tool_decl>(tool).command = v.texts;
}

void read_memory(void* spec, const field_value& v, spec_reader& reader) {
  auto keys =
      reader.read_object(*v.row->object, *v.node, v.path, &as<swarm_spec>(spec).memory, v.line);
  reader.apply_dependencies(memory_dependencies(), keys, v.path);
}

void add_llm_fallback(void* llm, const field_value& v, spec_reader& reader) {
  llm_fallback_spec fallback;
  fallback.line = v.line;
  reader.read_object(*v.row->object, *v.node, v.path, &fallback, v.line);
  auto& list = as<llm_settings>(llm).fallbacks;
  if (!list)
    list.emplace();
  if (!fallback.url.empty())
    list->push_back(std::move(fallback));
}

void set_llm_fallbacks(void* llm, const field_value&, spec_reader&) {
  // Given, even empty, the list replaces the swarm's (an agent without fallbacks).
  auto& list = as<llm_settings>(llm).fallbacks;
  if (!list)
    list.emplace();
}

void add_endpoint(void* resources, const field_value& v, spec_reader& reader) {
  endpoint_limits_spec limits;
  limits.line = v.line;
  reader.read_object(*v.row->object, *v.node, v.path, &limits, v.line);
  if (!limits.url.empty())
    as<resources_spec>(resources).endpoints.push_back(std::move(limits));
}

void set_endpoint_url(void* endpoint, const field_value& v, spec_reader& reader) {
  if (first_use(reader.endpoint_urls, v, "endpoint", reader))
    as<endpoint_limits_spec>(endpoint).url = v.text;
}

void add_price(void* resources, const field_value& v, spec_reader& reader) {
  price_spec price;
  price.line = v.line;
  reader.read_object(*v.row->object, *v.node, v.path, &price, v.line);
  if (!price.model.empty())
    as<resources_spec>(resources).prices.push_back(std::move(price));
}

void set_price_model(void* price, const field_value& v, spec_reader& reader) {
  if (first_use(reader.price_models, v, "price of model", reader))
    as<price_spec>(price).model = v.text;
}

void set_architecture(void* draft, const field_value& v, spec_reader&) {
  as<swarm_draft>(draft).node.architecture = v.text;
}

void add_member(void* draft, const field_value& v, spec_reader&) {
  auto& members = as<swarm_draft>(draft).members;
  if (!members)
    members.emplace();
  members->push_back(name_ref{v.text, v.path, v.line});
}

void add_weight(void* draft, const field_value& v, spec_reader&) {
  auto& d = as<swarm_draft>(draft);
  d.member_names.push_back(name_ref{v.key, v.path, v.line});
  d.node.collaborative.weights.emplace_back(v.key, v.number);
}

void add_edge(void* draft, const field_value& v, spec_reader& reader) {
  auto& d = as<swarm_draft>(draft);
  graph_edge edge;
  edge.line = v.line;
  auto before = reader.problem_count();
  reader.read_object(*v.row->object, *v.node, v.path, &edge, v.line);
  if (reader.problem_count() != before)
    return;
  auto [first, first_use] = d.edges_seen.emplace(edge.from + '\n' + edge.to, v.line);
  if (!first_use) {
    reader.fail(v.path,
                "duplicate edge " + excerpt(edge.from) + " -> " + excerpt(edge.to) +
                    " (first at line " + std::to_string(first->second) + ")",
                v.line);
    return;
  }
  d.node.graph.edges.push_back(std::move(edge));
  d.edge_indices.push_back(v.index);
}

void add_route(void* draft, const field_value& v, spec_reader& reader) {
  route_rule route;
  route.line = v.line;
  reader.read_object(*v.row->object, *v.node, v.path, &route, v.line);
  as<swarm_draft>(draft).node.router.routes.push_back(std::move(route));
}

} // namespace swarm::detail
