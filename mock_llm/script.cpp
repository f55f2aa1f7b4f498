// The mock LLM's script: YAML loading with located errors, matching, templating, faults, plans.
#include "mock_llm/script.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "mock_llm/json_text.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::mock_llm {

// -- templates ------------------------------------------------------------------------------------

caf::expected<reply_template> compile_template(std::string_view text) {
  reply_template t;
  auto add_text = [&](std::string_view s) {
    if (s.empty())
      return;
    if (!t.parts.empty() && t.parts.back().kind == reply_template::part_kind::text)
      t.parts.back().text.append(s);
    else
      t.parts.push_back({reply_template::part_kind::text, std::string{s}, 0});
  };
  size_t pos = 0;
  while (pos < text.size()) {
    auto open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      add_text(text.substr(pos));
      break;
    }
    add_text(text.substr(pos, open - pos));
    auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      return make_error(errc::invalid_spec, "unterminated {{ in template");
    auto name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ')
      name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ')
      name.remove_suffix(1);
    using pk = reply_template::part_kind;
    if (name == "user") {
      t.parts.push_back({pk::user, {}, 0});
    } else if (name == "system") {
      t.parts.push_back({pk::system, {}, 0});
    } else if (name == "model") {
      t.parts.push_back({pk::model, {}, 0});
    } else if (name == "n") {
      t.parts.push_back({pk::n, {}, 0});
    } else if (name == "name") {
      t.parts.push_back({pk::name, {}, 0});
    } else if (name.starts_with("match.")) {
      auto digits = name.substr(6);
      size_t group = 0;
      auto res = std::from_chars(digits.data(), digits.data() + digits.size(), group);
      if (digits.empty() || res.ec != std::errc{} || res.ptr != digits.data() + digits.size())
        return make_error(errc::invalid_spec,
                          "unknown template variable {{" + std::string{name} + "}}");
      t.parts.push_back({pk::match, {}, group});
      t.max_group = std::max(t.max_group, group);
    } else {
      return make_error(errc::invalid_spec,
                        "unknown template variable {{" + std::string{name} + "}}");
    }
    pos = close + 2;
  }
  return t;
}

std::string render_template(const reply_template& t, const chat_request& req, uint64_t n,
                            const std::vector<std::string>& groups) {
  std::string out;
  for (const auto& p : t.parts) {
    switch (p.kind) {
    case reply_template::part_kind::text:
      out += p.text;
      break;
    case reply_template::part_kind::user:
      out += req.user;
      break;
    case reply_template::part_kind::system:
      out += req.system;
      break;
    case reply_template::part_kind::model:
      out += req.model;
      break;
    case reply_template::part_kind::n:
      json_text::append_uint(out, n);
      break;
    case reply_template::part_kind::name:
      out += req.user_name;
      break;
    case reply_template::part_kind::match:
      if (p.group < groups.size())
        out += groups[p.group];
      break;
    }
  }
  return out;
}

std::string_view to_string(fault_kind x) {
  switch (x) {
  case fault_kind::http_429:
    return "http_429";
  case fault_kind::http_500:
    return "http_500";
  case fault_kind::stall:
    return "stall";
  case fault_kind::truncate:
    return "truncate";
  case fault_kind::invalid_json:
    return "invalid_json";
  case fault_kind::refuse_response_format:
    return "refuse_response_format";
  }
  return "unknown";
}

rule script::default_rule() {
  rule r;
  r.reply = *compile_template("Mock answer from {{model}} to: {{user}}");
  return r;
}

// -- YAML loading ---------------------------------------------------------------------------------

