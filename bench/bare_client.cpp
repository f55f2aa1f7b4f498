// Bare Beast clients for the fanout floor: async, keep-alive, one io thread, JSON parsed; and
// one synchronous keep-alive connection for the latency of a single call.
#include "bench/bare_client.hpp"

#include <memory>
#include <optional>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>

namespace swarm::bench {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct shared {
  const std::string& target;
  const boost::json::value& body;
  size_t n;
  size_t next = 0;
  bare_outcome out;
};

class connection : public std::enable_shared_from_this<connection> {
public:
  connection(asio::io_context& ioc, shared& s, tcp::endpoint ep)
      : stream_(ioc), shared_(s), ep_(ep) {}

  void start() {
    stream_.async_connect(ep_, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->fail_rest();
      self->stream_.socket().set_option(tcp::no_delay{true});
      self->next();
    });
  }

private:
  void next() {
    if (shared_.next >= shared_.n)
      return;
    ++shared_.next;
    req_ = {};
    req_.method(http::verb::post);
    req_.target(shared_.target);
    req_.version(11);
    req_.set(http::field::host, "127.0.0.1");
    req_.set(http::field::content_type, "application/json");
    // Encode the body per request, as any real client (ours included) must.
    req_.body() = boost::json::serialize(shared_.body);
    req_.prepare_payload();
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec)
        return self->fail_rest();
      self->res_ = {};
      http::async_read(self->stream_, self->buffer_, self->res_,
                       [self](beast::error_code ec2, size_t) { self->on_read(ec2); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return fail_rest();
    boost::system::error_code jec;
    auto v = boost::json::parse(res_.body(), jec);
    if (!jec && res_.result() == http::status::ok && v.is_object())
      ++shared_.out.ok;
    else
      ++shared_.out.failed;
    next();
  }

  void fail_rest() { ++shared_.out.failed; }

  beast::tcp_stream stream_;
  shared& shared_;
  tcp::endpoint ep_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

} // namespace

bare_outcome bare_fanout(const std::string& host, uint16_t port, const std::string& target,
                         const std::string& body, size_t n, size_t connections) {
  asio::io_context ioc{1};
  auto value = boost::json::parse(body);
  shared s{target, value, n};
  tcp::endpoint ep{asio::ip::make_address(host), port};
  for (size_t i = 0; i < std::min(n, connections); ++i)
    std::make_shared<connection>(ioc, s, ep)->start();
  ioc.run();
  return s.out;
}

struct bare_session::impl {
  asio::io_context ioc{1};
  tcp::endpoint ep;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  bool connect() {
    stream.emplace(ioc);
    beast::error_code ec;
    stream->socket().connect(ep, ec);
    if (ec)
      return false;
    stream->socket().set_option(tcp::no_delay{true});
    return true;
  }
};

bare_session::bare_session(const std::string& host, uint16_t port) : impl_(new impl) {
  impl_->ep = tcp::endpoint{asio::ip::make_address(host), port};
}

bare_session::~bare_session() = default;

bool bare_session::call(const std::string& target, const std::string& body) {
  if (!impl_->stream && !impl_->connect())
    return false;
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = boost::json::serialize(boost::json::parse(body));
  req.prepare_payload();
  beast::error_code ec;
  http::write(*impl_->stream, req, ec);
  http::response<http::string_body> res;
  if (!ec)
    http::read(*impl_->stream, impl_->buffer, res, ec);
  if (ec) {
    impl_->stream.reset();
    impl_->buffer.clear();
    return false;
  }
  boost::system::error_code jec;
  auto v = boost::json::parse(res.body(), jec);
  if (!res.keep_alive())
    impl_->stream.reset();
  return !jec && res.result() == http::status::ok && v.is_object();
}

} // namespace swarm::bench
