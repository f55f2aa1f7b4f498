// The field tables of swarms (common keys, the architectures and their options, edges, routes),
// the rules between their keys, the top level of a spec, and lookups over the tables.
#include <algorithm>

#include "runtime/core/detail/spec_fields.hpp"
#include "runtime/core/detail/spec_reader.hpp"

namespace swarm::detail {

namespace {

constexpr std::string_view architecture_names[] = {"concurrent",    "sequential",  "hierarchical",
                                                   "collaborative", "competitive", "group_chat",
                                                   "graph",         "router"};
constexpr std::string_view decisions[] = {"majority", "weighted", "consensus", "synthesize"};
constexpr std::string_view normalizations[] = {"exact", "fold", "regex", "json_field", "number"};
constexpr std::string_view ties[] = {"first", "fail"};
constexpr std::string_view selections[] = {"judge", "confidence", "first_k"};
constexpr std::string_view speakers[] = {"round_robin", "selector"};

// -- every architecture -------------------------------------------------------------------------

constexpr field supervision_fields[] = {
    {.key = "restart",
     .kind = value_kind::boolean,
     .doc = "a member that dies or stays silent past member_timeout_ms is spawned again from its "
            "spec and asked its task once more",
     .fallback = "true",
     .set = store<&supervision_options::restart>},
    {.key = "max_restarts",
     .kind = value_kind::integer,
     .doc = "restarts of one member within within_ms; past them its failure stands",
     .fallback = "3",
     .min = 0,
     .max = 1000,
     .set = store<&supervision_options::max_restarts>},
    {.key = "within_ms",
     .kind = value_kind::integer,
     .doc = "the window max_restarts counts in",
     .fallback = "60000",
     .min = 1,
     .set = store<&supervision_options::within>},
};

constexpr std::string_view placement_names[] = {"spread", "pack", "least_loaded"};

constexpr field member_item{.format = text_format::non_empty, .set = add_member};

constexpr field swarm_fields[] = {
    {.key = "architecture",
     .kind = value_kind::choice,
     .doc = "how the members work together (see the architectures below)",
     .fallback = "\"concurrent\"",
     .choices = architecture_names,
     .noun = "architecture",
     .set = set_architecture},
    {.key = "members",
     .kind = value_kind::list,
     .doc = "agents or sub-swarms, each once; required on a sub-swarm",
     .fallback = "(the root: every agent)",
     .item = &member_item,
     .non_empty = true},
    {.key = "member_timeout_ms",
     .kind = value_kind::integer,
     .doc = "one member's answer; a late member is cancelled and counts as failed",
     .fallback = "120000",
     .min = 1,
     .set = on_node<&swarm_node_spec::guards, &guard_options::member_timeout>},
    {.key = "max_rounds",
     .kind = value_kind::integer,
     .doc = "consensus rounds, chat turns, review passes, graph visits of a node",
     .fallback = "5",
     .min = 1,
     .set = on_node<&swarm_node_spec::guards, &guard_options::max_rounds>},
    {.key = "max_messages",
     .kind = value_kind::integer,
     .doc = "tasks this coordinator sends in one run; 0: unlimited",
     .fallback = "0",
     .min = 0,
     .set = on_node<&swarm_node_spec::guards, &guard_options::max_messages>},
    {.key = "deadline_ms",
     .kind = value_kind::integer,
     .doc = "wall time of one task; 0: none",
     .fallback = "0",
     .min = 0,
     .set = on_node<&swarm_node_spec::guards, &guard_options::deadline>},
    {.key = "supervision",
     .kind = value_kind::object,
     .doc = "what happens to a member that dies or stays silent",
     .fallback = "(restart, 3 within 60 s)",
     .object = &supervision_table,
     .set = read_into<&swarm_draft::node, &swarm_node_spec::guards, &guard_options::supervision>},
    {.key = "placement",
     .kind = value_kind::choice,
     .doc = "where the agents it lists run in a cluster: spread over the up nodes, pack on this "
            "node, or each on the least_loaded one (docs/cluster.md)",
     .fallback = "\"spread\"",
     .choices = placement_names,
     .noun = "placement",
     .set = on_node<&swarm_node_spec::placement>},
    {.key = "budget",
     .kind = value_kind::object,
     .doc = "the swarm's tokens and dollars",
     .fallback = "(resources.per_swarm)",
     .object = &budget_table,
     .set = read_into<&swarm_draft::node, &swarm_node_spec::budget>},
};

// -- per architecture ---------------------------------------------------------------------------

constexpr field hierarchical_fields[] = {
    {.key = "lead",
     .doc = "agent that plans, reviews and aggregates",
     .format = text_format::agent_ref,
     .set = on_node<&swarm_node_spec::hierarchical, &hierarchical_options::lead>},
    {.key = "max_subtasks",
     .kind = value_kind::integer,
     .doc = "most subtasks in a plan",
     .fallback = "8",
     .min = 1,
     .set = on_node<&swarm_node_spec::hierarchical, &hierarchical_options::max_subtasks>},
    {.key = "max_attempts",
     .kind = value_kind::integer,
     .doc = "tries per subtask: try, retry on the same worker, then reassign",
     .fallback = "3",
     .min = 1,
     .set = on_node<&swarm_node_spec::hierarchical, &hierarchical_options::max_attempts>},
    {.key = "review",
     .kind = value_kind::boolean,
     .doc = "the lead reviews each answer (accept, retry or reassign)",
     .fallback = "false",
     .set = on_node<&swarm_node_spec::hierarchical, &hierarchical_options::review>},
};

constexpr field weight_item{.kind = value_kind::number,
                            .low = 0,
                            .high = 1'000'000, // weights are summed
                            .low_open = true,
                            .set = add_weight};

constexpr field collaborative_fields[] = {
    {.key = "decision",
     .kind = value_kind::choice,
     .doc = "majority or weighted voting, consensus rounds, or synthesis by an aggregator",
     .fallback = "\"majority\"",
     .choices = decisions,
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::decision>},
    {.key = "normalize",
     .kind = value_kind::choice,
     .doc = "how answers are compared before they are counted",
     .fallback = "\"fold\"",
     .choices = normalizations,
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::normalize>},
    {.key = "pattern",
     .doc = "normalize: regex; capture group 1 is what is compared",
     .format = text_format::regex_group,
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::pattern>},
    {.key = "field",
     .doc = "normalize: json_field; the field of the JSON answer compared",
     .format = text_format::non_empty,
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::field>},
    {.key = "quorum",
     .kind = value_kind::number,
     .doc = "the winner needs more than this fraction of the valid votes (weighted: the weight)",
     .fallback = "0.5",
     .low = 0,
     .high = 1,
     .low_open = true,
     .high_open = true,
     .hint = "the winner needs more than this share",
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::quorum>},
    {.key = "tie",
     .kind = value_kind::choice,
     .doc = "a tie for the most votes: the tied answer given first wins, or the vote fails",
     .fallback = "\"first\"",
     .choices = ties,
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::tie>},
    {.key = "weights",
     .kind = value_kind::map,
     .doc = "decision: weighted; member -> weight",
     .fallback = "(1 each)",
     .item = &weight_item},
    {.key = "threshold",
     .kind = value_kind::number,
     .doc = "consensus: stop when this fraction of the members gives one answer",
     .fallback = "1",
     .low = 0,
     .high = 1,
     .low_open = true,
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::threshold>},
    {.key = "aggregator",
     .doc = "decision: synthesize; agent that merges the answers (mixture of agents)",
     .format = text_format::agent_ref,
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::aggregator>},
    {.key = "layers",
     .kind = value_kind::integer,
     .doc = "decision: synthesize; rounds of member answers before the aggregator merges",
     .fallback = "1",
     .min = 1,
     .set = on_node<&swarm_node_spec::collaborative, &collaborative_options::layers>},
};

constexpr field competitive_fields[] = {
    {.key = "select",
     .kind = value_kind::choice,
     .doc = "who wins: the judge's best score, the most confidence, or the first k answers",
     .fallback = "\"judge\"",
     .choices = selections,
     .set = on_node<&swarm_node_spec::competitive, &competitive_options::select>},
    {.key = "judge",
     .doc = "select: judge; agent that scores every answer against the criteria",
     .format = text_format::agent_ref,
     .set = on_node<&swarm_node_spec::competitive, &competitive_options::judge>},
    {.key = "criteria",
     .doc = "what the judge scores",
     .fallback = "\"correctness, completeness, clarity\"",
     .format = text_format::non_empty,
     .set = on_node<&swarm_node_spec::competitive, &competitive_options::criteria>},
    {.key = "k",
     .kind = value_kind::integer,
     .doc = "select: first_k; how many answers win (at most the number of members)",
     .fallback = "1",
     .min = 1,
     .set = on_node<&swarm_node_spec::competitive, &competitive_options::k>},
};

constexpr field group_chat_fields[] = {
    {.key = "speaker",
     .kind = value_kind::choice,
     .doc = "who speaks next: members in turn, or the agent named by selector",
     .fallback = "\"round_robin\"",
     .choices = speakers,
     .set = on_node<&swarm_node_spec::group_chat, &group_chat_options::speaker>},
    {.key = "selector",
     .doc = "speaker: selector; agent that names the next speaker",
     .format = text_format::agent_ref,
     .set = on_node<&swarm_node_spec::group_chat, &group_chat_options::selector>},
    {.key = "max_turns",
     .kind = value_kind::integer,
     .doc = "most turns (max_rounds bounds them too)",
     .fallback = "10",
     .min = 1,
     .set = on_node<&swarm_node_spec::group_chat, &group_chat_options::max_turns>},
    {.key = "terminate_on",
     .doc = "a turn containing this text ends the chat",
     .fallback = "\"TERMINATE\"",
     .format = text_format::non_empty,
     .set = on_node<&swarm_node_spec::group_chat, &group_chat_options::terminate_on>},
    {.key = "judge",
     .doc = "agent asked after each turn whether the task is done",
     .fallback = "(none)",
     .format = text_format::agent_ref,
     .set = on_node<&swarm_node_spec::group_chat, &group_chat_options::judge>},
};

constexpr field edge_fields[] = {
    {.key = "from",
     .doc = "the member whose answer is passed on",
     .format = text_format::member_ref,
     .required = true,
     .set = store<&graph_edge::from>},
    {.key = "to",
     .doc = "the member that receives it",
     .format = text_format::member_ref,
     .required = true,
     .set = store<&graph_edge::to>},
    {.key = "when",
     .doc = "a regex (RE2 syntax, searched) that from's answer must match",
     .fallback = "(always)",
     .format = text_format::regex,
     .set = store<&graph_edge::when>},
};
constexpr field edge_item{.kind = value_kind::object, .object = &edge_table, .set = add_edge};

constexpr field graph_fields[] = {
    {.key = "edges",
     .kind = value_kind::list,
     .doc = "the DAG's edges between members; a member without incoming edges starts",
     .item = &edge_item,
     .non_empty = true},
};

constexpr field route_fields[] = {
    {.key = "match",
     .doc = "a regex (RE2 syntax, searched) on the task text",
     .format = text_format::regex,
     .required = true,
     .set = store<&route_rule::match>},
    {.key = "to",
     .doc = "the member that gets the task",
     .format = text_format::member_ref,
     .required = true,
     .set = store<&route_rule::to>},
};
constexpr field route_item{.kind = value_kind::object, .object = &route_table, .set = add_route};

constexpr field router_fields[] = {
    {.key = "router",
     .doc = "agent that picks the member (answers {\"member\": name}); without it routes decide",
     .format = text_format::agent_ref,
     .set = on_node<&swarm_node_spec::router, &router_options::router>},
    {.key = "routes",
     .kind = value_kind::list,
     .doc = "rules tried in order; the first whose match fits the task picks the member",
     .fallback = "[]",
     .item = &route_item},
    {.key = "fallback",
     .doc = "the member for a task nothing matches",
     .fallback = "(the first member)",
     .format = text_format::member_ref,
     .set = on_node<&swarm_node_spec::router, &router_options::fallback>},
};

constexpr table concurrent_table{"concurrent",
                                 "swarm (architecture: concurrent)",
                                 "Fans the task out to every member and gathers every answer.",
                                 {}};
constexpr table sequential_table{"sequential",
                                 "swarm (architecture: sequential)",
                                 "A pipeline: each member gets the task and the previous answer.",
                                 {}};
constexpr table hierarchical_table{
    "hierarchical", "swarm (architecture: hierarchical)",
    "A lead plans subtasks, workers are assigned by skill, the lead aggregates.",
    hierarchical_fields};
constexpr table collaborative_table{
    "collaborative", "swarm (architecture: collaborative)",
    "Members answer in parallel, then voting, consensus rounds or synthesis.",
    collaborative_fields};
constexpr table competitive_table{"competitive", "swarm (architecture: competitive)",
                                  "Members race; a judge, confidence or the first k win.",
                                  competitive_fields};
constexpr table group_chat_table{"group_chat", "swarm (architecture: group_chat)",
                                 "Members take turns on a shared transcript.", group_chat_fields};
constexpr table graph_table{"graph", "swarm (architecture: graph)",
                            "A DAG of members with conditional edges and fan-in.", graph_fields};
constexpr table router_table{"router", "swarm (architecture: router)",
                             "One member per task, picked by an LLM router or by regex routes.",
                             router_fields};

// The architectures: one table for the reader, `swarm architectures`, the schema and the docs.
constexpr architecture_entry architecture_rows[] = {
    {"concurrent", "fan out to every member, gather every answer", &concurrent_table},
    {"sequential", "a pipeline: each member gets the task and the previous answer",
     &sequential_table},
    {"hierarchical", "a lead plans, workers are assigned by skill, the lead aggregates",
     &hierarchical_table},
    {"collaborative", "members answer in parallel, then voting, consensus rounds or synthesis",
     &collaborative_table},
    {"competitive", "members race; a judge, confidence or the first k pick the winner",
     &competitive_table},
    {"group_chat", "turns on a shared transcript until a marker, max_turns or a judge",
     &group_chat_table},
    {"graph", "a DAG of members with conditional edges and fan-in", &graph_table},
    {"router", "one member per task, picked by an LLM router or by regex routes", &router_table},
};

constexpr bool same_architecture_names() {
  if (std::size(architecture_names) != std::size(architecture_rows))
    return false;
  for (size_t i = 0; i < std::size(architecture_rows); ++i)
    if (architecture_names[i] != architecture_rows[i].name)
      return false;
  return true;
}
static_assert(same_architecture_names(), "the architecture key's values are the table's names");

constexpr std::string_view v_hierarchical[] = {"hierarchical"};
constexpr std::string_view v_graph[] = {"graph"};
constexpr std::string_view v_router[] = {"router"};
constexpr std::string_view v_synthesize[] = {"synthesize"};
constexpr std::string_view v_regex[] = {"regex"};
constexpr std::string_view v_json_field[] = {"json_field"};
constexpr std::string_view v_judge[] = {"judge"};
constexpr std::string_view v_selector[] = {"selector"};

constexpr key_rule swarm_rule_rows[] = {
    {.architecture = "hierarchical",
     .cause = "architecture",
     .values = v_hierarchical,
     .key = "lead"},
    {.architecture = "collaborative",
     .cause = "decision",
     .values = v_synthesize,
     .key = "aggregator"},
    {.architecture = "collaborative", .cause = "normalize", .values = v_regex, .key = "pattern"},
    {.architecture = "collaborative", .cause = "normalize", .values = v_json_field, .key = "field"},
    {.architecture = "competitive", .cause = "select", .values = v_judge, .key = "judge"},
    {.architecture = "group_chat", .cause = "speaker", .values = v_selector, .key = "selector"},
    {.architecture = "graph", .cause = "architecture", .values = v_graph, .key = "edges"},
    {.architecture = "router",
     .cause = "architecture",
     .values = v_router,
     .key = "routes",
     .unless = "router",
     .message = "is required without 'router'"},
};

// -- the top level ------------------------------------------------------------------------------

constexpr field sub_swarm_item{
    .kind = value_kind::object, .object = &swarm_table, .set = add_sub_swarm};
constexpr field agent_item{.kind = value_kind::object, .object = &agent_table, .set = add_agent};
constexpr field tool_item{.kind = value_kind::object, .object = &tool_table, .set = add_tool};

constexpr field spec_fields[] = {
    {.key = "name",
     .doc = "the swarm's name (also its root swarm's)",
     .format = text_format::name,
     .required = true,
     .set = store<&swarm_spec::name>},
    {.key = "description",
     .doc = "what the swarm is for",
     .fallback = "\"\"",
     .set = store<&swarm_spec::description>},
    {.key = "llm",
     .kind = value_kind::object,
     .doc = "LLM settings every agent inherits",
     .object = &llm_table,
     .set = read_into<&swarm_spec::llm>},
    {.key = "swarm",
     .kind = value_kind::object,
     .doc = "the root swarm: its architecture and options",
     .fallback = "(concurrent, every agent a member)",
     .object = &swarm_table,
     .set = read_root_swarm},
    {.key = "swarms",
     .kind = value_kind::map,
     .doc = "named sub-swarms, usable as members of any swarm",
     .fallback = "{}",
     .item = &sub_swarm_item,
     .key_format = text_format::name},
    {.key = "agents",
     .kind = value_kind::list,
     .doc = "the agents",
     .item = &agent_item,
     .required = true,
     .non_empty = true},
    {.key = "resources",
     .kind = value_kind::object,
     .doc = "endpoint limits, budgets and prices",
     .object = &resources_table,
     .set = read_into<&swarm_spec::resources>},
    {.key = "tools",
     .kind = value_kind::list,
     .doc = "tools agents may call: built-ins and custom commands",
     .fallback = "[]",
     .item = &tool_item},
    {.key = "memory",
     .kind = value_kind::object,
     .doc = "the memory tiers",
     .object = &memory_table,
     .set = read_memory},
};

constexpr const table* table_list[] = {
    &spec_table,        &llm_table,        &llm_fallback_table, &swarm_table,
    &concurrent_table,  &sequential_table, &hierarchical_table, &collaborative_table,
    &competitive_table, &group_chat_table, &graph_table,        &edge_table,
    &router_table,      &route_table,      &agent_table,        &budget_table,
    &resources_table,   &endpoint_table,   &price_table,        &tool_table,
    &sandbox_table,     &memory_table,     &supervision_table};

} // namespace

constexpr table spec_table{"spec", "(top level)", "A swarm spec, in YAML or JSON.", spec_fields};
constexpr table swarm_table{"swarm", "swarm, swarms.NAME",
                            "A swarm: the root (`swarm:`) or a named sub-swarm (`swarms:`). These "
                            "keys apply to every architecture; each architecture adds its own.",
                            swarm_fields};
constexpr table edge_table{"edge", "edges[]", "An edge of a graph swarm.", edge_fields};
constexpr table supervision_table{
    "supervision", "supervision",
    "Supervision of a swarm's members (every architecture): restart, then ask again.",
    supervision_fields};
constexpr table route_table{"route", "routes[]", "A rule of a router swarm.", route_fields};

const field* table::find(std::string_view key) const {
  for (const auto& f : fields)
    if (f.key == key)
      return &f;
  return nullptr;
}

std::span<const architecture_entry> architecture_entries() {
  return architecture_rows;
}

std::span<const key_rule> swarm_rules() {
  return swarm_rule_rows;
}

std::span<const table* const> all_tables() {
  return table_list;
}

const architecture_entry* find_architecture(std::string_view name) {
  for (const auto& a : architecture_rows)
    if (a.name == name)
      return &a;
  return nullptr;
}

const field* find_swarm_field(std::string_view architecture, std::string_view key) {
  if (const auto* row = swarm_table.find(key))
    return row;
  if (const auto* a = find_architecture(architecture))
    return a->options->find(key);
  for (const auto& a : architecture_rows)
    if (const auto* row = a.options->find(key))
      return row;
  return nullptr;
}

std::span<const std::string_view> all_swarm_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const auto& f : swarm_table.fields)
      out.push_back(f.key);
    for (const auto& a : architecture_rows)
      for (const auto& f : a.options->fields)
        if (std::find(out.begin(), out.end(), f.key) == out.end())
          out.push_back(f.key);
    return out;
  }();
  return keys;
}

std::string default_text(const field& f) {
  auto d = f.fallback;
  if (d.size() >= 2 && d.front() == '"' && d.back() == '"')
    return std::string{d.substr(1, d.size() - 2)};
  if (d.empty() || d.front() == '(' || d.front() == '[' || d.front() == '{')
    return {};
  return std::string{d};
}

} // namespace swarm::detail
