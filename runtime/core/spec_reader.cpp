// The table-driven spec reader: walks a YAML tree with the field tables, checks each value against
// its row (type, range, format) and hands it to the row's setter; reports every problem found.
#include "runtime/core/detail/spec_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "runtime/core/detail/spec_formats.hpp"

namespace swarm::detail {

namespace {

bool contains(std::span<const std::string_view> list, std::string_view x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

std::vector<std::string_view> keys_of(const table& t) {
  std::vector<std::string_view> out;
  for (const auto& f : t.fields)
    out.push_back(f.key);
  if (t.shared)
    for (const auto& f : t.shared->fields)
      out.push_back(f.key);
  return out;
}

/// "must be between 0 and 2", "must be > 0 and at most 1" (+ the row's hint).
std::string range_text(const field& row) {
  std::string out = row.low_open
                        ? "must be > " + number_text(row.low)
                        : "must be " + std::string{row.high_open ? "at least " : "between "} +
                              number_text(row.low);
  if (!row.low_open && !row.high_open)
    out += " and ";
  else
    out += row.high_open ? " and below " : " and at most ";
  out += number_text(row.high);
  if (!row.hint.empty()) {
    out += " (";
    out += row.hint;
    out += ')';
  }
  return out;
}

} // namespace

std::optional<std::string> object_keys::value_of(std::string_view key, const field* row) const {
  std::string k{key};
  if (refused.contains(k))
    return std::nullopt;
  if (auto i = texts.find(k); i != texts.end())
    return i->second;
  if (given.contains(k) || !row)
    return std::nullopt;
  auto fallback = default_text(*row);
  if (fallback.empty())
    return std::nullopt;
  return fallback;
}

template <class Visitor>
void spec_reader::entries(const yaml_node& map, const std::string& path, Visitor&& visit) {
  std::unordered_map<std::string_view, int> seen; // key -> line of its first use
  for (const auto& [key_node, value] : map.entries) {
    auto line = key_node->line;
    if (!key_node->is_scalar()) {
      fail(path, "expected a string key", line);
      continue;
    }
    const std::string& key = key_node->text;
    auto key_path = join_path(path, excerpt(key));
    auto [previous, first_use] = seen.emplace(key, line);
    if (!first_use) {
      fail(key_path, "duplicate key (first at line " + std::to_string(previous->second) + ")",
           line);
      continue;
    }
    visit(std::string_view{key}, *value, key_path, line);
  }
}

std::optional<std::string> spec_reader::read_text(const field& row, const yaml_node& x,
                                                  const std::string& path, int line) {
  auto refuse = [&](std::string message) -> std::optional<std::string> {
    fail(path, std::move(message), line);
    return std::nullopt;
  };
  if (!x.is_scalar())
    return refuse("expected a string");
  const std::string& text = x.text;
  auto is_url = text.starts_with("http://") || text.starts_with("https://");
  switch (row.format) {
  case text_format::any:
    break;
  case text_format::url:
    if (!is_url)
      return refuse("must start with http:// or https://");
    break;
  case text_format::regex:
  case text_format::regex_group:
    if (auto problem = regex_problem(text, row.format == text_format::regex_group ? 1 : 0))
      return refuse(std::move(*problem));
    break;
  default:
    if (text.empty())
      return refuse("must not be empty");
    if (row.format == text_format::name && !is_name(text))
      return refuse("must match [A-Za-z0-9_-]+");
    if (row.format == text_format::env_var && !is_env_var_name(text))
      return refuse("must match [A-Za-z_][A-Za-z0-9_]*");
    if (row.format == text_format::endpoint_url && text != "default" && !is_url)
      return refuse("must be 'default' or start with http:// or https://");
    if (row.format == text_format::host && !is_host(text))
      return refuse("must be a host name or address, optionally with a port, not a URL (got '" +
                    excerpt(text) + "')");
  }
  if (row.max_length > 0 && text.size() > row.max_length)
    return refuse("must be at most " + std::to_string(row.max_length) + " characters");
  if (current_swarm && row.format == text_format::agent_ref)
    current_swarm->roles.push_back(name_ref{text, path, line});
  if (current_swarm && row.format == text_format::member_ref)
    current_swarm->member_names.push_back(name_ref{text, path, line});
  return text;
}

std::optional<int64_t> spec_reader::read_integer(const field& row, const yaml_node& x,
                                                 const std::string& path, int line) {
  auto below = [&] {
    fail(path, row.min == 1 ? "must be > 0" : "must be at least " + std::to_string(row.min), line);
    return std::nullopt;
  };
  auto above = [&] {
    fail(path, "must be at most " + std::to_string(row.max), line);
    return std::nullopt;
  };
  if (!x.is_plain()) {
    fail(path, "expected an integer", line);
    return std::nullopt;
  }
  std::string_view text = x.text;
  bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '+' || text[0] == '-'))
    text.remove_prefix(1);
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    fail(path, "expected an integer", line);
    return std::nullopt;
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude);
  if (ec == std::errc::result_out_of_range || end != text.data() + text.size())
    return negative ? below() : above();
  if (negative && magnitude != 0)
    return below(); // every integer key of the schema has a minimum >= 0
  if (magnitude > static_cast<uint64_t>(row.max))
    return above();
  auto value = static_cast<int64_t>(magnitude);
  if (value < row.min)
    return below();
  return value;
}

