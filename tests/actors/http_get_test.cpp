// The http_get tool on net/'s HTTP client, against a scripted HTTP server on loopback: framing
// (chunked, Content-Length, up to the close), the body cap, the deadline, redirects, bad answers.
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <functional>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "actors/builtin_tools.hpp"
#include "runtime/core/errc.hpp"

using namespace swarm;
using namespace swarm::actors;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// A server on 127.0.0.1 that answers each connection, one after the other, with `script`
// (given the socket and the request's head). A script that holds a connection open waits with
// hold(), which ends when the server stops (at most 10 s).
struct scripted_server {
  using script = std::function<void(scripted_server&, int, const std::string&)>;

  int fd = -1;
  uint16_t port = 0;
  std::atomic<int> connections{0};
  std::atomic<bool> stop{false};
  script answer;
  std::thread thread;

  explicit scripted_server(script s) : answer(std::move(s)) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    thread = std::thread{[this] { serve(); }};
  }

  ~scripted_server() {
    stop = true;
    ::shutdown(fd, SHUT_RDWR);
    thread.join();
    ::close(fd);
  }

  void serve() {
    while (!stop) {
      int c = ::accept(fd, nullptr, nullptr);
      if (c < 0)
        return;
      ++connections;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
        auto n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0)
          break;
        req.append(buf, static_cast<size_t>(n));
      }
      answer(*this, c, req);
      ::close(c);
    }
  }

  static void send_all(int c, const std::string& bytes) {
    ::send(c, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

  void hold() const {
    for (int i = 0; i < 1000 && !stop; ++i)
      std::this_thread::sleep_for(10ms);
  }

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

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
  scripted_server server{[](scripted_server&, int c, const std::string& req) {
    CHECK(req.rfind("GET /chunks?a=1 HTTP/1.1\r\n", 0) == 0);
    scripted_server::send_all(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    scripted_server::send_all(c, "5;name=value\r\nhello\r\n");
    std::this_thread::sleep_for(20ms);
    scripted_server::send_all(c, "A\r\n from afar\r\n0\r\nX-Trailer: yes\r\n\r\n");
  }};
  auto r = get(http_tool(), server.url("/chunks?a=1"));
  REQUIRE(r);
  CHECK(*r == "HTTP/1.1 200 OK\n\nhello from afar");
}

TEST_CASE("http_get cuts a chunked body over the cap at exactly the cap, without framing") {
  scripted_server server{[](scripted_server&, int c, const std::string&) {
    scripted_server::send_all(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 10; ++i) // 40 KiB, over a 16 KiB cap
      scripted_server::send_all(c, "1000\r\n" + std::string(4096, 'x') + "\r\n");
    scripted_server::send_all(c, "0\r\n\r\n");
  }};
  auto r = get(http_tool(16), server.url());
  REQUIRE(r);
  CHECK(*r == "HTTP/1.1 200 OK\n\n" + std::string(16 * 1024, 'x') + "\n[... body cut at 16 KiB]\n");
}

TEST_CASE("http_get stops reading at the cap: a huge announced body does not wait for the rest") {
  scripted_server server{[](scripted_server& s, int c, const std::string&) {
    scripted_server::send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n" +
                                     std::string(200 * 1024, 'b'));
    s.hold(); // the other 1023.8 MiB never come
  }};
  auto start = steady::now();
  auto r = get(http_tool(100, 5s), server.url());
  REQUIRE(r);
  CHECK(steady::now() - start < 3s);
  CHECK(r->size() < 101 * 1024);
  CHECK(r->find("[... body cut at 100 KiB]") != std::string::npos);
}

TEST_CASE("http_get answers when the body is complete even if the server keeps the connection") {
  scripted_server server{[](scripted_server& s, int c, const std::string&) {
    scripted_server::send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    s.hold(); // keep-alive despite Connection: close
  }};
  auto start = steady::now();
  auto r = get(http_tool(100, 5s), server.url());
  REQUIRE(r);
  CHECK(*r == "HTTP/1.1 200 OK\n\nok");
  CHECK(steady::now() - start < 3s);
}

TEST_CASE("http_get times out on a server that stalls, before or in the middle of its answer") {
  scripted_server silent{[](scripted_server& s, int, const std::string&) { s.hold(); }};
  auto start = steady::now();
  auto r = get(http_tool(100, 300ms), silent.url());
  auto took = steady::now() - start;
  CHECK(is(r.error(), errc::tool_timeout));
  CHECK(error_of(r).find("http_get: no complete answer from 127.0.0.1 within 300 ms") !=
        std::string::npos);
  CHECK(took >= 300ms);
  CHECK(took < 3s);

  // A trickle resets no per-read timer: the deadline covers the whole answer.
  scripted_server trickle{[](scripted_server& s, int c, const std::string&) {
    scripted_server::send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    for (int i = 0; i < 100 && !s.stop; ++i) {
      scripted_server::send_all(c, "x");
      std::this_thread::sleep_for(50ms);
    }
  }};
  start = steady::now();
  r = get(http_tool(100, 500ms), trickle.url());
  CHECK(is(r.error(), errc::tool_timeout));
  CHECK(steady::now() - start < 3s);
}

TEST_CASE("http_get does not follow redirects; the model sees where they point") {
  scripted_server server{[](scripted_server&, int c, const std::string&) {
    scripted_server::send_all(c, "HTTP/1.1 302 Found\r\nLocation: http://elsewhere.example/x\r\n"
                                 "Content-Length: 0\r\n\r\n");
  }};
  auto r = get(http_tool(), server.url("/moved"));
  REQUIRE(r);
  CHECK(*r == "HTTP/1.1 302 Found\nLocation: http://elsewhere.example/x\n\n");
  CHECK(server.connections.load() == 1);
}

TEST_CASE("http_get fails on answers that are cut short or not HTTP, naming the host") {
  scripted_server short_body{[](scripted_server&, int c, const std::string&) {
    scripted_server::send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
  }};
  auto r = get(http_tool(), short_body.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 closed the connection before the end of the body") !=
        std::string::npos);

  scripted_server bad_chunks{[](scripted_server&, int c, const std::string&) {
    scripted_server::send_all(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "zz\r\nhello\r\n0\r\n\r\n");
  }};
  r = get(http_tool(), bad_chunks.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 did not answer with HTTP/1.x") != std::string::npos);

  scripted_server not_http{[](scripted_server&, int c, const std::string&) {
    scripted_server::send_all(c, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  }};
  r = get(http_tool(), not_http.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 did not answer with HTTP/1.x") != std::string::npos);

  scripted_server huge_headers{[](scripted_server&, int c, const std::string&) {
    scripted_server::send_all(c, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'h') +
                                     "\r\nContent-Length: 2\r\n\r\nok");
  }};
  r = get(http_tool(), huge_headers.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 did not answer with HTTP/1.x") != std::string::npos);

  scripted_server hangs_up{[](scripted_server&, int, const std::string&) {}};
  r = get(http_tool(), hangs_up.url());
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("127.0.0.1 did not answer with HTTP/1.x: it closed the connection") !=
        std::string::npos);
}

TEST_CASE("http_get to a closed port fails naming host and port") {
  uint16_t port = 0;
  {
    scripted_server gone{[](scripted_server&, int, const std::string&) {}};
    port = gone.port;
  }
  tool_context ctx = http_tool();
  auto r = get(ctx, "http://127.0.0.1:" + std::to_string(port) + "/");
  CHECK(is(r.error(), errc::tool_failed));
  CHECK(error_of(r).find("http_get: cannot connect to 127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
}
