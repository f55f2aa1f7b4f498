// The Markdown reference of every spec key (docs/spec.md), generated from the field tables, the
// architecture table and the rules between keys.
#include <algorithm>

#include "runtime/core/detail/spec_fields.hpp"
#include "runtime/core/detail/spec_formats.hpp"
#include "runtime/core/spec_schema.hpp"

namespace swarm {

namespace {

using namespace detail;

std::string code(std::string_view x) {
  return "`" + std::string{x} + "`";
}

std::string code_list(std::span<const std::string_view> items, std::string_view last = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += i + 1 == items.size() ? last : ", ";
    out += code(items[i]);
  }
  return out;
}

/// Markdown table cells may not hold a raw `|`.
std::string cell(std::string_view x) {
  std::string out;
  for (char c : x) {
    if (c == '|')
      out += '\\';
    out += c;
  }
  return out;
}

std::string link(const table& t) {
  return "[" + code(t.title) + "](#" + std::string{t.name} + ")";
}

std::string interval(const field& f) {
  return (f.low_open ? "(" : "[") + number_text(f.low) + ", " + number_text(f.high) +
         (f.high_open ? ")" : "]");
}

std::string type_text(const field& f);

/// A list's items: "non-empty strings", "hosts, optionally `:port`", "[`agents[]`](#agent)".
std::string items_text(const field& item) {
  if (item.kind != value_kind::string)
    return type_text(item);
  switch (item.format) {
  case text_format::any:
    return "strings";
  case text_format::non_empty:
    return "non-empty strings";
  case text_format::host:
    return "hosts, optionally `:port`";
  default:
    return type_text(item) + " each";
  }
}

std::string type_text(const field& f) {
  std::string out;
  switch (f.kind) {
  case value_kind::string:
    switch (f.format) {
    case text_format::any:
      out = "string";
      break;
    case text_format::non_empty:
      out = "string, not empty";
      break;
    case text_format::name:
      out = "name (`[A-Za-z0-9_-]+`)";
      break;
    case text_format::env_var:
      out = "variable name (`[A-Za-z_][A-Za-z0-9_]*`)";
      break;
    case text_format::url:
      out = "URL (`http://`, `https://`)";
      break;
    case text_format::endpoint_url:
      out = "`default` or URL";
      break;
    case text_format::regex:
      out = "regex (RE2)";
      break;
    case text_format::regex_group:
      out = "regex (RE2) with a capture group";
      break;
    case text_format::host:
      out = "host, optionally `:port`";
      break;
    case text_format::agent_ref:
      out = "agent name";
      break;
    case text_format::member_ref:
      out = "member name";
      break;
    }
    if (f.max_length > 0)
      out += ", at most " + std::to_string(f.max_length) + " characters";
    return out;
  case value_kind::integer:
    return "integer, " + std::to_string(f.min) + ".." + std::to_string(f.max);
  case value_kind::number:
    return "number in " + interval(f);
  case value_kind::boolean:
    return "boolean";
  case value_kind::choice:
    return "one of " + code_list(f.choices);
  case value_kind::list:
    out = "list of " + items_text(*f.item);
    if (f.non_empty)
      out += ", not empty";
    if (!f.noun.empty())
      out += ", each once";
    return out;
  case value_kind::object:
    return link(*f.object);
  case value_kind::map:
    return "mapping: " + std::string{f.key_format == text_format::name ? "name" : "member name"} +
           " → " + type_text(*f.item);
  case value_kind::json_object:
    return "JSON schema (a mapping with `type: object`)";
  }
  return out;
}

std::string default_cell(const field& f) {
  if (f.required)
    return "required";
  auto d = f.fallback;
  if (d.empty())
    return "";
  if (d.front() == '(')
    return std::string{d.substr(1, d.size() - 2)};
  if (d.front() == '"')
    return d.size() == 2 ? "`\"\"`" : code(d.substr(1, d.size() - 2));
  return code(d);
}

void fields_table(const table& t, std::string& out) {
  out += "| key | type | default | |\n| --- | --- | --- | --- |\n";
  for (const auto& f : t.fields)
    out += "| " + code(f.key) + " | " + cell(type_text(f)) + " | " + cell(default_cell(f)) + " | " +
           cell(f.doc) + " |\n";
}

void heading(const table& t, std::string_view level, std::string& out) {
  out += "\n<a id=\"" + std::string{t.name} + "\"></a>\n\n" + std::string{level} + " " +
         code(t.title) + "\n\n" + std::string{t.doc} + "\n\n";
}

/// "`aggregator` is required when `decision` is `synthesize`."
std::string rule_text(const key_rule& rule, std::span<const std::string_view> keys) {
  std::string out = code_list(keys, " and ");
  out += keys.size() > 1 ? " are " : " is ";
  out += rule.require ? "required" : "refused";
  if (!rule.unless.empty())
    return out + " without " + code(rule.unless) + ".";
  out += " when " + code(rule.cause) + " is ";
  if (rule.values.size() > 1)
    out += rule.negate ? "none of " : "one of ";
  else if (rule.negate)
    out += "not ";
  return out + code_list(rule.values) + ".";
}

/// The rules of `rules` (of `architecture`, if given), consecutive ones on the same condition
/// joined: "`description`, `parameters` and `command` are required when ...".
void rules_list(std::span<const key_rule> rules, std::string_view architecture, std::string& out) {
  std::vector<std::string_view> keys;
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    if (rule.architecture != architecture)
      continue;
    keys.push_back(rule.key);
    const auto* next = i + 1 < rules.size() ? &rules[i + 1] : nullptr;
    bool joined = next && next->architecture == rule.architecture && next->cause == rule.cause &&
                  next->values.data() == rule.values.data() && next->negate == rule.negate &&
                  next->require == rule.require && next->unless.empty() && rule.unless.empty();
    if (joined)
      continue;
    out += "- " + rule_text(rule, keys) + "\n";
    keys.clear();
  }
}

} // namespace