std::optional<double> spec_reader::parse_number(const yaml_node& x, const std::string& path,
                                                int line) {
  auto refuse = [&] {
    fail(path, "expected a number", line);
    return std::nullopt;
  };
  if (!x.is_plain())
    return refuse();
  std::string_view text = x.text;
  if (!text.empty() && text[0] == '+')
    text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::invalid_argument || end != text.data() + text.size() ||
      (ec == std::errc{} && !std::isfinite(value)))
    return refuse();
  if (ec == std::errc::result_out_of_range) // beyond a double: strtod says which way
    return std::strtod(std::string{text}.c_str(), nullptr);
  return value;
}

std::optional<double> spec_reader::read_number(const field& row, const yaml_node& x,
                                               const std::string& path, int line) {
  auto value = parse_number(x, path, line);
  if (!value)
    return std::nullopt;
  bool too_low = *value < row.low || (row.low_open && *value == row.low);
  bool too_high = *value > row.high || (row.high_open && *value == row.high);
  if (too_low || too_high) {
    fail(path, range_text(row), line);
    return std::nullopt;
  }
  return value;
}

std::optional<bool> spec_reader::read_bool(const yaml_node& x, const std::string& path, int line) {
  if (x.is_plain()) {
    const auto& text = x.text;
    if (text == "true" || text == "True" || text == "TRUE")
      return true;
    if (text == "false" || text == "False" || text == "FALSE")
      return false;
  }
  fail(path, "expected true or false", line);
  return std::nullopt;
}

bool spec_reader::read_list(const field& row, const yaml_node& x, const std::string& path, int line,
                            void* target, field_value& out) {
  if (!x.is_sequence()) {
    fail(path, row.expect.empty() ? "expected a sequence" : std::string{row.expect}, line);
    return false;
  }
  if (row.non_empty && x.items.empty()) {
    fail(path, "must not be empty", line);
    return false;
  }
  const auto& item_row = *row.item;
  bool ok = true;
  std::unordered_map<std::string, int> seen; // unique items: text -> line of its first use
  for (size_t i = 0; i < x.items.size(); ++i) {
    const auto& item = *x.items[i];
    auto item_path = index_path(path, i);
    if (item_row.kind != value_kind::string) {
      ok = read_value(item_row, item, item_path, item.line, target, {}, i).has_value() && ok;
      continue;
    }
    auto text = read_text(item_row, item, item_path, item.line);
    if (!text) {
      ok = false;
      continue;
    }
    if (!row.noun.empty()) {
      auto [first, first_use] = seen.emplace(*text, item.line);
      if (!first_use) {
        fail(item_path,
             "duplicate " + std::string{row.noun} + " '" + excerpt(*text) + "' (first at line " +
                 std::to_string(first->second) + ")",
             item.line);
        ok = false;
        continue;
      }
    }
    if (item_row.set) {
      field_value v{.row = &item_row, .node = &item, .path = item_path, .line = item.line};
      v.index = i;
      v.text = *text;
      item_row.set(target, v, *this);
    }
    out.texts.push_back(std::move(*text));
  }
  return ok;
}

