// The API's HTTP server on Beast: one session per connection on its own strand, requests read
// whole under size limits and a timeout, handlers run on a worker pool, answers posted back; a
// stream turns the connection into chunked Server-Sent Events or an accepted WebSocket.
#include "net/http_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "net/detail/http_request_parse.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string error_body(std::string_view code, std::string_view message) {
  // Both are fixed ASCII texts of this file: no escaping needed.
  return std::string{R"({"error":{"code":")"} + std::string{code} + R"(","message":")" +
         std::string{message} + "\"}}";
}

} // namespace

// -- the server's shared state ---------------------------------------------------------------

namespace {

class session;

struct core {
  http_server_options opts;
  http_handler handler;
  asio::io_context ioc;
  asio::thread_pool workers;
  std::atomic<size_t> connections{0};
  std::atomic<bool> stopped{false};
  std::mutex mtx;
  std::vector<std::weak_ptr<session>> sessions; // guarded by mtx

  core(http_server_options o, http_handler h)
      : opts(std::move(o)), handler(std::move(h)), ioc(static_cast<int>(opts.io_threads)),
        workers(opts.handler_threads) {}
};

// -- one connection ----------------------------------------------------------------------------

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, std::shared_ptr<core> c)
      : stream_(std::move(socket)), ex_(stream_.get_executor()), timer_(ex_), core_(std::move(c)) {
    core_->connections.fetch_add(1);
  }
  ~session() { core_->connections.fetch_sub(1); }

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() {
    asio::dispatch(ex_, beast::bind_front_handler(&session::read_request, shared_from_this()));
  }

  /// From any thread.
  void post_response(http_response r) {
    asio::post(ex_, [self = shared_from_this(), r = std::move(r)]() mutable {
      self->write_response(std::move(r));
    });
  }

  /// From any thread.
  void post_stream(std::vector<std::pair<std::string, std::string>> headers) {
    asio::post(ex_, [self = shared_from_this(), h = std::move(headers)]() mutable {
      self->start_stream(std::move(h));
    });
  }

  /// From any thread: false once closed or over the queue limit.
  bool send(std::string message) {
    if (closed_flag_.load())
      return false;
    if (message.empty())
      return true; // an empty chunk would end an SSE body

    auto size = message.size();
    if (pending_.fetch_add(size) + size > core_->opts.stream_queue_limit) {
      post_close(true);
      return false;
    }
    asio::post(ex_, [self = shared_from_this(), m = std::move(message)]() mutable {
      self->enqueue(std::move(m));
    });
    return true;
  }

  /// From any thread: `now` drops what is queued, else it is written first.
  void post_close(bool now) {
    asio::post(ex_, [self = shared_from_this(), now] {
      if (now)
        self->close_now();
      else
        self->finish();
    });
  }

  void post_on_close(std::function<void()> fn) {
    asio::post(ex_, [self = shared_from_this(), fn = std::move(fn)]() mutable {
      if (self->closed_)
        fn();
      else
        self->on_close_.push_back(std::move(fn));
    });
  }

  /// From any thread: `fn` runs on the connection's strand once everything queued is written
  /// (at once if nothing is); never if the stream closes first.
  void post_on_drained(std::function<void()> fn) {
    asio::post(ex_, [self = shared_from_this(), fn = std::move(fn)]() mutable {
      if (self->closed_)
        return;
      self->on_drained_.push_back(std::move(fn));
      self->write_next();
    });
  }

  bool closed() const { return closed_flag_.load(); }

