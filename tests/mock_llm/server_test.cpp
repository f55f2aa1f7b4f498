// Tests of the mock LLM server over real loopback HTTP(S), with a small Beast client.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using mock_llm::server;
using mock_llm::server_options;

namespace {

/// A response, complete or (after an error) as far as it was read.
struct reply {
  beast::error_code ec;
  http::response<http::string_body> msg;
  unsigned status() const { return msg.result_int(); }
  const std::string& body() const { return msg.body(); }
};

/// A synchronous keep-alive client: every call runs its own io_context until the operation
/// completes, with a 10 s deadline so a broken server fails the test instead of hanging it.
class client {
public:
  explicit client(uint16_t port, ssl::context* tls = nullptr) {
    tcp::endpoint ep{net::ip::make_address("127.0.0.1"), port};
    if (tls) {
      tls_.emplace(ioc_, *tls);
      deadline();
      beast::get_lowest_layer(*tls_).async_connect(ep, [this](beast::error_code ec) { ec_ = ec; });
      run();
      REQUIRE_FALSE(ec_);
      tls_->async_handshake(ssl::stream_base::client, [this](beast::error_code ec) { ec_ = ec; });
      run();
      REQUIRE_FALSE(ec_);
    } else {
      plain_.emplace(ioc_);
      deadline();
      plain_->async_connect(ep, [this](beast::error_code ec) { ec_ = ec; });
      run();
      REQUIRE_FALSE(ec_);
    }
  }

  void send(http::verb verb, std::string target, std::string body = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty())
      req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    deadline();
    with_stream([&](auto& s) {
      http::async_write(s, req, [this](beast::error_code ec, size_t) { ec_ = ec; });
    });
    run();
    REQUIRE_FALSE(ec_);
  }

  reply read() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    deadline();
    with_stream([&](auto& s) {
      http::async_read(s, buffer_, parser, [this](beast::error_code ec, size_t) { ec_ = ec; });
    });
    run();
    return reply{ec_, parser.release()};
  }

  reply request(http::verb verb, std::string target, std::string body = {}) {
    send(verb, std::move(target), std::move(body));
    return read();
  }

  reply chat(std::string body) {
    return request(http::verb::post, "/v1/chat/completions", std::move(body));
  }

  void close() {
    beast::error_code ignored;
    auto& socket = plain_ ? plain_->socket() : beast::get_lowest_layer(*tls_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

private:
  template <class F>
  void with_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(*plain_);
  }

  void deadline() {
    if (tls_)
      beast::get_lowest_layer(*tls_).expires_after(10s);
    else
      plain_->expires_after(10s);
  }

  void run() {
    ioc_.restart();
    ioc_.run();
  }

  net::io_context ioc_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  beast::error_code ec_;
};

using swarm::test::temp_dir;

struct running {
  temp_dir dir;
  std::unique_ptr<server> srv;
};

running start(const std::string& script = {}, server_options opts = {}) {
  running r;
  r.srv = swarm::test::start_mock(r.dir, script, std::move(opts), "script.yaml");
  return r;
}

std::string user_message(const std::string& text, const std::string& extra = {}) {
  return R"({"model":"gpt-x","messages":[{"role":"user","content":)" +
         json::serialize(json::string{text}) + "}]" + extra + "}";
}

/// The JSON payloads of an SSE body, "[DONE]" included as a string.
std::vector<std::string> sse_events(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find("\n\n", pos);
    if (end == std::string::npos)
      break;
    auto event = body.substr(pos, end - pos);
    REQUIRE(event.rfind("data: ", 0) == 0);
    out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

} // namespace

TEST_CASE("a chat completion has the OpenAI shape") {
  auto r = start();
  client c{r.srv->port()};
  auto res = c.chat(user_message("hello"));
  REQUIRE_FALSE(res.ec);
  CHECK(res.status() == 200);
  CHECK(res.msg[http::field::content_type] == "application/json");
  auto v = json::parse(res.body());
  CHECK(v.at("id").as_string() == "chatcmpl-mock-1");
  CHECK(v.at("object").as_string() == "chat.completion");
  CHECK(v.at("created").as_int64() > 0);
  CHECK(v.at("model").as_string() == "gpt-x");
  const auto& choice = v.at("choices").at(0);
  CHECK(choice.at("index").as_int64() == 0);
  CHECK(choice.at("message").at("role").as_string() == "assistant");
  CHECK(choice.at("message").at("content").as_string() == "Mock answer from gpt-x to: hello");
  CHECK(choice.at("finish_reason").as_string() == "stop");
  CHECK(v.at("usage").at("prompt_tokens").as_int64() == 2);
  CHECK(v.at("usage").at("completion_tokens").as_int64() == 8);
  CHECK(v.at("usage").at("total_tokens").as_int64() == 10);
  CHECK(r.srv->url() == "http://127.0.0.1:" + std::to_string(r.srv->port()) + "/v1");
}

