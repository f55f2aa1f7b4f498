// Unit tests of the OpenAI wire format: URLs, request encoding, response decoding, stream folding.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "net/llm_json.hpp"
#include "runtime/core/errc.hpp"

namespace json = boost::json;
using namespace swarm;
using namespace swarm::net;

namespace {

json::object parse_object(const std::string& text) {
  return json::parse(text).as_object();
}

chat_request sample_request() {
  chat_request req;
  req.model = "gpt-4o-mini";
  req.messages.push_back({"system", "You are terse.", "", "", {}});
  req.messages.push_back({"user", "Weather in Paris?", "alice", "", {}});
  req.messages.push_back(
      {"assistant", "", "", "", {{"call_1", "get_weather", "{\"city\":\"Paris\"}"}}});
  req.messages.push_back({"tool", "sunny", "", "call_1", {}});
  req.tools.push_back({"get_weather", "Looks up the weather",
                       R"({"type":"object","properties":{"city":{"type":"string"}}})"});
  return req;
}

} // namespace

TEST_CASE("parse_url takes apart http and https base URLs") {
  auto a = parse_url("http://127.0.0.1:8089/v1");
  REQUIRE(a);
  CHECK_FALSE(a->tls);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 8089);
  CHECK(a->base_path == "/v1");
  CHECK(a->pool_key() == "http://127.0.0.1:8089");
  CHECK(a->host_header() == "127.0.0.1:8089");
  auto b = parse_url("https://api.openai.com/v1/");
  REQUIRE(b);
  CHECK(b->tls);
  CHECK(b->host == "api.openai.com");
  CHECK(b->port == 443);
  CHECK(b->base_path == "/v1");
  CHECK(b->host_header() == "api.openai.com");
  auto c = parse_url("HTTP://[::1]:9000");
  REQUIRE(c);
  CHECK(c->host == "::1");
  CHECK(c->base_path.empty());
  CHECK(c->host_header() == "[::1]:9000");
}

TEST_CASE("parse_url rejects bad URLs with invalid_argument") {
  for (auto url : {"", "ftp://x/v1", "http://", "http://:80/v1", "http://h:0/", "http://h:70000/",
                   "http://h:/v1", "http://h:12a/", "http://u@h/", "http://h/v1?x=1",
                   "http://[::1/v1", "127.0.0.1:8089/v1"}) {
    INFO(url);
    auto r = parse_url(url);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_argument));
  }
}

TEST_CASE("chat request encoding carries messages, tools and tool calls in OpenAI shape") {
  auto text = encode_chat_request(sample_request());
  REQUIRE(text);
  auto o = parse_object(*text);
  CHECK(o.at("model") == "gpt-4o-mini");
  auto& msgs = o.at("messages").as_array();
  REQUIRE(msgs.size() == 4);
  CHECK(msgs[0].at("role") == "system");
  CHECK(msgs[0].at("content") == "You are terse.");
  CHECK_FALSE(msgs[0].as_object().contains("name"));
  CHECK(msgs[1].at("name") == "alice");
  CHECK(msgs[2].at("content").is_null());
  auto& tc = msgs[2].at("tool_calls").as_array().at(0);
  CHECK(tc.at("id") == "call_1");
  CHECK(tc.at("type") == "function");
  CHECK(tc.at("function").at("name") == "get_weather");
  CHECK(tc.at("function").at("arguments") == "{\"city\":\"Paris\"}");
  CHECK(msgs[3].at("tool_call_id") == "call_1");
  auto& tool = o.at("tools").as_array().at(0);
  CHECK(tool.at("type") == "function");
  CHECK(tool.at("function").at("description") == "Looks up the weather");
  CHECK(tool.at("function").at("parameters").at("properties").at("city").at("type") == "string");
  // Unset knobs are left to the server.
  CHECK_FALSE(o.contains("temperature"));
  CHECK_FALSE(o.contains("max_tokens"));
  CHECK_FALSE(o.contains("logprobs"));
  CHECK_FALSE(o.contains("stream"));
  CHECK_FALSE(o.contains("response_format"));
}

TEST_CASE("chat request encoding sets optional knobs when asked") {
  auto req = sample_request();
  req.temperature = 0.5;
  req.max_tokens = 64;
  req.top_logprobs = 2;
  req.stream = true;
  req.response_format = R"({"type":"json_object"})";
  auto text = encode_chat_request(req);
  REQUIRE(text);
  auto o = parse_object(*text);
  CHECK(o.at("temperature").as_double() == 0.5);
  CHECK(o.at("max_tokens").to_number<int>() == 64);
  CHECK(o.at("logprobs") == true);
  CHECK(o.at("top_logprobs").to_number<int>() == 2);
  CHECK(o.at("stream") == true);
  CHECK(o.at("stream_options").at("include_usage") == true);
  CHECK(o.at("response_format").at("type") == "json_object");
  req.temperature = 0;
  req.top_logprobs = 0;
  o = parse_object(*encode_chat_request(req));
  CHECK(o.at("temperature").to_number<double>() == 0.0);
  CHECK(o.at("top_logprobs").to_number<int>() == 0);
}