private:
  enum class mode { http, sse, ws };

  void read_request() {
    if (core_->stopped) {
      close_now();
      return;
    }
    parser_.emplace();
    detail::apply_limits(*parser_, core_->opts);
    stream_.expires_after(core_->opts.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_request, shared_from_this()));
  }

  void on_request(error_code ec, size_t) {
    if (ec == http::error::body_limit) {
      reply_and_close(413, "payload_too_large",
                      "the request body is larger than the server accepts");
      return;
    }
    if (ec == http::error::header_limit) {
      reply_and_close(431, "bad_request", "the request head is larger than the server accepts");
      return;
    }
    if (ec) {
      // The peer went, timed out, or sent no HTTP: nothing to answer.
      close_now();
      return;
    }
    stream_.expires_never(); // while the handler works
    req_ = parser_->release();
    error_code ignored;
    auto ep = stream_.socket().remote_endpoint(ignored);
    auto r = detail::to_http_request(req_, ignored ? std::string{} : ep.address().to_string());
    keep_alive_ = req_.keep_alive();
    version_ = req_.version();
    auto ex = make_exchange();
    asio::post(core_->workers, [c = core_, r = std::move(r), ex]() mutable {
      try {
        c->handler(std::move(r), ex);
      } catch (const std::exception& e) {
        http_response res;
        res.status = 500;
        res.body = error_body("internal", "the server failed to handle the request");
        ex->respond(std::move(res));
      }
    });
  }

  std::shared_ptr<http_exchange> make_exchange();

  void reply_and_close(unsigned status, std::string_view code, std::string_view message) {
    keep_alive_ = false;
    version_ = 11;
    http_response r;
    r.status = status;
    r.body = error_body(code, message);
    write_response(std::move(r));
  }

  void write_response(http_response r) {
    if (closed_)
      return;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version_ == 0 ? 11 : version_);
    res->set(http::field::server, "smolswarms");
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers)
      res->set(k, v);
    res->keep_alive(keep_alive_ && !core_->stopped);
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(core_->opts.read_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, size_t) {
      if (ec || !res->keep_alive()) {
        self->close_now();
        return;
      }
      self->read_request();
    });
  }

  void start_stream(std::vector<std::pair<std::string, std::string>> headers) {
    if (closed_)
      return;
    if (websocket::is_upgrade(req_)) {
      mode_ = mode::ws; // messages queue until the handshake is done
      ws_.emplace(std::move(stream_));
      ws_->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
      ws_->async_accept(req_, [self = shared_from_this()](error_code ec) {
        if (ec) {
          self->close_now();
          return;
        }
        self->ready_ = true;
        self->watch_ws();
        self->write_next();
      });
      return;
    }
    mode_ = mode::sse;
    std::string head =
        "HTTP/1.1 200 OK\r\nServer: smolswarms\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
        "Transfer-Encoding: chunked\r\n";
    for (auto& [k, v] : headers)
      head += k + ": " + v + "\r\n";
    head += "\r\n";
    current_ = std::move(head);
    writing_ = true;
    asio::async_write(stream_, asio::buffer(current_),
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) {
                          self->close_now();
                          return;
                        }
                        self->ready_ = true;
                        self->watch_sse();
                        self->arm_keepalive();
                        self->write_next();
                      });
  }

  // An SSE client sends nothing more: a read that ends means it went away.
  void watch_sse() {
    stream_.socket().async_read_some(asio::buffer(watch_buf_),
                                     [self = shared_from_this()](error_code ec, size_t) {
                                       if (ec) {
                                         self->close_now();
                                         return;
                                       }
                                       self->watch_sse(); // ignored bytes
                                     });
  }

  // A WebSocket client's frames are read (pings and closes handled by Beast) and ignored.
  void watch_ws() {
    ws_->async_read(ws_buf_, [self = shared_from_this()](error_code ec, size_t) {
      if (ec) {
        self->close_now();
        return;
      }
      self->ws_buf_.consume(self->ws_buf_.size());
      self->watch_ws();
    });
  }

  void arm_keepalive() {
    timer_.expires_after(core_->opts.keepalive);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closed_)
        return;
      if (self->queue_.empty() && !self->writing_)
        self->enqueue(std::string{": keepalive\n\n"}, false);
      self->arm_keepalive();
    });
  }

  void enqueue(std::string m, bool counted = true) {
    if (closed_) {
      return;
    }
    queue_.push_back({std::move(m), counted});
    write_next();
  }

  void write_next() {
    if (!ready_ || writing_ || closed_)
      return;
    if (queue_.empty()) {
      if (finishing_)
        end_stream();
      else if (!on_drained_.empty())
        for (auto& fn : std::exchange(on_drained_, {}))
          fn();
      return;
    }
    auto item = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    written_size_ = item.counted ? item.text.size() : 0;
    if (mode_ == mode::ws) {
      current_ = std::move(item.text);
      ws_->text(true);
      ws_->async_write(asio::buffer(current_),
                       beast::bind_front_handler(&session::on_written, shared_from_this()));
      return;
    }
    // A peer that keeps the connection but stops reading must not hold a write forever.
    stream_.expires_after(4 * core_->opts.keepalive);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", item.text.size());
    current_ = size;
    current_ += item.text;
    current_ += "\r\n";
    asio::async_write(stream_, asio::buffer(current_),
                      beast::bind_front_handler(&session::on_written, shared_from_this()));
  }

  void on_written(error_code ec, size_t) {
    writing_ = false;
    pending_.fetch_sub(written_size_);
    if (ec) {
      close_now();
      return;
    }
    write_next();
  }

  // close() of a stream: what is queued goes first.
  void finish() {
    if (closed_)
      return;
    if (mode_ == mode::http) {
      close_now(); // a stream that never started
      return;
    }
    finishing_ = true;
    write_next();
  }

  void end_stream() {
    if (mode_ == mode::ws) {
      ws_->async_close(websocket::close_code::normal,
                       [self = shared_from_this()](error_code) { self->close_now(); });
      return;
    }
    current_ = "0\r\n\r\n";
    writing_ = true;
    asio::async_write(stream_, asio::buffer(current_),
                      [self = shared_from_this()](error_code, size_t) { self->close_now(); });
  }

  void close_now() {
    if (closed_)
      return;
    closed_ = true;
    closed_flag_ = true;
    timer_.cancel();
    error_code ignored;
    auto& sock = ws_ ? beast::get_lowest_layer(*ws_).socket() : stream_.socket();
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
    on_drained_.clear();
    auto fns = std::move(on_close_);
    on_close_.clear();
    for (auto& fn : fns)
      fn();
  }

  struct queued {
    std::string text;
    bool counted = true; // counts against the queue limit (keepalives do not)
  };

  beast::tcp_stream stream_;            // moved into ws_ when a WebSocket is accepted
  beast::tcp_stream::executor_type ex_; // the connection's strand, for every handler
  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  asio::steady_timer timer_;
  std::shared_ptr<core> core_;
  beast::flat_buffer buffer_;
  beast::flat_buffer ws_buf_;
  std::array<char, 512> watch_buf_{};
  std::optional<detail::beast_request_parser> parser_;
  http::request<http::string_body> req_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  mode mode_ = mode::http;
  bool ready_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  bool closed_ = false;
  std::atomic<bool> closed_flag_{false};
  std::atomic<size_t> pending_{0};
  size_t written_size_ = 0;
  std::deque<queued> queue_;
  std::string current_;
  std::vector<std::function<void()>> on_close_;
  std::vector<std::function<void()>> on_drained_;
};

