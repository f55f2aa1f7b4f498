// The http_get tool's and the trace exporter's client (see http_fetch.hpp): Beast on a private
// io_context driven by the calling thread, one timer for the whole exchange that closes the socket
// when it fires.
#include "net/http_fetch.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "runtime/core/errc.hpp"

namespace swarm::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr uint32_t header_limit = 64 * 1024;
constexpr size_t read_chunk = 16 * 1024;

// One exchange: every asynchronous step runs on `ioc_` until it completes; the deadline timer,
// armed once, cancels the resolver and closes the socket, so whatever step is pending ends at once.
class exchange {
public:
  explicit exchange(const http_fetch_request& req)
      : req_(req), resolver_(ioc_), socket_(ioc_), timer_(ioc_) {}

  caf::expected<http_fetch_response> run() {
    timer_.expires_after(req_.timeout);
    timer_.async_wait([this](error_code ec) {
      if (ec)
        return;
      timed_out_ = true;
      resolver_.cancel();
      error_code ignored;
      socket_.close(ignored);
    });
    auto out = fetch();
    timer_.cancel();
    return out;
  }

private:
  // Starts `op` with a completion handler and runs the context until that handler ran.
  template <class Start>
  error_code await(Start op) {
    std::optional<error_code> done;
    op([&done](error_code ec, auto&&...) { done = ec; });
    while (!done && ioc_.run_one() > 0) {
    }
    return done.value_or(asio::error::operation_aborted);
  }

  caf::error timeout() const {
    return make_error(errc::tool_timeout, "no complete answer from " + req_.host + " within " +
                                              std::to_string(req_.timeout.count()) + " ms");
  }

  caf::error failure(error_code ec, const std::string& what) const {
    if (timed_out_)
      return timeout();
    return make_error(errc::tool_failed, what + ": " + ec.message());
  }

  caf::expected<http_fetch_response> fetch() {
    tcp::resolver::results_type endpoints;
    auto ec = await([&](auto handler) {
      resolver_.async_resolve(req_.host, req_.port,
                              [&endpoints, handler](error_code e, tcp::resolver::results_type r) {
                                endpoints = std::move(r);
                                handler(e);
                              });
    });
    if (ec)
      return failure(ec, "cannot resolve '" + req_.host + "'");
    ec = await([&](auto handler) { asio::async_connect(socket_, endpoints, handler); });
    if (ec)
      return failure(ec, "cannot connect to " + req_.host + ":" + req_.port);
    http::request<http::string_body> request{http::string_to_verb(req_.method), req_.target, 11};
    request.set(http::field::host, req_.port == "80" ? req_.host : req_.host + ":" + req_.port);
    request.set(http::field::user_agent, "smolswarms");
    request.set(http::field::accept, "*/*");
    request.set(http::field::connection, "close");
    if (!req_.body.empty() || request.method() != http::verb::get) {
      request.set(http::field::content_type, req_.content_type);
      request.body() = req_.body;
      request.prepare_payload();
    }
    ec = await([&](auto handler) { http::async_write(socket_, request, handler); });
    if (ec)
      return failure(ec, "sending to " + req_.host + " failed");
    return read_answer();
  }

  // Whether `ec` says the bytes were not an HTTP/1.x answer (as opposed to a socket error).
  static bool malformed(error_code ec) {
    return ec.category() == make_error_code(http::error::bad_version).category();
  }

  caf::expected<http_fetch_response> read_answer() {
    const auto& host = req_.host;
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(boost::none); // the body is cut below, not refused
    beast::flat_buffer buffer;
    auto ec =
        await([&](auto handler) { http::async_read_header(socket_, buffer, parser, handler); });
    if (ec == http::error::end_of_stream && !timed_out_)
      return make_error(errc::tool_failed,
                        host + " did not answer with HTTP/1.x: it closed the connection");
    if (ec && malformed(ec) && !timed_out_)
      return make_error(errc::tool_failed, host + " did not answer with HTTP/1.x: " + ec.message());
    if (ec)
      return failure(ec, "reading from " + host + " failed");
    const auto& head = parser.get();
    http_fetch_response out;
    out.status = head.result_int();
    out.status_line = "HTTP/" + std::to_string(head.version() / 10) + "." +
                      std::to_string(head.version() % 10) + " " + std::to_string(out.status);
    if (!head.reason().empty())
      out.status_line += " " + std::string{head.reason()};
    if (auto i = head.find(http::field::location); i != head.end())
      out.location = std::string{i->value()};
    std::array<char, read_chunk> chunk;
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      ec = await([&](auto handler) { http::async_read(socket_, buffer, parser, handler); });
      if (ec == http::error::need_buffer)
        ec = {};
      auto got = chunk.size() - parser.get().body().size;
      auto room = req_.body_cap - out.body.size();
      out.body.append(chunk.data(), std::min(got, room));
      if (got > room) {
        out.cut = true; // the rest is never read: closing the socket drops it
        return out;
      }
      if (ec == http::error::partial_message && !timed_out_)
        return make_error(errc::tool_failed, host + " closed the connection before the end of the "
                                                    "body its headers announced");
      if (ec && malformed(ec) && !timed_out_)
        return make_error(errc::tool_failed,
                          host + " did not answer with HTTP/1.x: " + ec.message());
      if (ec)
        return failure(ec, "reading from " + host + " failed");
    }
    return out;
  }

  const http_fetch_request& req_;
  asio::io_context ioc_{1};
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  bool timed_out_ = false;
};

} // namespace

caf::expected<http_fetch_response> http_fetch(const http_fetch_request& req) {
  if (http::string_to_verb(req.method) == http::verb::unknown)
    return make_error(errc::invalid_argument, "'" + req.method + "' is not an HTTP method");
  return exchange{req}.run();
}

} // namespace swarm::net