TEST_CASE("the same request number gets the same reply") {
  auto script = "seed: 5\nrules:\n  - {match: {user: x}, reply: \"n={{n}}\"}\n";
  auto a = start(script);
  auto b = start(script);
  client ca{a.srv->port()};
  client cb{b.srv->port()};
  for (int i = 0; i < 3; ++i)
    CHECK(ca.chat(user_message("x")).body() == cb.chat(user_message("x")).body());
}

TEST_CASE("a streamed reply arrives in several deltas and ends with DONE") {
  auto r = start("default: {reply: \"The quick brown fox jumps over the lazy dog\"}\n");
  client c{r.srv->port()};
  auto res =
      c.chat(user_message("hi", R"(,"stream":true,"stream_options":{"include_usage":true})"));
  REQUIRE_FALSE(res.ec);
  CHECK(res.status() == 200);
  CHECK(res.msg[http::field::content_type] == "text/event-stream");
  CHECK(res.msg.chunked());
  auto events = sse_events(res.body());
  REQUIRE(events.size() >= 4);
  CHECK(events.back() == "[DONE]");
  std::string text;
  int content_deltas = 0;
  std::string finish;
  std::optional<int64_t> total_tokens;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto v = json::parse(events[i]);
    CHECK(v.at("object").as_string() == "chat.completion.chunk");
    if (auto* usage = v.as_object().if_contains("usage"))
      total_tokens = usage->at("total_tokens").as_int64();
    const auto& choices = v.at("choices").as_array();
    if (choices.empty())
      continue;
    const auto& delta = choices[0].at("delta").as_object();
    if (auto* content = delta.if_contains("content");
        content && content->is_string() && !content->as_string().empty()) {
      text += content->as_string().c_str();
      ++content_deltas;
    }
    if (!choices[0].at("finish_reason").is_null())
      finish = choices[0].at("finish_reason").as_string().c_str();
  }
  CHECK(text == "The quick brown fox jumps over the lazy dog");
  CHECK(content_deltas == 9);
  CHECK(finish == "stop");
  CHECK(total_tokens == 1 + 11);
  // The connection stays usable after a stream.
  auto next = c.chat(user_message("again"));
  CHECK(next.status() == 200);
  CHECK(r.srv->stats().stream_requests == 1);
}

TEST_CASE("tool call rules answer with tool_calls, streamed or not") {
  auto r = start(R"(
rules:
  - match: {user: weather}
    tool_calls:
      - {name: get_weather, arguments: {city: Paris}}
)");
  client c{r.srv->port()};
  auto v = json::parse(c.chat(user_message("weather?")).body());
  const auto& choice = v.at("choices").at(0);
  CHECK(choice.at("finish_reason").as_string() == "tool_calls");
  CHECK(choice.at("message").at("content").is_null());
  const auto& call = choice.at("message").at("tool_calls").at(0);
  CHECK(call.at("id").as_string() == "call_1_0");
  CHECK(call.at("type").as_string() == "function");
  CHECK(call.at("function").at("name").as_string() == "get_weather");
  CHECK(call.at("function").at("arguments").as_string() == R"({"city":"Paris"})");

  auto events = sse_events(c.chat(user_message("weather?", R"(,"stream":true)")).body());
  CHECK(events.back() == "[DONE]");
  std::string name;
  std::string id;
  std::string arguments;
  std::string finish;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto ev = json::parse(events[i]);
    const auto& choice0 = ev.at("choices").at(0);
    if (!choice0.at("finish_reason").is_null())
      finish = choice0.at("finish_reason").as_string().c_str();
    const auto& delta = choice0.at("delta").as_object();
    auto* calls = delta.if_contains("tool_calls");
    if (!calls)
      continue;
    const auto& tc = calls->at(0).as_object();
    CHECK(tc.at("index").as_int64() == 0);
    if (auto* tid = tc.if_contains("id"))
      id += tid->as_string().c_str();
    if (auto* fn = tc.at("function").as_object().if_contains("name"))
      name += fn->as_string().c_str();
    arguments += tc.at("function").at("arguments").as_string().c_str();
  }
  CHECK(id == "call_2_0");
  CHECK(name == "get_weather");
  CHECK(arguments == R"({"city":"Paris"})");
  CHECK(finish == "tool_calls");
}

