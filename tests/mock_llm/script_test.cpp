// Tests of the mock LLM's script: loading errors, matching, templating, faults, latency, format.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/openai_format.hpp"
#include "mock_llm/script.hpp"
#include "runtime/core/errc.hpp"

using namespace swarm;
using namespace swarm::mock_llm;

namespace {

/// The error message of a script that must fail to load.
std::string load_error(std::string_view text) {
  auto s = parse_script(text, "script.yaml");
  REQUIRE_FALSE(s);
  REQUIRE(is(s.error(), errc::invalid_spec));
  return describe(s.error());
}

script load(std::string_view text) {
  auto s = parse_script(text, "script.yaml");
  if (!s)
    FAIL(describe(s.error()));
  return std::move(*s);
}

chat_request user_says(std::string text, std::string model = "mock") {
  chat_request r;
  r.model = std::move(model);
  r.user = std::move(text);
  return r;
}

} // namespace

TEST_CASE("a bad regex is an error naming file, path and line") {
  CHECK(load_error("rules:\n"
                   "  - match: {user: ok}\n"
                   "    reply: a\n"
                   "  - reply: b\n"
                   "  - match:\n"
                   "      model: x\n"
                   "      user: \"capital of (\\\\w+\"\n"
                   "    reply: c\n") ==
        "invalid_spec: script.yaml: rules[2].match.user: invalid regex: missing ): "
        "capital of (\\w+ (line 7)");
  // RE2 syntax: no back references, no lookaround; each refused by name.
  CHECK(load_error("rules:\n  - match: {history: \"(a)\\\\1\"}\n    reply: x\n") ==
        "invalid_spec: script.yaml: rules[0].match.history: invalid regex: back references are "
        "not supported (RE2 syntax): \\1 (line 2)");
  CHECK(load_error("faults:\n  - {kind: http_500, match: {model: \"(?!gpt)\"}}\n") ==
        "invalid_spec: script.yaml: faults[0].match.model: invalid regex: lookaround is not "
        "supported (RE2 syntax): (?! (line 2)");
}

TEST_CASE("a catastrophic match regex on a long message decides at once") {
  // std::regex backtracked 2^n steps on (a+)+$ against n `a`s then `c`: the mock hung.
  auto s = load(R"(
default: {reply: "fallback"}
rules:
  - match: {user: "(a+)+$"}
    reply: "hung"
  - match: {user: "^((a|aa)+)c$"}
    reply: "groups {{match.1}}"
)");
  auto text = std::string(45, 'a') + "c";
  CHECK(plan_reply(s, user_says(text), 1).content == "groups " + std::string(45, 'a'));
  CHECK(plan_reply(s, user_says(text + "!"), 2).content == "fallback");
}

TEST_CASE("an unknown key is an error naming file, path, line and the nearest key") {
  CHECK(load_error("seed: 1\n"
                   "rules:\n"
                   "  - match: {user: hi}\n"
                   "    replyy: hello\n") ==
        "invalid_spec: script.yaml: rules[0].replyy: unknown key (did you mean 'reply'?) (line 4)");
  CHECK(load_error("sead: 1\n") ==
        "invalid_spec: script.yaml: sead: unknown key (did you mean 'seed'?) (line 1)");
  // No key is close: the keys it may be.
  CHECK(load_error("colour: blue\n") ==
        "invalid_spec: script.yaml: colour: unknown key (expected one of: seed, latency, default, "
        "rules, faults, models, embeddings) (line 1)");
}

