// Loads swarm specs (YAML, or JSON read as YAML) and validates them, reporting every problem.
#include "runtime/core/spec.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

constexpr std::string_view top_keys[] = {"name",   "description", "llm",   "swarm", "swarms",
                                         "agents", "resources",   "tools", "memory"};
constexpr std::string_view llm_keys[] = {"url",        "model",  "api_key_env", "temperature",
                                         "max_tokens", "stream", "timeout_ms"};
constexpr std::string_view agent_keys[] = {
    "name",     "role",        "system_prompt",  "skills", "short_term_tokens", "url",
    "model",    "api_key_env", "temperature",    "stream", "max_tokens",        "timeout_ms",
    "logprobs", "tools",       "max_tool_steps", "budget"};

// The keys of a swarm (`swarm:` or an entry of `swarms:`), by the architectures they apply to.
constexpr std::string_view common_keys[] = {"architecture", "members",      "member_timeout_ms",
                                            "max_rounds",   "max_messages", "deadline_ms",
                                            "budget"};
constexpr std::string_view hierarchical_keys[] = {"lead", "max_subtasks", "max_attempts", "review"};
constexpr std::string_view collaborative_keys[] = {
    "decision", "normalize", "pattern",   "field",      "quorum",
    "tie",      "weights",   "threshold", "aggregator", "layers"};
constexpr std::string_view competitive_keys[] = {"select", "judge", "criteria", "k"};
constexpr std::string_view group_chat_keys[] = {"speaker", "selector", "max_turns", "terminate_on",
                                                "judge"};
constexpr std::string_view graph_keys[] = {"edges"};
constexpr std::string_view router_keys[] = {"router", "routes", "fallback"};
// The architectures and their own keys: one table for the reader, `swarm architectures` and
// supported_architectures().
constexpr architecture_info architecture_table[] = {
    {"concurrent", "fan out to every member, gather every answer", {}},
    {"sequential", "a pipeline: each member gets the task and the previous answer", {}},
    {"hierarchical", "a lead plans, workers are assigned by skill, the lead aggregates",
     hierarchical_keys},
    {"collaborative", "members answer in parallel, then voting, consensus rounds or synthesis",
     collaborative_keys},
    {"competitive", "members race; a judge, confidence or the first k pick the winner",
     competitive_keys},
    {"group_chat", "turns on a shared transcript until a marker, max_turns or a judge",
     group_chat_keys},
    {"graph", "a DAG of members with conditional edges and fan-in", graph_keys},
    {"router", "one member per task, picked by an LLM router or by regex routes", router_keys},
};

constexpr std::string_view edge_keys[] = {"from", "to", "when"};
constexpr std::string_view route_keys[] = {"match", "to"};

constexpr std::string_view resources_keys[] = {"endpoints", "budget", "per_swarm",
                                               "per_agent", "prices", "grant_timeout_ms"};
constexpr std::string_view endpoint_keys[] = {"url", "max_concurrent", "requests_per_minute",
                                              "tokens_per_minute"};
constexpr std::string_view budget_keys[] = {"tokens", "usd"};
constexpr std::string_view price_keys[] = {"model", "prompt", "completion"};
constexpr std::string_view tool_keys[] = {"name",           "description", "parameters", "command",
                                          "needs_approval", "sandbox",     "allow_hosts"};
constexpr std::string_view sandbox_keys[] = {"network",      "timeout_ms",    "cpu_seconds",
                                             "memory_mb",    "max_processes", "max_file_mb",
                                             "max_output_kb"};
constexpr std::string_view memory_keys[] = {"working",       "long_term", "consolidate",
                                            "recall_k",      "overflow",  "embeddings_model",
                                            "embeddings_url"};

/// Tools the runtime brings; any other name is a custom tool (a `command`).
constexpr std::string_view builtin_tools[] = {"shell",        "python",     "read_file",
                                              "write_file",   "list_files", "memory_search",
                                              "memory_write", "delegate",   "http_get"};

constexpr std::string_view overflows[] = {"drop", "summarize"};
constexpr std::string_view decisions[] = {"majority", "weighted", "consensus", "synthesize"};
constexpr std::string_view normalizations[] = {"exact", "fold", "regex", "json_field", "number"};
constexpr std::string_view ties[] = {"first", "fail"};
constexpr std::string_view selections[] = {"judge", "confidence", "first_k"};
constexpr std::string_view speakers[] = {"round_robin", "selector"};

// Upper bounds keep later arithmetic (deadlines, budgets) far from overflow.
constexpr int64_t max_int32 = std::numeric_limits<int32_t>::max();
constexpr int64_t max_uint32 = std::numeric_limits<uint32_t>::max();

// Files larger than this are refused rather than read into memory.
constexpr size_t max_spec_bytes = 64 * 1024 * 1024;

// Regexes longer or larger than this are refused: std::regex compiles by recursion (one level a
// term) and copies a counted repetition's states, so a hostile pattern could exhaust the stack
// or take seconds.
constexpr size_t max_regex_chars = 1000;
constexpr size_t max_regex_states = 10'000;

// Largest weight of a collaborative member: weights are summed.
constexpr double max_weight = 1'000'000;

// Budgets: far above any real run, far below overflow of the pool's sums (tokens, nano-dollars).
constexpr int64_t max_budget_tokens = 1'000'000'000'000;
constexpr double max_budget_usd = 1'000'000'000;
// Dollars per million tokens.
constexpr double max_price = 1'000'000;
// The pool's token buckets hold at most this many (token_bucket::max_capacity, runtime/budget.hpp,
// which this layer may not include).
constexpr int64_t max_per_minute = 300'000'000;
constexpr int64_t max_concurrent_calls = 1'000'000;
constexpr int64_t max_tool_steps_limit = 64;
constexpr int64_t max_recall_k = 1000;
// Sandbox limits: a day of CPU, a TiB of memory or file, a GiB of output.
constexpr int64_t max_cpu_seconds = 86'400;
constexpr int64_t max_megabytes = 1'048'576;
constexpr int64_t max_processes_limit = 65'536;
// OpenAI's limit on a tool (function) name.
constexpr size_t max_tool_name = 64;
// A tool's `parameters` as JSON: deepest nesting and largest text.
constexpr size_t max_json_depth = 64;
constexpr size_t max_json_bytes = 65'536;

// Deepest chain of sub-swarms below the root: coordinators are spawned one level at a time.
constexpr size_t max_nesting = 16;

bool contains(std::span<const std::string_view> list, std::string_view x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

/// Whether a swarm key applies to an architecture (every key applies to some).
bool applies(std::string_view architecture, std::string_view key) {
  if (contains(common_keys, key))
    return true;
  for (const auto& a : architecture_table)
    if (a.name == architecture)
      return contains(a.keys, key);
  return false;
}

/// Every key a swarm may have under some architecture: the common keys, then each
/// architecture's own (a key shared by two, like `judge`, once).
std::span<const std::string_view> swarm_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out(std::begin(common_keys), std::end(common_keys));
    for (const auto& a : architecture_table)
      for (auto key : a.keys)
        if (!contains(out, key))
          out.push_back(key);
    return out;
  }();
  return keys;
}

/// 1-based line of a node; 0 when yaml-cpp has no position for it.
int line_of(const YAML::Node& x) {
  return x.Mark().line + 1;
}

std::string join(const std::string& path, std::string_view key) {
  if (path.empty())
    return std::string{key};
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

std::string indexed(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string comma_list(std::span<const std::string_view> items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty())
      out += ", ";
    out += item;
  }
  return out;
}

/// User text quoted in a message: control bytes replaced, long text shortened, so a message stays
/// one readable line whatever the input.
std::string excerpt(std::string_view text) {
  constexpr size_t limit = 60;
  std::string out;
  for (char c : text.substr(0, limit))
    out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  if (text.size() > limit)
    out += "...";
  return out;
}

/// Edit distance counting a swap of neighbours as one edit (optimal string alignment), giving up
/// (returning `cap + 1`) when the lengths alone differ by more than `cap`.
size_t edit_distance(std::string_view a, std::string_view b, size_t cap) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > cap)
    return cap + 1;
  auto n = b.size();
  std::vector<size_t> before_previous(n + 1), previous(n + 1), current(n + 1);
  for (size_t j = 0; j <= n; ++j)
    previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= n; ++j) {
      size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before_previous[j - 2] + 1);
    }
    std::swap(before_previous, previous);
    std::swap(previous, current);
  }
  return previous[n];
}