TEST_CASE("logprobs list every token of the reply") {
  auto r = start("default: {reply: \"alpha beta gamma\", logprob: -0.05}\n");
  client c{r.srv->port()};
  auto v = json::parse(c.chat(user_message("x", R"(,"logprobs":true,"top_logprobs":2)")).body());
  const auto& content = v.at("choices").at(0).at("logprobs").at("content").as_array();
  REQUIRE(content.size() == 3);
  std::string text;
  for (const auto& t : content) {
    text += t.at("token").as_string().c_str();
    CHECK(t.at("logprob").as_double() == Approx(-0.05));
    CHECK(t.at("top_logprobs").as_array().size() == 2);
  }
  CHECK(text == "alpha beta gamma");
  auto plain = json::parse(c.chat(user_message("x")).body());
  CHECK(plain.at("choices").at(0).at("logprobs").is_null());
}

TEST_CASE("embeddings are deterministic unit vectors of the script's dimension") {
  auto r = start("embeddings: {dimensions: 16}\n");
  client c{r.srv->port()};
  auto res =
      c.request(http::verb::post, "/v1/embeddings", R"({"model":"emb","input":["hello","world"]})");
  REQUIRE(res.status() == 200);
  auto v = json::parse(res.body());
  const auto& data = v.at("data").as_array();
  REQUIRE(data.size() == 2);
  auto vec = [](const json::value& d) {
    std::vector<double> out;
    for (const auto& x : d.at("embedding").as_array())
      out.push_back(x.to_number<double>());
    return out;
  };
  auto hello = vec(data[0]);
  CHECK(hello.size() == 16);
  double norm = 0;
  for (auto x : hello)
    norm += x * x;
  CHECK(std::sqrt(norm) == Approx(1.0).epsilon(1e-5));
  CHECK(vec(data[1]) != hello);
  auto again =
      json::parse(c.request(http::verb::post, "/v1/embeddings", R"({"input":"hello"})").body());
  CHECK(vec(again.at("data").at(0)) == hello);
  CHECK(r.srv->stats().embedding_requests == 2);
}

TEST_CASE("a 429 fault with Retry-After hits the first request, then replies succeed") {
  auto r = start("faults:\n  - {kind: http_429, first: 1, retry_after_s: 2}\n");
  client c{r.srv->port()};
  auto first = c.chat(user_message("hi"));
  CHECK(first.status() == 429);
  CHECK(first.msg["Retry-After"] == "2");
  CHECK(json::parse(first.body()).at("error").at("type").as_string() == "rate_limit_error");
  CHECK(c.chat(user_message("hi")).status() == 200);
  auto st = r.srv->stats();
  CHECK(st.faults == 1);
  CHECK(st.status_counts[429] == 1);
  CHECK(st.status_counts[200] == 1);
}

TEST_CASE("a 500 fault hits exactly the nth requests") {
  auto r = start("faults:\n  - {kind: http_500, nth: [2, 4]}\n");
  client c{r.srv->port()};
  std::vector<unsigned> statuses;
  for (int i = 0; i < 5; ++i)
    statuses.push_back(c.chat(user_message("hi")).status());
  CHECK(statuses == std::vector<unsigned>{200, 500, 200, 500, 200});
}

TEST_CASE("an invalid_json fault answers 200 with a body that is not JSON") {
  auto r = start("faults:\n  - {kind: invalid_json, match: {user: broken}}\n");
  client c{r.srv->port()};
  auto res = c.chat(user_message("broken please"));
  CHECK(res.status() == 200);
  boost::system::error_code ec;
  json::parse(res.body(), ec);
  CHECK(ec);
  auto events = sse_events(c.chat(user_message("broken", R"(,"stream":true)")).body());
  REQUIRE(events.size() == 2);
  json::parse(events[0], ec);
  CHECK(ec);
  CHECK(events[1] == "[DONE]");
  CHECK(c.chat(user_message("fine")).status() == 200);
}

