// Loads swarm specs (YAML, or JSON read as YAML) and validates them, reporting every problem.
#include "runtime/core/spec.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

constexpr std::string_view top_keys[] = {"name", "description", "llm", "swarm", "agents"};
constexpr std::string_view llm_keys[] = {"url",        "model",  "api_key_env", "temperature",
                                         "max_tokens", "stream", "timeout_ms"};
constexpr std::string_view swarm_keys[] = {"architecture", "members", "member_timeout_ms"};
constexpr std::string_view agent_keys[] = {
    "name",        "role",        "system_prompt", "skills", "short_term_tokens", "url", "model",
    "api_key_env", "temperature", "max_tokens",    "stream", "timeout_ms"};

// Upper bounds keep later arithmetic (deadlines, budgets) far from overflow.
constexpr int64_t max_int32 = std::numeric_limits<int32_t>::max();
constexpr int64_t max_uint32 = std::numeric_limits<uint32_t>::max();

// Files larger than this are refused rather than read into memory.
constexpr size_t max_spec_bytes = 64 * 1024 * 1024;

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
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, x);
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

/// One pass over a parsed document: reads what it can into a swarm_spec and records every problem
/// on the way.
class spec_reader {
public:
  spec_parse_result read(const YAML::Node& root, std::string_view source);

private:
  void fail(std::string path, std::string message, int line) {
    problems_.push_back(spec_problem{std::move(path), std::move(message), line});
  }

  /// Visits each entry of a mapping whose key is in `known`; reports keys that are unknown,
  /// duplicated or not scalars. `visit(key, value, path, line)` gets the key's line.
  template <class Visitor>
  void walk(const YAML::Node& map, const std::string& path, std::span<const std::string_view> known,
            Visitor&& visit);

  std::optional<std::string> read_string(const YAML::Node& x, const std::string& path, int line);
  std::optional<std::string> read_name(const YAML::Node& x, const std::string& path, int line);
  std::optional<int64_t> read_integer(const YAML::Node& x, const std::string& path, int line,
                                      int64_t minimum, int64_t maximum);
  std::optional<double> read_number(const YAML::Node& x, const std::string& path, int line,
                                    double minimum, double maximum);
  std::optional<bool> read_bool(const YAML::Node& x, const std::string& path, int line);
  std::optional<std::vector<std::string>> read_strings(const YAML::Node& x, const std::string& path,
                                                       int line);

  /// Reads `key` into `out` if it is one of the LLM keys; false if it is not one.
  bool read_llm_key(std::string_view key, const YAML::Node& x, const std::string& path, int line,
                    llm_settings& out);
  void read_llm(const YAML::Node& x, const std::string& path, int line, llm_settings& out);
  void read_swarm(const YAML::Node& x, const std::string& path, int line, swarm_spec& out);
  void read_agents(const YAML::Node& x, const std::string& path, int line, swarm_spec& out);
  std::optional<agent_spec> read_agent(const YAML::Node& x, const std::string& path);
  void check_members(swarm_spec& out);

  struct member_ref {
    std::string name;
    std::string path;
    int line;
  };

  std::vector<spec_problem> problems_;
  /// `swarm.members` as written; checked once every agent is known.
  std::optional<std::vector<member_ref>> members_;
  /// Every agent name as written (valid or not) with the line of its `name`.
  std::unordered_map<std::string, int> agent_names_;
  bool agents_read_ = false;
};

template <class Visitor>
void spec_reader::walk(const YAML::Node& map, const std::string& path,
                       std::span<const std::string_view> known, Visitor&& visit) {
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
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      auto suggestion = closest_key(key, known);
      if (suggestion.empty())
        fail(key_path, "unknown key", line);
      else
        fail(key_path, "unknown key (did you mean '" + std::string{suggestion} + "'?)", line);
      continue;
    }
    visit(std::string_view{key}, value, key_path, line);
  }
}

std::optional<std::string> spec_reader::read_string(const YAML::Node& x, const std::string& path,
                                                    int line) {
  if (!x.IsScalar()) {
    fail(path, "expected a string", line);
    return std::nullopt;
  }
  return x.Scalar();
}

