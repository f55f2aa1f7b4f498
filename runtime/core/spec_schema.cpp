// The JSON Schema (draft 2020-12) of a spec and its Markdown reference, generated from the field
// tables, the architecture table and the rules between keys.
#include "runtime/core/spec_schema.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "runtime/core/detail/spec_fields.hpp"
#include "runtime/core/detail/spec_formats.hpp"

namespace swarm {

namespace {

using namespace detail;
namespace json = boost::json;

json::value number_value(double x) {
  if (x == std::floor(x) && std::fabs(x) < 1e15)
    return static_cast<int64_t>(x);
  return x;
}

std::string_view pattern_of(text_format format) {
  switch (format) {
  case text_format::name:
    return "^[A-Za-z0-9_-]+$";
  case text_format::env_var:
    return "^[A-Za-z_][A-Za-z0-9_]*$";
  case text_format::url:
    return "^https?://";
  case text_format::endpoint_url:
    return "^(default$|https?://)";
  case text_format::host:
    return "^[A-Za-z0-9._:\\[\\]-]+$";
  default:
    return {};
  }
}

json::object string_schema(const field& f) {
  json::object out{{"type", "string"}};
  if (auto pattern = pattern_of(f.format); !pattern.empty())
    out["pattern"] = pattern;
  else if (f.format == text_format::regex || f.format == text_format::regex_group)
    out["format"] = "regex";
  else if (f.format != text_format::any)
    out["minLength"] = 1;
  if (f.max_length > 0)
    out["maxLength"] = f.max_length;
  return out;
}

json::value ref_to(const table& t) {
  return json::object{{"$ref", "#/$defs/" + std::string{t.name}}};
}

/// The schema of one value of `f` (without its description).
json::object value_schema(const field& f) {
  switch (f.kind) {
  case value_kind::string:
    return string_schema(f);
  case value_kind::integer:
    return {{"type", "integer"}, {"minimum", f.min}, {"maximum", f.max}};
  case value_kind::number: {
    json::object out{{"type", "number"}};
    out[f.low_open ? "exclusiveMinimum" : "minimum"] = number_value(f.low);
    out[f.high_open ? "exclusiveMaximum" : "maximum"] = number_value(f.high);
    return out;
  }
  case value_kind::boolean:
    return {{"type", "boolean"}};
  case value_kind::choice: {
    json::array values;
    for (auto c : f.choices)
      values.emplace_back(c);
    return {{"type", "string"}, {"enum", std::move(values)}};
  }
  case value_kind::list: {
    json::object out{{"type", "array"}, {"items", value_schema(*f.item)}};
    if (f.non_empty)
      out["minItems"] = 1;
    if (!f.noun.empty())
      out["uniqueItems"] = true;
    return out;
  }
  case value_kind::object:
    return ref_to(*f.object).as_object();
  case value_kind::map: {
    json::object out{{"type", "object"}, {"additionalProperties", value_schema(*f.item)}};
    if (auto pattern = pattern_of(f.key_format); !pattern.empty())
      out["propertyNames"] = json::object{{"pattern", pattern}};
    return out;
  }
  case value_kind::json_object:
    return {{"type", "object"},
            {"required", json::array{"type"}},
            {"properties", json::object{{"type", json::object{{"const", "object"}}},
                                        {"properties", json::object{{"type", "object"}}}}}};
  }
  return {};
}

json::object field_schema(const field& f, std::string_view doc) {
  auto out = value_schema(f);
  out["description"] = doc;
  if (!f.fallback.empty() && f.fallback.front() != '(')
    out["default"] = json::parse(f.fallback);
  return out;
}

/// A rule's `if`: the cause has one of the values (the architecture too, for swarm rules). A key
/// that is absent stands at its default; it is required only when the default does not qualify.
json::object rule_condition(const key_rule& rule, const table* causes) {
  json::object properties;
  json::array required;
  auto condition = [&](std::string_view key, std::span<const std::string_view> values, bool negate,
                       std::string_view fallback) {
    json::array list;
    for (auto v : values)
      list.emplace_back(v);
    json::object match{{"enum", std::move(list)}};
    properties[key] = negate ? json::object{{"not", std::move(match)}} : std::move(match);
    bool default_qualifies = !fallback.empty() && (std::find(values.begin(), values.end(),
                                                             fallback) != values.end()) != negate;
    if (!default_qualifies)
      required.emplace_back(key);
  };
  if (!rule.architecture.empty()) {
    std::string_view one[] = {rule.architecture};
    condition("architecture", one, false, default_text(*swarm_table.find("architecture")));
  }
  if (rule.cause != "architecture") {
    const auto* row = causes ? causes->find(rule.cause) : nullptr;
    auto fallback = row ? default_text(*row) : std::string{};
    condition(rule.cause, rule.values, rule.negate, fallback);
  }
  return {{"properties", std::move(properties)}, {"required", std::move(required)}};
}

json::object rule_consequence(const key_rule& rule) {
  if (!rule.require)
    return {{"properties", json::object{{rule.key, false}}}};
  if (!rule.unless.empty())
    return {{"anyOf", json::array{json::object{{"required", json::array{rule.key}}},
                                  json::object{{"required", json::array{rule.unless}}}}}};
  return {{"required", json::array{rule.key}}};
}

json::object object_schema(const table& t) {
  json::object properties;
  json::array required;
  for (const auto* part : {&t, t.shared})
    if (part)
      for (const auto& f : part->fields) {
        properties[f.key] = field_schema(f, f.doc);
        if (f.required)
          required.emplace_back(f.key);
      }
  json::object out{{"type", "object"}, {"description", t.doc}, {"properties", properties}};
  if (!required.empty())
    out["required"] = std::move(required);
  out["additionalProperties"] = false;
  return out;
}

/// A swarm: the common keys and every architecture's options; each architecture refuses the
/// options of the others; the rules' requirements.
json::object swarm_schema() {
  auto out = object_schema(swarm_table);
  auto& properties = out["properties"].as_object();
  for (const auto& a : architecture_entries())
    for (const auto& f : a.options->fields) {
      auto doc = std::string{a.name} + ": " + std::string{f.doc};
      if (auto* known = properties.if_contains(f.key)) {
        auto& text = known->as_object()["description"];
        text = std::string{text.as_string()} + "; " + doc;
      } else {
        properties[f.key] = field_schema(f, doc);
      }
    }
  json::array all_of;
  for (const auto& a : architecture_entries()) {
    json::object refused;
    for (const auto& other : architecture_entries())
      for (const auto& f : other.options->fields)
        if (!a.options->find(f.key))
          refused[f.key] = false;
    if (refused.empty())
      continue;
    // Absent, the architecture is its default: its condition then holds without the key.
    json::object condition{
        {"properties", json::object{{"architecture", json::object{{"const", a.name}}}}}};
    if (a.name != default_text(*swarm_table.find("architecture")))
      condition["required"] = json::array{"architecture"};
    all_of.push_back(json::object{{"if", std::move(condition)},
                                  {"then", json::object{{"properties", std::move(refused)}}}});
  }
  for (const auto& rule : swarm_rules())
    all_of.push_back(
        json::object{{"if", rule_condition(rule, find_architecture(rule.architecture)->options)},
                     {"then", rule_consequence(rule)}});
  out["allOf"] = std::move(all_of);
  return out;
}

void pretty(const json::value& v, std::string& out, int indent) {
  auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<size_t>(level) * 2, ' ');
  };
  if (v.is_object() && !v.as_object().empty()) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : v.as_object()) {
      out += first ? "" : ",";
      first = false;
      newline(indent + 1);
      out += json::serialize(json::string(key));
      out += ": ";
      pretty(value, out, indent + 1);
    }
    newline(indent);
    out += '}';
  } else if (v.is_array() && !v.as_array().empty()) {
    // Arrays of scalars stay on one line.
    bool flat = std::all_of(v.as_array().begin(), v.as_array().end(),
                            [](const json::value& x) { return !x.is_object() && !x.is_array(); });
    out += '[';
    bool first = true;
    for (const auto& value : v.as_array()) {
      out += first ? "" : (flat ? ", " : ",");
      first = false;
      if (!flat)
        newline(indent + 1);
      pretty(value, out, indent + 1);
    }
    if (!flat)
      newline(indent);
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

} // namespace