/// The known key closest to `key` within two edits, or empty.
std::string_view closest_key(std::string_view key, std::span<const std::string_view> known) {
  constexpr size_t cap = 2;
  std::string_view best;
  size_t best_distance = cap + 1;
  for (auto candidate : known) {
    auto d = edit_distance(key, candidate, cap);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

/// Shortest text that reads back as `x`: "2", "0.5".
std::string number_text(double x) {
  char buffer[32];
  // Whole numbers in full ("1000000", not "1e+06").
  auto format = x == std::floor(x) && std::fabs(x) < 1e15 ? std::chars_format::fixed
                                                          : std::chars_format::general;
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, x, format);
  return ec == std::errc{} ? std::string(buffer, end) : std::to_string(x);
}

bool is_name(std::string_view x) {
  return !x.empty() && std::all_of(x.begin(), x.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool is_env_var_name(std::string_view x) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !x.empty() && letter(x[0]) && std::all_of(x.begin() + 1, x.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9');
  });
}

/// A scalar that YAML would type by its text: plain (unquoted), not forced to string by quotes.
bool is_plain_scalar(const YAML::Node& x) {
  return x.IsScalar() && x.Tag() != "!";
}

/// Whether `x` is a number in JSON's syntax: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view x) {
  size_t i = 0;
  auto digits = [&] {
    auto start = i;
    while (i < x.size() && x[i] >= '0' && x[i] <= '9')
      ++i;
    return i > start;
  };
  if (i < x.size() && x[i] == '-')
    ++i;
  if (i < x.size() && x[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < x.size() && x[i] == '.') {
    ++i;
    if (!digits())
      return false;
  }
  if (i < x.size() && (x[i] == 'e' || x[i] == 'E')) {
    ++i;
    if (i < x.size() && (x[i] == '+' || x[i] == '-'))
      ++i;
    if (!digits())
      return false;
  }
  return i == x.size();
}

void write_json_string(std::string_view x, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : x) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

/// Appends `x` as compact JSON to `out`; says why it cannot, or nothing. Plain scalars keep their
/// YAML type (null, true/false, numbers in JSON's syntax); anything else, and every quoted
/// scalar, is a string. Nesting and size are bounded: aliases may make a small text huge.
std::optional<std::string> write_json(const YAML::Node& x, std::string& out, size_t depth = 0) {
  if (depth > max_json_depth)
    return "nests deeper than " + std::to_string(max_json_depth) + " levels";
  if (out.size() > max_json_bytes)
    return "is larger than " + std::to_string(max_json_bytes) + " bytes as JSON";
  switch (x.Type()) {
  case YAML::NodeType::Undefined:
  case YAML::NodeType::Null:
    out += "null";
    break;
  case YAML::NodeType::Scalar: {
    const auto& text = x.Scalar();
    if (!is_plain_scalar(x))
      write_json_string(text, out);
    else if (text == "null" || text == "Null" || text == "NULL" || text == "~")
      out += "null";
    else if (text == "true" || text == "True" || text == "TRUE")
      out += "true";
    else if (text == "false" || text == "False" || text == "FALSE")
      out += "false";
    else if (is_json_number(text))
      out += text;
    else
      write_json_string(text, out);
    break;
  }
  case YAML::NodeType::Sequence: {
    out += '[';
    bool first = true;
    for (const auto& item : x) {
      if (!first)
        out += ',';
      first = false;
      if (auto problem = write_json(item, out, depth + 1))
        return problem;
    }
    out += ']';
    break;
  }
  case YAML::NodeType::Map: {
    out += '{';
    bool first = true;
    std::unordered_map<std::string, int> seen;
    for (const auto& entry : x) {
      if (!entry.first.IsScalar())
        return std::string{"has a key that is not a string (line "} +
               std::to_string(line_of(entry.first)) + ")";
      const auto& key = entry.first.Scalar();
      if (!seen.emplace(key, 0).second)
        return "has the key '" + excerpt(key) + "' twice (line " +
               std::to_string(line_of(entry.first)) + ")";
      if (!first)
        out += ',';
      first = false;
      write_json_string(key, out);
      out += ':';
      if (auto problem = write_json(entry.second, out, depth + 1))
        return problem;
    }
    out += '}';
    break;
  }
  }
  if (out.size() > max_json_bytes)
    return "is larger than " + std::to_string(max_json_bytes) + " bytes as JSON";
  return std::nullopt;
}

/// The value of key `key` of mapping `x`, if it has one (without inserting, unlike operator[]).
std::optional<YAML::Node> find_key(const YAML::Node& x, std::string_view key) {
  for (const auto& entry : x)
    if (entry.first.IsScalar() && entry.first.Scalar() == key)
      return entry.second;
  return std::nullopt;
}

/// Whether `x` may be a host in an allow-list: a name or an address, with an optional port.
bool is_host(std::string_view x) {
  return !x.empty() && std::all_of(x.begin(), x.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
  });
}

/// A generous bound of the states std::regex builds for `pattern`: an atom counts one, a group
/// the sum of its atoms, and `{n,m}` repeats its atom max(n, m) + 1 times. Saturates at `cap`.
size_t regex_states(std::string_view pattern, size_t cap) {
  auto times = [cap](size_t a, size_t b) { return b != 0 && a > cap / b ? cap : a * b; };
  auto plus = [cap](size_t a, size_t b) { return std::min(cap, a + b); };
  std::vector<size_t> groups{0}; // states of each open group so far
  size_t last = 0;               // states of the last atom, for a quantifier
  auto atom = [&](size_t states) {
    last = states;
    groups.back() = plus(groups.back(), states);
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
      atom(1);
    } else if (c == '[') {
      // A class is one state; `]` first in it is literal, escapes may hide a `]`.
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '^')
        ++j;
      if (j < pattern.size() && pattern[j] == ']')
        ++j;
      while (j < pattern.size() && pattern[j] != ']')
        j += pattern[j] == '\\' ? 2 : 1;
      i = j;
      atom(1);
    } else if (c == '(') {
      groups.push_back(0);
    } else if (c == ')' && groups.size() > 1) {
      auto inner = plus(groups.back(), 2);
      groups.pop_back();
      atom(inner);
    } else if (c == '{') {
      size_t counts[2] = {0, 0}; // {n} or {n,} or {n,m}
      size_t which = 0;
      bool digits = false;
      size_t j = i + 1;
      for (; j < pattern.size(); ++j) {
        if (pattern[j] == ',' && which == 0) {
          which = 1;
        } else if (pattern[j] >= '0' && pattern[j] <= '9') {
          digits = true;
          counts[which] = plus(times(counts[which], 10), static_cast<size_t>(pattern[j] - '0'));
        } else {
          break;
        }
      }
      if (!digits || j >= pattern.size() || pattern[j] != '}') {
        atom(1); // a literal brace
        continue;
      }
      // The atom is copied max(n, m) + 1 times.
      auto extra = times(last, plus(std::max(counts[0], counts[1]), 1));
      groups.back() = plus(groups.back(), extra);
      last = plus(last, extra);
      i = j;
    } else {
      atom(1);
    }
  }
  size_t total = 0;
  for (auto states : groups)
    total = plus(total, states);
  return total;
}

/// Whether every `(` of a regex has its `)`, escapes and classes aside.
bool balanced_parentheses(std::string_view pattern) {
  int64_t open = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      for (++i; i < pattern.size() && pattern[i] != ']'; ++i)
        i += pattern[i] == '\\' ? 1 : 0;
    } else if (c == '(') {
      ++open;
    } else if (c == ')' && --open < 0) {
      return false;
    }
  }
  return open == 0;
}

/// What is wrong with a std::regex error, in words that do not depend on the standard library.
std::string regex_error_text(const std::regex_error& e, bool balanced) {
  namespace rc = std::regex_constants;
  auto code = e.code();
  if (code == rc::error_collate)
    return "invalid collating element";
  if (code == rc::error_ctype)
    return "invalid character class";
  if (code == rc::error_escape)
    return "invalid escape";
  if (code == rc::error_backref)
    return "invalid back reference";
  if (code == rc::error_brack)
    return "unbalanced [ ]";
  if (code == rc::error_paren) // libstdc++ also says so for a token out of place
    return balanced ? "unexpected *, +, ? or (?" : "unbalanced ( )";
  if (code == rc::error_brace)
    return "unbalanced { }";
  if (code == rc::error_badbrace)
    return "invalid repetition count in { }";
  if (code == rc::error_range)
    return "invalid character range";
  if (code == rc::error_badrepeat)
    return "nothing to repeat";
  if (code == rc::error_space || code == rc::error_complexity || code == rc::error_stack)
    return "too large";
  return "cannot be compiled";
}

/// Why `pattern` is not an ECMAScript regex with at least `groups` capture groups, or nothing.
std::optional<std::string> regex_problem(const std::string& pattern, unsigned groups) {
  if (pattern.size() > max_regex_chars)
    return "invalid regex: longer than " + std::to_string(max_regex_chars) + " characters";
  if (regex_states(pattern, max_regex_states + 1) > max_regex_states)
    return std::string{"invalid regex: too large"};
  try {
    std::regex compiled{pattern, std::regex::ECMAScript};
    if (compiled.mark_count() < groups)
      return std::string{"needs a capture group (group 1 is what is compared)"};
  } catch (const std::regex_error& e) {
    return "invalid regex: " + regex_error_text(e, balanced_parentheses(pattern));
  } catch (const std::exception&) {
    return std::string{"invalid regex: too large"};
  }
  return std::nullopt;
}

/// "a -> b -> a"; a long cycle is shortened in the middle so that its message stays readable.
std::string cycle_text(const std::vector<std::string_view>& names) {
  constexpr size_t head = 5;
  constexpr size_t tail = 3;
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names.size() > head + tail + 1 && i >= head && i < names.size() - tail) {
      if (i == head)
        out += " -> ...";
      continue;
    }
    if (i > 0)
      out += " -> ";
    out += excerpt(names[i]);
  }
  return out;
}

/// A name as written in the spec, with where it was written.
struct name_ref {
  std::string name;
  std::string path;
  int line = 0;
};

/// A swarm while it is read: the node, and what can be checked only once every name is known.
struct swarm_draft {
  swarm_node_spec node;
  std::string path; ///< "swarm" or "swarms.<name>"
  bool is_root = false;
  bool known_architecture = true;             ///< false: keys are read but not checked against it
  std::unordered_map<std::string, int> given; ///< keys present (and applying) -> line
  std::unordered_map<std::string, bool> refused; ///< keys given whose value was reported
  std::optional<std::vector<name_ref>> members;
  std::vector<name_ref> roles;        ///< lead, aggregator, judge, selector, router
  std::vector<name_ref> member_names; ///< weights, edge ends, route targets, fallback
  bool is_map = true;                 ///< false: the swarm was not a mapping (and was reported)
  int name_line = 0;                  ///< line of a sub-swarm's name
  int edges_line = 0;
};

/// One pass over a parsed document: reads what it can into a swarm_spec and records every problem
/// on the way.
class spec_reader {
public:
  spec_parse_result read(const YAML::Node& root, std::string_view source);

private:
  void fail(std::string path, std::string message, int line) {
    problems_.push_back(spec_problem{std::move(path), std::move(message), line});
  }

  /// Visits each entry of a mapping once; reports keys that are duplicated or not scalars.
  /// `visit(key, value, path, line)` gets the key's line.
  template <class Visitor>
  void entries(const YAML::Node& map, const std::string& path, Visitor&& visit);