TEST_CASE("malformed requests get OpenAI-style 400s and unknown paths 404s") {
  auto r = start();
  client c{r.srv->port()};
  auto bad = c.chat("{not json");
  CHECK(bad.status() == 400);
  auto err = json::parse(bad.body());
  CHECK(err.at("error").at("type").as_string() == "invalid_request_error");
  CHECK_FALSE(err.at("error").at("message").as_string().empty());
  CHECK(c.chat(R"({"model":"m"})").status() == 400);
  auto missing = c.request(http::verb::get, "/v2/nothing");
  CHECK(missing.status() == 404);
  CHECK(json::parse(missing.body()).at("error").at("type").as_string() == "invalid_request_error");
  CHECK(c.request(http::verb::get, "/v1/chat/completions").status() == 405);
  CHECK(c.request(http::verb::get, "/health").body() == "ok");
}

TEST_CASE("a truncated stream ends without DONE and a truncated body ends early") {
  auto r = start("default: {reply: \"one two three four five six seven eight\"}\n"
                 "faults:\n  - {kind: truncate, match: {user: cut}}\n");
  {
    client c{r.srv->port()};
    auto res = c.chat(user_message("cut", R"(,"stream":true)"));
    CHECK(res.ec);
    CHECK(res.status() == 200);
    CHECK_FALSE(res.body().empty());
    CHECK(res.body().find("[DONE]") == std::string::npos);
  }
  {
    client c{r.srv->port()};
    auto res = c.chat(user_message("cut"));
    CHECK(res.ec);
    CHECK(res.body().size() < std::stoul(std::string{res.msg[http::field::content_length]}));
  }
  CHECK(r.srv->stats().cancels == 0);
  CHECK(test::eventually([&] { return r.srv->stats().in_flight == 0; }, 5s));
}

TEST_CASE("a stalled request whose client closes counts as one cancel") {
  auto r = start("faults:\n  - {kind: stall, match: {user: stall}}\n");
  client c{r.srv->port()};
  c.send(http::verb::post, "/v1/chat/completions", user_message("stall"));
  REQUIRE(test::eventually([&] { return r.srv->stats().in_flight == 1; }, 5s));
  c.close();
  REQUIRE(test::eventually([&] { return r.srv->stats().cancels == 1; }, 5s));
  auto st = r.srv->stats();
  CHECK(st.in_flight == 0);
  CHECK(st.faults == 1);
  client stats_client{r.srv->port()};
  auto v = json::parse(stats_client.request(http::verb::get, "/stats").body());
  CHECK(v.at("cancels").as_int64() == 1);
}

TEST_CASE("a client that closes during latency counts as a cancel") {
  auto r = start("latency: {fixed_ms: 5000}\n");
  client c{r.srv->port()};
  c.send(http::verb::post, "/v1/chat/completions", user_message("hi"));
  REQUIRE(test::eventually([&] { return r.srv->stats().in_flight == 1; }, 5s));
  c.close();
  REQUIRE(test::eventually([&] { return r.srv->stats().cancels == 1; }, 5s));
  CHECK(r.srv->stats().in_flight == 0);
}

TEST_CASE("peak_in_flight counts concurrent requests exactly") {
  auto r = start("latency: {fixed_ms: 300}\n");
  constexpr int clients = 5;
  std::vector<std::unique_ptr<client>> cs;
  for (int i = 0; i < clients; ++i)
    cs.push_back(std::make_unique<client>(r.srv->port()));
  auto t0 = std::chrono::steady_clock::now();
  for (auto& c : cs)
    c->send(http::verb::post, "/v1/chat/completions", user_message("hi"));
  for (auto& c : cs)
    CHECK(c->read().status() == 200);
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  // A request leaves in_flight when its answer is written, which a client may read first.
  CHECK(test::eventually([&] { return r.srv->stats().in_flight == 0; }, 5s));
  auto st = r.srv->stats();
  CHECK(st.peak_in_flight == clients);
  CHECK(st.chat_requests == clients);
}

TEST_CASE("stats reset zeroes the counters and restarts request numbers") {
  auto r = start("faults:\n  - {kind: http_429, first: 1}\n");
  client c{r.srv->port()};
  CHECK(c.chat(user_message("a")).status() == 429);
  CHECK(c.chat(user_message("b")).status() == 200);
  auto before = json::parse(c.request(http::verb::get, "/stats").body());
  CHECK(before.at("chat_requests").as_int64() == 2);
  CHECK(before.at("status_counts").at("429").as_int64() == 1);
  CHECK(before.at("prompt_tokens").as_int64() == 1);
  CHECK(c.request(http::verb::post, "/stats/reset").status() == 200);
  auto st = r.srv->stats();
  CHECK(st.chat_requests == 0);
  CHECK(st.faults == 0);
  CHECK(st.status_counts == std::map<int, uint64_t>{{200, 1}}); // the reset's own reply
  CHECK(c.chat(user_message("c")).status() == 429);             // request 1 again
}

