// The spec as data: one table of fields per spec object (key, type, range, default, doc line, and
// how a value lands in the swarm_spec). The reader walks these tables; the JSON Schema, the
// reference in docs/spec.md and `swarm architectures` are generated from them.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/yaml_tree.hpp"

namespace swarm::detail {

class spec_reader;
struct field;
struct table;

/// What a value is in the spec.
enum class value_kind : unsigned char {
  string,      ///< a scalar, read as its text; `format` narrows it
  integer,     ///< plain integer in [min, max]
  number,      ///< plain number in low..high (open or closed ends)
  boolean,     ///< true / false (every YAML spelling)
  choice,      ///< one of `choices`
  list,        ///< a sequence of `item`
  object,      ///< a mapping read by the table `object`
  map,         ///< a mapping of free keys (formatted by `key_format`) to `item` values
  json_object, ///< a mapping kept as JSON text: a JSON schema with `type: object`
};

/// What a string must look like (and what references it records).
enum class text_format : unsigned char {
  any,
  non_empty,
  name,         ///< [A-Za-z0-9_-]+
  env_var,      ///< [A-Za-z_][A-Za-z0-9_]*
  url,          ///< http:// or https://...
  endpoint_url, ///< "default", or a url
  regex,        ///< a regex swarm::pattern compiles (RE2 syntax)
  regex_group,  ///< a regex with a capture group
  host,         ///< a host name or address with an optional port
  agent_ref,    ///< names an agent of the spec (non-empty; checked once all is read)
  member_ref,   ///< names a member of the swarm (non-empty; checked once all is read)
};

/// A value read and checked against its field, handed to the field's setter.
struct field_value {
  const field* row = nullptr;
  const yaml_node* node = nullptr; ///< the value as written
  std::string path;                ///< "agents[2].model"
  int line = 0;
  std::string key;  ///< map entries: the entry's key
  size_t index = 0; ///< list items: the item's index
  std::string text;
  int64_t integer = 0;
  double number = 0;
  bool flag = false;
  std::vector<std::string> texts; ///< a list of strings
};

/// Stores a checked value into `target` (the object the row's table describes), or reads an
/// object, list item or map entry into it. May report problems through the reader.
using setter = void (*)(void* target, const field_value& value, spec_reader& reader);

/// One key of a spec object. Rows are constexpr data; designated initializers name what a row
/// sets, the rest keeps these defaults.
struct field {
  std::string_view key;
  value_kind kind = value_kind::string;
  std::string_view doc;      ///< one line for the reference and the schema's description
  std::string_view fallback; ///< default as JSON ("8", "\"fold\"", "true"); "(...)": described
  text_format format = text_format::any;
  int64_t min = 0;                                   ///< integer
  int64_t max = std::numeric_limits<int32_t>::max(); ///< integer
  double low = 0;                                    ///< number
  double high = 0;                                   ///< number
  bool low_open = false;                             ///< number: low itself is refused
  bool high_open = false;                            ///< number: high itself is refused
  std::span<const std::string_view> choices;         ///< choice
  const table* object = nullptr;                     ///< object, or list / map of objects
  const field* item = nullptr;                       ///< list items, map values
  text_format key_format = text_format::any;         ///< map keys
  size_t max_length = 0;                             ///< string: 0 = unbounded
  bool required = false;                             ///< the object needs it
  bool non_empty = false;                            ///< list / map: at least one entry
  std::string_view noun;   ///< choice: "unknown NOUN 'x' (supported: ...)"; list: "duplicate NOUN"
  std::string_view expect; ///< replaces "expected a mapping" / "expected a sequence"
  std::string_view hint;   ///< appended to a range problem, in parentheses
  setter set = nullptr;
};

/// The fields of one spec object.
struct table {
  std::string_view name;  ///< "agent": a $defs name and a heading of docs/spec.md
  std::string_view title; ///< where it stands in a spec: "agents[]"
  std::string_view doc;   ///< what it is, one or two sentences
  std::span<const field> fields;
  /// Keys that sit directly on this object but belong to another table (an agent's LLM keys):
  /// read into `shared_target(target)`.
  const table* shared = nullptr;
  void* (*shared_target)(void* target) = nullptr;

  const field* find(std::string_view key) const;
};

/// An architecture of the table the reader checks swarm keys against: its name, one line, and
/// its own options (the common keys apply to every one).
struct architecture_entry {
  std::string_view name;
  std::string_view summary;
  const table* options;
};

/// A key whose presence depends on another key's value ("lead is required for architecture:
/// hierarchical", "allow_hosts applies only to http_get"). Drives the reader's checks and the
/// schema's if/then.
struct key_rule {
  std::string_view architecture; ///< swarm rules: only under this architecture ("" any)
  std::string_view cause;        ///< the key whose value decides ("architecture", "name")
  std::span<const std::string_view> values; ///< the rule holds when cause's value is one of
  bool negate = false;                      ///< ... or is none of these
  std::string_view key;                     ///< the key concerned
  bool require = true;                      ///< required (else: refused) when the rule holds
  std::string_view unless;                  ///< a required key may be replaced by this one
  /// The problem; "" for "is required for CAUSE: VALUE". "{}" stands for cause's value.
  std::string_view message;
};

/// A key that needs another key beside it (JSON Schema dependentRequired).
struct key_dependency {
  std::string_view key;
  std::string_view needs;
  std::string_view message;
};

// The tables (spec_fields.cpp).
extern const table spec_table;
extern const table llm_table;
extern const table llm_fallback_table;
extern const table agent_table;
extern const table swarm_table; ///< the keys common to every architecture
extern const table budget_table;
extern const table resources_table;
extern const table endpoint_table;
extern const table price_table;
extern const table tool_table;
extern const table sandbox_table;
extern const table memory_table;
extern const table edge_table;
extern const table supervision_table;
extern const table route_table;

/// Every architecture, in the order of supported_architectures().
std::span<const architecture_entry> architecture_entries();
/// Rules of a swarm's keys by its architecture and options.
std::span<const key_rule> swarm_rules();
/// Rules of a tool's keys by its name (built in or custom, http_get).
std::span<const key_rule> tool_rules();
/// Dependencies between memory keys.
std::span<const key_dependency> memory_dependencies();
/// Tools the runtime brings; any other name is a custom tool (a `command`).
std::span<const std::string_view> builtin_tools();

/// Every table, each once, parents before children (the order of docs/spec.md).
std::span<const table* const> all_tables();

/// The architecture `name`, or nullptr.
const architecture_entry* find_architecture(std::string_view name);

/// The row of `key` in a swarm of `architecture` (common keys, else the architecture's options;
/// an unknown architecture: the first architecture that has the key), or nullptr.
const field* find_swarm_field(std::string_view architecture, std::string_view key);

/// Every key a swarm may have under some architecture: the common keys, then each
/// architecture's own (a key shared by two, like `judge`, once).
std::span<const std::string_view> all_swarm_keys();

/// A field's default as the text a reader compares with ("fold", "8"); empty when it has none.
std::string default_text(const field& f);

} // namespace swarm::detail