  /// Like `entries`, and reports keys that are not in `known`.
  template <class Visitor>
  void walk(const YAML::Node& map, const std::string& path, std::span<const std::string_view> known,
            Visitor&& visit);

  std::optional<std::string> read_string(const YAML::Node& x, const std::string& path, int line);
  std::optional<std::string> read_text(const YAML::Node& x, const std::string& path, int line);
  std::optional<std::string> read_name(const YAML::Node& x, const std::string& path, int line);
  std::optional<int64_t> read_integer(const YAML::Node& x, const std::string& path, int line,
                                      int64_t minimum, int64_t maximum);
  std::optional<double> parse_number(const YAML::Node& x, const std::string& path, int line);
  std::optional<double> read_number(const YAML::Node& x, const std::string& path, int line,
                                    double minimum, double maximum);
  std::optional<double> read_fraction(const YAML::Node& x, const std::string& path, int line);
  std::optional<bool> read_bool(const YAML::Node& x, const std::string& path, int line);
  std::optional<std::vector<std::string>> read_strings(const YAML::Node& x, const std::string& path,
                                                       int line);
  std::optional<std::string> read_choice(const YAML::Node& x, const std::string& path, int line,
                                         std::span<const std::string_view> allowed);
  std::optional<std::string> read_regex(const YAML::Node& x, const std::string& path, int line,
                                        unsigned groups = 0);

  /// Reads `key` into `out` if it is one of the LLM keys; false if it is not one.
  bool read_llm_key(std::string_view key, const YAML::Node& x, const std::string& path, int line,
                    llm_settings& out);
  void read_llm(const YAML::Node& x, const std::string& path, int line, llm_settings& out);
  void read_agents(const YAML::Node& x, const std::string& path, int line, swarm_spec& out);
  std::optional<agent_spec> read_agent(const YAML::Node& x, const std::string& path);

  void read_swarms(const YAML::Node& x, const std::string& path, int line);
  void read_swarm(const YAML::Node& x, int line, swarm_draft& out);
  void read_swarm_key(std::string_view key, const YAML::Node& x, const std::string& path, int line,
                      swarm_draft& out);
  bool read_guard_key(std::string_view key, const YAML::Node& x, const std::string& path, int line,
                      guard_options& out);
  bool read_hierarchical_key(std::string_view key, const YAML::Node& x, const std::string& path,
                             int line, swarm_draft& out);
  bool read_collaborative_key(std::string_view key, const YAML::Node& x, const std::string& path,
                              int line, swarm_draft& out);
  bool read_competitive_key(std::string_view key, const YAML::Node& x, const std::string& path,
                            int line, swarm_draft& out);
  bool read_group_chat_key(std::string_view key, const YAML::Node& x, const std::string& path,
                           int line, swarm_draft& out);
  void read_members(const YAML::Node& x, const std::string& path, int line, swarm_draft& out);
  void read_weights(const YAML::Node& x, const std::string& path, int line, swarm_draft& out);
  void read_edges(const YAML::Node& x, const std::string& path, int line, swarm_draft& out);
  void read_routes(const YAML::Node& x, const std::string& path, int line, swarm_draft& out);
  /// A role (an agent's name) or a member's name: a non-empty string, recorded in `refs`.
  std::optional<std::string> read_ref(const YAML::Node& x, const std::string& path, int line,
                                      std::vector<name_ref>& refs);

  /// `{tokens, usd}` of an agent, a swarm or `resources`.
  void read_budget(const YAML::Node& x, const std::string& path, int line, budget_spec& out);
  void read_resources(const YAML::Node& x, const std::string& path, int line, resources_spec& out);
  void read_endpoints(const YAML::Node& x, const std::string& path, int line,
                      std::vector<endpoint_limits_spec>& out);
  void read_prices(const YAML::Node& x, const std::string& path, int line,
                   std::vector<price_spec>& out);
  void read_tools(const YAML::Node& x, const std::string& path, int line,
                  std::vector<tool_decl>& out);
  std::optional<tool_decl> read_tool(const YAML::Node& x, const std::string& path);
  void read_sandbox(const YAML::Node& x, const std::string& path, int line, sandbox_spec& out);
  /// A custom tool's `parameters`: a mapping with `type: object`, as compact JSON text.
  std::optional<std::string> read_parameters(const YAML::Node& x, const std::string& path,
                                             int line);
  std::optional<std::vector<std::string>> read_command(const YAML::Node& x, const std::string& path,
                                                       int line);
  std::optional<std::vector<std::string>> read_hosts(const YAML::Node& x, const std::string& path,
                                                     int line);
  void read_memory(const YAML::Node& x, const std::string& path, int line, memory_spec& out);
  /// An agent's `tools`: names recorded to be checked against `tools:` once all is read.
  std::optional<std::vector<std::string>> read_agent_tools(const YAML::Node& x,
                                                           const std::string& path, int line);
  void check_agent_tools();

  void check_swarm(swarm_draft& x, const swarm_spec& spec);
  void check_members(swarm_draft& x, const swarm_spec& spec);
  void check_roles(const swarm_draft& x);
  void check_required(const swarm_draft& x);
  void check_graph(const swarm_draft& x);
  void check_tree();

  /// Line of the key `key` of `x`, else of its architecture, else of the swarm.
  static int line_of_key(const swarm_draft& x, const std::string& key);

  std::vector<spec_problem> problems_;
  /// Every agent name as written (valid or not) with the line of its `name`.
  std::unordered_map<std::string, int> agent_names_;
  bool agents_read_ = false;
  /// The root first, then the sub-swarms in spec order.
  std::vector<swarm_draft> swarms_;
  /// Sub-swarm name -> index in `swarms_`.
  std::unordered_map<std::string, size_t> swarm_index_;
  /// Every valid tool name declared in `tools:` with the line of its `name`.
  std::unordered_map<std::string, int> tool_names_;
  /// `tools:` was absent or a sequence: agents' tool names can be checked against it.
  bool tools_checkable_ = true;
  /// Tool names of every agent's `tools`, as written.
  std::vector<name_ref> agent_tools_;
};

template <class Visitor>
void spec_reader::entries(const YAML::Node& map, const std::string& path, Visitor&& visit) {
  std::unordered_map<std::string, int> seen; // key -> line of its first use
  for (const auto& entry : map) {
    const YAML::Node& key_node = entry.first;
    const YAML::Node& value = entry.second;
    auto line = line_of(key_node);
    if (!key_node.IsScalar()) {
      fail(path, "expected a string key", line);
      continue;
    }
    const std::string& key = key_node.Scalar();
    auto key_path = join(path, excerpt(key));
    auto [previous, first_use] = seen.emplace(key, line);
    if (!first_use) {
      fail(key_path, "duplicate key (first at line " + std::to_string(previous->second) + ")",
           line);
      continue;
    }
    visit(std::string_view{key}, value, key_path, line);
  }
}

template <class Visitor>
void spec_reader::walk(const YAML::Node& map, const std::string& path,
                       std::span<const std::string_view> known, Visitor&& visit) {
  entries(
      map, path,
      [&](std::string_view key, const YAML::Node& value, const std::string& key_path, int line) {
        if (contains(known, key)) {
          visit(key, value, key_path, line);
          return;
        }
        auto suggestion = closest_key(key, known);
        if (suggestion.empty())
          fail(key_path, "unknown key", line);
        else
          fail(key_path, "unknown key (did you mean '" + std::string{suggestion} + "'?)", line);
      });
}

std::optional<std::string> spec_reader::read_string(const YAML::Node& x, const std::string& path,
                                                    int line) {
  if (!x.IsScalar()) {
    fail(path, "expected a string", line);
    return std::nullopt;
  }
  return x.Scalar();
}

