// The API's pure parts: every route in the OpenAPI document and nothing else, token files and
// checks, the request readers, the facade's task and chunks.
#include <algorithm>
#include <set>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "serve/api_json.hpp"
#include "serve/api_server.hpp"
#include "serve/auth.hpp"
#include "serve/metrics.hpp"
#include "serve/openai_facade.hpp"
#include "serve/static_files.hpp"

using namespace swarm;
using namespace swarm::serve;
namespace json = boost::json;

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

TEST_CASE("the OpenAPI document lists exactly the routes the server answers") {
  auto doc = json::parse(openapi_document()).as_object();
  REQUIRE(doc.at("openapi").as_string().starts_with("3.1"));
  std::set<std::string> documented;
  for (const auto& [path, item] : doc.at("paths").as_object())
    for (const auto& [method, op] : item.as_object())
      if (method != "parameters")
        documented.insert(lower(std::string{method}) + " " + std::string{path});
  std::set<std::string> served;
  for (const auto& r : routes())
    served.insert(lower(r.method) + " " + r.path);
  for (const auto& r : served)
    CHECK(documented.count(r) == 1);
  for (const auto& d : documented)
    CHECK(served.count(d) == 1);
}

TEST_CASE("the dashboard's files are built into the binary") {
  auto index = static_file("/");
  REQUIRE(index);
  CHECK(index->content_type.starts_with("text/html"));
  CHECK_FALSE(static_file("/openapi")); // not a dashboard file
  CHECK_FALSE(static_file("/nope.js"));
}

TEST_CASE("token files name each token or number it, and refuse what is not a token") {
  auto ok = parse_tokens("# comment\n\nabcdefghijklmnop\nci   0123456789abcdef0123\n", "t");
  REQUIRE(ok);
  REQUIRE(ok->size() == 2);
  CHECK((*ok)[0].name == "token-3");
  CHECK((*ok)[1].name == "ci");
  CHECK((*ok)[1].secret == "0123456789abcdef0123");
  auto short_one = parse_tokens("a abc\n", "f");
  REQUIRE_FALSE(short_one);
  CHECK(error_message(short_one.error()).find("f:1") != std::string::npos);
  CHECK(error_message(short_one.error()).find("abc") == std::string::npos); // never the secret
  CHECK_FALSE(parse_tokens("a b c\n", "f"));
  CHECK_FALSE(parse_tokens("# nothing\n", "f"));
  CHECK_FALSE(parse_tokens("x abcdefghijklmnop\nx qrstuvwxyzabcdef\n", "f"));
  CHECK_FALSE(parse_tokens("abcdefghijklmnop\xc3\xa9\n", "f"));
}

TEST_CASE("a presented token matches only a whole token") {
  std::vector<api_token> ts{{"a", "abcdefghijklmnop"}, {"b", "0123456789abcdef"}};
  REQUIRE(match_token(ts, "0123456789abcdef"));
  CHECK(match_token(ts, "0123456789abcdef")->name == "b");
  CHECK_FALSE(match_token(ts, "0123456789abcde"));
  CHECK_FALSE(match_token(ts, "0123456789abcdefx"));
  CHECK_FALSE(match_token(ts, ""));
  CHECK(bearer_token("Bearer xyz") == "xyz");
  CHECK(bearer_token("bearer   xyz ") == "xyz");
  CHECK(bearer_token("Basic xyz").empty());
  CHECK(bearer_token("Bearer").empty());
  CHECK(is_loopback("127.0.0.1"));
  CHECK(is_loopback("::1"));
  CHECK_FALSE(is_loopback("0.0.0.0"));
  CHECK_FALSE(is_loopback("10.0.0.1"));
}

TEST_CASE("request readers take what the contract says and name what is wrong") {
  CHECK_FALSE(parse_object("{nope"));
  CHECK_FALSE(parse_object("[1]"));
  auto o = parse_object(R"({"swarm": "s", "wait": true, "n": 3})");
  REQUIRE(o);
  CHECK(string_field(*o, "swarm") == "s");
  CHECK_FALSE(string_field(*o, "n"));
  CHECK(bool_field(*o, "wait") == true);
  CHECK(parse_count("42") == 42u);
  CHECK_FALSE(parse_count("-1"));
  CHECK_FALSE(parse_count("4x"));
  CHECK_FALSE(parse_count(""));
  CHECK_FALSE(parse_count("1234567890123456789"));
  auto id = parse_approval_id("my:swarm:12");
  REQUIRE(id);
  CHECK(id->first == "my:swarm");
  CHECK(id->second == 12u);
  CHECK_FALSE(parse_approval_id("12"));
  CHECK_FALSE(parse_approval_id("s:x"));
}

TEST_CASE("errors of the runtime map to the statuses the API documents") {
  CHECK(http_status_of(make_error(errc::invalid_spec, "x")) == 400);
  CHECK(http_status_of(make_error(errc::unknown_run, "x")) == 404);
  CHECK(http_status_of(make_error(errc::run_exists, "x")) == 409);
  CHECK(http_status_of(make_error(errc::storage_full, "x")) == 507);
  CHECK(http_status_of(make_error(errc::io_error, "x")) == 500);
  auto body = error_body("bad_request", "why", {{"problems", json::array{}}});
  CHECK(body.at("error").at("code") == "bad_request");
  CHECK(body.at("error").as_object().contains("problems"));
}