TEST_CASE("keep-alive serves several requests on one connection") {
  auto r = start("models: [gpt-4o, tiny]\n");
  client c{r.srv->port()};
  for (int i = 0; i < 10; ++i)
    REQUIRE(c.chat(user_message("hi")).status() == 200);
  auto models = json::parse(c.request(http::verb::get, "/v1/models").body());
  const auto& data = models.at("data").as_array();
  REQUIRE(data.size() == 3);
  CHECK(data[0].at("id").as_string() == "mock");
  CHECK(data[1].at("id").as_string() == "gpt-4o");
  CHECK(c.request(http::verb::get, "/health").status() == 200);
  CHECK(r.srv->stats().requests == 12);
}

TEST_CASE("a bad script fails start with invalid_spec naming the file") {
  temp_dir dir;
  server_options opts;
  opts.script_path = dir.write("bad.yaml", "rules:\n  - match: {user: \"(\"}\n    reply: x\n");
  auto s = server::start(opts);
  REQUIRE_FALSE(s);
  CHECK(is(s.error(), errc::invalid_spec));
  CHECK(describe(s.error()) == "invalid_spec: " + opts.script_path +
                                   ": rules[0].match.user: invalid regex: missing ): ( "
                                   "(line 2)");
  opts.script_path = (dir.path() / "missing.yaml").string();
  auto missing = server::start(opts);
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), errc::io_error));
}

TEST_CASE("HTTPS serves the same API with a throw-away certificate") {
  temp_dir dir;
  auto key = (dir.path() / "k.pem").string();
  auto cert = (dir.path() / "c.pem").string();
  auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
             " -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
             " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  server_options opts;
  opts.tls_cert = cert;
  opts.tls_key = key;
  auto r =
      start("latency: {fixed_ms: 100}\nfaults:\n  - {kind: stall, match: {user: stall}}\n", opts);
  CHECK(r.srv->url().rfind("https://127.0.0.1:", 0) == 0);
  ssl::context ctx{ssl::context::tls_client};
  ctx.load_verify_file(cert);
  ctx.set_verify_mode(ssl::verify_peer);
  client c{r.srv->port(), &ctx};
  auto res = c.chat(user_message("hello"));
  REQUIRE_FALSE(res.ec);
  CHECK(res.status() == 200);
  CHECK(json::parse(res.body()).at("choices").at(0).at("message").at("content").as_string() ==
        "Mock answer from gpt-x to: hello");
  auto events = sse_events(c.chat(user_message("hello", R"(,"stream":true)")).body());
  CHECK(events.back() == "[DONE]");
  client staller{r.srv->port(), &ctx};
  staller.send(http::verb::post, "/v1/chat/completions", user_message("stall"));
  REQUIRE(test::eventually([&] { return r.srv->stats().in_flight == 1; }, 5s));
  staller.close();
  CHECK(test::eventually([&] { return r.srv->stats().cancels == 1; }, 5s));
}

TEST_CASE("a bad certificate path fails start with io_error naming the file") {
  temp_dir dir;
  server_options opts;
  opts.tls_cert = (dir.path() / "nope.pem").string();
  opts.tls_key = (dir.path() / "nope-key.pem").string();
  auto s = server::start(opts);
  REQUIRE_FALSE(s);
  CHECK(is(s.error(), errc::io_error));
  CHECK(describe(s.error()).find(opts.tls_cert) != std::string::npos);
}

TEST_CASE("stop closes idle and stalled connections and is idempotent") {
  server_options opts;
  opts.threads = 2;
  auto r = start("faults:\n  - {kind: stall}\n", opts);
  client idle{r.srv->port()};
  client stalled{r.srv->port()};
  stalled.send(http::verb::post, "/v1/chat/completions", user_message("x"));
  REQUIRE(test::eventually([&] { return r.srv->stats().in_flight == 1; }, 5s));
  r.srv->stop();
  r.srv->stop();
  CHECK(stalled.read().ec);
  CHECK(r.srv->stats().in_flight == 0);
}