TEST_CASE("the script is read by the spec's YAML reader: duplicates, depth, documents, aliases") {
  CHECK(load_error("seed: 1\nseed: 2\n") ==
        "invalid_spec: script.yaml: seed: duplicate key (first at line 1) (line 2)");
  CHECK(load_error("default: {json: {a: 1, a: 2}}\n") ==
        "invalid_spec: script.yaml: default.json: has the key 'a' twice (line 1) (line 1)");
  CHECK(load_error("default: {json: " + std::string(200, '[') + std::string(200, ']') + "}\n") ==
        "invalid_spec: script.yaml: YAML nesting deeper than 128 levels (sequences and mappings "
        "inside each other) (line 1)");
  CHECK(load_error("seed: 1\n---\nseed: 2\n") ==
        "invalid_spec: script.yaml: expected one YAML document (line 2)");
  CHECK(load_error("default: &d {json: {self: *d}}\n") ==
        "invalid_spec: script.yaml: YAML alias inside the node its anchor names (a recursive "
        "value) (line 1)");
  // Aliases share nodes; the JSON they expand to is bounded.
  std::string laughs = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 30; ++i)
    laughs += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" +
              std::to_string(i - 1) + ", *l" + std::to_string(i - 1) + "]\n";
  std::string script = "default:\n  json:\n";
  for (size_t start = 0; start < laughs.size();) {
    auto end = laughs.find('\n', start);
    script += "    " + laughs.substr(start, end - start + 1);
    start = end + 1;
  }
  CHECK(load_error(script) ==
        "invalid_spec: script.yaml: default.json: is larger than 1048576 bytes as JSON (line 3)");
}

TEST_CASE("a value of the wrong type is an error naming file, path and line") {
  CHECK(load_error("seed: seven\n") ==
        "invalid_spec: script.yaml: seed: expected a non-negative integer (line 1)");
  CHECK(load_error("latency: {fixed_ms: [1]}\n") ==
        "invalid_spec: script.yaml: latency.fixed_ms: expected a number (line 1)");
  CHECK(load_error("rules:\n  - reply: {a: 1}\n") ==
        "invalid_spec: script.yaml: rules[0].reply: expected a string (line 2)");
  CHECK(load_error("faults:\n  - {kind: stall, rate: 2}\n") ==
        "invalid_spec: script.yaml: faults[0].rate: expected a number between 0 and 1 (line 2)");
  CHECK(load_error("rules: {a: 1}\n") ==
        "invalid_spec: script.yaml: rules: expected a sequence (line 1)");
}

TEST_CASE("an unknown fault kind is an error naming file, path and line") {
  CHECK(load_error("faults:\n"
                   "  - {kind: http_429, first: 1}\n"
                   "  - kind: boom\n"
                   "    nth: [2]\n") ==
        "invalid_spec: script.yaml: faults[1].kind: unknown fault kind \"boom\" (expected "
        "http_429, http_500, http_503, stall, truncate, reset, invalid_json, "
        "refuse_response_format, null_content, huge_reply, invalid_utf8) (line 3)");
}

TEST_CASE("a fault's own keys are checked: retry_after_s (or none), midway, bytes") {
  auto s = load("faults:\n"
                "  - {kind: http_429, nth: [1], retry_after_s: none}\n"
                "  - {kind: http_429, nth: [2], retry_after_s: 0}\n"
                "  - {kind: http_429, nth: [3]}\n"
                "  - {kind: reset, nth: [4], midway: true}\n"
                "  - {kind: huge_reply, nth: [5], bytes: 1000}\n"
                "  - {kind: huge_reply, nth: [6]}\n");
  REQUIRE(s.faults.size() == 6);
  CHECK_FALSE(s.faults[0].retry_after_s);
  CHECK(s.faults[1].retry_after_s == 0u);
  CHECK(s.faults[2].retry_after_s == 1u);
  CHECK(s.faults[3].midway);
  CHECK(s.faults[4].bytes == 1000);
  CHECK(s.faults[5].bytes == default_huge_reply_bytes);
  CHECK(load_error("faults:\n  - {kind: http_429, retry_after_s: soon}\n") ==
        "invalid_spec: script.yaml: faults[0].retry_after_s: expected a number of seconds (0 to "
        "86400) or none (line 2)");
  CHECK(load_error("faults:\n  - {kind: http_429, retry_after_s: 90000}\n") ==
        "invalid_spec: script.yaml: faults[0].retry_after_s: expected at most 86400 seconds, or "
        "none (line 2)");
  CHECK(load_error("faults:\n  - {kind: truncate, midway: true}\n") ==
        "invalid_spec: script.yaml: faults[0].midway: only reset takes midway (line 2)");
  CHECK(load_error("faults:\n  - {kind: reset, midway: maybe}\n") ==
        "invalid_spec: script.yaml: faults[0].midway: expected true or false (line 2)");
  CHECK(load_error("faults:\n  - {kind: huge_reply, bytes: 0}\n") ==
        "invalid_spec: script.yaml: faults[0].bytes: expected a size from 1 to 1073741824 bytes "
        "(line 2)");
  CHECK(load_error("faults:\n  - {kind: http_500, bytes: 10}\n") ==
        "invalid_spec: script.yaml: faults[0].bytes: only huge_reply takes bytes (line 2)");
}