std::optional<std::string> spec_reader::read_text(const YAML::Node& x, const std::string& path,
                                                  int line) {
  auto text = read_string(x, path, line);
  if (text && text->empty()) {
    fail(path, "must not be empty", line);
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> spec_reader::read_name(const YAML::Node& x, const std::string& path,
                                                  int line) {
  auto text = read_text(x, path, line);
  if (text && !is_name(*text)) {
    fail(path, "must match [A-Za-z0-9_-]+", line);
    return std::nullopt;
  }
  return text;
}

std::optional<int64_t> spec_reader::read_integer(const YAML::Node& x, const std::string& path,
                                                 int line, int64_t minimum, int64_t maximum) {
  auto below = [&] {
    fail(path, minimum == 1 ? "must be > 0" : "must be at least " + std::to_string(minimum), line);
    return std::nullopt;
  };
  auto above = [&] {
    fail(path, "must be at most " + std::to_string(maximum), line);
    return std::nullopt;
  };
  if (!is_plain_scalar(x)) {
    fail(path, "expected an integer", line);
    return std::nullopt;
  }
  std::string_view text = x.Scalar();
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
  if (magnitude > static_cast<uint64_t>(maximum))
    return above();
  auto value = static_cast<int64_t>(magnitude);
  if (value < minimum)
    return below();
  return value;
}

std::optional<double> spec_reader::parse_number(const YAML::Node& x, const std::string& path,
                                                int line) {
  auto refuse = [&] {
    fail(path, "expected a number", line);
    return std::nullopt;
  };
  if (!is_plain_scalar(x))
    return refuse();
  std::string_view text = x.Scalar();
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

std::optional<double> spec_reader::read_number(const YAML::Node& x, const std::string& path,
                                               int line, double minimum, double maximum) {
  auto value = parse_number(x, path, line);
  if (value && (*value < minimum || *value > maximum)) {
    fail(path, "must be between " + number_text(minimum) + " and " + number_text(maximum), line);
    return std::nullopt;
  }
  return value;
}

std::optional<double> spec_reader::read_fraction(const YAML::Node& x, const std::string& path,
                                                 int line) {
  auto value = parse_number(x, path, line);
  if (value && !(*value > 0 && *value <= 1)) {
    fail(path, "must be > 0 and at most 1", line);
    return std::nullopt;
  }
  return value;
}

std::optional<bool> spec_reader::read_bool(const YAML::Node& x, const std::string& path, int line) {
  if (is_plain_scalar(x)) {
    const auto& text = x.Scalar();
    if (text == "true" || text == "True" || text == "TRUE")
      return true;
    if (text == "false" || text == "False" || text == "FALSE")
      return false;
  }
  fail(path, "expected true or false", line);
  return std::nullopt;
}

std::optional<std::vector<std::string>>
spec_reader::read_strings(const YAML::Node& x, const std::string& path, int line) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& item = x[i];
    if (auto text = read_text(item, indexed(path, i), line_of(item)))
      out.push_back(std::move(*text));
    else
      ok = false;
  }
  if (!ok)
    return std::nullopt;
  return out;
}

std::optional<std::string> spec_reader::read_choice(const YAML::Node& x, const std::string& path,
                                                    int line,
                                                    std::span<const std::string_view> allowed) {
  auto text = read_string(x, path, line);
  if (text && !contains(allowed, *text)) {
    fail(path, "must be one of " + comma_list(allowed) + " (got '" + excerpt(*text) + "')", line);
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> spec_reader::read_regex(const YAML::Node& x, const std::string& path,
                                                   int line, unsigned groups) {
  auto text = read_string(x, path, line);
  if (!text)
    return std::nullopt;
  if (auto problem = regex_problem(*text, groups)) {
    fail(path, std::move(*problem), line);
    return std::nullopt;
  }
  return text;
}

bool spec_reader::read_llm_key(std::string_view key, const YAML::Node& x, const std::string& path,
                               int line, llm_settings& out) {
  if (key == "url") {
    auto text = read_string(x, path, line);
    if (text && !text->starts_with("http://") && !text->starts_with("https://"))
      fail(path, "must start with http:// or https://", line);
    else if (text)
      out.url = std::move(*text);
  } else if (key == "model") {
    if (auto text = read_text(x, path, line))
      out.model = std::move(*text);
  } else if (key == "api_key_env") {
    auto text = read_text(x, path, line);
    if (text && !is_env_var_name(*text))
      fail(path, "must match [A-Za-z_][A-Za-z0-9_]*", line);
    else if (text)
      out.api_key_env = std::move(*text);
  } else if (key == "temperature") {
    out.temperature = read_number(x, path, line, 0.0, 2.0);
  } else if (key == "max_tokens") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      out.max_tokens = static_cast<int32_t>(*value);
  } else if (key == "stream") {
    out.stream = read_bool(x, path, line);
  } else if (key == "timeout_ms") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      out.timeout = std::chrono::milliseconds{*value};
  } else {
    return false;
  }
  return true;
}

void spec_reader::read_llm(const YAML::Node& x, const std::string& path, int line,
                           llm_settings& out) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return;
  }
  walk(x, path, llm_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) { read_llm_key(key, value, key_path, key_line, out); });
}

std::optional<std::string> spec_reader::read_ref(const YAML::Node& x, const std::string& path,
                                                 int line, std::vector<name_ref>& refs) {
  auto name = read_text(x, path, line);
  if (name)
    refs.push_back(name_ref{*name, path, line});
  return name;
}

void spec_reader::read_swarms(const YAML::Node& x, const std::string& path, int line) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return;
  }
  entries(x, path,
          [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
              int key_line) {
            if (!is_name(key))
              fail(key_path, key.empty() ? "must not be empty" : "must match [A-Za-z0-9_-]+",
                   key_line);
            swarm_draft draft;
            draft.node.name = std::string{key};
            draft.path = key_path;
            draft.name_line = key_line;
            swarm_index_.emplace(draft.node.name, swarms_.size());
            read_swarm(value, key_line, draft);
            swarms_.push_back(std::move(draft));
          });
}

void spec_reader::read_swarm(const YAML::Node& x, int line, swarm_draft& out) {
  out.node.line = line;
  if (!x.IsMap()) {
    fail(out.path, "expected a mapping", line);
    out.is_map = false;
    return;
  }
  out.node.line = line_of(x);
  // The architecture decides which keys apply, wherever it stands in the mapping.
  std::optional<std::string> architecture;
  for (const auto& entry : x) {
    if (entry.first.IsScalar() && entry.first.Scalar() == "architecture") {
      const auto& supported = supported_architectures();
      if (entry.second.IsScalar())
        architecture = entry.second.Scalar();
      out.known_architecture = architecture && std::find(supported.begin(), supported.end(),
                                                         *architecture) != supported.end();
      break;
    }
  }
  if (out.known_architecture && architecture)
    out.node.architecture = *architecture;
  const std::string& effective = out.node.architecture;
  walk(x, out.path, swarm_keys(),
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) {
         if (out.known_architecture && !applies(effective, key)) {
           fail(key_path,
                "key '" + std::string{key} + "' does not apply to architecture '" + effective + "'",
                key_line);
           return;
         }
         out.given.emplace(std::string{key}, key_line);
         auto problems_before = problems_.size();
         read_swarm_key(key, value, key_path, key_line, out);
         if (problems_.size() != problems_before)
           out.refused.emplace(std::string{key}, true);
       });
}

void spec_reader::read_swarm_key(std::string_view key, const YAML::Node& x, const std::string& path,
                                 int line, swarm_draft& out) {
  auto& node = out.node;
  if (key == "architecture") {
    auto text = read_string(x, path, line);
    if (!text)
      return;
    const auto& supported = supported_architectures();
    if (std::find(supported.begin(), supported.end(), *text) != supported.end()) {
      node.architecture = std::move(*text);
      return;
    }
    std::string list;
    for (const auto& name : supported)
      list += (list.empty() ? "" : ", ") + name;
    fail(path, "unknown architecture '" + excerpt(*text) + "' (supported: " + list + ")", line);
  } else if (key == "members") {
    read_members(x, path, line, out);
  } else if (key == "edges") {
    read_edges(x, path, line, out);
  } else if (key == "router") {
    if (auto name = read_ref(x, path, line, out.roles))
      node.router.router = std::move(*name);
  } else if (key == "routes") {
    read_routes(x, path, line, out);
  } else if (key == "fallback") {
    if (auto name = read_ref(x, path, line, out.member_names))
      node.router.fallback = std::move(*name);
  } else if (key == "budget") {
    read_budget(x, path, line, node.budget);
  } else if (!read_guard_key(key, x, path, line, node.guards) &&
             !read_hierarchical_key(key, x, path, line, out) &&
             !read_collaborative_key(key, x, path, line, out) &&
             !read_competitive_key(key, x, path, line, out)) {
    read_group_chat_key(key, x, path, line, out);
  }
}

bool spec_reader::read_guard_key(std::string_view key, const YAML::Node& x, const std::string& path,
                                 int line, guard_options& out) {
  if (key == "member_timeout_ms") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      out.member_timeout = std::chrono::milliseconds{*value};
  } else if (key == "max_rounds") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      out.max_rounds = static_cast<uint32_t>(*value);
  } else if (key == "max_messages") {
    if (auto value = read_integer(x, path, line, 0, max_int32))
      out.max_messages = static_cast<uint32_t>(*value);
  } else if (key == "deadline_ms") {
    if (auto value = read_integer(x, path, line, 0, max_int32))
      out.deadline = std::chrono::milliseconds{*value};
  } else {
    return false;
  }
  return true;
}

bool spec_reader::read_hierarchical_key(std::string_view key, const YAML::Node& x,
                                        const std::string& path, int line, swarm_draft& out) {
  auto& options = out.node.hierarchical;
  if (key == "lead") {
    if (auto name = read_ref(x, path, line, out.roles))
      options.lead = std::move(*name);
  } else if (key == "max_subtasks") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      options.max_subtasks = static_cast<uint32_t>(*value);
  } else if (key == "max_attempts") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      options.max_attempts = static_cast<uint32_t>(*value);
  } else if (key == "review") {
    if (auto value = read_bool(x, path, line))
      options.review = *value;
  } else {
    return false;
  }
  return true;
}

bool spec_reader::read_collaborative_key(std::string_view key, const YAML::Node& x,
                                         const std::string& path, int line, swarm_draft& out) {
  auto& options = out.node.collaborative;
  if (key == "decision") {
    if (auto text = read_choice(x, path, line, decisions))
      options.decision = std::move(*text);
  } else if (key == "normalize") {
    if (auto text = read_choice(x, path, line, normalizations))
      options.normalize = std::move(*text);
  } else if (key == "pattern") {
    if (auto text = read_regex(x, path, line, 1))
      options.pattern = std::move(*text);
  } else if (key == "field") {
    if (auto text = read_text(x, path, line))
      options.field = std::move(*text);
  } else if (key == "quorum") {
    // The winner needs MORE than this share, so 1 could never be met.
    if (auto value = read_fraction(x, path, line)) {
      if (*value >= 1)
        fail(path, "must be below 1 (the winner needs more than this share)", line);
      else
        options.quorum = *value;
    }
  } else if (key == "tie") {
    if (auto text = read_choice(x, path, line, ties))
      options.tie = std::move(*text);
  } else if (key == "weights") {
    read_weights(x, path, line, out);
  } else if (key == "threshold") {
    if (auto value = read_fraction(x, path, line))
      options.threshold = *value;
  } else if (key == "aggregator") {
    if (auto name = read_ref(x, path, line, out.roles))
      options.aggregator = std::move(*name);
  } else if (key == "layers") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      options.layers = static_cast<uint32_t>(*value);
  } else {
    return false;
  }
  return true;
}

bool spec_reader::read_competitive_key(std::string_view key, const YAML::Node& x,
                                       const std::string& path, int line, swarm_draft& out) {
  // `judge` is read as a group_chat key when the architecture is group_chat.
  auto& options = out.node.competitive;
  if (key == "select") {
    if (auto text = read_choice(x, path, line, selections))
      options.select = std::move(*text);
  } else if (key == "judge" && out.node.architecture != "group_chat") {
    if (auto name = read_ref(x, path, line, out.roles))
      options.judge = std::move(*name);
  } else if (key == "criteria") {
    if (auto text = read_text(x, path, line))
      options.criteria = std::move(*text);
  } else if (key == "k") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      options.k = static_cast<uint32_t>(*value);
  } else {
    return false;
  }
  return true;
}