TEST_CASE("a run's JSON has its error as code and message, and its result once done") {
  run_info r;
  r.run_id = "r1";
  r.swarm = "s";
  r.status = "failed";
  r.error = "all_members_failed: every member failed";
  auto j = to_json(r);
  CHECK(j.at("error").at("code") == "all_members_failed");
  CHECK(j.at("error").at("message") == "every member failed");
  CHECK(j.at("result").is_null());
  r.status = "done";
  r.error.clear();
  r.outcome.text = "42";
  r.outcome.use.prompt_tokens = 3;
  j = to_json(r);
  CHECK(j.at("error").is_null());
  CHECK(j.at("result").at("text") == "42");
  CHECK(j.at("result").at("confidence").is_null());
}

TEST_CASE("a logged page embeds the kept JSON and says where to go on") {
  std::vector<logged_event> es{{3, event_kind::run_started, "r", R"({"run_seq":3})"},
                               {4, event_kind::run_finished, "r", R"({"run_seq":4})"}};
  auto page = json::parse(events_page(es, 2));
  CHECK(page.at("data").as_array().size() == 2);
  CHECK(page.at("next") == 4);
  CHECK(json::parse(events_page({}, 9)).at("next") == 9);
}

TEST_CASE("a chat request becomes one task: a single message as it is, else the conversation") {
  auto one = parse_chat_request(
      R"({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true})");
  REQUIRE(one);
  CHECK(one->model == "m");
  CHECK(one->task == "hi");
  CHECK(one->stream);
  auto many = parse_chat_request(R"({"model": "m", "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
      {"role": "assistant", "content": "ok"},
      {"role": "user", "content": "now c"}]})");
  REQUIRE(many);
  CHECK(many->task == "The conversation so far:\nsystem: be brief\nuser: a\nb\nassistant: "
                      "ok\n\nThe task now:\nnow c");
  CHECK_FALSE(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}]})"));
  CHECK_FALSE(parse_chat_request(R"({"model": "m", "messages": []})"));
  CHECK_FALSE(parse_chat_request(R"({"model": "m", "messages": [{"role": "bot"}]})"));
  CHECK_FALSE(parse_chat_request(R"({"model": "m", "messages": [{"role": "system",
      "content": "x"}]})"));
  CHECK_FALSE(parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "content":
      [{"type": "image_url", "image_url": {"url": "x"}}]}]})"));
  CHECK_FALSE(parse_chat_request(R"({"model": "m", "stream": "yes", "messages": [{"role":
      "user", "content": "x"}]})"));
}

TEST_CASE("a streamed answer's chunks join to the answer and end with stop and usage") {
  result r;
  r.text = "Héllo wörld, this answer is long enough to be cut into a few chunks ✓";
  r.use.prompt_tokens = 5;
  r.use.completion_tokens = 7;
  auto chunks = completion_chunks("r1", "m", r, true);
  std::string text;
  bool stopped = false;
  for (const auto& c : chunks) {
    REQUIRE(c.starts_with("data: "));
    auto j = json::parse(c.substr(6)).as_object();
    auto& choices = j.at("choices").as_array();
    if (choices.empty()) {
      CHECK(j.at("usage").at("total_tokens") == 12);
      continue;
    }
    auto& delta = choices[0].at("delta").as_object();
    if (auto* content = delta.if_contains("content"))
      text += content->as_string();
    stopped = stopped || choices[0].at("finish_reason") == "stop";
  }
  CHECK(text == r.text);
  CHECK(stopped);
  CHECK(chunks.size() > 4);
}

TEST_CASE("metrics count failed calls by endpoint and HTTP status, else by error code") {
  metrics m;
  event e;
  e.kind = event_kind::llm_call_finished;
  e.agent = agent_id{"s", "a"};
  e.name = "gpt";
  e.text = "http://primary/v1";
  e.attempts = 3;
  e.error = make_error(errc::llm_http_error, "HTTP 503 from http://backup/v1: overloaded");
  m.add(e);
  e.attempts = 1;
  e.error = make_error(errc::llm_timeout, "no answer in 30 s");
  m.add(e);
  e.error = {};
  m.add(e);
  auto text = m.render({});
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(smolswarms_llm_errors_total{swarm="s",endpoint="http://backup/v1",status="503"} 1)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(smolswarms_llm_errors_total{swarm="s",endpoint="http://primary/v1",status="llm_timeout"} 1)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(smolswarms_llm_retries_total{swarm="s",endpoint="http://primary/v1",model="gpt"} 2)"));
  CHECK_THAT(text,
             Catch::Contains(
                 R"(smolswarms_llm_calls_total{swarm="s",agent="a",model="gpt",outcome="ok"} 1)"));
  CHECK_THAT(text, Catch::Contains(
                       R"(smolswarms_llm_call_duration_seconds_count{swarm="s",model="gpt"} 3)"));
}
