// The mock LLM's script: its model, YAML loading, rule matching, templating, fault selection and
// reply planning. Plain functions, unit-testable without a server (docs/mock-llm.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/pattern.hpp"

namespace swarm::mock_llm {

/// `match:` of a rule or fault: every given field must match. Each is a swarm::pattern (RE2
/// syntax, searched, linear in the text).
struct match_spec {
  std::optional<pattern> model;   ///< the request's model
  std::optional<pattern> system;  ///< the first system message
  std::optional<pattern> user;    ///< the last user message; its groups feed {{match.K}}
  std::optional<pattern> history; ///< every message, one "role: content" line each
};

/// A reply template compiled once: literal text and `{{variable}}` parts.
struct reply_template {
  enum class part_kind { text, user, system, model, n, name, match };
  struct part {
    part_kind kind = part_kind::text;
    std::string text; ///< for part_kind::text
    size_t group = 0; ///< for part_kind::match
  };
  std::vector<part> parts;
  size_t max_group = 0; ///< largest K of a {{match.K}}, 0 if none
};

/// Compiles `{{user}}`, `{{system}}`, `{{model}}`, `{{n}}`, `{{name}}`, `{{match.K}}`. Errors:
/// errc::invalid_spec with a message like `unknown template variable {{usr}}`.
[[nodiscard]] caf::expected<reply_template> compile_template(std::string_view text);

/// Latency distribution. Default: none (answer at once).
struct latency_spec {
  enum class distribution { none, fixed, uniform, normal };
  distribution dist = distribution::none;
  double a = 0; ///< fixed: ms; uniform: low ms; normal: mean ms
  double b = 0; ///< uniform: high ms; normal: standard deviation ms
};

/// One tool call the assistant asks for.
struct tool_call_spec {
  std::string name;
  std::string arguments; ///< JSON text, sent as `function.arguments`
};

/// A rule (or the `default` reply). Exactly one of reply / json / tool_calls gives the content.
struct rule {
  match_spec match;
  reply_template reply;                      ///< templated content (used when the others are empty)
  std::optional<std::string> json;           ///< content = this JSON text, literally
  std::vector<tool_call_spec> tool_calls;    ///< non-empty: finish_reason "tool_calls"
  std::optional<double> latency_ms;          ///< overrides the script's latency
  std::optional<double> logprob;             ///< of every token; default: default_logprob
  std::optional<uint64_t> prompt_tokens;     ///< else estimated
  std::optional<uint64_t> completion_tokens; ///< else estimated
  bool omit_usage = false;                   ///< `usage: none`: replies carry no usage
  int line = 0;                              ///< 1-based line in the script, 0: built in
};

/// What a fault does to the request it fires on. refuse_response_format fires only on requests
/// that carry a `response_format` (answering 400, as llama.cpp's server does to a schema it
/// cannot compile). The last four answer 200 with a reply a client must refuse or repair
/// (docs/mock-llm.md).
enum class fault_kind {
  http_429,
  http_500,
  http_503,
  stall,
  truncate,
  reset,
  invalid_json,
  refuse_response_format,
  null_content,
  huge_reply,
  invalid_utf8
};

/// Every fault kind, in declaration order.
inline constexpr fault_kind all_fault_kinds[] = {
    fault_kind::http_429,     fault_kind::http_500,
    fault_kind::http_503,     fault_kind::stall,
    fault_kind::truncate,     fault_kind::reset,
    fault_kind::invalid_json, fault_kind::refuse_response_format,
    fault_kind::null_content, fault_kind::huge_reply,
    fault_kind::invalid_utf8};

/// The default size of a huge_reply's content: 65 MiB, above the 64 MiB a SmolSwarms client
/// accepts in one reply.
inline constexpr uint64_t default_huge_reply_bytes = uint64_t{65} << 20;

/// The largest huge_reply the script may ask for (1 GiB).
inline constexpr uint64_t max_huge_reply_bytes = uint64_t{1} << 30;

/// What an invalid_utf8 fault puts before and after the reply's text: a byte no UTF-8 text holds
/// (0xFF) and a two-byte sequence cut short (0xC3 followed by an ASCII byte).
inline constexpr std::string_view invalid_utf8_prefix = "\xff";
inline constexpr std::string_view invalid_utf8_suffix = " caf\xc3(";

/// "http_429", ...
std::string_view to_string(fault_kind x);

/// One `faults:` entry. With neither first, nth nor rate it fires on every request it matches.
struct fault_spec {
  fault_kind kind = fault_kind::http_500;
  std::optional<uint64_t> first;   ///< fires on chat requests 1..first
  std::vector<uint64_t> nth;       ///< fires on these 1-based chat request numbers
  std::optional<double> rate;      ///< fires with this probability (seeded by seed + number)
  std::optional<match_spec> match; ///< narrows any of the above
  /// http_429 only: the Retry-After header in seconds; nullopt (`retry_after_s: none`): no header.
  std::optional<uint32_t> retry_after_s = 1;
  bool midway = false;                       ///< reset only: after half the reply
  uint64_t bytes = default_huge_reply_bytes; ///< huge_reply only: content size
  int line = 0;
};

/// The default logprob of a token when the rule gives none.
constexpr double default_logprob = -0.1;

/// A loaded script. Default-constructed: the built-in default reply, no rules, no faults.
struct script {
  std::string source = "<script>"; ///< file name used in messages
  uint64_t seed = 0;
  latency_spec latency;
  std::vector<std::string> models; ///< served by GET /v1/models besides "mock"
  size_t embedding_dimensions = 64;
  rule fallback = default_rule(); ///< `default:`
  std::vector<rule> rules;
  std::vector<fault_spec> faults;