bool spec_reader::read_group_chat_key(std::string_view key, const YAML::Node& x,
                                      const std::string& path, int line, swarm_draft& out) {
  auto& options = out.node.group_chat;
  if (key == "speaker") {
    if (auto text = read_choice(x, path, line, speakers))
      options.speaker = std::move(*text);
  } else if (key == "selector") {
    if (auto name = read_ref(x, path, line, out.roles))
      options.selector = std::move(*name);
  } else if (key == "max_turns") {
    if (auto value = read_integer(x, path, line, 1, max_int32))
      options.max_turns = static_cast<uint32_t>(*value);
  } else if (key == "terminate_on") {
    if (auto text = read_text(x, path, line))
      options.terminate_on = std::move(*text);
  } else if (key == "judge") {
    if (auto name = read_ref(x, path, line, out.roles))
      options.judge = std::move(*name);
  } else {
    return false;
  }
  return true;
}

void spec_reader::read_members(const YAML::Node& x, const std::string& path, int line,
                               swarm_draft& out) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    return;
  }
  if (x.size() == 0) {
    fail(path, "must not be empty", line);
    return;
  }
  std::vector<name_ref> refs;
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& item = x[i];
    read_ref(item, indexed(path, i), line_of(item), refs);
  }
  out.members = std::move(refs);
}

void spec_reader::read_weights(const YAML::Node& x, const std::string& path, int line,
                               swarm_draft& out) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return;
  }
  entries(x, path,
          [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
              int key_line) {
            auto weight = parse_number(value, key_path, key_line);
            if (!weight)
              return;
            if (!(*weight > 0) || *weight > max_weight) {
              fail(key_path, *weight > 0 ? "must be at most 1000000" : "must be > 0", key_line);
              return;
            }
            out.member_names.push_back(name_ref{std::string{key}, key_path, key_line});
            out.node.collaborative.weights.emplace_back(std::string{key}, *weight);
          });
}

void spec_reader::read_edges(const YAML::Node& x, const std::string& path, int line,
                             swarm_draft& out) {
  out.edges_line = line;
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    return;
  }
  if (x.size() == 0) {
    fail(path, "must not be empty", line);
    return;
  }
  std::unordered_map<std::string, int> seen; // "from\nto" -> line of its first edge
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& item = x[i];
    auto item_path = indexed(path, i);
    auto item_line = line_of(item);
    if (!item.IsMap()) {
      fail(item_path, "expected a mapping", item_line);
      continue;
    }
    graph_edge edge;
    edge.line = item_line;
    size_t problems_before = problems_.size();
    bool has_from = false;
    bool has_to = false;
    walk(item, item_path, edge_keys,
         [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
             int key_line) {
           if (key == "from") {
             has_from = true;
             if (auto name = read_ref(value, key_path, key_line, out.member_names))
               edge.from = std::move(*name);
           } else if (key == "to") {
             has_to = true;
             if (auto name = read_ref(value, key_path, key_line, out.member_names))
               edge.to = std::move(*name);
           } else if (auto regex = read_regex(value, key_path, key_line)) {
             edge.when = std::move(*regex);
           }
         });
    if (!has_from)
      fail(join(item_path, "from"), "is required", item_line);
    if (!has_to)
      fail(join(item_path, "to"), "is required", item_line);
    if (problems_.size() != problems_before) {
      continue;
    }
    auto [first, first_use] = seen.emplace(edge.from + '\n' + edge.to, item_line);
    if (!first_use) {
      fail(item_path,
           "duplicate edge " + excerpt(edge.from) + " -> " + excerpt(edge.to) + " (first at line " +
               std::to_string(first->second) + ")",
           item_line);
      continue;
    }
    out.node.graph.edges.push_back(std::move(edge));
  }
}

void spec_reader::read_routes(const YAML::Node& x, const std::string& path, int line,
                              swarm_draft& out) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    return;
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& item = x[i];
    auto item_path = indexed(path, i);
    auto item_line = line_of(item);
    if (!item.IsMap()) {
      fail(item_path, "expected a mapping", item_line);
      continue;
    }
    route_rule route;
    route.line = item_line;
    bool has_match = false;
    bool has_to = false;
    walk(item, item_path, route_keys,
         [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
             int key_line) {
           if (key == "match") {
             has_match = true;
             if (auto regex = read_regex(value, key_path, key_line))
               route.match = std::move(*regex);
           } else {
             has_to = true;
             if (auto name = read_ref(value, key_path, key_line, out.member_names))
               route.to = std::move(*name);
           }
         });
    if (!has_match)
      fail(join(item_path, "match"), "is required", item_line);
    if (!has_to)
      fail(join(item_path, "to"), "is required", item_line);
    out.node.router.routes.push_back(std::move(route));
  }
}

std::optional<agent_spec> spec_reader::read_agent(const YAML::Node& x, const std::string& path) {
  auto line = line_of(x);
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return std::nullopt;
  }
  agent_spec agent;
  agent.line = line;
  bool has_name = false;
  walk(x, path, agent_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) {
         if (key == "name") {
           has_name = true;
           auto name = read_name(value, key_path, key_line);
           if (!value.IsScalar())
             return;
           auto [first, first_use] = agent_names_.emplace(value.Scalar(), key_line);
           if (name && !first_use)
             fail(key_path,
                  "duplicate agent name '" + *name + "' (first at line " +
                      std::to_string(first->second) + ")",
                  key_line);
           else if (name)
             agent.name = std::move(*name);
         } else if (key == "role") {
           if (auto text = read_string(value, key_path, key_line))
             agent.role = std::move(*text);
         } else if (key == "system_prompt") {
           if (auto text = read_string(value, key_path, key_line))
             agent.system_prompt = std::move(*text);
         } else if (key == "skills") {
           if (auto skills = read_strings(value, key_path, key_line))
             agent.skills = std::move(*skills);
         } else if (key == "short_term_tokens") {
           if (auto tokens = read_integer(value, key_path, key_line, 256, max_uint32))
             agent.short_term_tokens = static_cast<uint32_t>(*tokens);
         } else if (key == "logprobs") {
           if (auto value_bool = read_bool(value, key_path, key_line))
             agent.logprobs = *value_bool;
         } else if (key == "tools") {
           if (auto tools = read_agent_tools(value, key_path, key_line))
             agent.tools = std::move(*tools);
         } else if (key == "max_tool_steps") {
           if (auto steps = read_integer(value, key_path, key_line, 1, max_tool_steps_limit))
             agent.max_tool_steps = static_cast<uint32_t>(*steps);
         } else if (key == "budget") {
           read_budget(value, key_path, key_line, agent.budget);
         } else {
           read_llm_key(key, value, key_path, key_line, agent.llm);
         }
       });
  if (!has_name)
    fail(join(path, "name"), "is required", line);
  if (agent.system_prompt.empty() && !agent.name.empty())
    agent.system_prompt = agent.role.empty() ? "You are " + agent.name + "."
                                             : "You are " + agent.name + ", " + agent.role + ".";
  return agent;
}

void spec_reader::read_agents(const YAML::Node& x, const std::string& path, int line,
                              swarm_spec& out) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    return;
  }
  if (x.size() == 0) {
    fail(path, "must not be empty", line);
    return;
  }
  agents_read_ = true;
  for (size_t i = 0; i < x.size(); ++i)
    if (auto agent = read_agent(x[i], indexed(path, i)))
      out.agents.push_back(std::move(*agent));
}

void spec_reader::read_budget(const YAML::Node& x, const std::string& path, int line,
                              budget_spec& out) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return;
  }
  walk(x, path, budget_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) {
         if (key == "tokens") {
           if (auto tokens = read_integer(value, key_path, key_line, 0, max_budget_tokens))
             out.tokens = static_cast<uint64_t>(*tokens);
         } else if (auto usd = read_number(value, key_path, key_line, 0, max_budget_usd)) {
           out.usd = *usd;
         }
       });
}

void spec_reader::read_endpoints(const YAML::Node& x, const std::string& path, int line,
                                 std::vector<endpoint_limits_spec>& out) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    return;
  }
  std::unordered_map<std::string, int> seen; // url -> line of its first entry
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& item = x[i];
    auto item_path = indexed(path, i);
    auto item_line = line_of(item);
    if (!item.IsMap()) {
      fail(item_path, "expected a mapping", item_line);
      continue;
    }
    endpoint_limits_spec limits;
    limits.line = item_line;
    bool has_url = false;
    walk(item, item_path, endpoint_keys,
         [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
             int key_line) {
           if (key == "url") {
             has_url = true;
             auto url = read_text(value, key_path, key_line);
             if (!url)
               return;
             if (*url != "default" && !url->starts_with("http://") &&
                 !url->starts_with("https://")) {
               fail(key_path, "must be 'default' or start with http:// or https://", key_line);
               return;
             }
             auto [first, first_use] = seen.emplace(*url, key_line);
             if (!first_use) {
               fail(key_path,
                    "duplicate endpoint '" + excerpt(*url) + "' (first at line " +
                        std::to_string(first->second) + ")",
                    key_line);
               return;
             }
             limits.url = std::move(*url);
           } else if (key == "max_concurrent") {
             if (auto n = read_integer(value, key_path, key_line, 1, max_concurrent_calls))
               limits.max_concurrent = static_cast<uint32_t>(*n);
           } else if (key == "requests_per_minute") {
             if (auto n = read_integer(value, key_path, key_line, 0, max_per_minute))
               limits.requests_per_minute = static_cast<uint64_t>(*n);
           } else if (auto n = read_integer(value, key_path, key_line, 0, max_per_minute)) {
             limits.tokens_per_minute = static_cast<uint64_t>(*n);
           }
         });
    if (!has_url)
      fail(join(item_path, "url"), "is required", item_line);
    if (!limits.url.empty())
      out.push_back(std::move(limits));
  }
}