std::optional<std::string> spec_reader::read_name(const YAML::Node& x, const std::string& path,
                                                  int line) {
  auto text = read_string(x, path, line);
  if (!text)
    return std::nullopt;
  if (text->empty()) {
    fail(path, "must not be empty", line);
    return std::nullopt;
  }
  if (!is_name(*text)) {
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
    return below(); // every integer key of the schema has a minimum > 0
  if (magnitude > static_cast<uint64_t>(maximum))
    return above();
  auto value = static_cast<int64_t>(magnitude);
  if (value < minimum)
    return below();
  return value;
}

std::optional<double> spec_reader::read_number(const YAML::Node& x, const std::string& path,
                                               int line, double minimum, double maximum) {
  if (!is_plain_scalar(x)) {
    fail(path, "expected a number", line);
    return std::nullopt;
  }
  std::string_view text = x.Scalar();
  if (!text.empty() && text[0] == '+')
    text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::invalid_argument || end != text.data() + text.size() ||
      (ec == std::errc{} && !std::isfinite(value))) {
    fail(path, "expected a number", line);
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < minimum || value > maximum) {
    fail(path, "must be between " + number_text(minimum) + " and " + number_text(maximum), line);
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
    auto item_path = indexed(path, i);
    auto item_line = line_of(item);
    auto text = read_string(item, item_path, item_line);
    if (!text) {
      ok = false;
    } else if (text->empty()) {
      fail(item_path, "must not be empty", item_line);
      ok = false;
    } else {
      out.push_back(std::move(*text));
    }
  }
  if (!ok)
    return std::nullopt;
  return out;
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
    auto text = read_string(x, path, line);
    if (text && text->empty())
      fail(path, "must not be empty", line);
    else if (text)
      out.model = std::move(*text);
  } else if (key == "api_key_env") {
    auto text = read_string(x, path, line);
    if (text && text->empty())
      fail(path, "must not be empty", line);
    else if (text && !is_env_var_name(*text))
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

void spec_reader::read_swarm(const YAML::Node& x, const std::string& path, int line,
                             swarm_spec& out) {
  if (!x.IsMap()) {
    fail(path, "expected a mapping", line);
    return;
  }
  walk(x, path, swarm_keys,
       [&](std::string_view key, const YAML::Node& value, const std::string& key_path,
           int key_line) {
         if (key == "architecture") {
           auto text = read_string(value, key_path, key_line);
           if (!text)
             return;
           const auto& supported = supported_architectures();
           if (std::find(supported.begin(), supported.end(), *text) != supported.end()) {
             out.root.architecture = std::move(*text);
             return;
           }
           std::string list;
           for (const auto& name : supported)
             list += (list.empty() ? "" : ", ") + name;
           fail(key_path, "unknown architecture '" + excerpt(*text) + "' (supported: " + list + ")",
                key_line);
         } else if (key == "members") {
           if (!value.IsSequence()) {
             fail(key_path, "expected a sequence", key_line);
             return;
           }
           if (value.size() == 0) {
             fail(key_path, "must not be empty", key_line);
             return;
           }
           std::vector<member_ref> refs;
           for (size_t i = 0; i < value.size(); ++i) {
             const auto& item = value[i];
             auto item_path = indexed(key_path, i);
             auto item_line = line_of(item);
             if (auto name = read_string(item, item_path, item_line))
               refs.push_back(member_ref{std::move(*name), std::move(item_path), item_line});
           }
           members_ = std::move(refs);
         } else if (key == "member_timeout_ms") {
           if (auto value_ms = read_integer(value, key_path, key_line, 1, max_int32))
             out.root.guards.member_timeout = std::chrono::milliseconds{*value_ms};
         }
       });
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

void spec_reader::check_members(swarm_spec& out) {
  if (!members_) {
    for (const auto& agent : out.agents)
      out.root.members.push_back(agent.name);
    return;
  }
  std::unordered_map<std::string, int> seen; // member -> line of its first mention
  for (const auto& member : *members_) {
    auto [first, first_use] = seen.emplace(member.name, member.line);
    if (!first_use) {
      fail(member.path,
           "duplicate member '" + excerpt(member.name) + "' (first at line " +
               std::to_string(first->second) + ")",
           member.line);
      continue;
    }
    if (agents_read_ && !agent_names_.contains(member.name))
      fail(member.path, "names no agent: '" + excerpt(member.name) + "'", member.line);
    out.root.members.push_back(member.name);
  }
}

spec_parse_result spec_reader::read(const YAML::Node& root, std::string_view source) {
  swarm_spec spec;
  spec.source = std::string{source};
  bool has_name = false;
  bool has_agents = false;
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
           read_swarm(value, path, line, spec);
         } else if (key == "agents") {
           has_agents = true;
           read_agents(value, path, line, spec);
         }
       });
  // A missing top-level key has no line worth naming.
  if (!has_name)
    fail("name", "is required", 0);
  if (!has_agents)
    fail("agents", "is required", 0);
  check_members(spec);
  spec_parse_result out;
  if (problems_.empty()) {
    spec.root.name = spec.name;
    out.spec = std::move(spec);
  } else {
    // Keys are visited in document order but members are checked last: report by line.
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

/// Counts documents and notes where they start; the parse itself checks the syntax.
class document_starts final : public YAML::EventHandler {
public:
  size_t count = 0;
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
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

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
  } catch (const YAML::ParserException& e) {
    return single_problem("YAML syntax error: " + e.msg, e.mark.line + 1);
  }
  if (documents.count > 1)
    return single_problem("expected one YAML document", documents.second.line + 1);
  if (documents.count == 0 || root.IsNull())
    return single_problem("spec is empty");
  if (!root.IsMap())
    return single_problem("expected a mapping at the top level", line_of(root));
  return spec_reader{}.read(root, source);
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

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> names{"concurrent"};
  return names;
}

} // namespace swarm
