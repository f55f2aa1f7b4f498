// The spec reader's state: one pass over a YAML tree guided by the field tables, collecting what
// can only be checked once everything is read (names, references), then the cross-field checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/core/detail/spec_fields.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::detail {

/// A name as written in the spec, with where it was written.
struct name_ref {
  std::string name;
  std::string path;
  int line = 0;
};

/// What one pass over a mapping saw: keys given, keys whose value was refused, and the text of
/// every string or choice that was accepted (rules compare them).
struct object_keys {
  std::unordered_map<std::string, int> given; ///< key -> line
  std::unordered_set<std::string> refused;
  std::unordered_map<std::string, std::string> texts;

  /// The value `key` stands at for rules: its text, else `row`'s default; nothing when the key
  /// was refused (its problem is reported; the default standing in for it demands nothing).
  std::optional<std::string> value_of(std::string_view key, const field* row) const;
};

/// A swarm while it is read: the node, and what can be checked only once every name is known.
struct swarm_draft {
  swarm_node_spec node;
  std::string path; ///< "swarm" or "swarms.<name>"
  bool is_root = false;
  bool known_architecture = true; ///< false: keys are read but not checked against it
  object_keys keys;
  std::optional<std::vector<name_ref>> members;
  std::vector<name_ref> roles;        ///< lead, aggregator, judge, selector, router
  std::vector<name_ref> member_names; ///< weights, edge ends, route targets, fallback
  std::vector<size_t> edge_indices;   ///< index in `edges:` of each of node.graph.edges
  std::unordered_map<std::string, int> edges_seen; ///< "from\nto" -> line of its first edge
  bool is_map = true; ///< false: the swarm was not a mapping (and was reported)
  int name_line = 0;  ///< line of a sub-swarm's name
};

class spec_reader {
public:
  spec_parse_result read(const yaml_node& root, std::string_view source);

  void fail(std::string path, std::string message, int line) {
    problems_.push_back(spec_problem{std::move(path), std::move(message), line});
  }
  size_t problem_count() const { return problems_.size(); }

  /// Reads the mapping `node` key by key with `t` into `target` (an object of the type `t`
  /// describes); unknown keys get a suggestion; required keys that are missing are reported at
  /// `required_line`.
  object_keys read_object(const table& t, const yaml_node& node, const std::string& path,
                          void* target, int required_line);

  /// Reads one value as `row` says and hands it to row.set; nothing when it was refused.
  std::optional<field_value> read_value(const field& row, const yaml_node& node,
                                        const std::string& path, int line, void* target,
                                        std::string_view key = {}, size_t index = 0);

  /// Reads a swarm mapping (`swarm:` or an entry of `swarms:`) into `out`.
  void read_swarm(swarm_draft& out, const yaml_node& node, int line);

  /// Reports what `rules` demand of an object read as `keys` at `path` (line: the cause's key,
  /// else `object_line`); `architecture` selects swarm rules ("" for others).
  void apply_rules(std::span<const key_rule> rules, const table& t, const object_keys& keys,
                   std::string_view architecture, const std::string& path, int object_line);
  void apply_dependencies(std::span<const key_dependency> dependencies, const object_keys& keys,
                          const std::string& path);

  // -- state the setters fill (spec_objects.cpp) ---------------------------------------------
  swarm_spec spec;
  /// The root first, then the sub-swarms in spec order (a deque: drafts stay where they are).
  std::deque<swarm_draft> swarms;
  /// Sub-swarm name -> index in `swarms`.
  std::unordered_map<std::string, size_t> swarm_index;
  /// The swarm being read: role and member references are recorded on it.
  swarm_draft* current_swarm = nullptr;
  /// Every agent name as written (valid or not) with the line of its `name`.
  std::unordered_map<std::string, int> agent_names;
  bool agents_read = false;
  /// Every valid tool name declared in `tools:` with the line of its `name`.
  std::unordered_map<std::string, int> tool_names;
  /// `tools:` was absent or a sequence: agents' tool names can be checked against it.
  bool tools_checkable = true;
  /// Tool names of every agent's `tools`, as written.
  std::vector<name_ref> agent_tools;
  std::unordered_map<std::string, int> endpoint_urls; ///< url -> line of its first entry
  std::unordered_map<std::string, int> price_models;  ///< model -> line of its first price

private:
  /// Visits each entry of a mapping once; reports keys that are duplicated or not scalars.
  template <class Visitor>
  void entries(const yaml_node& map, const std::string& path, Visitor&& visit);

