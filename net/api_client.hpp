// A client of a serving runtime's HTTP API (`swarm run --server`): one request and its answer,
// or a Server-Sent Events stream read as it comes. Plain HTTP/1.1 on Beast (kept in the .cpp).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "net/sse.hpp"

namespace swarm::net {

/// Where a server is: from a URL `http://HOST:PORT` (an optional path prefix is kept, a
/// trailing `/v1` dropped: the client adds `/v1/...` itself).
struct api_endpoint {
  std::string host;
  std::string port = "80";
  std::string prefix; ///< path before /v1, without a trailing '/'; usually empty
};

/// `url` as an endpoint; errc::invalid_argument saying what is wrong (not http://, no host, a
/// bad port). https is refused by name: the server speaks plain HTTP (put TLS in front of it
/// and in front of this client alike).
caf::expected<api_endpoint> parse_api_url(std::string_view url);

/// An answer, whatever its status.
struct api_reply {
  unsigned status = 0;
  std::string body;
};

/// Calls one server. Thread-safe (each call has its own connection).
class api_client {
public:
  /// `token`: sent as `Authorization: Bearer` when not empty. `timeout` bounds each call
  /// (connecting, sending, reading the whole answer); a stream's wait for its next byte is
  /// not bounded by it.
  api_client(api_endpoint ep, std::string token, std::chrono::milliseconds timeout);

  /// `method` `target` (e.g. "/v1/runs") with `body` as JSON. Errors, naming the server:
  /// node_unreachable when it cannot be resolved or connected to; io_error when the connection
  /// breaks, the answer is not HTTP or not whole within the timeout.
  [[nodiscard]] caf::expected<api_reply> call(std::string_view method, const std::string& target,
                                              const std::string& body = {}) const;

  /// Reads the event stream at `target` (with `Last-Event-ID: last_id` when not empty) and
  /// calls `on_event` for each event, until the server ends the stream (no error), `on_event`
  /// returns false or `stop()` turns true (checked every 100 ms; no error either). Errors: those
  /// of call, and errc::invalid_argument with the server's message for an answer other than
  /// 200.
  [[nodiscard]] caf::error stream(const std::string& target, const std::string& last_id,
                                  const std::function<bool(const sse_event&)>& on_event,
                                  const std::function<bool()>& stop) const;

  /// "http://HOST:PORT" (for messages).
  std::string describe() const;

private:
  api_endpoint ep_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

} // namespace swarm::net