void spec_reader::read_prices(const YAML::Node& x, const std::string& path, int line,
                              std::vector<price_spec>& out) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    return;
  }
  std::unordered_map<std::string, int> seen; // model -> line of its first price
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& item = x[i];
    auto item_path = indexed(path, i);
    auto item_line = line_of(item);
    if (!item.IsMap()) {
      fail(item_path, "expected a mapping", item_line);
      continue;
    }
    price_spec price;
    price.line = item_line;
    bool has_model = false;
    walk(item, item_path, price_keys,
         [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
             int key_line) {
           if (key == "model") {
             has_model = true;
             auto model = read_text(value, key_path, key_line);
             if (!model)
               return;
             auto [first, first_use] = seen.emplace(*model, key_line);
             if (!first_use) {
               fail(key_path,
                    "duplicate price of model '" + excerpt(*model) + "' (first at line " +
                        std::to_string(first->second) + ")",
                    key_line);
               return;
             }
             price.model = std::move(*model);
           } else if (auto usd = read_number(value, key_path, key_line, 0, max_price)) {
             (key == "prompt" ? price.prompt_per_million : price.completion_per_million) = *usd;
           }
         });
    if (!has_model)
      fail(join(item_path, "model"), "is required", item_line);
    if (!price.model.empty())
      out.push_back(std::move(price));
  }
}

void spec_reader::read_resources(const YAML::Node& x, const std::string& path, int line,
                                 resources_spec& out) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return;
  }
  walk(x, path, resources_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) {
         if (key == "endpoints") {
           read_endpoints(value, key_path, key_line, out.endpoints);
         } else if (key == "budget") {
           read_budget(value, key_path, key_line, out.runtime);
         } else if (key == "per_swarm") {
           read_budget(value, key_path, key_line, out.per_swarm);
         } else if (key == "per_agent") {
           read_budget(value, key_path, key_line, out.per_agent);
         } else if (key == "prices") {
           read_prices(value, key_path, key_line, out.prices);
         } else if (auto ms = read_integer(value, key_path, key_line, 1, max_int32)) {
           out.grant_timeout = std::chrono::milliseconds{*ms};
         }
       });
}

void spec_reader::read_sandbox(const YAML::Node& x, const std::string& path, int line,
                               sandbox_spec& out) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return;
  }
  walk(x, path, sandbox_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) {
         if (key == "network") {
           if (auto network = read_bool(value, key_path, key_line))
             out.network = *network;
           return;
         }
         int64_t maximum = key == "timeout_ms"      ? max_int32
                           : key == "cpu_seconds"   ? max_cpu_seconds
                           : key == "max_processes" ? max_processes_limit
                                                    : max_megabytes;
         auto n = read_integer(value, key_path, key_line, 1, maximum);
         if (!n)
           return;
         if (key == "timeout_ms")
           out.timeout = std::chrono::milliseconds{*n};
         else if (key == "cpu_seconds")
           out.cpu_seconds = static_cast<uint64_t>(*n);
         else if (key == "memory_mb")
           out.memory_mb = static_cast<uint64_t>(*n);
         else if (key == "max_processes")
           out.max_processes = static_cast<uint32_t>(*n);
         else if (key == "max_file_mb")
           out.max_file_mb = static_cast<uint64_t>(*n);
         else
           out.max_output_kb = static_cast<uint64_t>(*n);
       });
}

std::optional<std::string> spec_reader::read_parameters(const YAML::Node& x,
                                                        const std::string& path, int line) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping (a JSON schema with type: object)", line);
    return std::nullopt;
  }
  std::string json;
  if (auto problem = write_json(x, json)) {
    fail(path, std::move(*problem), line);
    return std::nullopt;
  }
  auto type = find_key(x, "type");
  if (!type || !type->IsScalar() || type->Scalar() != "object") {
    fail(path, "must be a JSON schema of type object (type: object)", line);
    return std::nullopt;
  }
  if (auto properties = find_key(x, "properties"); properties && !properties->IsMap()) {
    fail(join(path, "properties"), "expected a mapping", line_of(*properties));
    return std::nullopt;
  }
  return json;
}

std::optional<std::vector<std::string>>
spec_reader::read_command(const YAML::Node& x, const std::string& path, int line) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence (the program, then its arguments)", line);
    return std::nullopt;
  }
  if (x.size() == 0) {
    fail(path, "must not be empty", line);
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& item = x[i];
    // The program must be named; an argument may be empty.
    auto text = i == 0 ? read_text(item, indexed(path, i), line_of(item))
                       : read_string(item, indexed(path, i), line_of(item));
    if (text)
      out.push_back(std::move(*text));
    else
      ok = false;
  }
  if (!ok)
    return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> spec_reader::read_hosts(const YAML::Node& x,
                                                                const std::string& path, int line) {
  auto hosts = read_strings(x, path, line);
  if (!hosts)
    return std::nullopt;
  if (hosts->empty()) {
    fail(path, "must not be empty", line);
    return std::nullopt;
  }
  bool ok = true;
  for (size_t i = 0; i < hosts->size(); ++i) {
    if (is_host((*hosts)[i]))
      continue;
    ok = false;
    fail(indexed(path, i),
         "must be a host name or address, optionally with a port, not a URL (got '" +
             excerpt((*hosts)[i]) + "')",
         line_of(x[i]));
  }
  if (!ok)
    return std::nullopt;
  return hosts;
}

std::optional<tool_decl> spec_reader::read_tool(const YAML::Node& x, const std::string& path) {
  auto line = line_of(x);
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return std::nullopt;
  }
  tool_decl tool;
  tool.line = line;
  std::unordered_map<std::string, int> given; // key -> line
  bool has_name = false;
  bool name_ok = false;
  walk(x, path, tool_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) {
         given.emplace(std::string{key}, key_line);
         if (key == "name") {
           has_name = true;
           auto name = read_name(value, key_path, key_line);
           if (!name)
             return;
           if (name->size() > max_tool_name) {
             fail(key_path, "must be at most " + std::to_string(max_tool_name) + " characters",
                  key_line);
             return;
           }
           auto [first, first_use] = tool_names_.emplace(*name, key_line);
           if (!first_use) {
             fail(key_path,
                  "duplicate tool name '" + *name + "' (first at line " +
                      std::to_string(first->second) + ")",
                  key_line);
             return;
           }
           name_ok = true;
           tool.name = std::move(*name);
         } else if (key == "description") {
           if (auto text = read_text(value, key_path, key_line))
             tool.description = std::move(*text);
         } else if (key == "parameters") {
           if (auto json = read_parameters(value, key_path, key_line))
             tool.parameters = std::move(*json);
         } else if (key == "command") {
           if (auto command = read_command(value, key_path, key_line))
             tool.command = std::move(*command);
         } else if (key == "needs_approval") {
           if (auto approval = read_bool(value, key_path, key_line))
             tool.needs_approval = *approval;
         } else if (key == "sandbox") {
           read_sandbox(value, key_path, key_line, tool.sandbox);
         } else if (auto hosts = read_hosts(value, key_path, key_line)) {
           tool.allow_hosts = std::move(*hosts);
         }
       });
  if (!has_name) {
    fail(join(path, "name"), "is required", line);
    return std::nullopt;
  }
  if (!name_ok)
    return std::nullopt;
  // What applies depends on the kind of tool, wherever its keys stand.
  bool builtin = contains(builtin_tools, tool.name);
  auto refuse = [&](const char* key, const std::string& message) {
    if (auto i = given.find(key); i != given.end())
      fail(join(path, key), message, i->second);
  };
  if (builtin) {
    // A built-in's description may be replaced (what the model reads); its schema may not.
    auto message = "applies only to custom tools ('" + tool.name + "' is built in)";
    refuse("parameters", message);
    refuse("command", message);
  } else {
    for (const char* key : {"description", "parameters", "command"})
      if (!given.contains(key))
        fail(join(path, key), "is required for a custom tool", line);
  }
  if (tool.name != "http_get")
    refuse("allow_hosts", "applies only to http_get");
  else if (!given.contains("allow_hosts"))
    fail(join(path, "allow_hosts"), "is required for http_get (the hosts it may fetch from)", line);
  return tool;
}

void spec_reader::read_tools(const YAML::Node& x, const std::string& path, int line,
                             std::vector<tool_decl>& out) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    tools_checkable_ = false;
    return;
  }
  for (size_t i = 0; i < x.size(); ++i)
    if (auto tool = read_tool(x[i], indexed(path, i)))
      out.push_back(std::move(*tool));
}

void spec_reader::read_memory(const YAML::Node& x, const std::string& path, int line,
                              memory_spec& out) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return;
  }
  int url_line = 0;
  bool has_model = false;
  walk(x, path, memory_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) {
         if (key == "working" || key == "long_term" || key == "consolidate") {
           if (auto flag = read_bool(value, key_path, key_line))
             (key == "working"     ? out.working
              : key == "long_term" ? out.long_term
                                   : out.consolidate) = *flag;
         } else if (key == "recall_k") {
           if (auto k = read_integer(value, key_path, key_line, 1, max_recall_k))
             out.recall_k = static_cast<uint32_t>(*k);
         } else if (key == "overflow") {
           if (auto rule = read_choice(value, key_path, key_line, overflows))
             out.overflow = std::move(*rule);
         } else if (key == "embeddings_model") {
           has_model = true;
           if (auto model = read_text(value, key_path, key_line))
             out.embeddings_model = std::move(*model);
         } else {
           url_line = key_line;
           auto url = read_string(value, key_path, key_line);
           if (url && !url->starts_with("http://") && !url->starts_with("https://"))
             fail(key_path, "must start with http:// or https://", key_line);
           else if (url)
             out.embeddings_url = std::move(*url);
         }
       });
  if (url_line > 0 && !has_model)
    fail(join(path, "embeddings_url"), "needs embeddings_model (vectors are off without it)",
         url_line);
}

