// Unit tests of how a reply's `usage` is read: only non-negative integers in range count;
// anything else (missing, negative, fractional, huge, a string) marks the usage for an estimate.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "net/llm_json.hpp"

using namespace swarm;
using namespace swarm::net;

namespace {

std::string reply_with_usage(const std::string& usage_json) {
  std::string body = R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant",)"
                     R"("content":"hi"},"finish_reason":"stop"}])";
  if (!usage_json.empty())
    body += ",\"usage\":" + usage_json;
  return body + "}";
}

std::string usage_chunk(const std::string& usage_json) {
  return R"({"model":"m","choices":[],"usage":)" + usage_json + "}";
}

const char* content_chunk = R"({"model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]})";

} // namespace

TEST_CASE("usage with non-negative integer counts is taken as the reply states it") {
  auto r = decode_chat_response(
      reply_with_usage(R"({"prompt_tokens":12,"completion_tokens":0,"total_tokens":12})"));
  REQUIRE(r);
  CHECK_FALSE(r->usage_estimated);
  CHECK(r->use.prompt_tokens == 12);
  CHECK(r->use.completion_tokens == 0);
  auto largest = decode_chat_response(
      reply_with_usage(R"({"prompt_tokens":1000000000,"completion_tokens":1000000000})"));
  REQUIRE(largest);
  CHECK_FALSE(largest->usage_estimated);
  CHECK(largest->use.completion_tokens == max_usage_tokens);
}

TEST_CASE("a reply without valid usage is marked for an estimate, its counts left at 0") {
  for (std::string usage : {
           std::string{},                          // none at all
           std::string{"null"},                    //
           std::string{"{}"},                      //
           std::string{"[12, 3]"},                 //
           std::string{R"({"prompt_tokens":12})"}, // half of it
           std::string{R"({"prompt_tokens":12,"completion_tokens":18446744073709551615})"},
           std::string{R"({"prompt_tokens":12,"completion_tokens":1000000001})"},
           std::string{R"({"prompt_tokens":12,"completion_tokens":1e30})"},
           std::string{R"({"prompt_tokens":-5,"completion_tokens":3})"},
           std::string{R"({"prompt_tokens":12,"completion_tokens":"7"})"},
           std::string{R"({"prompt_tokens":12,"completion_tokens":7.5})"},
           std::string{R"({"prompt_tokens":12,"completion_tokens":null})"},
       }) {
    INFO("usage: " << usage);
    auto r = decode_chat_response(reply_with_usage(usage));
    REQUIRE(r);
    CHECK(r->content == "hi");
    CHECK(r->usage_estimated);
    CHECK(r->use.prompt_tokens == 0);
    CHECK(r->use.completion_tokens == 0);
  }
}

TEST_CASE("a stream without a usage chunk, or with a bad one, is marked for an estimate") {
  SECTION("no usage chunk") {
    stream_accumulator acc;
    REQUIRE_FALSE(acc.add(content_chunk));
    auto r = acc.take();
    CHECK(r.content == "hi");
    CHECK(r.usage_estimated);
    CHECK(r.use.total_tokens() == 0);
  }
  SECTION("a usage chunk with a negative count") {
    stream_accumulator acc;
    REQUIRE_FALSE(acc.add(content_chunk));
    REQUIRE_FALSE(acc.add(usage_chunk(R"({"prompt_tokens":-5,"completion_tokens":3})")));
    auto r = acc.take();
    CHECK(r.usage_estimated);
    CHECK(r.use.total_tokens() == 0);
  }
  SECTION("a valid usage chunk") {
    stream_accumulator acc;
    REQUIRE_FALSE(acc.add(content_chunk));
    REQUIRE_FALSE(acc.add(usage_chunk(R"({"prompt_tokens":9,"completion_tokens":1})")));
    auto r = acc.take();
    CHECK_FALSE(r.usage_estimated);
    CHECK(r.use.prompt_tokens == 9);
    CHECK(r.use.completion_tokens == 1);
  }
  SECTION("the flag does not leak into the next attempt") {
    stream_accumulator acc;
    REQUIRE_FALSE(acc.add(content_chunk));
    acc.reset();
    REQUIRE_FALSE(acc.add(usage_chunk(R"({"prompt_tokens":9,"completion_tokens":1})")));
    CHECK_FALSE(acc.take().usage_estimated);
  }
}

TEST_CASE("an estimated usage survives the cassette's encoding") {
  auto decoded = decode_chat_response(reply_with_usage(""));
  REQUIRE(decoded);
  auto res = std::move(*decoded);
  res.use = usage{40, 100, 1};
  res.usage_estimated = true;
  auto back = decode_chat_response(encode_chat_response(res));
  REQUIRE(back);
  CHECK(back->usage_estimated);
  CHECK(back->use.prompt_tokens == 40);
  CHECK(back->use.completion_tokens == 100);
  res.usage_estimated = false;
  auto plain = decode_chat_response(encode_chat_response(res));
  REQUIRE(plain);
  CHECK_FALSE(plain->usage_estimated);
  CHECK(plain->use.prompt_tokens == 40);
}