TEST_CASE("content faults plan null content, a huge reply, or invalid UTF-8 around the text") {
  auto s = load("default: {reply: \"hello there\"}\n"
                "faults:\n"
                "  - {kind: null_content, nth: [1]}\n"
                "  - {kind: huge_reply, nth: [2], bytes: 100}\n"
                "  - {kind: invalid_utf8, nth: [3]}\n");
  auto req = user_says("hi");
  auto null_plan = plan_reply(s, req, 1);
  CHECK(null_plan.null_content);
  CHECK(null_plan.content.empty());
  CHECK(null_plan.tool_calls == nullptr);
  auto huge = plan_reply(s, req, 2);
  CHECK(huge.huge);
  CHECK(huge.content.size() == 100);
  CHECK(huge.content.starts_with("huge reply huge reply"));
  auto bad = plan_reply(s, req, 3);
  CHECK(bad.content == "\xff"
                       "hello there caf\xc3(");
  CHECK(plan_reply(s, req, 4).content == "hello there");
}

TEST_CASE("template and rule shape errors are located") {
  CHECK(load_error("default:\n  reply: \"hi {{usr}}\"\n") ==
        "invalid_spec: script.yaml: default.reply: unknown template variable {{usr}} (line 2)");
  CHECK(load_error("rules:\n  - match: {user: \"(a)\"}\n    reply: \"{{match.2}}\"\n") ==
        "invalid_spec: script.yaml: rules[0].reply: {{match.2}} but match.user has 1 group(s) "
        "(line 3)");
  CHECK(load_error("rules:\n  - match: {user: a}\n    reply: x\n    json: {a: 1}\n") ==
        "invalid_spec: script.yaml: rules[0]: reply, json and tool_calls exclude each other "
        "(line 2)");
  CHECK(load_error("faults:\n  - {kind: http_500, retry_after_s: 3}\n") ==
        "invalid_spec: script.yaml: faults[0].retry_after_s: only http_429 takes retry_after_s "
        "(line 2)");
  CHECK(load_error("rules: [\n").starts_with("invalid_spec: script.yaml: YAML syntax error: "));
}

TEST_CASE("an empty script gives the built-in default reply") {
  auto s = load("");
  auto plan = plan_reply(s, user_says("hello", "gpt-x"), 1);
  CHECK(plan.content == "Mock answer from gpt-x to: hello");
  CHECK(plan.fault == nullptr);
  CHECK(plan.latency_ms == 0);
  CHECK(plan.finish_reason == "stop");
}

TEST_CASE("the first matching rule wins and every given match field must match") {
  auto s = load(R"(
default: {reply: "fallback"}
rules:
  - match: {model: "^gpt-4", user: "capital"}
    reply: "gpt4 capital"
  - match: {user: "capital"}
    reply: "any capital"
  - match: {system: "critic", user: "."}
    reply: "critic"
  - match: {user: "capital of France"}
    reply: "never reached"
)");
  std::vector<std::string> groups;
  CHECK(plan_reply(s, user_says("capital of France", "gpt-4o"), 1).content == "gpt4 capital");
  CHECK(plan_reply(s, user_says("capital of France", "gpt-3.5"), 1).content == "any capital");
  auto critic = user_says("review this");
  critic.system = "You are critic";
  CHECK(plan_reply(s, critic, 1).content == "critic");
  CHECK(plan_reply(s, user_says("review this"), 1).content == "fallback");
}