std::optional<std::vector<std::string>>
spec_reader::read_agent_tools(const YAML::Node& x, const std::string& path, int line) {
  if (!x.IsSequence()) {
    fail(path, "expected a sequence", line);
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::unordered_map<std::string, int> seen; // name -> line of its first mention
  bool ok = true;
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& item = x[i];
    auto item_path = indexed(path, i);
    auto item_line = line_of(item);
    auto name = read_text(item, item_path, item_line);
    if (!name) {
      ok = false;
      continue;
    }
    auto [first, first_use] = seen.emplace(*name, item_line);
    if (!first_use) {
      fail(item_path,
           "duplicate tool '" + excerpt(*name) + "' (first at line " +
               std::to_string(first->second) + ")",
           item_line);
      ok = false;
      continue;
    }
    agent_tools_.push_back(name_ref{*name, item_path, item_line});
    out.push_back(std::move(*name));
  }
  if (!ok)
    return std::nullopt;
  return out;
}

void spec_reader::check_agent_tools() {
  if (!tools_checkable_)
    return;
  for (const auto& ref : agent_tools_) {
    if (tool_names_.contains(ref.name))
      continue;
    if (contains(builtin_tools, ref.name))
      fail(ref.path,
           "names no declared tool: '" + ref.name + "' (built in, but list it under tools:)",
           ref.line);
    else
      fail(ref.path, "names no declared tool: '" + excerpt(ref.name) + "'", ref.line);
  }
}

int spec_reader::line_of_key(const swarm_draft& x, const std::string& key) {
  if (auto i = x.given.find(key); i != x.given.end())
    return i->second;
  if (auto i = x.given.find("architecture"); i != x.given.end())
    return i->second;
  return x.node.line;
}

void spec_reader::check_members(swarm_draft& x, const swarm_spec& spec) {
  if (!x.members) {
    if (x.given.contains("members"))
      return; // reported while reading
    if (!x.is_root) {
      fail(join(x.path, "members"), "is required", x.node.line);
      return;
    }
    for (const auto& agent : spec.agents)
      x.node.members.push_back(agent.name);
    return;
  }
  std::unordered_map<std::string, int> seen; // member -> line of its first mention
  for (const auto& member : *x.members) {
    auto [first, first_use] = seen.emplace(member.name, member.line);
    if (!first_use) {
      fail(member.path,
           "duplicate member '" + excerpt(member.name) + "' (first at line " +
               std::to_string(first->second) + ")",
           member.line);
      continue;
    }
    if (agents_read_ && !agent_names_.contains(member.name) && !swarm_index_.contains(member.name))
      fail(member.path, "names no agent or swarm: '" + excerpt(member.name) + "'", member.line);
    x.node.members.push_back(member.name);
  }
}

void spec_reader::check_roles(const swarm_draft& x) {
  if (!agents_read_)
    return;
  for (const auto& role : x.roles) {
    if (agent_names_.contains(role.name))
      continue;
    if (swarm_index_.contains(role.name))
      fail(role.path, "names no agent: '" + excerpt(role.name) + "' (it is a swarm)", role.line);
    else
      fail(role.path, "names no agent: '" + excerpt(role.name) + "'", role.line);
  }
}

void spec_reader::check_required(const swarm_draft& x) {
  if (!x.known_architecture)
    return;
  const auto& node = x.node;
  // `key` is needed because `cause` (a key, or the architecture) has the value `value`.
  auto require = [&](const char* key, const std::string& cause, const std::string& value) {
    // A refused value was reported; the default that stands in for it demands nothing.
    if (!x.given.contains(key) && !x.refused.contains(cause))
      fail(join(x.path, key), "is required for " + cause + ": " + value, line_of_key(x, cause));
  };
  const auto& architecture = node.architecture;
  if (architecture == "hierarchical") {
    require("lead", "architecture", architecture);
  } else if (architecture == "collaborative") {
    if (node.collaborative.decision == "synthesize")
      require("aggregator", "decision", "synthesize");
    if (node.collaborative.normalize == "regex")
      require("pattern", "normalize", "regex");
    if (node.collaborative.normalize == "json_field")
      require("field", "normalize", "json_field");
  } else if (architecture == "competitive") {
    if (node.competitive.select == "judge")
      require("judge", "select", "judge");
  } else if (architecture == "group_chat") {
    if (node.group_chat.speaker == "selector")
      require("selector", "speaker", "selector");
  } else if (architecture == "graph") {
    require("edges", "architecture", architecture);
  } else if (architecture == "router") {
    if (!x.given.contains("router") && !x.given.contains("routes"))
      fail(join(x.path, "routes"), "is required without 'router'", line_of_key(x, "architecture"));
  }
}

void spec_reader::check_graph(const swarm_draft& x) {
  const auto& members = x.node.members;
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < members.size(); ++i)
    index.emplace(members[i], i);
  std::vector<std::vector<size_t>> next(members.size());
  for (const auto& edge : x.node.graph.edges) {
    auto from = index.find(edge.from);
    auto to = index.find(edge.to);
    if (from != index.end() && to != index.end())
      next[from->second].push_back(to->second);
  }
  // Depth-first, without recursion (a hostile graph may be deep); reports the first cycle.
  enum : char { unseen, on_path, done };
  std::vector<char> state(members.size(), unseen);
  for (size_t start = 0; start < members.size(); ++start) {
    if (state[start] != unseen)
      continue;
    std::vector<std::pair<size_t, size_t>> path{{start, 0}}; // node, next edge to follow
    state[start] = on_path;
    while (!path.empty()) {
      auto [node, edge] = path.back();
      if (edge == next[node].size()) {
        state[node] = done;
        path.pop_back();
        continue;
      }
      ++path.back().second;
      auto to = next[node][edge];
      if (state[to] == unseen) {
        state[to] = on_path;
        path.emplace_back(to, 0);
      } else if (state[to] == on_path) {
        std::vector<std::string_view> cycle;
        auto first = std::find_if(path.begin(), path.end(),
                                  [to](const auto& frame) { return frame.first == to; });
        for (auto i = first; i != path.end(); ++i)
          cycle.push_back(members[i->first]);
        cycle.push_back(members[to]);
        fail(join(x.path, "edges"), "cycle " + cycle_text(cycle), x.edges_line);
        return;
      }
    }
  }
}

void spec_reader::check_swarm(swarm_draft& x, const swarm_spec& spec) {
  if (!x.is_map)
    return;
  check_members(x, spec);
  check_roles(x);
  check_required(x);
  const auto& members = x.node.members;
  bool members_known = x.members.has_value() || (x.is_root && !x.given.contains("members"));
  if (members_known) {
    for (const auto& ref : x.member_names)
      if (std::find(members.begin(), members.end(), ref.name) == members.end())
        fail(ref.path, "names no member: '" + excerpt(ref.name) + "'", ref.line);
    if (x.given.contains("k") && x.node.competitive.k > members.size() && !members.empty())
      fail(join(x.path, "k"),
           "must be at most " + std::to_string(members.size()) + " (the number of members)",
           x.given.at("k"));
  }
  if (x.node.architecture == "graph" && members_known)
    check_graph(x);
}

void spec_reader::check_tree() {
  for (size_t i = 1; i < swarms_.size(); ++i) {
    const auto& x = swarms_[i];
    if (auto agent = agent_names_.find(x.node.name); agent != agent_names_.end())
      fail(x.path,
           "name '" + excerpt(x.node.name) + "' is taken by an agent (line " +
               std::to_string(agent->second) + ")",
           x.name_line);
  }
  // Sub-swarm -> its sub-swarm members, once each, with the member entry that names them.
  std::vector<std::vector<std::pair<size_t, const name_ref*>>> next(swarms_.size());
  for (size_t i = 0; i < swarms_.size(); ++i) {
    if (!swarms_[i].members)
      continue;
    for (const auto& member : *swarms_[i].members) {
      auto target = swarm_index_.find(member.name);
      if (target == swarm_index_.end() || agent_names_.contains(member.name))
        continue; // an agent (a swarm of an agent's name is reported)
      auto& children = next[i];
      if (std::none_of(children.begin(), children.end(),
                       [&](const auto& child) { return child.first == target->second; }))
        children.emplace_back(target->second, &member);
    }
  }
  // Depth-first from every sub-swarm (the root is no one's member), without recursion; notes
  // each swarm's depth (1: only agents) on the way back.
  enum : char { unseen, on_path, done };
  std::vector<char> state(swarms_.size(), unseen);
  std::vector<size_t> depth(swarms_.size(), 1);
  bool has_cycle = false;
  for (size_t start = 1; start < swarms_.size(); ++start) {
    if (state[start] != unseen)
      continue;
    std::vector<std::pair<size_t, size_t>> path{{start, 0}}; // swarm, next child to visit
    state[start] = on_path;
    while (!path.empty()) {
      auto [node, child] = path.back();
      if (child == next[node].size()) {
        for (const auto& [target, member] : next[node])
          depth[node] = std::max(depth[node], depth[target] + 1);
        state[node] = done;
        path.pop_back();
        continue;
      }
      ++path.back().second;
      auto to = next[node][child].first;
      if (state[to] == unseen) {
        state[to] = on_path;
        path.emplace_back(to, 0);
      } else if (state[to] == on_path) {
        has_cycle = true;
        auto first = std::find_if(path.begin(), path.end(),
                                  [to](const auto& frame) { return frame.first == to; });
        std::vector<std::string_view> cycle;
        for (auto i = first; i != path.end(); ++i)
          cycle.push_back(swarms_[i->first].node.name);
        cycle.push_back(swarms_[to].node.name);
        const auto& entry = *next[first->first][first->second - 1].second;
        fail(entry.path, "cycle: " + cycle_text(cycle), entry.line);
      }
    }
  }
  if (has_cycle)
    return;
  size_t root_depth = 0;
  for (const auto& [target, member] : next.front())
    root_depth = std::max(root_depth, depth[target]);
  if (root_depth > max_nesting)
    fail(join(swarms_.front().path, "members"),
         "sub-swarms nest deeper than " + std::to_string(max_nesting) + " levels",
         line_of_key(swarms_.front(), "members"));
}

