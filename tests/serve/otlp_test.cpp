// Spans from events (serve/otlp.hpp): parent links by task id, ids, attributes, errors, spans a
// run leaves open, the OTLP/HTTP JSON body, and an exporter whose collector is down.
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "serve/otlp.hpp"

using namespace swarm;
using namespace swarm::serve;
namespace json = boost::json;

namespace {

event ev(event_kind kind, std::string task, int64_t t, std::string agent = "", uint32_t round = 0) {
  event e;
  e.kind = kind;
  e.run_id = "run-1";
  e.task_id = std::move(task);
  e.time_us = t;
  e.agent = agent.empty() ? agent_id{"", "debate"} : agent_id{"debate", std::move(agent)};
  e.leaf = !agent.empty();
  e.round = round;
  return e;
}

event llm(event_kind kind, std::string task, int64_t t, std::string agent, uint32_t step) {
  auto e = ev(kind, std::move(task), t, std::move(agent));
  e.name = "gpt-4o-mini";
  e.step = step;
  return e;
}

// Every span of `events`, by name + task id ("member debate/a t1.a").
std::map<std::string, span> fold(span_builder& b, const std::vector<event>& events) {
  std::map<std::string, span> out;
  for (const auto& e : events)
    for (auto& s : b.add(e)) {
      auto* task = s.attribute("smolswarms.task_id");
      auto key = s.name + (task ? " " + std::get<std::string>(task->value) : "");
      out.emplace(key, std::move(s));
    }
  return out;
}

std::string str(const span& s, std::string_view key) {
  auto* a = s.attribute(key);
  return a ? std::get<std::string>(a->value) : "<none>";
}

int64_t num(const span& s, std::string_view key) {
  auto* a = s.attribute(key);
  return a ? std::get<int64_t>(a->value) : -1;
}

// A debate: two members in round 1, one again in round 2, LLM calls, a tool call, a sub-task.
std::vector<event> debate_events() {
  using k = event_kind;
  auto done = ev(k::run_finished, "t1", 100, "");
  done.name = "done";
  done.use.prompt_tokens = 40;
  done.use.completion_tokens = 2;
  done.use.calls = 2;
  auto call_done = llm(k::llm_call_finished, "t1.a", 30, "a", 0);
  call_done.use.prompt_tokens = 20;
  call_done.use.completion_tokens = 1;
  call_done.attempts = 2;
  auto tool = ev(k::tool_call_requested, "t1.a", 31, "a");
  tool.name = "calculator";
  auto tool_done = ev(k::tool_call_finished, "t1.a", 35, "a");
  tool_done.name = "calculator";
  auto started = ev(k::run_started, "t1", 1, "");
  started.total = 2;
  return {started,
          ev(k::member_started, "t1.a", 2, "a", 1),
          ev(k::member_started, "t1.b", 3, "b", 1),
          llm(k::llm_call_started, "t1.a", 4, "a", 0),
          call_done,
          tool,
          tool_done,
          ev(k::member_started, "t1.a.helper", 36, "helper"),
          ev(k::member_finished, "t1.a.helper", 37, "helper"),
          ev(k::member_finished, "t1.a", 40, "a", 1),
          ev(k::member_finished, "t1.b", 41, "b", 1),
          ev(k::member_started, "t1.a.r2", 50, "a", 2),
          llm(k::llm_call_started, "t1.a.r2", 51, "a", 0),
          llm(k::llm_call_finished, "t1.a.r2", 60, "a", 0),
          ev(k::member_finished, "t1.a.r2", 61, "a", 2),
          done};
}

} // namespace

TEST_CASE("a run's trace id is the first 16 bytes of the SHA-256 of its id") {
  auto id = trace_id_of("run-1");
  CHECK(id.size() == 32);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(id == trace_id_of("run-1"));
  CHECK(id != trace_id_of("run-2"));
  CHECK(trace_id_of("abc") == "ba7816bf8f01cfea414140de5dae2223");
}