bool spec_reader::read_map(const field& row, const yaml_node& x, const std::string& path, int line,
                           void* target) {
  if (!x.is_mapping()) {
    fail(path, row.expect.empty() ? "expected a mapping" : std::string{row.expect}, line);
    return false;
  }
  bool ok = true;
  entries(
      x, path,
      [&](std::string_view key, const yaml_node& value, const std::string& key_path, int key_line) {
        if (row.key_format == text_format::name && !is_name(key)) {
          fail(key_path, key.empty() ? "must not be empty" : "must match [A-Za-z0-9_-]+", key_line);
          ok = false;
        }
        ok = read_value(*row.item, value, key_path, key_line, target, key).has_value() && ok;
      });
  return ok;
}

std::optional<std::string> spec_reader::read_json_object(const field& row, const yaml_node& x,
                                                         const std::string& path, int line) {
  if (!x.is_mapping()) {
    fail(path, row.expect.empty() ? "expected a mapping" : std::string{row.expect}, line);
    return std::nullopt;
  }
  std::string json;
  if (auto problem = yaml_to_json(x, json)) {
    fail(path, std::move(*problem), line);
    return std::nullopt;
  }
  const auto* type = x.find("type");
  if (!type || !type->is_scalar() || type->text != "object") {
    fail(path, "must be a JSON schema of type object (type: object)", line);
    return std::nullopt;
  }
  if (const auto* properties = x.find("properties"); properties && !properties->is_mapping()) {
    fail(join_path(path, "properties"), "expected a mapping", properties->line);
    return std::nullopt;
  }
  return json;
}

std::optional<field_value> spec_reader::read_value(const field& row, const yaml_node& node,
                                                   const std::string& path, int line, void* target,
                                                   std::string_view key, size_t index) {
  field_value v{.row = &row, .node = &node, .path = path, .line = line};
  v.key = std::string{key};
  v.index = index;
  switch (row.kind) {
  case value_kind::string: {
    auto text = read_text(row, node, path, line);
    if (!text)
      return std::nullopt;
    v.text = std::move(*text);
    break;
  }
  case value_kind::integer: {
    auto n = read_integer(row, node, path, line);
    if (!n)
      return std::nullopt;
    v.integer = *n;
    break;
  }
  case value_kind::number: {
    auto n = read_number(row, node, path, line);
    if (!n)
      return std::nullopt;
    v.number = *n;
    break;
  }
  case value_kind::boolean: {
    auto b = read_bool(node, path, line);
    if (!b)
      return std::nullopt;
    v.flag = *b;
    break;
  }
  case value_kind::choice: {
    if (!node.is_scalar()) {
      fail(path, "expected a string", line);
      return std::nullopt;
    }
    if (!std::any_of(row.choices.begin(), row.choices.end(),
                     [&](std::string_view c) { return c == node.text; })) {
      if (row.noun.empty())
        fail(path,
             "must be one of " + comma_list(row.choices) + " (got '" + excerpt(node.text) + "')",
             line);
      else
        fail(path,
             "unknown " + std::string{row.noun} + " '" + excerpt(node.text) +
                 "' (supported: " + comma_list(row.choices) + ")",
             line);
      return std::nullopt;
    }
    v.text = node.text;
    break;
  }
  case value_kind::list:
    if (!read_list(row, node, path, line, target, v))
      return std::nullopt;
    break;
  case value_kind::map:
    if (!read_map(row, node, path, line, target))
      return std::nullopt;
    break;
  case value_kind::object:
    // A swarm checks its own shape: it is recorded even when it is not a mapping.
    if (!node.is_mapping() && row.object != &swarm_table) {
      fail(path, row.expect.empty() ? "expected a mapping" : std::string{row.expect}, line);
      return std::nullopt;
    }
    break;
  case value_kind::json_object: {
    auto json = read_json_object(row, node, path, line);
    if (!json)
      return std::nullopt;
    v.text = std::move(*json);
    break;
  }
  }
  if (row.set)
    row.set(target, v, *this);
  return v;
}