TEST_CASE("chat request encoding rejects tool parameters that are not JSON objects") {
  auto req = sample_request();
  req.tools[0].parameters = "{not json";
  auto r = encode_chat_request(req);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_argument));
  req = sample_request();
  req.response_format = "[1]";
  CHECK_FALSE(encode_chat_request(req));
}

TEST_CASE("embedding request encoding lists the inputs") {
  embedding_request req;
  req.model = "text-embedding-3-small";
  req.input = {"a", "b \"quoted\""};
  auto o = parse_object(encode_embedding_request(req));
  CHECK(o.at("model") == "text-embedding-3-small");
  CHECK(o.at("input").as_array().size() == 2);
  CHECK(o.at("input").as_array()[1] == "b \"quoted\"");
}

TEST_CASE("chat response decoding reads content, finish reason, logprobs and usage") {
  auto r = decode_chat_response(R"({"id":"x","model":"m1","choices":[{"index":0,
    "message":{"role":"assistant","content":"Hello"},"finish_reason":"stop",
    "logprobs":{"content":[{"token":"Hel","logprob":-0.25,"top_logprobs":[]},{"token":"lo","logprob":0}]}}],
    "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})");
  REQUIRE(r);
  CHECK(r->model == "m1");
  CHECK(r->content == "Hello");
  CHECK(r->finish_reason == "stop");
  REQUIRE(r->logprobs.size() == 2);
  CHECK(r->logprobs[0].token == "Hel");
  CHECK(r->logprobs[0].logprob == -0.25);
  CHECK(r->logprobs[1].logprob == 0);
  CHECK(r->use.prompt_tokens == 12);
  CHECK(r->use.completion_tokens == 3);
}

TEST_CASE("chat response decoding accepts null content with tool calls") {
  auto r = decode_chat_response(R"({"model":"m","choices":[{"message":{"role":"assistant",
    "content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather",
    "arguments":"{\"city\":\"Paris\"}"}},{"id":"c2","type":"function","function":{"name":"f",
    "arguments":{"x":1}}}]},"finish_reason":"tool_calls"}]})");
  REQUIRE(r);
  CHECK(r->content.empty());
  REQUIRE(r->tool_calls.size() == 2);
  CHECK(r->tool_calls[0].id == "c1");
  CHECK(r->tool_calls[0].name == "get_weather");
  CHECK(r->tool_calls[0].arguments == "{\"city\":\"Paris\"}");
  CHECK(r->tool_calls[1].arguments == "{\"x\":1}");
  CHECK(r->finish_reason == "tool_calls");
}

TEST_CASE("chat response decoding names what is wrong with invalid bodies") {
  struct bad_case {
    const char* body;
    const char* named;
  };
  for (auto [body, named] : std::vector<bad_case>{
           {"this is not json", "not JSON"},
           {"", "not JSON"},
           {"[1,2]", "not a JSON object"},
           {"{\"choices\":[]}", "no choices"},
           {"{\"choices\":[{\"finish_reason\":\"stop\"}]}", "no message"},
           {"{\"choices\":[{\"message\":{\"content\":5}}]}", "content is not a string"},
           {"{\"choices\":[{\"message\":{\"content\":\"x\"", "not JSON"},
       }) {
    INFO(body);
    auto r = decode_chat_response(body);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::llm_invalid_response));
    CHECK_THAT(describe(r.error()), Catch::Contains(named));
  }
}

TEST_CASE("error excerpts are short and never split UTF-8") {
  std::string body(50, 'a');
  body += "\xe2\x82\xac";
  body += std::string(200, 'b');
  auto e = excerpt(body, 51);
  CHECK(e == std::string(50, 'a') + "...");
  CHECK(excerpt("short") == "short");
  auto r = decode_chat_response(std::string(5000, 'x'));
  REQUIRE_FALSE(r);
  CHECK(describe(r.error()).size() < 300);
}

TEST_CASE("api error message comes from error.message or an excerpt") {
  CHECK(api_error_message(R"({"error":{"message":"Invalid API key","type":"auth"}})") ==
        "Invalid API key");
  CHECK(api_error_message(R"({"error":"overloaded"})") == "overloaded");
  CHECK(api_error_message("<html>Bad Gateway</html>") == "<html>Bad Gateway</html>");
}

