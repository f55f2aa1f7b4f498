// The http_get tool on net/'s HTTP client, against a scripted HTTP server on loopback: framing
// (chunked, Content-Length, up to the close), the body cap, the deadline, redirects, bad answers.
#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "actors/builtin_tools.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/loopback_server.hpp"

using namespace swarm;
using namespace swarm::actors;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

using test::loopback_server;

tool_context http_tool(uint64_t cap_kb = 100, std::chrono::milliseconds timeout = 5s) {
  tool_context ctx;
  ctx.decl.name = "http_get";
  ctx.decl.allow_hosts = {"127.0.0.1"};
  ctx.decl.sandbox.max_output_kb = cap_kb;
  ctx.decl.sandbox.timeout = timeout;
  return ctx;
}

caf::expected<std::string> get(const tool_context& ctx, const std::string& url) {
  return run_tool(ctx, R"({"url":")" + url + R"("})");
}

std::string error_of(const caf::expected<std::string>& r) {
  return r ? std::string{"(no error)"} : describe(r.error());
}

} // namespace

TEST_CASE("http_get decodes chunked answers: extensions, trailers, chunks in separate writes") {
  loopback_server server{[](loopback_server::connection& c) {
    CHECK(c.request().rfind("GET /chunks?a=1 HTTP/1.1\r\n", 0) == 0);
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send("5;name=value\r\nhello\r\n");
    std::this_thread::sleep_for(20ms);
    c.send("A\r\n from afar\r\n0\r\nX-Trailer: yes\r\n\r\n");
  }};
  auto r = get(http_tool(), server.url("/chunks?a=1"));
  REQUIRE(r);
  CHECK(*r == "HTTP/1.1 200 OK\n\nhello from afar");
}

TEST_CASE("http_get cuts a chunked body over the cap at exactly the cap, without framing") {
  loopback_server server{[](loopback_server::connection& c) {
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 10; ++i) // 40 KiB, over a 16 KiB cap
      c.send("1000\r\n" + std::string(4096, 'x') + "\r\n");
    c.send("0\r\n\r\n");
  }};
  auto r = get(http_tool(16), server.url());
  REQUIRE(r);
  CHECK(*r == "HTTP/1.1 200 OK\n\n" + std::string(16 * 1024, 'x') + "\n[... body cut at 16 KiB]\n");
}

TEST_CASE("http_get stops reading at the cap: a huge announced body does not wait for the rest") {
  loopback_server server{[](loopback_server::connection& c) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n" + std::string(200 * 1024, 'b'));
    c.hold(); // the other 1023.8 MiB never come
  }};
  auto start = steady::now();
  auto r = get(http_tool(100, 5s), server.url());
  REQUIRE(r);
  CHECK(steady::now() - start < 3s);
  CHECK(r->size() < 101 * 1024);
  CHECK(r->find("[... body cut at 100 KiB]") != std::string::npos);
}

TEST_CASE("http_get answers when the body is complete even if the server keeps the connection") {
  loopback_server server{[](loopback_server::connection& c) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.hold(); // keep-alive despite Connection: close
  }};
  auto start = steady::now();
  auto r = get(http_tool(100, 5s), server.url());
  REQUIRE(r);
  CHECK(*r == "HTTP/1.1 200 OK\n\nok");
  CHECK(steady::now() - start < 3s);
}

TEST_CASE("http_get times out on a server that stalls, before or in the middle of its answer") {
  loopback_server silent{loopback_server::silent()};
  auto start = steady::now();
  auto r = get(http_tool(100, 300ms), silent.url());
  auto took = steady::now() - start;
  CHECK(is(r.error(), errc::tool_timeout));
  CHECK(error_of(r).find("http_get: no complete answer from 127.0.0.1 within 300 ms") !=
        std::string::npos);
  CHECK(took >= 300ms);
  CHECK(took < 3s);

  // A trickle resets no per-read timer: the deadline covers the whole answer.
  loopback_server trickle{[](loopback_server::connection& c) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    for (int i = 0; i < 100 && !c.stopping(); ++i) {
      c.send("x");
      std::this_thread::sleep_for(50ms);
    }
  }};
  start = steady::now();
  r = get(http_tool(100, 500ms), trickle.url());
  CHECK(is(r.error(), errc::tool_timeout));
  CHECK(steady::now() - start < 3s);
}

TEST_CASE("http_get does not follow redirects; the model sees where they point") {
  loopback_server server{[](loopback_server::connection& c) {
    c.send("HTTP/1.1 302 Found\r\nLocation: http://elsewhere.example/x\r\n"
           "Content-Length: 0\r\n\r\n");
  }};
  auto r = get(http_tool(), server.url("/moved"));
  REQUIRE(r);
  CHECK(*r == "HTTP/1.1 302 Found\nLocation: http://elsewhere.example/x\n\n");
  CHECK(server.connections() == 1);
}

TEST_CASE("http_get fails on answers that are cut short or not HTTP, naming the host") {
  loopback_server short_body{[](loopback_server::connection& c) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
  }};
  auto r = get(http_tool(), short_body.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 closed the connection before the end of the body") !=
        std::string::npos);

  loopback_server bad_chunks{[](loopback_server::connection& c) {
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "zz\r\nhello\r\n0\r\n\r\n");
  }};
  r = get(http_tool(), bad_chunks.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 did not answer with HTTP/1.x") != std::string::npos);

  loopback_server not_http{
      [](loopback_server::connection& c) { c.send("SSH-2.0-OpenSSH_9.2\r\n\r\n"); }};
  r = get(http_tool(), not_http.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 did not answer with HTTP/1.x") != std::string::npos);

  loopback_server huge_headers{[](loopback_server::connection& c) {
    c.send("HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'h') +
           "\r\nContent-Length: 2\r\n\r\nok");
  }};
  r = get(http_tool(), huge_headers.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 did not answer with HTTP/1.x") != std::string::npos);

  loopback_server hangs_up{[](loopback_server::connection&) {}};
  r = get(http_tool(), hangs_up.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 did not answer with HTTP/1.x: it closed the connection") !=
        std::string::npos);
}

TEST_CASE("http_get to a closed port fails naming host and port") {
  uint16_t port = 0;
  {
    loopback_server gone{[](loopback_server::connection&) {}};
    port = gone.port();
  }
  tool_context ctx = http_tool();
  auto r = get(ctx, "http://127.0.0.1:" + std::to_string(port) + "/");
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("http_get: cannot connect to 127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
}
