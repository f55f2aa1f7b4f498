// Tests of the LLM client against the mock server over loopback, when calls fail: retries of 429
// and 5xx, 4xx, timeouts, truncated streams, invalid responses, a refused response_format.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "tests/net/llm_client_mock_util.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_server.hpp"

using namespace std::chrono_literals;
using namespace swarm;
using namespace swarm::llm_client_mock;
using swarm::net::llm_client;

TEST_CASE("a 429 is retried and the call then succeeds with two attempts") {
  mock m{R"(
faults:
  - {kind: http_429, first: 1, retry_after_s: 0}
)"};
  llm_client client{fast_options()};
  auto res = chat_sync(client, make_request(m.url(), "hi"));
  REQUIRE(res);
  CHECK(res->attempts == 2);
  CHECK(client.stats().retries == 1);
  CHECK(m.stats().status_counts[429] == 1);
}

TEST_CASE("429 on every attempt ends with llm_rate_limited") {
  mock m{R"(
faults:
  - {kind: http_429, retry_after_s: 0}
)"};
  llm_client client{fast_options()};
  auto res = chat_sync(client, make_request(m.url(), "hi"));
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::llm_rate_limited));
  CHECK(m.stats().chat_requests == 3);
}

TEST_CASE("a 500 on every request ends with llm_http_error after max_retries") {
  mock m{R"(
faults:
  - {kind: http_500}
)"};
  auto opts = fast_options();
  opts.max_retries = 3;
  llm_client client{opts};
  auto res = chat_sync(client, make_request(m.url(), "hi"));
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::llm_http_error));
  CHECK_THAT(describe(res.error()), Catch::Contains("500"));
  CHECK(m.stats().chat_requests == 4);
  CHECK(client.stats().attempts == 4);
  CHECK(client.stats().retries == 3);
}

TEST_CASE("4xx answers are not retried") {
  mock m{""};
  llm_client client{fast_options()};
  SECTION("404 for an unknown path") {
    auto res = chat_sync(client, make_request(m.url() + "/nowhere", "hi"));
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::llm_http_error));
    CHECK_THAT(describe(res.error()), Catch::Contains("404"));
    CHECK(m.stats().requests == 1);
  }
  SECTION("400 for a request without messages") {
    auto req = make_request(m.url(), "hi");
    req.messages.clear();
    auto res = chat_sync(client, req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::llm_http_error));
    CHECK_THAT(describe(res.error()), Catch::Contains("400"));
    CHECK(m.stats().requests == 1);
  }
  CHECK(client.stats().retries == 0);
}

TEST_CASE("a stalled request ends with llm_timeout at the call's deadline") {
  mock m{R"(
faults:
  - {kind: stall}
)"};
  llm_client client{fast_options()};
  auto req = make_request(m.url(), "hi");
  req.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto res = chat_sync(client, req);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::llm_timeout));
  CHECK(took >= 290ms);
  CHECK(took < 3s);
}

TEST_CASE("a truncated stream ends with llm_stream_truncated") {
  mock m{R"(
faults:
  - {kind: truncate, match: {user: "cut"}}
)"};
  llm_client client{fast_options()};
  SECTION("without a delta callback it is retried") {
    auto req = make_request(m.url(), "cut this story short please, it is long enough");
    req.stream = true;
    auto res = chat_sync(client, req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::llm_stream_truncated));
    CHECK(m.stats().chat_requests == 3);
  }
  SECTION("once deltas reached the caller it is not repeated") {
    auto req = make_request(m.url(), "cut this story short please, it is long enough");
    req.stream = true;
    std::string seen;
    auto res = chat_sync(client, req, [&](std::string_view d) { seen += d; });
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::llm_stream_truncated));
    if (!seen.empty())
      CHECK(m.stats().chat_requests == 1);
  }
}

TEST_CASE("a streamed line longer than max_sse_line_bytes fails by name") {
  const std::string word(3000, 'w'); // one chunk of the mock's stream holds the whole word
  mock m{"default: {reply: \"" + word + "\"}\n"};
  auto opts = fast_options();
  opts.max_sse_line_bytes = 1000;
  llm_client client{opts};
  auto req = make_request(m.url(), "hi");
  req.stream = true;
  auto res = chat_sync(client, req);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::llm_invalid_response));
  CHECK(describe(res.error()).find("longer than 1000 bytes (max_sse_line_bytes)") !=
        std::string::npos);
  // Under the limit the same stream is read whole.
  opts.max_sse_line_bytes = 10000;
  llm_client roomy{opts};
  auto ok = chat_sync(roomy, req);
  REQUIRE(ok);
  CHECK(ok->content == word);
}