TEST_CASE("embedding response decoding orders vectors by index") {
  auto r = decode_embedding_response(R"({"object":"list","data":[
    {"object":"embedding","index":1,"embedding":[0.5,-1]},
    {"object":"embedding","index":0,"embedding":[1,0.25]}],"model":"e","usage":{"prompt_tokens":4,"total_tokens":4}})");
  REQUIRE(r);
  REQUIRE(r->vectors.size() == 2);
  CHECK(r->vectors[0] == std::vector<float>{1.0f, 0.25f});
  CHECK(r->vectors[1] == std::vector<float>{0.5f, -1.0f});
  CHECK(r->use.prompt_tokens == 4);
  CHECK_FALSE(decode_embedding_response(R"({"data":[{"index":3,"embedding":[1]}]})"));
  CHECK_FALSE(decode_embedding_response(R"({"data":[{"index":0,"embedding":["x"]}]})"));
  CHECK_FALSE(decode_embedding_response("nope"));
}

TEST_CASE("embedding response decoding refuses vectors of different dimensions or none") {
  // Regression (fuzz/embeddings): a reply mixing dimensions decoded, and the vector index then
  // stored part of the batch and refused the rest.
  auto mixed = decode_embedding_response(
      R"({"data":[{"index":0,"embedding":[1,0,0,0]},{"index":1,"embedding":[0.5,-1,0]}]})");
  REQUIRE_FALSE(mixed);
  CHECK(swarm::describe(mixed.error()).find("embeddings of different dimensions (4 and 3)") !=
        std::string::npos);
  auto empty = decode_embedding_response(R"({"data":[{"index":0,"embedding":[]}]})");
  REQUIRE_FALSE(empty);
  CHECK(swarm::describe(empty.error()).find("empty embedding") != std::string::npos);
  CHECK(decode_embedding_response(R"({"data":[]})")); // no input, no vectors
}

TEST_CASE("an index past 2^64 is out of range, not undefined behaviour") {
  // Regression (fuzz/stream_chunks): the double 2.2e24 was converted to uint64_t as it was,
  // undefined behaviour that the Debug+ASan/UBSan suite stops on.
  stream_accumulator acc;
  CHECK_FALSE(acc.add(R"({"choices":[{"index":2.2e24,"delta":{"content":"not folded"}}]})"));
  CHECK_FALSE(acc.add(R"({"choices":[{"index":0,"delta":{"content":"folded"}}]})"));
  CHECK(acc.take().content == "folded");
  CHECK_FALSE(decode_embedding_response(R"({"data":[{"index":1e30,"embedding":[1]}]})"));
}

TEST_CASE("stream accumulator folds content, tool-call deltas, finish reason, logprobs and usage") {
  stream_accumulator acc;
  std::string seen;
  auto sink = [&](std::string_view d) { seen += d; };
  const char* chunks[] = {
      R"({"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
      R"({"choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":{"content":[{"token":"Hel","logprob":-0.5}]}}]})",
      R"({"choices":[{"index":0,"delta":{"content":"lo"},"logprobs":{"content":[{"token":"lo","logprob":-0.25}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"f","arguments":"{}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\""}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":\"Paris\"}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null})",
      R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}})",
  };
  for (auto c : chunks)
    REQUIRE_FALSE(acc.add(c, sink));
  CHECK(acc.deltas() == 2);
  auto r = acc.take();
  CHECK(seen == "Hello");
  CHECK(r.model == "m");
  CHECK(r.content == "Hello");
  CHECK(r.finish_reason == "tool_calls");
  REQUIRE(r.tool_calls.size() == 2);
  CHECK(r.tool_calls[0].id == "c1");
  CHECK(r.tool_calls[0].name == "get_weather");
  CHECK(r.tool_calls[0].arguments == "{\"city\":\"Paris\"}");
  CHECK(r.tool_calls[1].name == "f");
  REQUIRE(r.logprobs.size() == 2);
  CHECK(r.logprobs[1].token == "lo");
  CHECK(r.use.prompt_tokens == 9);
  CHECK(r.use.completion_tokens == 4);
  CHECK(acc.take().content.empty());
}

TEST_CASE("stream accumulator rejects chunks that are not JSON objects") {
  stream_accumulator acc;
  auto err = acc.add("{\"choices\":[{\"delta\":");
  CHECK(is(err, errc::llm_invalid_response));
  CHECK(is(acc.add("42"), errc::llm_invalid_response));
  CHECK(is(acc.add(R"({"error":{"message":"boom"}})"), errc::llm_http_error));
}