namespace {

/// Thrown inside this file only; parse_script turns it into an error value.
struct script_error {
  std::string path;
  std::string message;
  int line = 0;
};

[[noreturn]] void fail(const std::string& path, const YAML::Node& node, std::string message) {
  throw script_error{path, std::move(message), node.Mark().line + 1};
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

/// Calls f(key, value, path_of_value) for each entry; unknown keys are the caller's to report.
template <class F>
void for_each_entry(const YAML::Node& map, const std::string& path, F&& f) {
  if (!map.IsMap())
    fail(path, map, "expected a mapping");
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies: the iterator hands out a temporary pair.
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    if (!key.IsScalar())
      fail(path, key, "expected a string key");
    f(key.Scalar(), value, child(path, key.Scalar()), key);
  }
}

[[noreturn]] void unknown_key(const std::string& path, const YAML::Node& key,
                              std::string_view expected) {
  fail(path, key, "unknown key (expected one of: " + std::string{expected} + ")");
}

bool is_quoted(const YAML::Node& node) {
  return node.Tag() == "!";
}

std::string as_string(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar())
    fail(path, node, "expected a string");
  return node.Scalar();
}

uint64_t as_uint(const YAML::Node& node, const std::string& path) {
  uint64_t x = 0;
  if (node.IsScalar() && !is_quoted(node)) {
    const auto& s = node.Scalar();
    auto res = std::from_chars(s.data(), s.data() + s.size(), x);
    if (!s.empty() && res.ec == std::errc{} && res.ptr == s.data() + s.size())
      return x;
  }
  fail(path, node, "expected a non-negative integer");
}

double as_double(const YAML::Node& node, const std::string& path) {
  double x = 0;
  if (node.IsScalar() && !is_quoted(node)) {
    const auto& s = node.Scalar();
    auto res = std::from_chars(s.data(), s.data() + s.size(), x);
    if (!s.empty() && res.ec == std::errc{} && res.ptr == s.data() + s.size() && std::isfinite(x))
      return x;
  }
  fail(path, node, "expected a number");
}

double as_non_negative(const YAML::Node& node, const std::string& path) {
  auto x = as_double(node, path);
  if (x < 0)
    fail(path, node, "expected a number >= 0");
  return x;
}

/// True if `s` is a JSON number literal.
bool is_json_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-')
    ++i;
  if (i < s.size() && s[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits())
      return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
      ++i;
    if (!digits())
      return false;
  }
  return i == s.size();
}

/// YAML as JSON text: plain scalars that read as null, booleans or numbers keep that type.
void append_yaml_as_json(std::string& out, const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    out += "null";
    return;
  case YAML::NodeType::Scalar: {
    const auto& s = node.Scalar();
    if (!is_quoted(node)) {
      if (s == "~" || s == "null" || s == "Null" || s == "NULL") {
        out += "null";
        return;
      }
      if (s == "true" || s == "True" || s == "TRUE") {
        out += "true";
        return;
      }
      if (s == "false" || s == "False" || s == "FALSE") {
        out += "false";
        return;
      }
      if (is_json_number(s)) {
        out += s;
        return;
      }
    }
    json_text::append_string(out, s);
    return;
  }
  case YAML::NodeType::Sequence: {
    out.push_back('[');
    bool first = true;
    for (const auto& x : node) {
      if (!first)
        out.push_back(',');
      first = false;
      append_yaml_as_json(out, x);
    }
    out.push_back(']');
    return;
  }
  case YAML::NodeType::Map: {
    out.push_back('{');
    bool first = true;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!first)
        out.push_back(',');
      first = false;
      json_text::append_string(out, it->first.IsScalar() ? it->first.Scalar() : "");
      out.push_back(':');
      append_yaml_as_json(out, it->second);
    }
    out.push_back('}');
    return;
  }
  }
}

std::string_view describe_regex_error(std::regex_constants::error_type code) {
  namespace rc = std::regex_constants;
  switch (code) {
  case rc::error_collate:
    return "invalid collating element";
  case rc::error_ctype:
    return "invalid character class";
  case rc::error_escape:
    return "invalid escape";
  case rc::error_backref:
    return "invalid back reference";
  case rc::error_brack:
    return "unbalanced bracket";
  case rc::error_paren:
    return "unbalanced parenthesis";
  case rc::error_brace:
    return "unbalanced brace";
  case rc::error_badbrace:
    return "invalid range in braces";
  case rc::error_range:
    return "invalid character range";
  case rc::error_space:
  case rc::error_complexity:
  case rc::error_stack:
    return "too complex";
  case rc::error_badrepeat:
    return "nothing to repeat";
  default:
    return "invalid expression";
  }
}