TEST_CASE("a 200 with a body that is not JSON ends with llm_invalid_response, not retried") {
  mock m{R"(
faults:
  - {kind: invalid_json}
)"};
  llm_client client{fast_options()};
  auto res = chat_sync(client, make_request(m.url(), "hi"));
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::llm_invalid_response));
  CHECK(m.stats().chat_requests == 1);
  // The code is named once: "llm_invalid_response: not JSON ...", not twice.
  auto text = describe(res.error());
  CHECK(text.rfind("llm_invalid_response: ", 0) == 0);
  CHECK(text.find("llm_invalid_response", 1) == std::string::npos);
}

TEST_CASE("a server that refuses response_format gets the call once more, the schema in the "
          "prompt") {
  temp_dir logs;
  mock_llm::server_options opts;
  opts.request_log = (logs.path() / "requests.jsonl").string();
  mock m{R"(
faults:
  - {kind: refuse_response_format}
rules:
  - match: {system: "^You are a planner[\\s\\S]*Answer with JSON only, no other text, following this JSON schema: \\{\"type\":\"object\""}
    json: {answer: 42}
)",
         opts};
  llm_client client{fast_options()};
  auto req = make_request(m.url(), "what is the answer?");
  req.messages.insert(req.messages.begin(),
                      chat_message{"system", "You are a planner.", "", "", {}});
  req.response_format =
      R"({"type":"json_schema","json_schema":{"name":"answer","strict":true,)"
      R"("schema":{"type":"object","properties":{"answer":{"type":"integer"}}}}})";
  auto res = chat_sync(client, req);
  INFO((res ? std::string{} : describe(res.error())));
  REQUIRE(res);
  CHECK(res->content == R"({"answer":42})");
  CHECK(m.stats().chat_requests == 2);
  CHECK(m.stats().status_counts[400] == 1);
  std::ifstream in{opts.request_log};
  std::string first, second, none;
  std::getline(in, first);
  std::getline(in, second);
  CHECK_FALSE(std::getline(in, none));
  CHECK_THAT(first, Catch::Contains(R"("user":"what is the answer?","response_format":true)"));
  CHECK_THAT(second, Catch::Contains(R"("user":"what is the answer?","response_format":false)"));
  SECTION("a request without response_format is not sent twice") {
    auto plain = chat_sync(client, make_request(m.url(), "hi", 2));
    REQUIRE(plain);
    CHECK(m.stats().chat_requests == 3);
  }
}

TEST_CASE("a streamed reply with neither content nor tool calls is an invalid_reply, not retried") {
  mock m{"faults:\n  - {kind: null_content, first: 1}\n"};
  llm_client client{fast_options()};
  auto req = make_request(m.url(), "hi");
  req.stream = true;
  auto res = chat_sync(client, req);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::invalid_reply));
  CHECK_THAT(describe(res.error()), Catch::Contains("neither content nor tool calls"));
  CHECK(m.stats().chat_requests == 1);
  // The fault hit only the first request: the next is answered.
  req.call_id = 2;
  REQUIRE(chat_sync(client, req));
}

TEST_CASE("a reply larger than the client accepts fails once, naming the limit") {
  mock m{"faults:\n  - {kind: huge_reply}\n"}; // 65 MiB of content
  llm_client client{fast_options()};
  for (bool stream : {false, true}) {
    INFO("stream: " << stream);
    auto req = make_request(m.url(), "hi", stream ? 2 : 1);
    req.stream = stream;
    auto res = chat_sync(client, req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::llm_invalid_response));
    CHECK_THAT(describe(res.error()), Catch::Contains("larger than 64 MiB"));
  }
  CHECK(m.stats().chat_requests == 2); // neither was retried
}

TEST_CASE("a connection reset before or during the reply is retried") {
  mock m{"faults:\n  - {kind: reset, nth: [1]}\n  - {kind: reset, midway: true, nth: [3]}\n"};
  llm_client client{fast_options()};
  auto before = chat_sync(client, make_request(m.url(), "hi"));
  REQUIRE(before);
  CHECK(before->attempts == 2);
  auto req = make_request(m.url(), "one two three four five six", 2);
  req.stream = true;
  auto during = chat_sync(client, req);
  REQUIRE(during);
  CHECK(during->attempts == 2);
  CHECK(m.stats().chat_requests == 4);
}

TEST_CASE("a 429 without Retry-After is retried after the client's own backoff") {
  mock m{"faults:\n  - {kind: http_429, first: 1, retry_after_s: none}\n"};
  llm_client client{fast_options()};
  auto start = std::chrono::steady_clock::now();
  auto res = chat_sync(client, make_request(m.url(), "hi"));
  REQUIRE(res);
  CHECK(res->attempts == 2);
  CHECK(std::chrono::steady_clock::now() - start < 900ms); // not a second's Retry-After
}
