// An HTTP/1.1 server for the runtime's API: requests handed to a handler on worker threads,
// answers as whole responses or as streams (Server-Sent Events, WebSocket). Beast stays inside
// http_server.cpp and net/detail/http_request_parse; this header is what the rest of the project
// sees.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace swarm::net {

/// One request, read whole (headers and body).
struct http_request {
  std::string method; ///< "GET", "POST", ...
  std::string target; ///< as sent: path and query
  std::string path;   ///< the target's path, percent-decoded
  std::string query;  ///< the target's query, without '?', not decoded
  std::vector<std::pair<std::string, std::string>> headers; ///< names in lower case
  std::string body;
  std::string remote;     ///< the peer's address
  bool websocket = false; ///< a WebSocket upgrade request

  /// The first header called `name` (lower case); empty if none.
  std::string_view header(std::string_view name) const;

  /// The query parameter `name`, percent-decoded; empty if none.
  std::string param(std::string_view name) const;
};

/// A whole response.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; ///< extra headers
};

/// A response that goes on: Server-Sent Events over a chunked HTTP response, or the messages of
/// an accepted WebSocket. Thread-safe.
class http_stream {
public:
  virtual ~http_stream() = default;

  /// Queues `message`: an SSE stream writes it as it is (the caller formats `id:`, `event:`,
  /// `data:` lines and the blank line); a WebSocket sends it as one text frame. False once the
  /// stream is closed: the peer went, close() was called, or the peer reads so slowly that
  /// more than http_server_options::stream_queue_limit bytes wait (the stream is then closed:
  /// an SSE client can come back with Last-Event-ID).
  virtual bool send(std::string message) = 0;

  /// Ends the stream once what is queued is written.
  virtual void close() = 0;

  /// Calls `fn` once, on a server thread, when the stream is closed (by either side); at once
  /// if it is closed already.
  virtual void on_close(std::function<void()> fn) = 0;

  /// Calls `fn` once, on a server thread, when everything sent so far is written (at once if
  /// nothing waits); never if the stream closes first. A sender of much (a long backlog) sends
  /// a part, then the next when the part is out, and so never meets the queue limit.
  virtual void on_drained(std::function<void()> fn) = 0;
};

/// The answer to one request: exactly one respond() or stream(), from any thread, once. An
/// exchange dropped without either answers 500.
class http_exchange {
public:
  virtual ~http_exchange() = default;

  /// Sends `r` whole.
  virtual void respond(http_response r) = 0;

  /// Starts a stream: for a WebSocket request, accepts the upgrade; else a `200
  /// text/event-stream` response whose body is what the stream sends. `headers` are added to
  /// the SSE response.
  virtual std::shared_ptr<http_stream>
  stream(std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
};

/// Called on a worker thread (http_server_options::handler_threads) for each request. It may
/// block briefly; an answer that takes long (a run) should be given from another thread.
using http_handler = std::function<void(http_request, std::shared_ptr<http_exchange>)>;

/// Per server.
struct http_server_options {
  /// Address to listen on. Default: 127.0.0.1.
  std::string host = "127.0.0.1";
  /// Port; 0 picks a free one (see http_server::port). Default: 0.
  uint16_t port = 0;
  /// Largest request body; a larger one is answered 413. Default: 8 MiB.
  size_t max_body = 8 << 20;
  /// Largest request head (request line and headers); larger is answered 431. Default: 16 KiB.
  size_t max_header = 16 << 10;
  /// A connection that does not send a whole request head and body within this is closed;
  /// also the idle time of a kept-alive connection. Default: 30 s.
  std::chrono::milliseconds read_timeout{30000};
  /// Threads that read and write connections. Default: 1.
  size_t io_threads = 1;
  /// Threads that run the handler. Default: 4.
  size_t handler_threads = 4;
  /// Bytes a stream may have queued for a slow reader before it is closed. Default: 8 MiB.
  size_t stream_queue_limit = 8 << 20;
  /// An SSE stream with nothing to send writes a comment this often, so that a peer that went
  /// away is noticed and proxies keep the connection. Default: 15 s.
  std::chrono::milliseconds keepalive{15000};
  /// Connections served at once; further ones are closed at accept. Default: 1,024.
  size_t max_connections = 1024;
};

/// A running server. Stops on stop() or destruction.
class http_server {
public:
  /// Binds, listens and starts serving. Errors: invalid_argument (a host that is no address),
  /// io_error naming the address (in use, no permission).
  [[nodiscard]] static caf::expected<std::unique_ptr<http_server>> start(http_server_options opts,
                                                                         http_handler handler);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The port it listens on (the chosen one, for port 0).
  uint16_t port() const;

  /// Connections open now.
  size_t connections() const;

  /// Stops accepting, closes every connection and stream, waits for the handler threads.
  /// Idempotent.
  void stop();

  struct impl;

private:
  explicit http_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// `s` percent-decoded ('+' as a space when `plus_is_space`); a bad escape is kept as it is.
std::string percent_decode(std::string_view s, bool plus_is_space);

} // namespace swarm::net