TEST_CASE("a history match searches every message of the conversation") {
  auto s = load(R"(
default: {reply: "plain"}
rules:
  - match: {history: "user: \\[broadcast from lead\\] be brief"}
    reply: "saw the broadcast"
)");
  auto req = user_says("next question");
  CHECK(plan_reply(s, req, 1).content == "plain");
  req.history = "system: You are a.\nuser: [broadcast from lead] be brief\nuser: next question\n";
  CHECK(plan_reply(s, req, 1).content == "saw the broadcast");
  auto parsed = parse_chat_request(
      R"({"model":"m","messages":[{"role":"system","content":"S"},{"role":"user","content":"U"}]})");
  REQUIRE(parsed);
  CHECK(parsed->history == "system: S\nuser: U\n");
}

TEST_CASE("templates render user, system, model, n, name and match groups") {
  auto s = load(R"(
rules:
  - match: {user: "capital of (\\w+) and (\\w+)?"}
    reply: "{{match.1}}|{{match.2}}|{{match.0}}|{{model}}|{{n}}|{{name}}|{{system}}|{{ user }}"
)");
  auto req = user_says("the capital of France and ", "m1");
  req.user_name = "alice";
  req.system = "sys";
  CHECK(plan_reply(s, req, 42).content ==
        "France||capital of France and |m1|42|alice|sys|the capital of France and ");
}

TEST_CASE("json rules send their value as JSON text and tool call rules ask for tools") {
  auto s = load(R"(
rules:
  - match: {user: plan}
    json: {subtasks: [{id: s1, text: "research", n: 3, ok: true, x: ~, q: "12"}]}
  - match: {user: weather}
    tool_calls:
      - {name: get_weather, arguments: {city: Paris}}
      - {name: raw, arguments: '{"a": 1}'}
)");
  auto plan = plan_reply(s, user_says("plan it"), 1);
  CHECK(plan.content ==
        R"({"subtasks":[{"id":"s1","text":"research","n":3,"ok":true,"x":null,"q":"12"}]})");
  auto tools = plan_reply(s, user_says("weather?"), 1);
  REQUIRE(tools.tool_calls);
  REQUIRE(tools.tool_calls->size() == 2);
  CHECK((*tools.tool_calls)[0].name == "get_weather");
  CHECK((*tools.tool_calls)[0].arguments == R"({"city":"Paris"})");
  CHECK((*tools.tool_calls)[1].arguments == R"({"a": 1})");
  CHECK(tools.finish_reason == "tool_calls");
}

TEST_CASE("usage is estimated as ceil(chars / 4) unless the rule sets it") {
  auto s = load(R"(
rules:
  - match: {user: fixed}
    reply: "abc"
    usage: {prompt_tokens: 12, completion_tokens: 3}
  - match: {user: "."}
    reply: "12345"
)");
  auto req = user_says("fixed");
  req.prompt_tokens = 7;
  auto fixed = plan_reply(s, req, 1);
  CHECK(fixed.prompt_tokens == 12);
  CHECK(fixed.completion_tokens == 3);
  req.user = "other";
  auto estimated = plan_reply(s, req, 1);
  CHECK(estimated.prompt_tokens == 7);
  CHECK(estimated.completion_tokens == 2);
  CHECK(estimate_tokens(0) == 0);
  CHECK(estimate_tokens(4) == 1);
  CHECK(estimate_tokens(5) == 2);
}

TEST_CASE("max_tokens cuts the content and finishes with length") {
  auto s = load("default: {reply: \"one two three four five six\"}\n");
  auto req = user_says("x");
  req.max_tokens = 2;
  auto plan = plan_reply(s, req, 1);
  CHECK(plan.content == "one two ");
  CHECK(plan.finish_reason == "length");
}