class stream_impl final : public http_stream {
public:
  explicit stream_impl(std::shared_ptr<session> s) : s_(std::move(s)) {}
  bool send(std::string message) override { return s_->send(std::move(message)); }
  void close() override { s_->post_close(false); }
  void on_close(std::function<void()> fn) override { s_->post_on_close(std::move(fn)); }
  void on_drained(std::function<void()> fn) override { s_->post_on_drained(std::move(fn)); }

private:
  std::shared_ptr<session> s_;
};

class exchange_impl final : public http_exchange {
public:
  explicit exchange_impl(std::shared_ptr<session> s) : s_(std::move(s)) {}
  ~exchange_impl() override {
    if (answered_.exchange(true))
      return;
    http_response r;
    r.status = 500;
    r.body = error_body("internal", "the server gave no answer");
    s_->post_response(std::move(r));
  }
  exchange_impl(const exchange_impl&) = delete;
  exchange_impl& operator=(const exchange_impl&) = delete;

  void respond(http_response r) override {
    if (!answered_.exchange(true))
      s_->post_response(std::move(r));
  }

  std::shared_ptr<http_stream>
  stream(std::vector<std::pair<std::string, std::string>> headers) override {
    if (!answered_.exchange(true))
      s_->post_stream(std::move(headers));
    return std::make_shared<stream_impl>(s_);
  }

private:
  std::shared_ptr<session> s_;
  std::atomic<bool> answered_{false};
};