TEST_CASE("span ids are 16 hex digits and do not repeat") {
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    auto id = random_span_id();
    REQUIRE(id.size() == 16);
    REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    REQUIRE(id != "0000000000000000");
    seen.insert(id);
  }
  CHECK(seen.size() == 10'000);
}

TEST_CASE("members hang under the task one level up, calls under their member, all in one trace") {
  span_builder b;
  auto spans = fold(b, debate_events());
  REQUIRE(spans.size() == 8);
  auto& run = spans.at("run debate");
  auto& a = spans.at("member debate/a t1.a");
  auto& b1 = spans.at("member debate/b t1.b");
  auto& helper = spans.at("member debate/helper t1.a.helper");
  auto& a2 = spans.at("member debate/a t1.a.r2");
  auto& call = spans.at("chat gpt-4o-mini t1.a");
  auto& call2 = spans.at("chat gpt-4o-mini t1.a.r2");
  auto& tool = spans.at("execute_tool calculator t1.a");
  CHECK(run.parent_span_id.empty());
  CHECK(a.parent_span_id == run.span_id);
  CHECK(b1.parent_span_id == run.span_id);
  CHECK(helper.parent_span_id == a.span_id);
  CHECK(a2.parent_span_id == run.span_id); // a later round beside the first, not under it
  CHECK(call.parent_span_id == a.span_id);
  CHECK(call2.parent_span_id == a2.span_id);
  CHECK(tool.parent_span_id == a.span_id);
  std::set<std::string> ids;
  for (const auto& [name, s] : spans) {
    CHECK(s.trace_id == trace_id_of("run-1"));
    CHECK(s.start_ns <= s.end_ns);
    CHECK_FALSE(s.error);
    CHECK(s.attribute("smolswarms.unfinished") == nullptr);
    ids.insert(s.span_id);
  }
  CHECK(ids.size() == spans.size());
  CHECK(b.open() == 0);
}