  std::optional<std::string> read_text(const field& row, const yaml_node& x,
                                       const std::string& path, int line);
  std::optional<int64_t> read_integer(const field& row, const yaml_node& x, const std::string& path,
                                      int line);
  std::optional<double> parse_number(const yaml_node& x, const std::string& path, int line);
  std::optional<double> read_number(const field& row, const yaml_node& x, const std::string& path,
                                    int line);
  std::optional<bool> read_bool(const yaml_node& x, const std::string& path, int line);
  bool read_list(const field& row, const yaml_node& x, const std::string& path, int line,
                 void* target, field_value& out);
  bool read_map(const field& row, const yaml_node& x, const std::string& path, int line,
                void* target);
  std::optional<std::string> read_json_object(const field& row, const yaml_node& x,
                                              const std::string& path, int line);

  // spec_check.cpp: once every name is known.
  void check_swarm(swarm_draft& x);
  void check_members(swarm_draft& x);
  void check_roles(const swarm_draft& x);
  void check_graph(const swarm_draft& x);
  void check_tree();
  void check_agent_tools();

  std::vector<spec_problem> problems_;
};

// -- setters: how a checked value lands in its object ------------------------------------------

template <class T>
struct member_of;
template <class C, class M>
struct member_of<M C::*> {
  using object = C;
};

inline void assign(std::string& to, const field_value& v) {
  to = v.text;
}
inline void assign(std::optional<std::string>& to, const field_value& v) {
  to = v.text;
}
inline void assign(bool& to, const field_value& v) {
  to = v.flag;
}
inline void assign(std::optional<bool>& to, const field_value& v) {
  to = v.flag;
}
inline void assign(double& to, const field_value& v) {
  to = v.number;
}
inline void assign(std::optional<double>& to, const field_value& v) {
  to = v.number;
}
inline void assign(uint32_t& to, const field_value& v) {
  to = static_cast<uint32_t>(v.integer);
}
inline void assign(uint64_t& to, const field_value& v) {
  to = static_cast<uint64_t>(v.integer);
}
inline void assign(std::optional<int32_t>& to, const field_value& v) {
  to = static_cast<int32_t>(v.integer);
}
inline void assign(std::chrono::milliseconds& to, const field_value& v) {
  to = std::chrono::milliseconds{v.integer};
}
inline void assign(std::optional<std::chrono::milliseconds>& to, const field_value& v) {
  to = std::chrono::milliseconds{v.integer};
}
inline void assign(std::vector<std::string>& to, const field_value& v) {
  to = v.texts;
}

/// The member reached from `object` through the chain of member pointers.
template <auto Member, auto... Rest>
auto& reach(auto& object) {
  if constexpr (sizeof...(Rest) == 0)
    return object.*Member;
  else
    return reach<Rest...>(object.*Member);
}

/// Stores the value into the member named by the chain (the first names a member of the row's
/// object type): `store<&llm_settings::model>`.
template <auto Member, auto... Rest>
void store(void* target, const field_value& v, spec_reader&) {
  using object = typename member_of<decltype(Member)>::object;
  assign(reach<Member, Rest...>(*static_cast<object*>(target)), v);
}

/// Reads a nested object (the row's table) into the member named by the chain.
template <auto Member, auto... Rest>
void read_into(void* target, const field_value& v, spec_reader& reader) {
  using object = typename member_of<decltype(Member)>::object;
  auto& member = reach<Member, Rest...>(*static_cast<object*>(target));
  reader.read_object(*v.row->object, *v.node, v.path, &member, v.line);
}

/// A swarm option: stored into the draft's node.
template <auto... Members>
void on_node(void* target, const field_value& v, spec_reader& reader) {
  store<&swarm_draft::node, Members...>(target, v, reader);
}

// Setters with checks of their own (spec_objects.cpp).
void read_root_swarm(void* spec, const field_value& v, spec_reader& reader);
void add_sub_swarm(void* spec, const field_value& v, spec_reader& reader);
void add_agent(void* spec, const field_value& v, spec_reader& reader);
void set_agent_name(void* agent, const field_value& v, spec_reader& reader);
void add_agent_tool(void* agent, const field_value& v, spec_reader& reader);
void add_tool(void* spec, const field_value& v, spec_reader& reader);
void set_tool_name(void* tool, const field_value& v, spec_reader& reader);
void set_command(void* tool, const field_value& v, spec_reader& reader);
void read_memory(void* spec, const field_value& v, spec_reader& reader);
void add_llm_fallback(void* llm, const field_value& v, spec_reader& reader);
void set_llm_fallbacks(void* llm, const field_value& v, spec_reader& reader);
void add_endpoint(void* resources, const field_value& v, spec_reader& reader);
void set_endpoint_url(void* endpoint, const field_value& v, spec_reader& reader);
void add_price(void* resources, const field_value& v, spec_reader& reader);
void set_price_model(void* price, const field_value& v, spec_reader& reader);
void set_architecture(void* draft, const field_value& v, spec_reader& reader);
void add_member(void* draft, const field_value& v, spec_reader& reader);
void add_weight(void* draft, const field_value& v, spec_reader& reader);
void add_edge(void* draft, const field_value& v, spec_reader& reader);
void add_route(void* draft, const field_value& v, spec_reader& reader);

} // namespace swarm::detail