pattern parse_pattern(const YAML::Node& node, const std::string& path) {
  pattern p;
  p.source = as_string(node, path);
  try {
    p.re = std::regex{p.source, std::regex::ECMAScript};
  } catch (const std::regex_error& e) {
    std::string msg = "invalid regex ";
    json_text::append_string(msg, p.source);
    msg += ": ";
    msg += describe_regex_error(e.code());
    fail(path, node, std::move(msg));
  }
  return p;
}

match_spec parse_match(const YAML::Node& node, const std::string& path) {
  match_spec m;
  for_each_entry(node, path,
                 [&](const std::string& key, const YAML::Node& value, const std::string& at,
                     const YAML::Node& key_node) {
                   if (key == "model")
                     m.model = parse_pattern(value, at);
                   else if (key == "system")
                     m.system = parse_pattern(value, at);
                   else if (key == "user")
                     m.user = parse_pattern(value, at);
                   else if (key == "history")
                     m.history = parse_pattern(value, at);
                   else
                     unknown_key(at, key_node, "model, system, user, history");
                 });
  return m;
}

latency_spec parse_latency(const YAML::Node& node, const std::string& path) {
  latency_spec l;
  size_t count = 0;
  for_each_entry(node, path,
                 [&](const std::string& key, const YAML::Node& value, const std::string& at,
                     const YAML::Node& key_node) {
                   ++count;
                   if (key == "fixed_ms") {
                     l.dist = latency_spec::distribution::fixed;
                     l.a = as_non_negative(value, at);
                   } else if (key == "uniform_ms") {
                     if (!value.IsSequence() || value.size() != 2)
                       fail(at, value, "expected [low, high]");
                     l.dist = latency_spec::distribution::uniform;
                     l.a = as_non_negative(value[0], index(at, 0));
                     l.b = as_non_negative(value[1], index(at, 1));
                     if (l.b < l.a)
                       fail(at, value, "expected low <= high");
                   } else if (key == "normal_ms") {
                     l.dist = latency_spec::distribution::normal;
                     bool mean = false;
                     bool stddev = false;
                     for_each_entry(value, at,
                                    [&](const std::string& k, const YAML::Node& v,
                                        const std::string& at2, const YAML::Node& kn) {
                                      if (k == "mean") {
                                        l.a = as_non_negative(v, at2);
                                        mean = true;
                                      } else if (k == "stddev") {
                                        l.b = as_non_negative(v, at2);
                                        stddev = true;
                                      } else {
                                        unknown_key(at2, kn, "mean, stddev");
                                      }
                                    });
                     if (!mean || !stddev)
                       fail(at, value, "expected mean and stddev");
                   } else {
                     unknown_key(at, key_node, "fixed_ms, uniform_ms, normal_ms");
                   }
                 });
  if (count != 1)
    fail(path, node, "expected exactly one of fixed_ms, uniform_ms, normal_ms");
  return l;
}

std::vector<tool_call_spec> parse_tool_calls(const YAML::Node& node, const std::string& path) {
  if (!node.IsSequence() || node.size() == 0)
    fail(path, node, "expected a non-empty sequence");
  std::vector<tool_call_spec> out;
  for (size_t i = 0; i < node.size(); ++i) {
    auto at = index(path, i);
    tool_call_spec tc;
    tc.arguments = "{}";
    bool named = false;
    for_each_entry(node[i], at,
                   [&](const std::string& key, const YAML::Node& value, const std::string& at2,
                       const YAML::Node& key_node) {
                     if (key == "name") {
                       tc.name = as_string(value, at2);
                       named = true;
                     } else if (key == "arguments") {
                       tc.arguments.clear();
                       if (value.IsScalar() && is_quoted(value))
                         tc.arguments = value.Scalar(); // given as JSON text
                       else
                         append_yaml_as_json(tc.arguments, value);
                     } else {
                       unknown_key(at2, key_node, "name, arguments");
                     }
                   });
    if (!named)
      fail(at, node[i], "missing key name");
    out.push_back(std::move(tc));
  }
  return out;
}

