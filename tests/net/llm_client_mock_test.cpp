// Tests of the LLM client against the real mock server over loopback: plain and streamed chat,
// tools, logprobs and embeddings. Failures: llm_client_failure_test.cpp; connections, cancellation
// and TLS: llm_client_connection_test.cpp.
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

TEST_CASE("a plain chat completion returns the mock's templated reply and usage") {
  mock m{""};
  llm_client client{fast_options()};
  auto res = chat_sync(client, make_request(m.url(), "hello there", 42));
  REQUIRE(res);
  CHECK(res->call_id == 42);
  CHECK(res->content == "Mock answer from mock to: hello there");
  CHECK(res->finish_reason == "stop");
  CHECK(res->attempts == 1);
  CHECK(res->use.calls == 1);
  CHECK(res->use.completion_tokens > 0);
  CHECK(res->use.prompt_tokens > 0);
  CHECK(m.stats().chat_requests == 1);
}

TEST_CASE("a streamed chat delivers deltas that concatenate to the full content") {
  mock m{""};
  llm_client client{fast_options()};
  auto plain = chat_sync(client, make_request(m.url(), "tell me a story about streams"));
  REQUIRE(plain);
  auto req = make_request(m.url(), "tell me a story about streams", 2);
  req.stream = true;
  std::string seen;
  int deltas = 0;
  auto res = chat_sync(client, req, [&](std::string_view d) {
    seen += d;
    ++deltas;
  });
  REQUIRE(res);
  CHECK(res->content == plain->content);
  CHECK(seen == res->content);
  CHECK(deltas > 1);
  CHECK(res->finish_reason == "stop");
  CHECK(res->use.completion_tokens > 0);
  CHECK(m.stats().stream_requests == 1);
}

TEST_CASE("tool calls come back in plain and streamed chat") {
  mock m{R"(
rules:
  - match: {user: "weather"}
    tool_calls:
      - {name: get_weather, arguments: {city: Paris}}
)"};
  llm_client client{fast_options()};
  for (bool stream : {false, true}) {
    INFO("stream " << stream);
    auto req = make_request(m.url(), "what is the weather?", stream ? 2 : 1);
    req.stream = stream;
    req.tools.push_back({"get_weather", "weather by city",
                         R"({"type":"object","properties":{"city":{"type":"string"}}})"});
    auto res = chat_sync(client, req);
    REQUIRE(res);
    CHECK(res->finish_reason == "tool_calls");
    REQUIRE(res->tool_calls.size() == 1);
    CHECK(res->tool_calls[0].name == "get_weather");
    CHECK_FALSE(res->tool_calls[0].id.empty());
    CHECK_THAT(res->tool_calls[0].arguments, Catch::Contains("Paris"));
  }
}

TEST_CASE("logprobs are returned when asked for") {
  mock m{R"(
rules:
  - match: {user: "probs"}
    reply: "a few tokens here"
    logprob: -0.05
)"};
  llm_client client{fast_options()};
  for (bool stream : {false, true}) {
    INFO("stream " << stream);
    auto req = make_request(m.url(), "probs please", stream ? 2 : 1);
    req.stream = stream;
    req.top_logprobs = 0;
    auto res = chat_sync(client, req);
    REQUIRE(res);
    REQUIRE_FALSE(res->logprobs.empty());
    for (const auto& lp : res->logprobs)
      CHECK(lp.logprob == Approx(-0.05));
  }
  auto plain = chat_sync(client, make_request(m.url(), "probs please", 3));
  REQUIRE(plain);
  CHECK(plain->logprobs.empty());
}

TEST_CASE("embeddings come back one vector per input in input order") {
  mock m{""};
  llm_client client{fast_options()};
  auto embed = [&](std::vector<std::string> input, uint64_t id) {
    embedding_request req;
    req.call_id = id;
    req.endpoint.url = m.url();
    req.model = "mock-embed";
    req.input = std::move(input);
    std::promise<caf::expected<embedding_result>> done;
    auto fut = done.get_future();
    client.embed(std::move(req),
                 [&](caf::expected<embedding_result> r) { done.set_value(std::move(r)); });
    REQUIRE(fut.wait_for(10s) == std::future_status::ready);
    return fut.get();
  };
  auto res = embed({"alpha", "beta", "gamma"}, 1);
  REQUIRE(res);
  CHECK(res->call_id == 1);
  REQUIRE(res->vectors.size() == 3);
  REQUIRE_FALSE(res->vectors[0].empty());
  double norm = 0;
  for (float x : res->vectors[0])
    norm += double{x} * x;
  CHECK(std::sqrt(norm) == Approx(1.0).epsilon(0.01));
  CHECK(res->vectors[0] != res->vectors[1]);
  auto again = embed({"gamma", "alpha"}, 2);
  REQUIRE(again);
  CHECK(again->vectors[0] == res->vectors[2]);
  CHECK(again->vectors[1] == res->vectors[0]);
  CHECK(m.stats().embedding_requests == 2);
}
