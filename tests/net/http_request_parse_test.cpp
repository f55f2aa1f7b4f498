// Unit tests of the API server's reading of a request (net/detail/http_request_parse): a parsed
// request as the handler gets it, under the server's limits; the same code the fuzz target
// `api_request` runs.
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <catch2/catch.hpp>

#include "net/detail/http_request_parse.hpp"
#include "net/http_server.hpp"

namespace {

namespace detail = swarm::net::detail;

// Parses `text` whole under `opts`; the error Beast gave, if any.
boost::system::error_code parse(std::string_view text, const swarm::net::http_server_options& opts,
                                detail::beast_request_parser& p) {
  detail::apply_limits(p, opts);
  p.eager(true);
  boost::system::error_code ec;
  size_t used = 0;
  while (!p.is_done() && used < text.size()) {
    auto n = p.put(boost::asio::buffer(text.data() + used, text.size() - used), ec);
    used += n;
    if (ec || n == 0)
      break;
  }
  return ec;
}

} // namespace

TEST_CASE("a parsed request reaches the handler with its path decoded and its headers lower case") {
  detail::beast_request_parser p;
  auto ec = parse("POST /v1/approvals/team%3Asub:3?after=7&token=a%2Bb+c HTTP/1.1\r\n"
                  "Host: x\r\nAuthorization: Bearer t0\r\nLAST-EVENT-ID: 5\r\n"
                  "Last-Event-ID: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
                  {}, p);
  REQUIRE_FALSE(ec);
  REQUIRE(p.is_done());
  auto req = p.release();
  auto r = detail::to_http_request(req, "127.0.0.1");
  CHECK(r.method == "POST");
  CHECK(r.target == "/v1/approvals/team%3Asub:3?after=7&token=a%2Bb+c");
  CHECK(r.path == "/v1/approvals/team:sub:3");
  CHECK(r.query == "after=7&token=a%2Bb+c");
  CHECK(r.param("after") == "7");
  CHECK(r.param("token") == "a+b c");
  CHECK(r.header("authorization") == "Bearer t0");
  CHECK(r.header("last-event-id") == "5"); // the first of two
  CHECK(r.body == "{\"a\":1}");
  CHECK(r.remote == "127.0.0.1");
  CHECK_FALSE(r.websocket);
}

TEST_CASE("a WebSocket upgrade is marked, a plain GET is not") {
  detail::beast_request_parser ws;
  REQUIRE_FALSE(parse("GET /v1/runs/r/events HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                      {}, ws));
  auto req = ws.release();
  CHECK(detail::to_http_request(req, "").websocket);
  detail::beast_request_parser plain;
  REQUIRE_FALSE(parse("GET /v1/runs/r/events HTTP/1.1\r\nHost: x\r\n\r\n", {}, plain));
  auto req2 = plain.release();
  auto r = detail::to_http_request(req2, "");
  CHECK_FALSE(r.websocket);
  CHECK(r.query.empty());
  CHECK(r.path == "/v1/runs/r/events");
}

TEST_CASE("the server's limits refuse a body or head that is too large") {
  swarm::net::http_server_options opts;
  opts.max_body = 4;
  opts.max_header = 64;
  detail::beast_request_parser body;
  CHECK(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345", opts, body) ==
        boost::beast::http::error::body_limit);
  detail::beast_request_parser head;
  CHECK(parse("GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n", opts, head) ==
        boost::beast::http::error::header_limit);
}

TEST_CASE("percent-decoding keeps a bad escape and never grows a text") {
  using swarm::net::percent_decode;
  CHECK(percent_decode("%41%4a%4A", false) == "AJJ");
  CHECK(percent_decode("%zz%4%", false) == "%zz%4%");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("a+b", true) == "a b");
}
