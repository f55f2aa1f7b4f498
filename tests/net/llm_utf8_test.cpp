// Invalid UTF-8 in an LLM reply (issue J 2): the client repairs the body as it decodes it, plain
// or streamed, and counts the replacements; error texts quoting a body are repaired too.
#include <string>

#include <catch2/catch.hpp>

#include "net/llm_json.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/utf8.hpp"

using namespace swarm;
using namespace swarm::net;

namespace {

const std::string fffd{utf8_replacement};

} // namespace

TEST_CASE("a reply whose content and tool-call arguments have invalid UTF-8 is repaired") {
  std::string body = R"({"model":"m","choices":[{"index":0,"finish_reason":"stop","message":)"
                     R"({"role":"assistant","content":"ok )"
                     "\xff\xfe"
                     R"( done","tool_calls":[{"id":"c1","type":"function","function":)"
                     R"({"name":"f","arguments":"{\"q\":\")"
                     "\xc0"
                     R"(\"}"}}]}}],"usage":{"prompt_tokens":3,"completion_tokens":2}})";
  auto res = decode_chat_response(body);
  REQUIRE(res);
  CHECK(res->content == "ok " + fffd + fffd + " done");
  REQUIRE(res->tool_calls.size() == 1);
  CHECK(res->tool_calls[0].arguments == "{\"q\":\"" + fffd + "\"}");
  CHECK(res->repaired == 3);
  CHECK(res->use.prompt_tokens == 3);
}

TEST_CASE("a valid reply counts no repair") {
  auto res =
      decode_chat_response(R"({"choices":[{"message":{"role":"assistant","content":"caf\u00e9 )"
                           "\xc3\xa9"
                           R"("}}]})");
  REQUIRE(res);
  CHECK(res->content == "caf\xc3\xa9 \xc3\xa9");
  CHECK(res->repaired == 0);
}

TEST_CASE("streamed deltas with invalid UTF-8 are repaired and counted over the stream") {
  stream_accumulator acc;
  std::string seen;
  auto sink = [&](std::string_view d) { seen += d; };
  REQUIRE_FALSE(acc.add(R"({"choices":[{"index":0,"delta":{"content":"ok )"
                        "\xff"
                        R"("}}]})",
                        sink));
  REQUIRE_FALSE(acc.add(R"({"choices":[{"index":0,"delta":{"content":" )"
                        "\xed\xa0\x80"
                        R"( done"}}]})",
                        sink));
  auto res = acc.take();
  CHECK(res.content == "ok " + fffd + " " + fffd + fffd + fffd + " done");
  CHECK(seen == res.content); // the deltas the CLI streams are repaired too
  CHECK(res.repaired == 4);
}

TEST_CASE("an error text quoting a body with invalid UTF-8 is valid UTF-8") {
  CHECK(is_valid_utf8(api_error_message("bad gateway \xff\xfe")));
  CHECK(is_valid_utf8(excerpt(std::string(200, 'x') + "\xff", 201)));
  auto res = decode_chat_response("not json \xff");
  REQUIRE_FALSE(res);
  CHECK(is_valid_utf8(describe(res.error())));
}