object_keys spec_reader::read_object(const table& t, const yaml_node& node, const std::string& path,
                                     void* target, int required_line) {
  object_keys keys;
  entries(
      node, path,
      [&](std::string_view key, const yaml_node& value, const std::string& key_path, int key_line) {
        const field* row = t.find(key);
        void* row_target = target;
        if (!row && t.shared) {
          row = t.shared->find(key);
          row_target = t.shared_target(target);
        }
        if (!row) {
          fail(key_path, unknown_key_message(key, keys_of(t)), key_line);
          return;
        }
        keys.given.emplace(std::string{key}, key_line);
        auto before = problems_.size();
        auto v = read_value(*row, value, key_path, key_line, row_target);
        if (problems_.size() != before)
          keys.refused.emplace(key);
        else if (v && (row->kind == value_kind::string || row->kind == value_kind::choice))
          keys.texts.emplace(std::string{key}, v->text);
      });
  for (const auto& row : t.fields)
    if (row.required && !keys.given.contains(std::string{row.key}))
      fail(join_path(path, row.key), "is required", required_line);
  return keys;
}

void spec_reader::read_swarm(swarm_draft& out, const yaml_node& node, int line) {
  out.node.line = line;
  if (!node.is_mapping()) {
    fail(out.path, "expected a mapping", line);
    out.is_map = false;
    return;
  }
  out.node.line = node.line;
  // The architecture decides which keys apply, wherever it stands in the mapping.
  if (const auto* architecture = node.find("architecture")) {
    out.known_architecture =
        architecture->is_scalar() && find_architecture(architecture->text) != nullptr;
    if (out.known_architecture)
      out.node.architecture = architecture->text;
  }
  const std::string effective = out.node.architecture;
  const auto* options = find_architecture(effective);
  auto* enclosing = current_swarm;
  current_swarm = &out;
  entries(
      node, out.path,
      [&](std::string_view key, const yaml_node& value, const std::string& key_path, int key_line) {
        if (!contains(all_swarm_keys(), key)) {
          fail(key_path, unknown_key_message(key, all_swarm_keys()), key_line);
          return;
        }
        if (out.known_architecture && !swarm_table.find(key) && !options->options->find(key)) {
          fail(key_path,
               "key '" + std::string{key} + "' does not apply to architecture '" + effective + "'",
               key_line);
          return;
        }
        out.keys.given.emplace(std::string{key}, key_line);
        // Under an architecture that is not known (misspelt, not a string) the key is read as
        // whichever architecture has it: looking it up under the default one found nothing
        // for, say, `lead:` and read through a null row (found by fuzz/spec_yaml).
        const auto* row =
            find_swarm_field(out.known_architecture ? effective : std::string_view{}, key);
        auto before = problems_.size();
        auto v = read_value(*row, value, key_path, key_line, &out);
        if (problems_.size() != before)
          out.keys.refused.emplace(key);
        else if (v && (row->kind == value_kind::string || row->kind == value_kind::choice))
          out.keys.texts.emplace(std::string{key}, v->text);
      });
  current_swarm = enclosing;
}

} // namespace swarm::detail