std::string spec_json_schema() {
  json::object defs;
  for (const auto* t : all_tables()) {
    if (t == &spec_table || t == &swarm_table)
      continue;
    if (std::any_of(architecture_entries().begin(), architecture_entries().end(),
                    [&](const architecture_entry& a) { return a.options == t; }))
      continue; // an architecture's options are part of `swarm`
    defs[t->name] = object_schema(*t);
  }
  defs["swarm"] = swarm_schema();
  json::array tool_conditions;
  for (const auto& rule : tool_rules())
    tool_conditions.push_back(
        json::object{{"if", rule_condition(rule, &tool_table)}, {"then", rule_consequence(rule)}});
  defs["tool"].as_object()["allOf"] = std::move(tool_conditions);
  json::object dependent;
  for (const auto& d : memory_dependencies())
    dependent[d.key] = json::array{d.needs};
  defs["memory"].as_object()["dependentRequired"] = std::move(dependent);
  auto top = object_schema(spec_table);
  // Sub-swarms must list their members; the root defaults to every agent.
  top["properties"].as_object()["swarms"].as_object()["additionalProperties"] =
      json::object{{"$ref", "#/$defs/swarm"}, {"required", json::array{"members"}}};
  json::object schema{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                      {"title", "SmolSwarms swarm spec"}};
  for (auto& [key, value] : top)
    schema[key] = value;
  schema["$defs"] = std::move(defs);
  std::string out;
  pretty(schema, out, 0);
  out += '\n';
  return out;
}

} // namespace swarm