TEST_CASE("a 429 fault with retry_after_s none has no Retry-After; a 503 fault is a server_error") {
  auto r = start("faults:\n  - {kind: http_429, nth: [1], retry_after_s: none}\n"
                 "  - {kind: http_503, nth: [2]}\n");
  client c{r.srv->port()};
  auto limited = c.chat(user_message("hi"));
  CHECK(limited.status() == 429);
  CHECK(limited.msg.find("Retry-After") == limited.msg.end());
  auto busy = c.chat(user_message("hi"));
  CHECK(busy.status() == 503);
  CHECK(json::parse(busy.body()).at("error").at("type").as_string() == "server_error");
  CHECK(c.chat(user_message("hi")).status() == 200);
}

TEST_CASE("a reset fault closes the connection with no reply, or midway through it") {
  auto r = start("default: {reply: \"one two three four five six seven eight\"}\n"
                 "faults:\n  - {kind: reset, match: {user: now}}\n"
                 "  - {kind: reset, midway: true, match: {user: later}}\n");
  {
    client c{r.srv->port()};
    auto res = c.chat(user_message("now"));
    CHECK(res.ec == net::error::connection_reset);
    CHECK(res.body().empty()); // not even a status line came
  }
  {
    client c{r.srv->port()};
    auto res = c.chat(user_message("later", R"(,"stream":true)"));
    CHECK(res.ec == net::error::connection_reset);
    CHECK(res.status() == 200);
    CHECK(res.body().find("one") != std::string::npos);
    CHECK(res.body().find("[DONE]") == std::string::npos);
  }
  client c{r.srv->port()};
  CHECK(c.chat(user_message("fine")).status() == 200);
  auto st = r.srv->stats();
  CHECK(st.faults == 2);
  CHECK(test::eventually([&] { return r.srv->stats().in_flight == 0; }, 5s));
}

TEST_CASE("a null_content fault answers content null with no tool calls, streamed or not") {
  auto r = start("faults:\n  - {kind: null_content}\n");
  client c{r.srv->port()};
  auto plain = c.chat(user_message("hi"));
  REQUIRE(plain.status() == 200);
  auto message = json::parse(plain.body()).at("choices").at(0).at("message");
  CHECK(message.at("content").is_null());
  CHECK(message.as_object().if_contains("tool_calls") == nullptr);
  auto events = sse_events(c.chat(user_message("hi", R"(,"stream":true)")).body());
  REQUIRE(events.size() >= 2);
  CHECK(events.back() == "[DONE]");
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto delta = json::parse(events[i]).at("choices").at(0).at("delta").as_object();
    auto* content = delta.if_contains("content");
    CHECK((content == nullptr || content->is_null()));
    CHECK(delta.if_contains("tool_calls") == nullptr);
  }
}

TEST_CASE("a huge_reply fault answers content of the given size, streamed in 64 KiB pieces") {
  auto r = start("faults:\n  - {kind: huge_reply, bytes: 200000}\n");
  client c{r.srv->port()};
  auto plain = c.chat(user_message("hi"));
  REQUIRE(plain.status() == 200);
  auto content = json::parse(plain.body()).at("choices").at(0).at("message").at("content");
  CHECK(content.as_string().size() == 200000);
  auto events = sse_events(c.chat(user_message("hi", R"(,"stream":true)")).body());
  std::string streamed;
  size_t pieces = 0;
  for (const auto& e : events) {
    if (e == "[DONE]")
      continue;
    auto delta = json::parse(e).at("choices").at(0).at("delta").as_object();
    if (auto* piece = delta.if_contains("content"); piece && piece->as_string().size() > 0) {
      streamed += piece->as_string();
      ++pieces;
    }
  }
  CHECK(streamed == content.as_string());
  CHECK(pieces == 4); // 200000 bytes in 65536-byte pieces
}

TEST_CASE("an invalid_utf8 fault puts invalid UTF-8 bytes in the content, streamed or not") {
  auto r = start("default: {reply: \"plain words\"}\nfaults:\n  - {kind: invalid_utf8}\n");
  client c{r.srv->port()};
  auto plain = c.chat(user_message("hi"));
  REQUIRE(plain.status() == 200);
  CHECK(plain.body().find("\"\xff"
                          "plain words caf\xc3(\"") != std::string::npos);
  boost::system::error_code ec;
  json::parse(plain.body(), ec); // Boost.JSON refuses invalid UTF-8
  CHECK(ec);
  auto stream = c.chat(user_message("hi", R"(,"stream":true)")).body();
  CHECK(stream.find("\xff") != std::string::npos);
  CHECK(stream.find("caf\xc3(") != std::string::npos);
  CHECK(stream.find("[DONE]") != std::string::npos);
}
