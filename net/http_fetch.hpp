// A one-shot HTTP/1.1 request on Beast (kept in the .cpp): one connection, one deadline over the
// whole exchange, redirects never followed, the body cut at a cap. The http_get tool's client
// (GET), and the trace exporter's (POST of a JSON body).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/expected.hpp>

namespace swarm::net {

/// What to fetch. The caller has checked the host against its allow-list: this connects to
/// whatever `host` resolves to.
struct http_fetch_request {
  /// A host name or IPv4 address; also the Host header (with `:port` unless it is 80).
  std::string host;
  /// Decimal port. Default: 80.
  std::string port = "80";
  /// The origin-form request target, starting with '/'. Default: "/".
  std::string target = "/";
  /// The method, e.g. "GET" or "POST". Default: "GET".
  std::string method = "GET";
  /// The request body, sent with a Content-Length (and `content_type`) when not empty or when
  /// the method is not GET. Default: empty.
  std::string body;
  /// The Content-Type header of a request with a body. Default: "application/json".
  std::string content_type = "application/json";
  /// Bounds resolving, connecting, sending and reading the whole answer together.
  std::chrono::milliseconds timeout{30'000};
  /// Bytes of body kept; the connection is closed as soon as more arrive. 0 keeps none.
  size_t body_cap = 0;
};

/// The answer, whatever its status.
struct http_fetch_response {
  /// The status code, e.g. 200.
  unsigned status = 0;
  /// "HTTP/1.1 200 OK": the version, the code and the server's reason phrase.
  std::string status_line;
  /// The Location header (redirects are not followed), or empty.
  std::string location;
  /// The body with any chunked framing removed, at most `body_cap` bytes.
  std::string body;
  /// The body had more than `body_cap` bytes (the rest was not read).
  bool cut = false;
};

/// Sends `req.method req.target` (with `req.body`) to `req.host:req.port` with `Connection:
/// close`, reading the answer by its own framing (Content-Length, chunked, or up to the end of
/// the connection). Errors (their context names the host): invalid_argument when `req.method` is
/// not an HTTP method; tool_timeout when the answer is not complete within `req.timeout`;
/// tool_failed when the host cannot be resolved or connected to, sending or reading fails, or the
/// answer is not HTTP/1.x (a bad status line, headers over 64 KiB, broken chunk framing, a body
/// shorter than its Content-Length).
caf::expected<http_fetch_response> http_fetch(const http_fetch_request& req);

} // namespace swarm::net
