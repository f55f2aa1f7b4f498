// The mock LLM's script: templating, matching, faults and reply plans (loading: script_yaml.cpp).
#include "mock_llm/script.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

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
  case fault_kind::http_503:
    return "http_503";
  case fault_kind::stall:
    return "stall";
  case fault_kind::truncate:
    return "truncate";
  case fault_kind::reset:
    return "reset";
  case fault_kind::invalid_json:
    return "invalid_json";
  case fault_kind::refuse_response_format:
    return "refuse_response_format";
  case fault_kind::null_content:
    return "null_content";
  case fault_kind::huge_reply:
    return "huge_reply";
  case fault_kind::invalid_utf8:
    return "invalid_utf8";
  }
  return "unknown";
}

rule script::default_rule() {
  rule r;
  r.reply = *compile_template("Mock answer from {{model}} to: {{user}}");
  return r;
}

// -- matching, faults, plans ----------------------------------------------------------------------

bool matches(const match_spec& m, const chat_request& req, std::vector<std::string>* groups) {
  if (m.model && !m.model->search(req.model))
    return false;
  if (m.system && !m.system->search(req.system))
    return false;
  if (m.history && !m.history->search(req.history))
    return false;
  if (m.user) {
    auto found = m.user->groups(req.user);
    if (!found)
      return false;
    if (groups)
      *groups = std::move(*found);
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

namespace {

/// The faults that change a 200 reply's content: null_content, huge_reply, invalid_utf8.
void apply_content_fault(const fault_spec& f, reply_plan& p, uint64_t& completion_chars) {
  switch (f.kind) {
  case fault_kind::null_content:
    p.null_content = true;
    p.tool_calls = nullptr;
    p.content.clear();
    p.finish_reason = "stop";
    completion_chars = 0;
    return;
  case fault_kind::huge_reply: {
    // Words of printable ASCII, so the size on the wire is the content's plus the framing.
    static constexpr std::string_view word = "huge reply ";
    p.tool_calls = nullptr;
    p.content.clear();
    p.content.reserve(f.bytes);
    while (p.content.size() + word.size() <= f.bytes)
      p.content += word;
    p.content.append(word.substr(0, f.bytes - p.content.size()));
    p.finish_reason = "stop";
    p.huge = true;
    completion_chars = p.content.size();
    return;
  }
  case fault_kind::invalid_utf8:
    if (p.tool_calls)
      return; // a tool-call reply has no content to spoil
    p.content.insert(0, invalid_utf8_prefix);
    p.content += invalid_utf8_suffix;
    completion_chars = p.content.size();
    return;
  default:
    return;
  }
}

} // namespace

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
  if (p.fault)
    apply_content_fault(*p.fault, p, completion_chars);
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