rule parse_rule(const YAML::Node& node, const std::string& path, bool is_default) {
  rule r;
  r.line = node.Mark().line + 1;
  std::optional<std::pair<std::string, YAML::Node>> reply_text;
  size_t contents = 0;
  for_each_entry(node, path,
                 [&](const std::string& key, const YAML::Node& value, const std::string& at,
                     const YAML::Node& key_node) {
                   if (key == "match" && !is_default) {
                     r.match = parse_match(value, at);
                   } else if (key == "reply") {
                     reply_text.emplace(at, value);
                     ++contents;
                   } else if (key == "json") {
                     r.json.emplace();
                     append_yaml_as_json(*r.json, value);
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
                   } else if (key == "usage" && value.IsScalar()) {
                     if (value.Scalar() != "none")
                       fail(at, value, "expected a mapping or none");
                     r.omit_usage = true;
                   } else if (key == "usage") {
                     for_each_entry(value, at,
                                    [&](const std::string& k, const YAML::Node& v,
                                        const std::string& at2, const YAML::Node& kn) {
                                      if (k == "prompt_tokens")
                                        r.prompt_tokens = as_uint(v, at2);
                                      else if (k == "completion_tokens")
                                        r.completion_tokens = as_uint(v, at2);
                                      else
                                        unknown_key(at2, kn, "prompt_tokens, completion_tokens");
                                    });
                   } else {
                     unknown_key(
                         at, key_node,
                         is_default ? "reply, json, tool_calls, latency_ms, logprob, usage"
                                    : "match, reply, json, tool_calls, latency_ms, logprob, usage");
                   }
                 });
  if (contents == 0)
    fail(path, node, "expected one of reply, json, tool_calls");
  if (contents > 1)
    fail(path, node, "reply, json and tool_calls exclude each other");
  if (reply_text) {
    const auto& [at, value] = *reply_text;
    auto text = as_string(value, at);
    auto t = compile_template(text);
    if (!t)
      fail(at, value, describe(t.error()).substr(std::string_view{"invalid_spec: "}.size()));
    size_t groups = r.match.user ? r.match.user->re.mark_count() : 0;
    if (t->max_group > groups) {
      if (!r.match.user)
        fail(at, value, "{{match." + std::to_string(t->max_group) + "}} needs a match.user regex");
      fail(at, value,
           "{{match." + std::to_string(t->max_group) + "}} but match.user has " +
               std::to_string(groups) + " group(s)");
    }
    r.reply = std::move(*t);
  }
  return r;
}

std::optional<fault_kind> parse_fault_kind(std::string_view s) {
  for (auto k :
       {fault_kind::http_429, fault_kind::http_500, fault_kind::stall, fault_kind::truncate,
        fault_kind::invalid_json, fault_kind::refuse_response_format})
    if (to_string(k) == s)
      return k;
  return std::nullopt;
}

