// YAML (and JSON, read as YAML) as a tree of values with their lines, and YAML values as JSON text:
// the one YAML reader of the spec and the mock LLM's script.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/core/located.hpp"

namespace swarm {

/// One value of a YAML document. A node reached through several aliases is one node: the tree
/// is a DAG, so a walk that visits every node must bound its work (yaml_to_json does).
struct yaml_node {
  enum class kind : unsigned char { null, scalar, sequence, mapping };
  kind type = kind::null;
  /// A scalar written quoted or as a block (`"5"`, `'x'`, `|`): always a string. Plain scalars
  /// (`5`, `true`, `~`) may read as numbers, booleans or null.
  bool quoted = false;
  int line = 0;                        ///< 1-based line where the value starts
  std::string text;                    ///< scalar's text
  std::vector<const yaml_node*> items; ///< sequence
  std::vector<std::pair<const yaml_node*, const yaml_node*>> entries; ///< mapping, in order

  bool is_null() const { return type == kind::null; }
  bool is_scalar() const { return type == kind::scalar; }
  bool is_sequence() const { return type == kind::sequence; }
  bool is_mapping() const { return type == kind::mapping; }
  /// A scalar YAML types by its text (not quoted).
  bool is_plain() const { return type == kind::scalar && !quoted; }
  /// The value of the first entry whose key is the scalar `key`, or nullptr.
  const yaml_node* find(std::string_view key) const;
};

/// A parsed document: owns its nodes (destroyed without recursion, however deep).
class yaml_document {
public:
  yaml_document();
  yaml_document(yaml_document&&) noexcept = default;
  yaml_document& operator=(yaml_document&&) noexcept = default;

  /// The top value; a null node for an empty document.
  const yaml_node& root() const { return *root_; }

private:
  friend class yaml_builder;
  std::deque<yaml_node> nodes_;
  const yaml_node* root_ = nullptr;
};

/// Deepest nesting of sequences and mappings a document may have. yaml-cpp's parser recurses once
/// per level (and stops at 500 with a bare "bad file"); the limit names the real cause first.
inline constexpr int max_yaml_depth = 128;

/// Either a document or the one problem that stops it being read (no path; its line if known).
struct yaml_parse_result {
  std::optional<yaml_document> document;
  std::optional<located_problem> problem;
};

/// Parses a text holding at most one YAML document. Problems: a syntax error ("YAML syntax error:
/// ..."), nesting deeper than max_yaml_depth, more than one document ("expected one YAML
/// document"), an alias inside the node it names ("YAML alias *a inside its own anchor"). Never
/// throws; memory and time stay proportional to the text (aliases share nodes).
yaml_parse_result parse_yaml(std::string_view text);

/// Bounds of yaml_to_json: aliases can make a small document huge.
struct json_limits {
  size_t max_depth = 64;
  size_t max_bytes = 65'536;
};

/// Appends `x` to `out` as compact JSON; returns why it cannot, or nothing. Plain scalars keep
/// their YAML type (null, true/false, numbers in JSON's syntax); quoted scalars and every other
/// plain scalar are strings. Mapping keys must be scalars, each once. Problems read like "nests
/// deeper than 64 levels" or "has the key 'a' twice (line 3)", to follow the value's path.
std::optional<std::string> yaml_to_json(const yaml_node& x, std::string& out,
                                        const json_limits& limits = {});

/// Whether `x` is a number in JSON's syntax: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view x);

/// Appends `x` as a JSON string literal (quotes, escapes) to `out`.
void append_json_string(std::string_view x, std::string& out);

} // namespace swarm