std::string spec_reference_markdown() {
  std::string out = R"(# Spec reference

<!-- Generated from the spec reader's tables by `swarm schema --markdown`: edit the tables
(runtime/core/spec_fields.cpp, runtime/core/spec_swarm_fields.cpp) and regenerate this file.
The test spec_docs_test fails when it is stale. -->

Every key of a swarm spec (YAML, or JSON read as YAML), with its type, range, default and
meaning. The spec reader walks the same tables: a bad spec lists every problem with its path and
line, and an unknown key names the nearest known one
(`agents[0].modle: unknown key (did you mean 'model'?) (line 4)`). What the architectures do is in
[architectures.md](architectures.md), tools in [tools.md](tools.md), memory in
[memory.md](memory.md).

## Editors

`swarm schema` prints a JSON Schema (draft 2020-12) generated from these tables: types, ranges,
defaults, the keys each architecture takes and the keys other keys require. Editors complete and
check spec files with it:

```sh
swarm schema > swarm.schema.json
```

- VS Code (the YAML extension): put `# yaml-language-server: $schema=./swarm.schema.json` on the
  first line of a spec, or map files in `settings.json`:
  `"yaml.schemas": {"./swarm.schema.json": ["swarms/*.yaml"]}`.
- JetBrains IDEs: Settings, Languages & Frameworks, Schemas and DTDs, JSON Schema Mappings: add
  `swarm.schema.json` and the spec files or folders it applies to.

Names that refer to other parts of a spec (members, roles, an agent's tools) are checked by
`swarm validate` and `swarm run` only. The reader also takes a number or a boolean where a string
is expected (`name: 42` reads as "42"); the schema asks for a string there.
)";
  out += "\n<a id=\"spec\"></a>\n\n## Top level\n\n" + std::string{spec_table.doc} + "\n\n";
  fields_table(spec_table, out);
  heading(llm_table, "##", out);
  fields_table(llm_table, out);
  heading(llm_fallback_table, "##", out);
  fields_table(llm_fallback_table, out);

  heading(swarm_table, "##", out);
  fields_table(swarm_table, out);
  out += "\nThe architectures (`architecture`), each with the options of its own below:\n\n"
         "| architecture | what it does |\n| --- | --- |\n";
  for (const auto& a : architecture_entries())
    out += "| " + code(a.name) + " | " + cell(a.summary) + " |\n";
  for (const auto& a : architecture_entries()) {
    out += "\n<a id=\"" + std::string{a.name} + "\"></a>\n\n### " + code(a.name) + "\n\n" +
           std::string{a.options->doc} + "\n";
    if (a.options->fields.empty())
      out += "Only the keys every architecture takes.\n";
    else {
      out += "\n";
      fields_table(*a.options, out);
    }
    std::string rules;
    rules_list(swarm_rules(), a.name, rules);
    if (!rules.empty())
      out += "\n" + rules;
  }
  for (const auto* t : {&supervision_table, &edge_table, &route_table, &agent_table, &budget_table,
                        &resources_table, &endpoint_table, &price_table, &tool_table,
                        &sandbox_table, &memory_table}) {
    heading(*t, "##", out);
    fields_table(*t, out);
    if (t == &agent_table)
      out += "\nAnd every key of " + link(llm_table) + ": the agent's own setting.\n";
    if (t == &tool_table) {
      out += "\n";
      rules_list(tool_rules(), "", out);
    }
    if (t == &memory_table)
      for (const auto& d : memory_dependencies())
        out += "\n" + code(d.key) + " needs " + code(d.needs) + ".\n";
  }
  return out;
}

} // namespace swarm