fault_spec parse_fault(const YAML::Node& node, const std::string& path) {
  fault_spec f;
  f.line = node.Mark().line + 1;
  bool has_kind = false;
  std::optional<YAML::Node> retry_key; // where retry_after_s was given
  for_each_entry(node, path,
                 [&](const std::string& key, const YAML::Node& value, const std::string& at,
                     const YAML::Node& key_node) {
                   if (key == "kind") {
                     auto text = as_string(value, at);
                     auto k = parse_fault_kind(text);
                     if (!k) {
                       std::string msg = "unknown fault kind ";
                       json_text::append_string(msg, text);
                       msg += " (expected http_429, http_500, stall, truncate, invalid_json, "
                              "refuse_response_format)";
                       fail(at, value, std::move(msg));
                     }
                     f.kind = *k;
                     has_kind = true;
                   } else if (key == "first") {
                     f.first = as_uint(value, at);
                   } else if (key == "nth") {
                     if (!value.IsSequence())
                       fail(at, value, "expected a sequence of request numbers");
                     for (size_t i = 0; i < value.size(); ++i) {
                       auto x = as_uint(value[i], index(at, i));
                       if (x == 0)
                         fail(index(at, i), value[i], "expected a request number >= 1");
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
                     auto x = as_uint(value, at);
                     if (x > 86400)
                       fail(at, value, "expected at most 86400");
                     f.retry_after_s = static_cast<uint32_t>(x);
                     retry_key = key_node;
                   } else {
                     unknown_key(at, key_node, "kind, first, nth, rate, match, retry_after_s");
                   }
                 });
  if (!has_kind)
    fail(path, node, "missing key kind");
  if (retry_key && f.kind != fault_kind::http_429)
    fail(child(path, "retry_after_s"), *retry_key, "only http_429 takes retry_after_s");
  return f;
}

script parse_document(const YAML::Node& root, std::string_view source) {
  script s;
  s.source = std::string{source};
  if (root.IsNull())
    return s;
  if (!root.IsMap())
    fail("", root, "expected a mapping at the top level");
  for_each_entry(root, "",
                 [&](const std::string& key, const YAML::Node& value, const std::string& at,
                     const YAML::Node& key_node) {
                   if (key == "seed") {
                     s.seed = as_uint(value, at);
                   } else if (key == "latency") {
                     s.latency = parse_latency(value, at);
                   } else if (key == "default") {
                     s.fallback = parse_rule(value, at, true);
                   } else if (key == "rules") {
                     if (!value.IsSequence())
                       fail(at, value, "expected a sequence");
                     for (size_t i = 0; i < value.size(); ++i)
                       s.rules.push_back(parse_rule(value[i], index(at, i), false));
                   } else if (key == "faults") {
                     if (!value.IsSequence())
                       fail(at, value, "expected a sequence");
                     for (size_t i = 0; i < value.size(); ++i)
                       s.faults.push_back(parse_fault(value[i], index(at, i)));
                   } else if (key == "models") {
                     if (!value.IsSequence())
                       fail(at, value, "expected a sequence of strings");
                     for (size_t i = 0; i < value.size(); ++i)
                       s.models.push_back(as_string(value[i], index(at, i)));
                   } else if (key == "embeddings") {
                     for_each_entry(value, at,
                                    [&](const std::string& k, const YAML::Node& v,
                                        const std::string& at2, const YAML::Node& kn) {
                                      if (k != "dimensions")
                                        unknown_key(at2, kn, "dimensions");
                                      auto d = as_uint(v, at2);
                                      if (d == 0 || d > 65536)
                                        fail(at2, v, "expected 1..65536");
                                      s.embedding_dimensions = d;
                                    });
                   } else {
                     unknown_key(at, key_node,
                                 "seed, latency, default, rules, faults, models, embeddings");
                   }
                 });
  return s;
}

} // namespace