TEST_CASE("spans carry the run's, the member's and the call's attributes and times") {
  span_builder b;
  auto spans = fold(b, debate_events());
  auto& run = spans.at("run debate");
  CHECK(run.start_ns == 1'000);
  CHECK(run.end_ns == 100'000);
  CHECK(str(run, "smolswarms.run.id") == "run-1");
  CHECK(str(run, "smolswarms.swarm") == "debate");
  CHECK(str(run, "smolswarms.run.status") == "done");
  CHECK(num(run, "smolswarms.tokens") == 42);
  CHECK(num(run, "smolswarms.llm_calls") == 2);
  auto& a = spans.at("member debate/a t1.a");
  CHECK(str(a, "smolswarms.status") == "done");
  CHECK(num(a, "smolswarms.round") == 1);
  CHECK(a.start_ns == 2'000);
  CHECK(a.end_ns == 40'000);
  auto& call = spans.at("chat gpt-4o-mini t1.a");
  CHECK(call.kind == span_kind::client);
  CHECK(str(call, "gen_ai.request.model") == "gpt-4o-mini");
  CHECK(num(call, "gen_ai.usage.input_tokens") == 20);
  CHECK(num(call, "gen_ai.usage.output_tokens") == 1);
  CHECK(num(call, "smolswarms.attempts") == 2);
  CHECK(call.start_ns == 4'000);
  CHECK(call.end_ns == 30'000);
  CHECK(str(spans.at("execute_tool calculator t1.a"), "gen_ai.tool.name") == "calculator");
}

TEST_CASE("an event's error makes its span's status ERROR with the message") {
  span_builder b;
  auto failed = ev(event_kind::member_failed, "t1.a", 9, "a");
  failed.error = make_error(errc::llm_timeout, "no answer within 60000 ms");
  auto end = ev(event_kind::run_finished, "t1", 10);
  end.name = "failed";
  end.error = failed.error;
  auto spans = fold(b, {ev(event_kind::run_started, "t1", 1),
                        ev(event_kind::member_started, "t1.a", 2, "a"), failed, end});
  auto& a = spans.at("member debate/a t1.a");
  CHECK(a.error);
  CHECK(a.status_message.find("no answer within 60000 ms") != std::string::npos);
  CHECK(str(a, "smolswarms.status") == "failed");
  CHECK(str(a, "error.type") == error_code(failed.error));
  auto& run = spans.at("run debate");
  CHECK(run.error);
  CHECK(str(run, "smolswarms.run.status") == "failed");
}

TEST_CASE("a span its run leaves open ends with the run, marked unfinished") {
  span_builder b;
  auto end = ev(event_kind::run_finished, "t1", 20);
  end.name = "cancelled";
  auto spans =
      fold(b, {ev(event_kind::run_started, "t1", 1), ev(event_kind::member_started, "t1.a", 2, "a"),
               llm(event_kind::llm_call_started, "t1.a", 3, "a", 0), end});
  REQUIRE(spans.size() == 3);
  auto& call = spans.at("chat gpt-4o-mini t1.a");
  CHECK(call.end_ns == 20'000);
  CHECK(call.attribute("smolswarms.unfinished") != nullptr);
  CHECK(spans.at("member debate/a t1.a").attribute("smolswarms.unfinished") != nullptr);
  CHECK(spans.at("run debate").attribute("smolswarms.unfinished") == nullptr);
  CHECK(b.open() == 0);
}

TEST_CASE("close_all ends every open span, the runs' too") {
  span_builder b;
  fold(b, {ev(event_kind::run_started, "t1", 1), ev(event_kind::member_started, "t1.a", 2, "a")});
  CHECK(b.open() == 2);
  auto rest = b.close_all(5);
  REQUIRE(rest.size() == 2);
  for (const auto& s : rest) {
    CHECK(s.end_ns == 5'000);
    CHECK(s.attribute("smolswarms.unfinished") != nullptr);
  }
  CHECK(b.open() == 0);
}

TEST_CASE("the export body is OTLP/HTTP JSON: resource, scope, spans with string times") {
  span_builder b;
  std::vector<span> all;
  for (const auto& e : debate_events())
    for (auto& s : b.add(e))
      all.push_back(std::move(s));
  auto doc = json::parse(otlp_json(all)).as_object();
  auto& rs = doc.at("resourceSpans").as_array().at(0).as_object();
  auto& attr = rs.at("resource").at("attributes").as_array().at(0).as_object();
  CHECK(attr.at("key") == "service.name");
  CHECK(attr.at("value").at("stringValue") == "smolswarms");
  auto& spans = rs.at("scopeSpans").as_array().at(0).at("spans").as_array();
  REQUIRE(spans.size() == all.size());
  size_t roots = 0;
  for (const auto& v : spans) {
    auto& s = v.as_object();
    CHECK(s.at("traceId").as_string().size() == 32);
    CHECK(s.at("spanId").as_string().size() == 16);
    CHECK(s.at("startTimeUnixNano").is_string());
    CHECK(s.at("endTimeUnixNano").is_string());
    roots += s.contains("parentSpanId") ? 0 : 1;
    for (const auto& a : s.at("attributes").as_array())
      if (a.at("key") == "gen_ai.usage.input_tokens")
        CHECK(a.at("value").at("intValue").is_string());
  }
  CHECK(roots == 1);
}

TEST_CASE("an exporter whose collector is down drops spans and never holds up add") {
  otlp_options opts;
  opts.url = "http://127.0.0.1:1/v1/traces";
  opts.interval = std::chrono::milliseconds(10);
  opts.max_queue = 4;
  auto ex = otlp_exporter::start(opts);
  REQUIRE(ex);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i)
    for (const auto& e : debate_events())
      (*ex)->add(e);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  for (int i = 0; i < 500 && (*ex)->stats().failures == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto st = (*ex)->stats();
  CHECK(st.failures >= 1);
  CHECK(st.exported == 0);
  CHECK(st.dropped >= 200 * 8 - 8); // at most 4 queued and 4 in a POST
  ex->reset();
  CHECK_FALSE(otlp_exporter::start({.url = "https://collector.example/v1/traces"}));
  CHECK_FALSE(otlp_exporter::start({.url = "not a url"}));
}
