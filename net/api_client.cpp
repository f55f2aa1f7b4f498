// The API client on Beast: each call on a connection of its own and a local io_context run in
// slices, so that a deadline and a stop request are checked between them.
#include "net/api_client.hpp"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "runtime/core/errc.hpp"

namespace swarm::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto slice = std::chrono::milliseconds(100);

// Runs `io` until `done` or the deadline (false then) or `stop()` (false then too).
bool run_until(asio::io_context& io, const bool& done,
               std::chrono::steady_clock::time_point deadline,
               const std::function<bool()>& stop = {}) {
  while (!done) {
    if (std::chrono::steady_clock::now() >= deadline || (stop && stop()))
      return false;
    io.restart();
    io.run_for(slice);
  }
  return true;
}

} // namespace

caf::expected<api_endpoint> parse_api_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument, "server URL '" + std::string{url} + "': " + why);
  };
  if (url.starts_with("https://"))
    return bad("https is not spoken here: swarm serve speaks plain HTTP (put TLS in front of "
               "it, and reach it through a local proxy)");
  if (!url.starts_with("http://"))
    return bad("expected http://HOST:PORT");
  auto rest = url.substr(7);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  api_endpoint ep;
  if (slash != std::string_view::npos)
    ep.prefix = std::string{rest.substr(slash)};
  while (!ep.prefix.empty() && ep.prefix.back() == '/')
    ep.prefix.pop_back();
  if (ep.prefix.ends_with("/v1"))
    ep.prefix.resize(ep.prefix.size() - 3);
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad("an IPv6 address without its closing ']'");
    ep.host = std::string{authority.substr(1, close - 1)};
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':')
      return bad("expected :PORT after the address");
    if (!authority.empty())
      ep.port = std::string{authority.substr(1)};
  } else {
    auto colon = authority.rfind(':');
    ep.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos)
      ep.port = std::string{authority.substr(colon + 1)};
  }
  if (ep.host.empty())
    return bad("no host");
  if (ep.port.empty() || ep.port.size() > 5 ||
      ep.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(ep.port) > 65535)
    return bad("the port is no number from 1 to 65535");
  return ep;
}

api_client::api_client(api_endpoint ep, std::string token, std::chrono::milliseconds timeout)
    : ep_(std::move(ep)), token_(std::move(token)), timeout_(timeout) {}

std::string api_client::describe() const {
  auto host = ep_.host.find(':') != std::string::npos ? "[" + ep_.host + "]" : ep_.host;
  return "http://" + host + ":" + ep_.port + ep_.prefix;
}

namespace {

// One connection to the server: connect, send a request, read (the head, then the body).
struct exchange {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  std::string where;

  caf::error fail(errc code, const std::string& what, const error_code& ec = {}) {
    return make_error(code, "the server at " + where + ": " + what +
                                (ec ? ": " + ec.message() : std::string{}));
  }

  caf::error connect(const api_endpoint& ep, std::chrono::steady_clock::time_point deadline) {
    tcp::resolver resolver{io};
    error_code ec;
    bool done = false;
    tcp::resolver::results_type found;
    resolver.async_resolve(ep.host, ep.port, [&](error_code e, tcp::resolver::results_type r) {
      ec = e;
      found = std::move(r);
      done = true;
    });
    if (!run_until(io, done, deadline))
      return fail(errc::node_unreachable, "no answer to the name lookup in time");
    if (ec)
      return fail(errc::node_unreachable, "cannot resolve " + ep.host, ec);
    done = false;
    stream.async_connect(found, [&](error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (!run_until(io, done, deadline))
      return fail(errc::node_unreachable, "no connection in time");
    if (ec)
      return fail(errc::node_unreachable, "cannot connect", ec);
    return {};
  }

  caf::error send(http::request<http::string_body>& req,
                  std::chrono::steady_clock::time_point deadline) {
    error_code ec;
    bool done = false;
    http::async_write(stream, req, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!run_until(io, done, deadline))
      return fail(errc::io_error, "the request was not sent in time");
    if (ec)
      return fail(errc::io_error, "sending the request failed", ec);
    return {};
  }
};

http::request<http::string_body> make_request(const api_endpoint& ep, const std::string& token,
                                              std::string_view method, const std::string& target,
                                              const std::string& body) {
  http::request<http::string_body> req{http::string_to_verb(method), ep.prefix + target, 11};
  req.set(http::field::host, ep.host + ":" + ep.port);
  req.set(http::field::user_agent, "swarm");
  if (!token.empty())
    req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  return req;
}

} // namespace

caf::expected<api_reply> api_client::call(std::string_view method, const std::string& target,
                                          const std::string& body) const {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  exchange x;
  x.where = describe();
  if (auto err = x.connect(ep_, deadline))
    return err;
  auto req = make_request(ep_, token_, method, target, body);
  if (auto err = x.send(req, deadline))
    return err;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  error_code ec;
  bool done = false;
  http::async_read(x.stream, x.buffer, parser, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!run_until(x.io, done, deadline))
    return x.fail(errc::io_error, "no whole answer in time");
  if (ec)
    return x.fail(errc::io_error, "reading the answer failed", ec);
  api_reply out;
  out.status = parser.get().result_int();
  out.body = std::move(parser.get().body());
  return out;
}

caf::error api_client::stream(const std::string& target, const std::string& last_id,
                              const std::function<bool(const sse_event&)>& on_event,
                              const std::function<bool()>& stop) const {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  exchange x;
  x.where = describe();
  if (auto err = x.connect(ep_, deadline))
    return err;
  auto req = make_request(ep_, token_, "GET", target, {});
  req.set(http::field::accept, "text/event-stream");
  if (!last_id.empty())
    req.set("Last-Event-ID", last_id);
  if (auto err = x.send(req, deadline))
    return err;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  error_code ec;
  bool done = false;
  http::async_read_header(x.stream, x.buffer, parser, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!run_until(x.io, done, deadline, stop))
    return stop && stop() ? caf::error{} : x.fail(errc::io_error, "no answer in time");
  if (ec)
    return x.fail(errc::io_error, "reading the answer failed", ec);
  if (parser.get().result_int() != 200) {
    // An error answer: its body says why.
    http::response_parser<http::string_body> whole{std::move(parser)};
    done = false;
    http::async_read(x.stream, x.buffer, whole, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    run_until(x.io, done, std::chrono::steady_clock::now() + timeout_);
    return make_error(errc::invalid_argument, "the server at " + describe() + " answered " +
                                                  std::to_string(whole.get().result_int()) + ": " +
                                                  whole.get().body());
  }
  sse_parser sse;
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    done = false;
    http::async_read_some(x.stream, x.buffer, parser, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    // The server writes a comment every 15 s of quiet: 45 s of silence is a lost server.
    if (!run_until(x.io, done, std::chrono::steady_clock::now() + std::chrono::seconds(45), stop)) {
      if (stop && stop())
        return {}; // stopped
      return x.fail(errc::io_error, "the event stream went silent for 45 s");
    }
    if (ec == http::error::need_buffer)
      ec = {};
    if (ec == http::error::end_of_stream || ec == asio::error::eof)
      break;
    if (ec)
      return x.fail(errc::io_error, "the event stream broke", ec);
    sse.feed(std::string_view{chunk, sizeof chunk - parser.get().body().size});
    while (auto e = sse.next())
      if (!on_event(*e))
        return {};
    if (sse.overflowed())
      return x.fail(errc::io_error, "an event line longer than the stream allows");
  }
  return {};
}

} // namespace swarm::net