spec_parse_result spec_reader::read(const YAML::Node& root, std::string_view source) {
  swarm_spec spec;
  spec.source = std::string{source};
  bool has_name = false;
  bool has_agents = false;
  swarm_draft root_draft;
  root_draft.path = "swarm";
  root_draft.is_root = true;
  swarms_.push_back(std::move(root_draft));
  walk(root, "", top_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& path, int line) {
         if (key == "name") {
           has_name = true;
           if (auto name = read_name(value, path, line))
             spec.name = std::move(*name);
         } else if (key == "description") {
           if (auto text = read_string(value, path, line))
             spec.description = std::move(*text);
         } else if (key == "llm") {
           read_llm(value, path, line, spec.llm);
         } else if (key == "swarm") {
           read_swarm(value, line, swarms_.front());
         } else if (key == "swarms") {
           read_swarms(value, path, line);
         } else if (key == "agents") {
           has_agents = true;
           read_agents(value, path, line, spec);
         } else if (key == "resources") {
           read_resources(value, path, line, spec.resources);
         } else if (key == "tools") {
           read_tools(value, path, line, spec.tools);
         } else if (key == "memory") {
           read_memory(value, path, line, spec.memory);
         }
       });
  // A missing top-level key has no line worth naming.
  if (!has_name)
    fail("name", "is required", 0);
  if (!has_agents)
    fail("agents", "is required", 0);
  for (auto& draft : swarms_)
    check_swarm(draft, spec);
  check_tree();
  check_agent_tools();
  spec_parse_result out;
  if (problems_.empty()) {
    spec.root = std::move(swarms_.front().node);
    spec.root.name = spec.name;
    for (size_t i = 1; i < swarms_.size(); ++i)
      spec.swarms.push_back(std::move(swarms_[i].node));
    out.spec = std::move(spec);
  } else {
    // Keys are visited in document order but names are checked last: report by line.
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const spec_problem& a, const spec_problem& b) { return a.line < b.line; });
    out.problems = std::move(problems_);
  }
  return out;
}

spec_parse_result single_problem(std::string message, int line = 0) {
  spec_parse_result out;
  out.problems.push_back(spec_problem{"", std::move(message), line});
  return out;
}

/// Thrown by `document_starts` at a collection nested deeper than `max_yaml_depth`.
struct too_deep {
  YAML::Mark mark;
};

/// How deep sequences and mappings may nest in a spec. yaml-cpp's parser recurses once per level
/// (and stops at 500 with a bare "bad file"); checking first names the real cause, and the
/// conversions after it never recurse deeper than this.
constexpr int max_yaml_depth = 128;

/// Counts documents and notes where they start, and stops at nesting deeper than
/// `max_yaml_depth`; the parse itself checks the syntax.
class document_starts final : public YAML::EventHandler {
public:
  size_t count = 0;
  int depth = 0;     ///< collections open now
  YAML::Mark second; ///< start of the second document, if any
  YAML::Mark previous;
  YAML::Mark last;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++count == 2)
      second = mark;
    previous = last;
    last = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    enter(mark);
  }
  void OnSequenceEnd() override { --depth; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    enter(mark);
  }
  void OnMapEnd() override { --depth; }

  void enter(const YAML::Mark& mark) {
    if (++depth > max_yaml_depth)
      throw too_deep{mark};
  }

  /// yaml-cpp 0.7 can stall on a stray token (a lone ',' at the top): it then reports empty
  /// documents at the same place forever (jbeder/yaml-cpp#1040), which YAML::LoadAll turns into
  /// unbounded memory. Every other document consumes input, so this ends the loop.
  bool stalled() const { return count >= 2 && last.pos == previous.pos; }
};

spec_parse_result parse_document(std::string_view text, std::string_view source) {
  // Walk every document with a bounded loop before building nodes for the first one.
  document_starts documents;
  YAML::Node root;
  try {
    std::istringstream in{std::string{text}};
    YAML::Parser parser{in};
    while (parser.HandleNextDocument(documents)) {
      if (documents.stalled()) {
        auto pos = static_cast<size_t>(documents.last.pos);
        auto c = pos < text.size() ? text[pos] : '\0';
        auto what = c > ' ' && c < 0x7f ? std::string{"'"} + c + "'" : std::string{"byte"};
        return single_problem("YAML syntax error: unexpected " + what, documents.last.line + 1);
      }
    }
    if (documents.count == 1)
      root = YAML::Load(std::string{text});
  } catch (const too_deep& e) {
    return single_problem("YAML nesting deeper than " + std::to_string(max_yaml_depth) +
                              " levels (sequences and mappings inside each other)",
                          e.mark.line + 1);
  } catch (const YAML::DeepRecursion& e) {
    return single_problem("YAML nesting deeper than " + std::to_string(e.depth() - 1) + " levels",
                          e.mark.line + 1);
  } catch (const YAML::ParserException& e) {
    return single_problem("YAML syntax error: " + e.msg, e.mark.line + 1);
  }
  if (documents.count > 1)
    return single_problem("expected one YAML document", documents.second.line + 1);
  if (documents.count == 0 || root.IsNull())
    return single_problem("spec is empty");
  if (!root.IsMap())
    return single_problem("expected a mapping at the top level", line_of(root));
  auto out = spec_reader{}.read(root, source);
  if (out.spec)
    out.spec->text = std::string{text};
  return out;
}

std::string problems_text(std::string_view source, const std::vector<spec_problem>& problems) {
  std::string out{source};
  out += ": ";
  out += std::to_string(problems.size());
  out += problems.size() == 1 ? " problem:" : " problems:";
  for (const auto& problem : problems) {
    out += "\n  ";
    out += to_string(problem);
  }
  return out;
}

} // namespace

std::string to_string(const spec_problem& x) {
  std::string out;
  if (!x.path.empty()) {
    out = x.path;
    out += ": ";
  }
  out += x.message;
  if (x.line > 0) {
    out += " (line ";
    out += std::to_string(x.line);
    out += ')';
  }
  return out;
}

spec_parse_result parse_spec(std::string_view text, std::string_view source) {
  // yaml-cpp reports through exceptions; none may leave this function.
  try {
    return parse_document(text, source);
  } catch (const std::exception& e) {
    return single_problem(std::string{"cannot read spec: "} + e.what());
  } catch (...) {
    return single_problem("cannot read spec: unknown error");
  }
}

caf::expected<swarm_spec> load_spec_text(std::string_view text, std::string_view source) {
  auto parsed = parse_spec(text, source);
  if (parsed.spec)
    return std::move(*parsed.spec);
  return make_error(errc::invalid_spec, problems_text(source, parsed.problems));
}

caf::expected<swarm_spec> load_spec(const std::string& path) {
  auto io_error = [&](int code) {
    return make_error(errc::io_error, "cannot read spec '" + path + "': " + std::strerror(code));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::fopen(path.c_str(), "rb"),
                                                       &std::fclose};
  if (!file)
    return io_error(errno);
  std::string text;
  char buffer[65536];
  errno = 0;
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    text.append(buffer, n);
    if (text.size() > max_spec_bytes)
      return io_error(EFBIG);
  }
  if (std::ferror(file.get()))
    return io_error(errno != 0 ? errno : EIO);
  return load_spec_text(text, path);
}

const agent_spec* swarm_spec::find_agent(const std::string& name) const {
  for (const auto& a : agents)
    if (a.name == name)
      return &a;
  return nullptr;
}

const swarm_node_spec* swarm_spec::find_swarm(const std::string& name) const {
  for (const auto& s : swarms)
    if (s.name == name)
      return &s;
  return nullptr;
}

void disable_memory(swarm_spec& spec) {
  auto is_memory_tool = [](std::string_view name) {
    return name == "memory_search" || name == "memory_write";
  };
  spec.memory.working = false;
  spec.memory.long_term = false;
  std::erase_if(spec.tools, [&](const tool_decl& t) { return is_memory_tool(t.name); });
  for (auto& a : spec.agents)
    std::erase_if(a.tools, is_memory_tool);
  if (spec.text.empty())
    return;
  // The same edits on the text: it was parsed before, so it loads.
  YAML::Node root;
  try {
    root = YAML::Load(spec.text);
  } catch (const YAML::Exception&) {
    return;
  }
  if (!root.IsMap())
    return;
  // A copy of `list` without the memory tools; `name_of` reads an item's tool name.
  auto without_memory_tools = [&](const YAML::Node& list, auto name_of) {
    YAML::Node kept{YAML::NodeType::Sequence};
    for (const auto& item : list)
      if (!is_memory_tool(name_of(item)))
        kept.push_back(item);
    return kept;
  };
  // A missing key reads as an invalid node, whose type queries throw: IsDefined() first.
  auto scalar = [](const YAML::Node& x) {
    return x.IsDefined() && x.IsScalar() ? x.Scalar() : std::string{};
  };
  // Lookups through const nodes: a non-const operator[] would add the keys it does not find.
  auto has = [](const YAML::Node& parent, const char* key, YAML::NodeType::value type) {
    const YAML::Node& p = parent;
    return p.IsMap() && p[key].IsDefined() && p[key].Type() == type;
  };
  if (has(root, "memory", YAML::NodeType::Map)) {
    root["memory"]["working"] = false;
    root["memory"]["long_term"] = false;
  }
  if (has(root, "tools", YAML::NodeType::Sequence))
    root["tools"] = without_memory_tools(root["tools"], [&](const YAML::Node& t) {
      return t.IsMap() ? scalar(t["name"]) : scalar(t);
    });
  if (has(root, "agents", YAML::NodeType::Sequence))
    for (YAML::Node agent : root["agents"])
      if (has(agent, "tools", YAML::NodeType::Sequence))
        agent["tools"] = without_memory_tools(agent["tools"], scalar);
  YAML::Emitter out;
  out << root;
  if (out.good())
    spec.text = out.c_str();
}

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& a : architecture_table)
      out.emplace_back(a.name);
    return out;
  }();
  return names;
}

std::span<const architecture_info> architectures() {
  return architecture_table;
}

std::span<const std::string_view> common_swarm_keys() {
  return common_keys;
}

} // namespace swarm