caf::expected<script> parse_script(std::string_view text, std::string_view source) {
  std::string prefix{source};
  prefix += ": ";
  try {
    auto root = YAML::Load(std::string{text});
    return parse_document(root, source);
  } catch (const script_error& e) {
    auto msg = prefix;
    if (!e.path.empty())
      msg += e.path + ": ";
    msg += e.message;
    if (e.line > 0)
      msg += " (line " + std::to_string(e.line) + ")";
    return make_error(errc::invalid_spec, std::move(msg));
  } catch (const YAML::Exception& e) {
    auto msg = prefix + "invalid YAML: " + e.msg;
    if (e.mark.line >= 0)
      msg += " (line " + std::to_string(e.mark.line + 1) + ")";
    return make_error(errc::invalid_spec, std::move(msg));
  } catch (const std::exception& e) {
    return make_error(errc::invalid_spec, prefix + e.what());
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

// -- matching, faults, plans ----------------------------------------------------------------------

bool matches(const match_spec& m, const chat_request& req, std::vector<std::string>* groups) {
  if (m.model && !std::regex_search(req.model, m.model->re))
    return false;
  if (m.system && !std::regex_search(req.system, m.system->re))
    return false;
  if (m.history && !std::regex_search(req.history, m.history->re))
    return false;
  if (m.user) {
    std::smatch sm;
    if (!std::regex_search(req.user, sm, m.user->re))
      return false;
    if (groups) {
      groups->clear();
      for (const auto& g : sm)
        groups->push_back(g.str());
    }
  } else if (groups) {
    groups->clear();
  }
  return true;
}

const rule& match_rule(const script& s, const chat_request& req, std::vector<std::string>& groups) {
  for (const auto& r : s.rules)
    if (matches(r.match, req, &groups))
      return r;
  groups.clear();
  return s.fallback;
}

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr uint64_t latency_salt = 0x6c6174656e6379ULL; // "latency"

} // namespace

double unit_random(uint64_t seed, uint64_t n, uint64_t salt) {
  auto x = splitmix64(seed ^ splitmix64(n ^ splitmix64(salt)));
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

const fault_spec* select_fault(const script& s, const chat_request& req, uint64_t n) {
  for (size_t i = 0; i < s.faults.size(); ++i) {
    const auto& f = s.faults[i];
    bool fires = false;
    if (!f.first && f.nth.empty() && !f.rate)
      fires = true;
    if (f.first && n <= *f.first)
      fires = true;
    if (!fires && std::find(f.nth.begin(), f.nth.end(), n) != f.nth.end())
      fires = true;
    if (!fires && f.rate && unit_random(s.seed, n, i + 1) < *f.rate)
      fires = true;
    if (fires && f.match && !matches(*f.match, req))
      fires = false;
    if (f.kind == fault_kind::refuse_response_format && !req.response_format)
      fires = false;
    if (fires)
      return &f;
  }
  return nullptr;
}

double latency_ms(const script& s, const rule* r, uint64_t n) {
  if (r && r->latency_ms)
    return *r->latency_ms;
  const auto& l = s.latency;
  switch (l.dist) {
  case latency_spec::distribution::none:
    return 0;
  case latency_spec::distribution::fixed:
    return l.a;
  case latency_spec::distribution::uniform:
    return l.a + (l.b - l.a) * unit_random(s.seed, n, latency_salt);
  case latency_spec::distribution::normal: {
    // Box-Muller from two seeded uniforms; u1 in (0, 1].
    auto u1 = 1.0 - unit_random(s.seed, n, latency_salt);
    auto u2 = unit_random(s.seed, n, latency_salt + 1);
    auto z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    return std::max(0.0, l.a + l.b * z);
  }
  }
  return 0;
}

reply_plan plan_reply(const script& s, const chat_request& req, uint64_t n) {
  reply_plan p;
  p.fault = select_fault(s, req, n);
  std::vector<std::string> groups;
  const rule& r = match_rule(s, req, groups);
  uint64_t completion_chars = 0;
  if (!r.tool_calls.empty()) {
    p.tool_calls = &r.tool_calls;
    p.finish_reason = "tool_calls";
    for (const auto& tc : r.tool_calls)
      completion_chars += tc.name.size() + tc.arguments.size();
  } else {
    p.content = r.json ? *r.json : render_template(r.reply, req, n, groups);
    if (req.max_tokens && estimate_tokens(p.content.size()) > *req.max_tokens) {
      // Cut at max_tokens * 4 bytes, backing off to a UTF-8 character boundary.
      auto cut = static_cast<size_t>(*req.max_tokens * 4);
      while (cut > 0 && (static_cast<unsigned char>(p.content[cut]) & 0xC0) == 0x80)
        --cut;
      p.content.resize(cut);
      p.finish_reason = "length";
    }
    completion_chars = p.content.size();
  }
  p.logprob = r.logprob.value_or(default_logprob);
  p.prompt_tokens = r.prompt_tokens.value_or(req.prompt_tokens);
  p.completion_tokens = r.completion_tokens.value_or(estimate_tokens(completion_chars));
  p.omit_usage = r.omit_usage;
  p.latency_ms = latency_ms(s, &r, n);
  return p;
}

std::vector<std::string_view> split_tokens(std::string_view text) {
  std::vector<std::string_view> out;
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  size_t start = 0;
  size_t i = 0;
  while (i < text.size() && is_space(text[i]))
    ++i;
  while (i < text.size()) {
    while (i < text.size() && !is_space(text[i]))
      ++i;
    while (i < text.size() && is_space(text[i]))
      ++i;
    out.push_back(text.substr(start, i - start));
    start = i;
  }
  if (start < text.size())
    out.push_back(text.substr(start)); // whitespace only
  return out;
}

} // namespace swarm::mock_llm