std::shared_ptr<http_exchange> session::make_exchange() {
  return std::make_shared<exchange_impl>(shared_from_this());
}

} // namespace

// -- the server ---------------------------------------------------------------------------------

struct http_server::impl {
  std::shared_ptr<core> c;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> backoff; // between failed accepts
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool stopped = false;

  void accept() {
    acceptor->async_accept(asio::make_strand(c->ioc), [this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || c->stopped)
        return;
      if (ec) {
        // Out of file descriptors, say: accepting again at once would spin the I/O thread.
        backoff->expires_after(std::chrono::milliseconds(100));
        backoff->async_wait([this](error_code e) {
          if (!e && !c->stopped)
            accept();
        });
        return;
      }
      {
        if (c->connections.load() >= c->opts.max_connections) {
          error_code ignored;
          socket.close(ignored);
        } else {
          auto s = std::make_shared<session>(std::move(socket), c);
          {
            std::lock_guard guard{c->mtx};
            auto& ss = c->sessions;
            ss.erase(std::remove_if(ss.begin(), ss.end(), [](auto& w) { return w.expired(); }),
                     ss.end());
            ss.push_back(s);
          }
          s->start();
        }
      }
      accept();
    });
  }
};

http_server::http_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

http_server::~http_server() {
  stop();
}

uint16_t http_server::port() const {
  return impl_->port;
}

size_t http_server::connections() const {
  return impl_->c->connections.load();
}

caf::expected<std::unique_ptr<http_server>> http_server::start(http_server_options opts,
                                                               http_handler handler) {
  if (opts.io_threads == 0)
    opts.io_threads = 1;
  if (opts.handler_threads == 0)
    opts.handler_threads = 1;
  error_code ec;
  auto address = asio::ip::make_address(opts.host, ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      "'" + opts.host +
                          "' is no IP address to listen on (use 127.0.0.1, ::1, "
                          "0.0.0.0, ...)");
  auto p = std::make_unique<impl>();
  p->c = std::make_shared<core>(opts, std::move(handler));
  tcp::endpoint ep{address, opts.port};
  p->acceptor.emplace(p->c->ioc);
  p->backoff.emplace(p->c->ioc);
  auto where = opts.host + ":" + std::to_string(opts.port);
  auto fail = [&](const char* what) {
    return make_error(errc::io_error,
                      std::string{"cannot "} + what + " " + where + ": " + ec.message());
  };
  if (p->acceptor->open(ep.protocol(), ec); ec)
    return fail("open a socket for");
  if (p->acceptor->set_option(asio::socket_base::reuse_address(true), ec); ec)
    return fail("set up");
  if (p->acceptor->bind(ep, ec); ec)
    return fail("listen on");
  if (p->acceptor->listen(asio::socket_base::max_listen_connections, ec); ec)
    return fail("listen on");
  p->port = p->acceptor->local_endpoint().port();
  p->work.emplace(p->c->ioc.get_executor());
  p->accept();
  for (size_t i = 0; i < opts.io_threads; ++i)
    p->threads.emplace_back([c = p->c] { c->ioc.run(); });
  return std::unique_ptr<http_server>{new http_server(std::move(p))};
}

void http_server::stop() {
  auto& p = *impl_;
  if (p.stopped)
    return;
  p.stopped = true;
  p.c->stopped = true;
  asio::post(p.c->ioc, [&p] {
    error_code ignored;
    p.acceptor->close(ignored);
  });
  std::vector<std::shared_ptr<session>> live;
  {
    std::lock_guard guard{p.c->mtx};
    for (auto& w : p.c->sessions)
      if (auto s = w.lock())
        live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->post_close(true);
  live.clear();
  // Handlers finish first (their answers go to closed sessions and are dropped), then the I/O.
  p.c->workers.join();
  p.work.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (p.c->connections.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.c->ioc.stop();
  for (auto& t : p.threads)
    t.join();
}

} // namespace swarm::net
