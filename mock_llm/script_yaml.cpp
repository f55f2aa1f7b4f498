// The mock LLM's script from YAML: read with the shared located YAML reader
// (runtime/core/yaml_tree.hpp), every value checked with its path and line, unknown keys with the
// nearest known one, YAML values as JSON by the same conversion as the spec's.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "mock_llm/json_text.hpp"
#include "mock_llm/script.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/yaml_tree.hpp"

namespace swarm::mock_llm {

namespace {

/// Thrown inside this file only; parse_script turns it into an error value.
struct script_error {
  located_problem problem;
};

[[noreturn]] void fail(const std::string& path, const yaml_node& node, std::string message) {
  throw script_error{{path, std::move(message), node.line}};
}

/// Calls f(key, value, path_of_value, key_node) for each entry of a mapping; a key given twice is
/// an error; unknown keys are the caller's to report.
template <class F>
void for_each_entry(const yaml_node& map, const std::string& path, F&& f) {
  if (!map.is_mapping())
    fail(path, map, "expected a mapping");
  std::unordered_map<std::string_view, int> seen; // key -> line of its first use
  for (const auto& [key, value] : map.entries) {
    if (!key->is_scalar())
      fail(path, *key, "expected a string key");
    auto at = join_path(path, key->text);
    auto [first, first_use] = seen.emplace(key->text, key->line);
    if (!first_use)
      fail(at, *key, "duplicate key (first at line " + std::to_string(first->second) + ")");
    f(key->text, *value, at, *key);
  }
}

/// "unknown key (did you mean 'reply'?)", or with no key close: the keys it may be.
[[noreturn]] void unknown_key(const std::string& path, const yaml_node& key,
                              std::initializer_list<std::string_view> expected) {
  std::span<const std::string_view> known{expected.begin(), expected.size()};
  auto message = unknown_key_message(key.text, known);
  if (message.find("did you mean") == std::string::npos)
    message += " (expected one of: " + comma_list(known) + ")";
  fail(path, key, std::move(message));
}

std::string as_string(const yaml_node& node, const std::string& path) {
  if (!node.is_scalar())
    fail(path, node, "expected a string");
  return node.text;
}

uint64_t as_uint(const yaml_node& node, const std::string& path) {
  uint64_t x = 0;
  if (node.is_plain()) {
    const auto& s = node.text;
    auto res = std::from_chars(s.data(), s.data() + s.size(), x);
    if (!s.empty() && res.ec == std::errc{} && res.ptr == s.data() + s.size())
      return x;
  }
  fail(path, node, "expected a non-negative integer");
}

double as_double(const yaml_node& node, const std::string& path) {
  double x = 0;
  if (node.is_plain()) {
    const auto& s = node.text;
    auto res = std::from_chars(s.data(), s.data() + s.size(), x);
    if (!s.empty() && res.ec == std::errc{} && res.ptr == s.data() + s.size() && std::isfinite(x))
      return x;
  }
  fail(path, node, "expected a number");
}

double as_non_negative(const yaml_node& node, const std::string& path) {
  auto x = as_double(node, path);
  if (x < 0)
    fail(path, node, "expected a number >= 0");
  return x;
}

/// YAML as JSON text (plain scalars that read as null, booleans or numbers keep that type),
/// bounded: aliases may make a small script huge.
std::string as_json(const yaml_node& node, const std::string& path) {
  constexpr json_limits limits{.max_depth = 64, .max_bytes = 1 << 20};
  std::string out;
  if (auto problem = yaml_to_json(node, out, limits))
    fail(path, node, std::move(*problem));
  return out;
}

/// A `match:` regex, compiled by swarm::pattern (RE2 syntax: linear in the text it searches).
pattern parse_pattern(const yaml_node& node, const std::string& path) {
  auto compiled = pattern::compile(as_string(node, path));
  if (!compiled)
    fail(path, node, std::move(compiled.problem));
  return std::move(*compiled.value);
}

match_spec parse_match(const yaml_node& node, const std::string& path) {
  match_spec m;
  for_each_entry(node, path,
                 [&](const std::string& key, const yaml_node& value, const std::string& at,
                     const yaml_node& key_node) {
                   if (key == "model")
                     m.model = parse_pattern(value, at);
                   else if (key == "system")
                     m.system = parse_pattern(value, at);
                   else if (key == "user")
                     m.user = parse_pattern(value, at);
                   else if (key == "history")
                     m.history = parse_pattern(value, at);
                   else
                     unknown_key(at, key_node, {"model", "system", "user", "history"});
                 });
  return m;
}

latency_spec parse_latency(const yaml_node& node, const std::string& path) {
  latency_spec l;
  size_t count = 0;
  for_each_entry(node, path,
                 [&](const std::string& key, const yaml_node& value, const std::string& at,
                     const yaml_node& key_node) {
                   ++count;
                   if (key == "fixed_ms") {
                     l.dist = latency_spec::distribution::fixed;
                     l.a = as_non_negative(value, at);
                   } else if (key == "uniform_ms") {
                     if (!value.is_sequence() || value.items.size() != 2)
                       fail(at, value, "expected [low, high]");
                     l.dist = latency_spec::distribution::uniform;
                     l.a = as_non_negative(*value.items[0], index_path(at, 0));
                     l.b = as_non_negative(*value.items[1], index_path(at, 1));
                     if (l.b < l.a)
                       fail(at, value, "expected low <= high");
                   } else if (key == "normal_ms") {
                     l.dist = latency_spec::distribution::normal;
                     bool mean = false;
                     bool stddev = false;
                     for_each_entry(value, at,
                                    [&](const std::string& k, const yaml_node& v,
                                        const std::string& at2, const yaml_node& kn) {
                                      if (k == "mean") {
                                        l.a = as_non_negative(v, at2);
                                        mean = true;
                                      } else if (k == "stddev") {
                                        l.b = as_non_negative(v, at2);
                                        stddev = true;
                                      } else {
                                        unknown_key(at2, kn, {"mean", "stddev"});
                                      }
                                    });
                     if (!mean || !stddev)
                       fail(at, value, "expected mean and stddev");
                   } else {
                     unknown_key(at, key_node, {"fixed_ms", "uniform_ms", "normal_ms"});
                   }
                 });
  if (count != 1)
    fail(path, node, "expected exactly one of fixed_ms, uniform_ms, normal_ms");
  return l;
}

std::vector<tool_call_spec> parse_tool_calls(const yaml_node& node, const std::string& path) {
  if (!node.is_sequence() || node.items.empty())
    fail(path, node, "expected a non-empty sequence");
  std::vector<tool_call_spec> out;
  for (size_t i = 0; i < node.items.size(); ++i) {
    auto at = index_path(path, i);
    tool_call_spec tc;
    tc.arguments = "{}";
    bool named = false;
    for_each_entry(*node.items[i], at,
                   [&](const std::string& key, const yaml_node& value, const std::string& at2,
                       const yaml_node& key_node) {
                     if (key == "name") {
                       tc.name = as_string(value, at2);
                       named = true;
                     } else if (key == "arguments") {
                       // A quoted string is the JSON text itself.
                       tc.arguments =
                           value.is_scalar() && value.quoted ? value.text : as_json(value, at2);
                     } else {
                       unknown_key(at2, key_node, {"name", "arguments"});
                     }
                   });
    if (!named)
      fail(at, *node.items[i], "missing key name");
    out.push_back(std::move(tc));
  }
  return out;
}

rule parse_rule(const yaml_node& node, const std::string& path, bool is_default) {
  rule r;
  r.line = node.line;
  std::optional<std::pair<std::string, const yaml_node*>> reply_text;
  size_t contents = 0;
  for_each_entry(
      node, path,
      [&](const std::string& key, const yaml_node& value, const std::string& at,
          const yaml_node& key_node) {
        if (key == "match" && !is_default) {
          r.match = parse_match(value, at);
        } else if (key == "reply") {
          reply_text.emplace(at, &value);
          ++contents;
        } else if (key == "json") {
          r.json = as_json(value, at);
          ++contents;
        } else if (key == "tool_calls") {
          r.tool_calls = parse_tool_calls(value, at);
          ++contents;
        } else if (key == "latency_ms") {
          r.latency_ms = as_non_negative(value, at);
        } else if (key == "logprob") {
          r.logprob = as_double(value, at);
          if (*r.logprob > 0)
            fail(at, value, "expected a number <= 0");
        } else if (key == "usage" && value.is_scalar()) {
          if (value.text != "none")
            fail(at, value, "expected a mapping or none");
          r.omit_usage = true;
        } else if (key == "usage") {
          for_each_entry(value, at,
                         [&](const std::string& k, const yaml_node& v, const std::string& at2,
                             const yaml_node& kn) {
                           if (k == "prompt_tokens")
                             r.prompt_tokens = as_uint(v, at2);
                           else if (k == "completion_tokens")
                             r.completion_tokens = as_uint(v, at2);
                           else
                             unknown_key(at2, kn, {"prompt_tokens", "completion_tokens"});
                         });
        } else if (is_default) {
          unknown_key(at, key_node,
                      {"reply", "json", "tool_calls", "latency_ms", "logprob", "usage"});
        } else {
          unknown_key(at, key_node,
                      {"match", "reply", "json", "tool_calls", "latency_ms", "logprob", "usage"});
        }
      });
  if (contents == 0)
    fail(path, node, "expected one of reply, json, tool_calls");
  if (contents > 1)
    fail(path, node, "reply, json and tool_calls exclude each other");
  if (reply_text) {
    const auto& [at, value] = *reply_text;
    auto text = as_string(*value, at);
    auto t = compile_template(text);
    if (!t)
      fail(at, *value, describe(t.error()).substr(std::string_view{"invalid_spec: "}.size()));
    size_t groups = r.match.user ? r.match.user->group_count() : 0;
    if (t->max_group > groups) {
      if (!r.match.user)
        fail(at, *value, "{{match." + std::to_string(t->max_group) + "}} needs a match.user regex");
      fail(at, *value,
           "{{match." + std::to_string(t->max_group) + "}} but match.user has " +
               std::to_string(groups) + " group(s)");
    }
    r.reply = std::move(*t);
  }
  return r;
}

std::optional<fault_kind> parse_fault_kind(std::string_view s) {
  for (auto k : all_fault_kinds)
    if (to_string(k) == s)
      return k;
  return std::nullopt;
}

fault_spec parse_fault(const yaml_node& node, const std::string& path) {
  fault_spec f;
  f.line = node.line;
  bool has_kind = false;
  // Where a key that only one kind takes was given, checked once the kind is known.
  const yaml_node* retry_key = nullptr;
  const yaml_node* midway_key = nullptr;
  const yaml_node* bytes_key = nullptr;
  for_each_entry(node, path,
                 [&](const std::string& key, const yaml_node& value, const std::string& at,
                     const yaml_node& key_node) {
                   if (key == "kind") {
                     auto text = as_string(value, at);
                     auto k = parse_fault_kind(text);
                     if (!k) {
                       std::string msg = "unknown fault kind ";
                       json_text::append_string(msg, text);
                       msg += " (expected ";
                       for (auto known : all_fault_kinds) {
                         if (known != all_fault_kinds[0])
                           msg += ", ";
                         msg += to_string(known);
                       }
                       msg += ')';
                       fail(at, value, std::move(msg));
                     }
                     f.kind = *k;
                     has_kind = true;
                   } else if (key == "first") {
                     f.first = as_uint(value, at);
                   } else if (key == "nth") {
                     if (!value.is_sequence())
                       fail(at, value, "expected a sequence of request numbers");
                     for (size_t i = 0; i < value.items.size(); ++i) {
                       const auto& item = *value.items[i];
                       auto x = as_uint(item, index_path(at, i));
                       if (x == 0)
                         fail(index_path(at, i), item, "expected a request number >= 1");
                       f.nth.push_back(x);
                     }
                   } else if (key == "rate") {
                     auto x = as_double(value, at);
                     if (x < 0 || x > 1)
                       fail(at, value, "expected a number between 0 and 1");
                     f.rate = x;
                   } else if (key == "match") {
                     f.match = parse_match(value, at);
                   } else if (key == "retry_after_s") {
                     retry_key = &key_node;
                     if (value.is_plain() && value.text == "none") {
                       f.retry_after_s.reset();
                       return;
                     }
                     uint64_t x = 0;
                     if (value.is_plain() && !value.text.empty()) {
                       const auto& t = value.text;
                       auto res = std::from_chars(t.data(), t.data() + t.size(), x);
                       if (res.ec != std::errc{} || res.ptr != t.data() + t.size())
                         fail(at, value, "expected a number of seconds (0 to 86400) or none");
                     } else {
                       fail(at, value, "expected a number of seconds (0 to 86400) or none");
                     }
                     if (x > 86400)
                       fail(at, value, "expected at most 86400 seconds, or none");
                     f.retry_after_s = static_cast<uint32_t>(x);
                   } else if (key == "midway") {
                     midway_key = &key_node;
                     if (!value.is_plain() || (value.text != "true" && value.text != "false"))
                       fail(at, value, "expected true or false");
                     f.midway = value.text == "true";
                   } else if (key == "bytes") {
                     bytes_key = &key_node;
                     auto x = as_uint(value, at);
                     if (x == 0 || x > max_huge_reply_bytes)
                       fail(at, value,
                            "expected a size from 1 to " + std::to_string(max_huge_reply_bytes) +
                                " bytes");
                     f.bytes = x;
                   } else {
                     unknown_key(at, key_node,
                                 {"kind", "first", "nth", "rate", "match", "retry_after_s",
                                  "midway", "bytes"});
                   }
                 });
  if (!has_kind)
    fail(path, node, "missing key kind");
  auto only = [&](const yaml_node* key, std::string_view name, fault_kind kind) {
    if (key && f.kind != kind)
      fail(join_path(path, std::string{name}), *key,
           "only " + std::string{to_string(kind)} + " takes " + std::string{name});
  };
  only(retry_key, "retry_after_s", fault_kind::http_429);
  only(midway_key, "midway", fault_kind::reset);
  only(bytes_key, "bytes", fault_kind::huge_reply);
  return f;
}

script parse_document(const yaml_node& root, std::string_view source) {
  script s;
  s.source = std::string{source};
  if (root.is_null())
    return s;
  if (!root.is_mapping())
    fail("", root, "expected a mapping at the top level");
  for_each_entry(root, "",
                 [&](const std::string& key, const yaml_node& value, const std::string& at,
                     const yaml_node& key_node) {
                   auto sequence = [&](std::string_view expected) {
                     if (!value.is_sequence())
                       fail(at, value, std::string{expected});
                     return value.items;
                   };
                   if (key == "seed") {
                     s.seed = as_uint(value, at);
                   } else if (key == "latency") {
                     s.latency = parse_latency(value, at);
                   } else if (key == "default") {
                     s.fallback = parse_rule(value, at, true);
                   } else if (key == "rules") {
                     auto items = sequence("expected a sequence");
                     for (size_t i = 0; i < items.size(); ++i)
                       s.rules.push_back(parse_rule(*items[i], index_path(at, i), false));
                   } else if (key == "faults") {
                     auto items = sequence("expected a sequence");
                     for (size_t i = 0; i < items.size(); ++i)
                       s.faults.push_back(parse_fault(*items[i], index_path(at, i)));
                   } else if (key == "models") {
                     auto items = sequence("expected a sequence of strings");
                     for (size_t i = 0; i < items.size(); ++i)
                       s.models.push_back(as_string(*items[i], index_path(at, i)));
                   } else if (key == "embeddings") {
                     for_each_entry(value, at,
                                    [&](const std::string& k, const yaml_node& v,
                                        const std::string& at2, const yaml_node& kn) {
                                      if (k != "dimensions")
                                        unknown_key(at2, kn, {"dimensions"});
                                      auto d = as_uint(v, at2);
                                      if (d == 0 || d > 65536)
                                        fail(at2, v, "expected 1..65536");
                                      s.embedding_dimensions = d;
                                    });
                   } else {
                     unknown_key(
                         at, key_node,
                         {"seed", "latency", "default", "rules", "faults", "models", "embeddings"});
                   }
                 });
  return s;
}

} // namespace

caf::expected<script> parse_script(std::string_view text, std::string_view source) {
  auto error = [&](const located_problem& problem) {
    return make_error(errc::invalid_spec, std::string{source} + ": " + to_string(problem));
  };
  try {
    auto parsed = parse_yaml(text);
    if (parsed.problem)
      return error(*parsed.problem);
    return parse_document(parsed.document->root(), source);
  } catch (const script_error& e) {
    return error(e.problem);
  } catch (const std::exception& e) {
    return make_error(errc::invalid_spec, std::string{source} + ": " + e.what());
  }
}

caf::expected<script> load_script(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::io_error, "cannot read script " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return make_error(errc::io_error, "cannot read script " + path);
  return parse_script(text.str(), path);
}

} // namespace swarm::mock_llm