TEST_CASE("faults select by first, nth and match deterministically") {
  auto s = load(R"(
faults:
  - {kind: http_429, first: 2, retry_after_s: 3}
  - {kind: http_500, nth: [5, 9]}
  - {kind: truncate, match: {user: cut}}
)");
  auto hi = user_says("hi");
  auto cut = user_says("please cut");
  auto kind_at = [&](const chat_request& req, uint64_t n) -> std::string {
    auto* f = select_fault(s, req, n);
    return f ? std::string{to_string(f->kind)} : "none";
  };
  CHECK(kind_at(hi, 1) == "http_429");
  CHECK(select_fault(s, hi, 1)->retry_after_s == 3u);
  CHECK(kind_at(hi, 2) == "http_429");
  CHECK(kind_at(hi, 3) == "none");
  CHECK(kind_at(hi, 5) == "http_500");
  CHECK(kind_at(hi, 9) == "http_500");
  CHECK(kind_at(hi, 10) == "none");
  CHECK(kind_at(cut, 1) == "http_429");
  CHECK(kind_at(cut, 4) == "truncate");
}

TEST_CASE("refuse_response_format fires only on requests that carry a response_format") {
  auto s = load("faults:\n  - {kind: refuse_response_format}\n");
  auto plain = user_says("plan");
  auto structured = user_says("plan");
  structured.response_format = true;
  CHECK(select_fault(s, plain, 1) == nullptr);
  REQUIRE(select_fault(s, structured, 2) != nullptr);
  CHECK(select_fault(s, structured, 2)->kind == fault_kind::refuse_response_format);
  auto body = [](const char* rf) {
    return std::string{R"({"model":"m","messages":[{"role":"user","content":"x"}])"} + rf + "}";
  };
  CHECK(parse_chat_request(body(R"(,"response_format":{"type":"json_object"})"))->response_format);
  CHECK_FALSE(parse_chat_request(body(R"(,"response_format":null)"))->response_format);
  CHECK_FALSE(parse_chat_request(body(""))->response_format);
}

TEST_CASE("fault rates are deterministic per seed and request number") {
  auto with_seed = [](int seed) {
    return load("seed: " + std::to_string(seed) + "\nfaults:\n  - {kind: stall, rate: 0.3}\n");
  };
  auto a = with_seed(7);
  auto b = with_seed(7);
  auto c = with_seed(8);
  auto req = user_says("x");
  int fired = 0;
  int differs = 0;
  for (uint64_t n = 1; n <= 2000; ++n) {
    bool fa = select_fault(a, req, n) != nullptr;
    CHECK(fa == (select_fault(b, req, n) != nullptr));
    fired += fa;
    differs += fa != (select_fault(c, req, n) != nullptr);
  }
  CHECK(fired > 500);
  CHECK(fired < 700);
  CHECK(differs > 0);
}

TEST_CASE("latency is fixed, uniform or normal, seeded, and rules override it") {
  auto fixed = load("latency: {fixed_ms: 20}\nrules:\n  - {match: {user: slow}, reply: x, "
                    "latency_ms: 500}\n");
  CHECK(plan_reply(fixed, user_says("hi"), 1).latency_ms == 20);
  CHECK(plan_reply(fixed, user_says("slow"), 1).latency_ms == 500);
  auto uniform = load("seed: 3\nlatency: {uniform_ms: [10, 30]}\n");
  auto normal = load("seed: 3\nlatency: {normal_ms: {mean: 20, stddev: 5}}\n");
  double sum = 0;
  for (uint64_t n = 1; n <= 1000; ++n) {
    auto u = latency_ms(uniform, nullptr, n);
    CHECK(u >= 10);
    CHECK(u <= 30);
    CHECK(u == latency_ms(uniform, nullptr, n));
    auto g = latency_ms(normal, nullptr, n);
    CHECK(g >= 0);
    sum += g;
  }
  CHECK(sum / 1000 == Approx(20).margin(1));
}