TEST_CASE("a cassette's reply keeps which fallback answered it") {
  chat_result res;
  res.model = "backup";
  res.content = "an answer from the fallback";
  res.use = usage{3, 1, 1};
  res.fallback = 2;
  auto text = encode_chat_response(res);
  CHECK(parse_object(text).at("x_swarm_fallback").as_int64() == 2);
  auto back = decode_chat_response(text);
  REQUIRE(back);
  CHECK(back->fallback == 2);
  CHECK(back->content == "an answer from the fallback");
  // The primary's answer carries no mark, and a server's reply never sets it.
  res.fallback = 0;
  text = encode_chat_response(res);
  CHECK_FALSE(parse_object(text).contains("x_swarm_fallback"));
  back = decode_chat_response(text);
  REQUIRE(back);
  CHECK(back->fallback == 0);
}

TEST_CASE("a reply with content null and no tool calls is an invalid_reply, not an empty answer") {
  auto null_content = decode_chat_response(
      R"({"choices":[{"message":{"role":"assistant","content":null},"finish_reason":"stop"}]})");
  REQUIRE_FALSE(null_content);
  CHECK(is(null_content.error(), errc::invalid_reply));
  CHECK(describe(null_content.error()).find("neither content nor tool calls") != std::string::npos);
  auto absent = decode_chat_response(R"({"choices":[{"message":{"role":"assistant"}}]})");
  REQUIRE_FALSE(absent);
  CHECK(is(absent.error(), errc::invalid_reply));
  // An empty string is an answer; null content beside tool calls is the usual tool-call shape.
  auto empty = decode_chat_response(
      R"({"choices":[{"message":{"role":"assistant","content":""},"finish_reason":"stop"}]})");
  REQUIRE(empty);
  CHECK(empty->content.empty());
  auto tools = decode_chat_response(
      R"({"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[)"
      R"({"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}}]})");
  REQUIRE(tools);
  CHECK(tools->tool_calls.size() == 1);
}

TEST_CASE("a stream with neither content nor tool calls finishes as an invalid_reply") {
  stream_accumulator acc;
  REQUIRE_FALSE(acc.add(R"({"choices":[{"delta":{"role":"assistant","content":null}}]})"));
  REQUIRE_FALSE(acc.add(R"({"choices":[{"delta":{},"finish_reason":"stop"}]})"));
  auto none = acc.finish();
  REQUIRE_FALSE(none);
  CHECK(is(none.error(), errc::invalid_reply));
  CHECK(describe(none.error()).find("neither content nor tool calls") != std::string::npos);
  // As in a non-streamed reply, an empty string is an answer.
  REQUIRE_FALSE(acc.add(R"({"choices":[{"delta":{"role":"assistant","content":""}}]})"));
  REQUIRE_FALSE(acc.add(R"({"choices":[{"delta":{},"finish_reason":"stop"}]})"));
  auto empty = acc.finish();
  REQUIRE(empty);
  CHECK(empty->content.empty());
  REQUIRE_FALSE(acc.add(R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1",)"
                        R"("function":{"name":"f","arguments":"{}"}}]}}]})"));
  auto calls = acc.finish();
  REQUIRE(calls);
  CHECK(calls->tool_calls.size() == 1);
}

// Found by fuzz_chat_response: a logprob written as a 19-digit integer re-encoded as a double
// whose 16-17 digits Boost.JSON 1.81 reads back one unit off, so a cassette's reply changed each
// time it was read and written. Logprobs are kept on a grid of 1e-9 within [-1e6, 0].
TEST_CASE("a reply's logprobs survive decode and encode unchanged, however they were written") {
  auto round_trip_is_stable = [](const std::string& body) {
    auto res = decode_chat_response(body);
    REQUIRE(res);
    auto once = encode_chat_response(*res);
    auto again = decode_chat_response(once);
    REQUIRE(again);
    CHECK(encode_chat_response(*again) == once);
    return *res;
  };
  auto body = [](const std::string& logprob) {
    return R"({"choices":[{"message":{"content":"H"},"logprobs":{"content":[{"token":"i","logprob":)" +
           logprob + "}]}}]}";
  };
  auto big = round_trip_is_stable(body("9223300001836352590"));
  REQUIRE(big.logprobs.size() == 1);
  CHECK(big.logprobs[0].logprob == 0.0); // a logprob above 0 is a probability above 1
  CHECK(round_trip_is_stable(body("-1e300")).logprobs[0].logprob == -1e6);
  CHECK(round_trip_is_stable(body("-1.9361265e-07")).logprobs[0].logprob == Approx(-1.94e-7));
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < 2000; ++i) { // every digit count and scale a server may write
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    double v = -static_cast<double>(x % 1000000007u) / std::pow(10.0, static_cast<int>(x % 19));
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", v);
    round_trip_is_stable(body(text));
  }
}