  /// "Mock answer from {{model}} to: {{user}}".
  static rule default_rule();
};

/// Parses a script text. `source` names it in messages. Errors: errc::invalid_spec with
/// `<source>: <path>: <problem> (line N)`, e.g.
/// `script.yaml: rules[2].match.user: invalid regex "(": unbalanced parenthesis (line 7)`.
[[nodiscard]] caf::expected<script> parse_script(std::string_view text,
                                                 std::string_view source = "<script>");

/// Reads and parses a script file; errc::io_error if it cannot be read.
[[nodiscard]] caf::expected<script> load_script(const std::string& path);

/// The facts of a chat completion request that rules, faults and replies depend on.
struct chat_request {
  std::string model = "mock";
  std::string system;         ///< content of the first system message
  std::string user;           ///< content of the last user message
  std::string user_name;      ///< `name` of the last user message
  std::string history;        ///< every message as "role: content\n", in order
  uint64_t prompt_tokens = 0; ///< sum over messages of ceil(chars / 4)
  bool stream = false;
  bool include_usage = false;
  bool response_format = false; ///< the request has a (non-null) `response_format`
  bool logprobs = false;
  uint32_t top_logprobs = 0;
  std::optional<uint64_t> max_tokens; ///< max_tokens or max_completion_tokens
};

/// ceil(chars / 4): the token estimate of a text.
constexpr uint64_t estimate_tokens(size_t chars) {
  return (chars + 3) / 4;
}

/// True if every field `m` gives matches; `groups` (if given) receives the user regex groups.
bool matches(const match_spec& m, const chat_request& req,
             std::vector<std::string>* groups = nullptr);

/// The rule that answers `req`: the first matching rule, else the fallback. `groups` receives the
/// capture groups of its user regex (index 0: the whole match).
const rule& match_rule(const script& s, const chat_request& req, std::vector<std::string>& groups);

/// Renders a template for request number `n` (1-based). Missing groups render empty.
std::string render_template(const reply_template& t, const chat_request& req, uint64_t n,
                            const std::vector<std::string>& groups);

/// A deterministic number in [0, 1) from seed, request number and a salt.
double unit_random(uint64_t seed, uint64_t n, uint64_t salt);

/// The first fault that fires on chat request number `n`, or nullptr.
const fault_spec* select_fault(const script& s, const chat_request& req, uint64_t n);

/// The delay of request `n` in ms: the rule's latency_ms if set, else the script's distribution.
double latency_ms(const script& s, const rule* r, uint64_t n);

/// Everything the server needs to answer one chat request.
struct reply_plan {
  const fault_spec* fault = nullptr; ///< the fault that fired, if any
  std::string content;               ///< assistant text (empty for tool calls)
  const std::vector<tool_call_spec>* tool_calls = nullptr; ///< non-null and non-empty: tool calls
  std::string_view finish_reason = "stop";                 ///< "stop", "tool_calls" or "length"
  double logprob = default_logprob;
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  bool omit_usage = false;   ///< no `usage` in the reply, nor a usage chunk in a stream
  bool null_content = false; ///< content null and no tool calls (a null_content fault)
  bool huge = false;         ///< content is a huge_reply's: streamed in 64 KiB pieces, no logprobs
  double latency_ms = 0;
};

/// Decides the answer to chat request number `n`: fault, content, usage, latency.
reply_plan plan_reply(const script& s, const chat_request& req, uint64_t n);

/// Splits text into the pieces streamed as deltas and reported as logprob tokens: each word with
/// the whitespace after it (leading whitespace joins the first piece). Concatenated == text.
std::vector<std::string_view> split_tokens(std::string_view text);

} // namespace swarm::mock_llm