TEST_CASE("tokens split into words with their trailing whitespace") {
  auto pieces = split_tokens("  Hello big\nworld ");
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0] == "  Hello ");
  CHECK(pieces[1] == "big\n");
  CHECK(pieces[2] == "world ");
  CHECK(split_tokens("").empty());
}

TEST_CASE("a chat request body yields model, first system, last user and its name") {
  auto req = parse_chat_request(R"({"model":"gpt-4o","messages":[
    {"role":"system","content":"S1"},{"role":"user","content":"first"},
    {"role":"system","content":"S2"},
    {"role":"assistant","content":null,"tool_calls":[]},
    {"role":"tool","tool_call_id":"call_1_0","content":"sunny"},
    {"role":"user","name":"bob","content":[{"type":"text","text":"last "},{"type":"text","text":"one"}]}],
    "stream":true,"stream_options":{"include_usage":true},"logprobs":true,"top_logprobs":2,
    "max_tokens":50,"temperature":0.2,"tools":[],"response_format":{"type":"json_object"}})");
  REQUIRE(req);
  CHECK(req->model == "gpt-4o");
  CHECK(req->system == "S1");
  CHECK(req->user == "last one");
  CHECK(req->user_name == "bob");
  CHECK(req->stream);
  CHECK(req->include_usage);
  CHECK(req->logprobs);
  CHECK(req->top_logprobs == 2);
  CHECK(req->max_tokens == 50u);
  CHECK(req->prompt_tokens == 1 + 2 + 1 + 0 + 2 + 2);
  auto bad = parse_chat_request("{\"messages\": 3}");
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_argument));
  CHECK_FALSE(parse_chat_request("not json"));
}

TEST_CASE("embedding vectors are deterministic unit vectors") {
  std::vector<float> a;
  std::vector<float> b;
  std::vector<float> c;
  embedding_vector("hello", 64, a);
  embedding_vector("hello", 64, b);
  embedding_vector("world", 64, c);
  CHECK(a == b);
  CHECK(a != c);
  double norm = 0;
  for (auto x : a)
    norm += double{x} * x;
  CHECK(norm == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("stats render as JSON with status counts keyed by status") {
  stats st;
  st.requests = 3;
  st.status_counts[200] = 2;
  st.status_counts[429] = 1;
  std::string out;
  write_stats(out, st);
  auto v = boost::json::parse(out);
  CHECK(v.at("requests").as_int64() == 3);
  CHECK(v.at("status_counts").at("429").as_int64() == 1);
  CHECK(v.at("status_counts").at("200").as_int64() == 2);
}

TEST_CASE("usage: none leaves usage out of replies and streams; anything else is an error") {
  auto s = load("rules:\n  - match: {user: quiet}\n    reply: hush\n    usage: none\n"
                "default: {reply: loud}\n");
  auto req = user_says("quiet");
  req.include_usage = true;
  auto quiet = plan_reply(s, req, 1);
  CHECK(quiet.omit_usage);
  std::string body;
  write_completion(body, req, quiet, 1);
  auto parsed = boost::json::parse(body).as_object();
  CHECK(parsed.at("choices").as_array().size() == 1);
  CHECK_FALSE(parsed.contains("usage"));
  std::string stream;
  std::vector<size_t> ends;
  write_completion_stream(stream, ends, req, quiet, 1);
  CHECK(stream.find("\"usage\"") == std::string::npos);
  CHECK(stream.find("[DONE]") != std::string::npos);
  req.user = "other";
  auto loud = plan_reply(s, req, 2);
  CHECK_FALSE(loud.omit_usage);
  std::string with_usage;
  write_completion(with_usage, req, loud, 2);
  CHECK(boost::json::parse(with_usage).as_object().contains("usage"));
  CHECK(load_error("default: {reply: x, usage: some}\n") ==
        "invalid_spec: script.yaml: default.usage: expected a mapping or none (line 1)");
}
