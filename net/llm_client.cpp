// The LLM client: async Beast HTTP/1.1 over TCP or TLS on its own I/O threads, a bounded
// keep-alive pool per endpoint, retries with jittered backoff, deadlines and cancellation.
#include "net/llm_client.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/llm_json.hpp"
#include "net/retry.hpp"
#include "net/sse.hpp"
#include "net/structured_fallback.hpp"
#include "net/tls_client.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using executor = asio::any_io_executor;
using std::chrono::milliseconds;

constexpr size_t max_ok_body = size_t{64} << 20;    // 2xx bodies we accept
constexpr size_t max_error_body = size_t{64} << 10; // error bodies we keep for the message
constexpr size_t max_kept_capacity = size_t{64} << 10;

struct core;
struct pool;
struct call;

enum class call_kind : uint8_t { chat, embed };

/// One open (or opening) HTTP connection; lives in its pool's idle list or runs one call.
class connection : public std::enable_shared_from_this<connection> {
public:
  virtual ~connection() = default;
  virtual executor get_executor() = 0;
  /// Runs one attempt of `c` (on this connection's executor).
  virtual void run(std::shared_ptr<call> c, bool reused) = 0;
  /// Closes the socket if this connection is still running `c` (on this connection's executor).
  virtual void abort_if(const call* c) = 0;
  /// Closes the socket (on this connection's executor).
  virtual void close() = 0;
};

/// Streaming state of a chat call, reset per attempt.
struct stream_state {
  sse_parser sse;
  stream_accumulator acc;
  bool saw_done = false;
};

/// One chat or embedding call, across its attempts.
struct call {
  explicit call(executor ex) : strand(ex), deadline_timer(ex), backoff_timer(ex) {}

  uint64_t id = 0;
  call_kind kind = call_kind::chat;
  bool stream = false;
  std::string body;          ///< request JSON, sent by every attempt
  std::string fallback_body; ///< the body without response_format, sent once after a 400
  std::string target;        ///< request path
  std::string api_key;
  std::string url; ///< for messages
  std::shared_ptr<pool> pl;
  /// Most connections of `pl` this call may have open: a new one only while fewer are open.
  size_t max_connections = 1;
  steady::time_point deadline;
  milliseconds timeout{0};
  std::atomic<uint32_t> attempts{0}; ///< read by the deadline timer on another strand
  uint32_t retries = 0;
  bool fresh_retry_used = false;
  bool delivered_delta = false;
  llm_client::chat_callback on_chat;
  llm_client::delta_callback on_delta;
  llm_client::embedding_callback on_embed;
  std::optional<stream_state> ss;

  executor strand; ///< runs the timers and the callback
  asio::steady_timer deadline_timer;
  asio::steady_timer backoff_timer;
  std::atomic<bool> finished{false}; ///< whoever flips it owns the completion

  std::mutex mu;
  /// Guarded by mu: the connection running an attempt. Weak: the session holds the call.
  std::weak_ptr<connection> conn;
};

/// Connections to one endpoint (scheme, host, port). Its bound is each call's: a call opens a
/// new connection only while fewer than its `max_connections` are open, else it takes an idle
/// one or queues for the next released.
struct pool {
  parsed_url url;
  std::string host_header;
  bool host_is_ip = false;
  std::mutex mu;
  size_t open = 0; ///< connections counted against the bound (idle, running or opening)
  std::vector<std::shared_ptr<connection>> idle;
  std::deque<std::shared_ptr<call>> waiting;
};

/// How an attempt ended when it did not produce a result.
struct attempt_failure {
  attempt_outcome outcome = attempt_outcome::truncated;
  int status = 0;
  std::optional<milliseconds> retry_after;
  errc code = errc::llm_invalid_response; ///< the call's error if not retried
  std::string text;
};

thread_local const core* tl_core = nullptr; ///< the client whose I/O thread this is

double unit_random() {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return std::uniform_real_distribution<double>{0.0, 1.0}(rng);
}

std::string ms_text(milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

/// Everything the client owns; shared with its I/O threads so a client destroyed from its own
/// callback stays valid until that thread leaves.
struct core : std::enable_shared_from_this<core> {
  explicit core(llm_client_options o) : opts(std::move(o)), tls_ctx(ssl::context::tls_client) {
    if (opts.io_threads == 0)
      opts.io_threads = 1;
    if (opts.max_connections_per_endpoint == 0)
      opts.max_connections_per_endpoint = 1;
    tls_setup_error = configure_tls_client(tls_ctx, opts.verify_tls, opts.ca_file);
  }

  void start_threads() {
    work.emplace(asio::make_work_guard(ioc));
    threads.reserve(opts.io_threads);
    for (size_t i = 0; i < opts.io_threads; ++i)
      threads.emplace_back([self = shared_from_this()] {
        tl_core = self.get();
        for (int guard = 0; guard < 1000; ++guard) {
          try {
            self->ioc.run();
            break;
          } catch (...) {
            // A user callback threw; keep serving the other calls.
          }
        }
        tl_core = nullptr;
      });
  }

  executor make_executor() {
    if (opts.io_threads > 1)
      return asio::make_strand(ioc);
    return ioc.get_executor(); // one thread is an implicit strand
  }

  std::shared_ptr<pool> pool_for(const parsed_url& url) {
    auto key = url.pool_key();
    std::lock_guard guard{mu};
    auto& p = pools[key];
    if (!p) {
      p = std::make_shared<pool>();
      p->url = url;
      p->host_header = url.host_header();
      error_code ec;
      asio::ip::make_address(url.host, ec);
      p->host_is_ip = !ec;
    }
    return p;
  }

  std::shared_ptr<connection> make_connection(const std::shared_ptr<pool>& pl);

  void start_call(std::shared_ptr<call> c);
  void acquire(const std::shared_ptr<call>& c, bool prefer_new);
  void start_on(std::shared_ptr<connection> conn, std::shared_ptr<call> c, bool reused);
  bool release(const std::shared_ptr<pool>& pl, const std::shared_ptr<connection>& conn,
               bool reusable);
  void attempt_failed(const std::shared_ptr<call>& c, attempt_failure f);
  bool fail(const std::shared_ptr<call>& c, caf::error err);
  void succeed_chat(const std::shared_ptr<call>& c, chat_result res);
  void succeed_embed(const std::shared_ptr<call>& c, embedding_result res);
  void unregister(const std::shared_ptr<call>& c);
  void call_done();
  void stop();

  // Declared before the io_context: handlers it destroys may still touch them.
  llm_client_options opts;
  std::mutex mu; ///< guards pools, calls, threads
  std::condition_variable all_done;
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> attempts{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> cancelled{0};
  std::atomic<uint64_t> connections_opened{0};
  std::atomic<uint64_t> in_flight{0};
  std::atomic<uint64_t> live_connections{0};
  ssl::context tls_ctx;
  std::string tls_setup_error;

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::unordered_map<std::string, std::shared_ptr<pool>> pools;
  std::unordered_map<uint64_t, std::shared_ptr<call>> calls;
};

// -- one connection, templated on the stream (plain TCP or TLS over TCP) ----------------------

template <class Stream>
Stream make_stream(const executor& ex, ssl::context& ctx) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    (void)ctx;
    return Stream{ex};
  } else {
    return Stream{ex, ctx};
  }
}

template <class Stream>
class session final : public connection {
public:
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  /// `co` outlives every connection: the I/O threads are joined before it goes.
  session(core* co, std::shared_ptr<pool> pl, executor ex)
      : core_(co), pool_(std::move(pl)), ex_(ex), stream_(make_stream<Stream>(ex, co->tls_ctx)),
        resolver_(ex), buffer_(size_t{64} << 10) {
    core_->live_connections.fetch_add(1);
  }

  ~session() override {
    if (core_->live_connections.fetch_sub(1) == 1) {
      std::lock_guard guard{core_->mu};
      core_->all_done.notify_all();
    }
  }

  executor get_executor() override { return ex_; }

  void run(std::shared_ptr<call> c, bool reused) override {
    call_ = std::move(c);
    reused_ = reused;
    if (call_->finished.load()) {
      end_attempt(false);
      return;
    }
    ++call_->attempts;
    core_->attempts.fetch_add(1, std::memory_order_relaxed);
    if (connected_)
      write();
    else
      resolve();
  }

  void abort_if(const call* c) override {
    if (call_ && call_.get() == c)
      close();
  }

  void close() override {
    connected_ = false;
    resolver_.cancel();
    beast::get_lowest_layer(stream_).close();
  }

private:
  // True (and the attempt ended) if the call finished meanwhile (cancelled, timed out, stopped).
  bool abandoned() {
    if (!call_)
      return true;
    if (!call_->finished.load())
      return false;
    end_attempt(false);
    return true;
  }

  void resolve() {
    auto& lowest = beast::get_lowest_layer(stream_);
    auto connect_by = steady::now() + core_->opts.connect_timeout;
    lowest.expires_at(std::min(connect_by, call_->deadline));
    if (pool_->host_is_ip) {
      error_code ec;
      tcp::endpoint ep{asio::ip::make_address(pool_->url.host, ec), pool_->url.port};
      lowest.async_connect(ep, [self = shared_this()](error_code ec) { self->on_connect(ec); });
      return;
    }
    resolver_.async_resolve(pool_->url.host, std::to_string(pool_->url.port),
                            [self = shared_this()](error_code ec, tcp::resolver::results_type rs) {
                              self->on_resolve(ec, std::move(rs));
                            });
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (abandoned())
      return;
    if (ec) {
      fail_attempt(attempt_outcome::connect_failed, errc::llm_connect_failed,
                   "cannot resolve " + pool_->url.host + ": " + ec.message());
      return;
    }
    beast::get_lowest_layer(stream_).async_connect(
        results,
        [self = shared_this()](error_code ec, const tcp::endpoint&) { self->on_connect(ec); });
  }

  void on_connect(error_code ec) {
    if (abandoned())
      return;
    if (ec == beast::error::timeout) {
      fail_attempt(attempt_outcome::attempt_timeout, errc::llm_timeout,
                   "connect to " + pool_->url.pool_key() + " timed out");
      return;
    }
    if (ec) {
      fail_attempt(attempt_outcome::connect_failed, errc::llm_connect_failed,
                   "cannot connect to " + pool_->url.pool_key() + ": " + ec.message());
      return;
    }
    core_->connections_opened.fetch_add(1, std::memory_order_relaxed);
    beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay{true}, ec);
    if constexpr (is_tls) {
      handshake();
    } else {
      connected_ = true;
      write();
    }
  }

  void handshake() {
    if constexpr (is_tls) {
      if (!core_->tls_setup_error.empty()) {
        fail_attempt(attempt_outcome::tls_failed, errc::llm_tls_failed, core_->tls_setup_error);
        return;
      }
      const auto& host = pool_->url.host;
      // SNI carries names only, never IP literals (RFC 6066).
      if (!pool_->host_is_ip && !SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str())) {
        fail_attempt(attempt_outcome::tls_failed, errc::llm_tls_failed,
                     "cannot set SNI host name " + host);
        return;
      }
      error_code ec;
      if (core_->opts.verify_tls) {
        stream_.set_verify_mode(ssl::verify_peer, ec);
        stream_.set_verify_callback(ssl::host_name_verification(host), ec);
      } else {
        stream_.set_verify_mode(ssl::verify_none, ec);
      }
      stream_.async_handshake(ssl::stream_base::client,
                              [self = shared_this()](error_code ec) { self->on_handshake(ec); });
    }
  }

  void on_handshake(error_code ec) {
    if constexpr (is_tls) {
      if (abandoned())
        return;
      if (ec == beast::error::timeout) {
        fail_attempt(attempt_outcome::attempt_timeout, errc::llm_timeout,
                     "TLS handshake with " + pool_->url.pool_key() + " timed out");
        return;
      }
      if (ec) {
        std::string text = "TLS handshake with " + pool_->url.pool_key() + " failed: ";
        text += ec.message();
        auto verify = SSL_get_verify_result(stream_.native_handle());
        if (verify != X509_V_OK) {
          text += " (";
          text += X509_verify_cert_error_string(verify);
          text += ')';
        }
        fail_attempt(attempt_outcome::tls_failed, errc::llm_tls_failed, std::move(text));
        return;
      }
      connected_ = true;
      write();
    }
  }

  void write() {
    beast::get_lowest_layer(stream_).expires_never();
    const auto& c = *call_;
    head_.clear();
    head_ += "POST ";
    head_ += c.target;
    head_ += " HTTP/1.1\r\nHost: ";
    head_ += pool_->host_header;
    head_ += "\r\nContent-Type: application/json\r\nAccept: ";
    head_ += c.stream ? "text/event-stream" : "application/json";
    head_ += "\r\nUser-Agent: smolswarms\r\nContent-Length: ";
    head_ += std::to_string(c.body.size());
    if (!c.api_key.empty()) {
      head_ += "\r\nAuthorization: Bearer ";
      head_ += c.api_key;
    }
    head_ += "\r\n\r\n";
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head_), asio::buffer(c.body)};
    asio::async_write(stream_, bufs,
                      [self = shared_this()](error_code ec, size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    if (abandoned())
      return;
    if (ec) {
      io_failed(ec);
      return;
    }
    parser_.emplace();
    parser_->body_limit(max_ok_body);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (abandoned())
      return;
    if (ec) {
      io_failed(ec);
      return;
    }
    auto& res = parser_->get();
    status_ = res.result_int();
    retry_after_.reset();
    if (auto ra = res[http::field::retry_after]; !ra.empty())
      retry_after_ = parse_retry_after(std::string_view{ra.data(), ra.size()});
    auto ctype = res[http::field::content_type];
    sse_mode_ = call_->stream && status_ / 100 == 2 &&
                std::string_view{ctype.data(), ctype.size()}.starts_with("text/event-stream");
    if (sse_mode_) {
      if (!call_->ss)
        call_->ss.emplace();
      call_->ss->sse.reset();
      call_->ss->acc.reset();
      call_->ss->saw_done = false;
    }
    body_.clear();
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) {
      on_message_done();
      return;
    }
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = shared_this()](error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(error_code ec) {
    if (abandoned())
      return;
    if (ec == http::error::need_buffer)
      ec = {};
    auto got = chunk_.size() - parser_->get().body().size;
    if (got > 0 && !consume(std::string_view{chunk_.data(), got}))
      return;
    if constexpr (is_tls) {
      // A peer closing TLS without close_notify ends a body that runs until EOF.
      if (ec == ssl::error::stream_truncated && !parser_->is_done()) {
        error_code eof_ec;
        parser_->put_eof(eof_ec);
        if (!eof_ec && parser_->is_done())
          ec = {};
      }
    }
    if (ec) {
      io_failed(ec);
      return;
    }
    read_body();
  }

  // Folds body bytes in; false if the attempt ended (bad stream chunk).
  bool consume(std::string_view data) {
    if (!sse_mode_) {
      auto limit = status_ / 100 == 2 ? max_ok_body : max_error_body;
      if (body_.size() < limit)
        body_.append(data.substr(0, limit - body_.size()));
      return true;
    }
    auto& st = *call_->ss;
    st.sse.feed(data);
    while (auto ev = st.sse.next())
      if (!fold_event(*ev))
        return false;
    return true;
  }

  bool fold_event(const sse_event& ev) {
    auto& st = *call_->ss;
    if (st.saw_done)
      return true;
    if (ev.data == "[DONE]") {
      st.saw_done = true;
      return true;
    }
    auto before = st.acc.deltas();
    if (auto err = st.acc.add(ev.data, call_->on_delta)) {
      auto code = is(err, errc::llm_http_error) ? errc::llm_http_error : errc::llm_invalid_response;
      fail_attempt(attempt_outcome::invalid_response, code, error_message(err), false);
      return false;
    }
    if (st.acc.deltas() != before && call_->on_delta)
      call_->delivered_delta = true;
    return true;
  }

  void on_message_done() {
    bool keep = parser_->keep_alive();
    if (status_ / 100 != 2) {
      attempt_failure f;
      f.outcome = attempt_outcome::http_status;
      f.status = status_;
      f.retry_after = retry_after_;
      f.code = status_ == 429 ? errc::llm_rate_limited : errc::llm_http_error;
      f.text = "HTTP " + std::to_string(status_) + " from " + call_->url + ": " +
               api_error_message(body_);
      report_failure(std::move(f), keep);
      return;
    }
    if (sse_mode_) {
      auto& st = *call_->ss;
      if (auto ev = st.sse.finish(); ev && !fold_event(*ev))
        return;
      if (!st.saw_done) {
        fail_attempt(attempt_outcome::truncated, errc::llm_stream_truncated,
                     "stream from " + call_->url + " ended without [DONE]", keep);
        return;
      }
      auto res = st.acc.take();
      succeed(std::move(res), keep);
      return;
    }
    if (call_->kind == call_kind::embed) {
      auto res = decode_embedding_response(body_);
      if (!res) {
        fail_attempt(attempt_outcome::invalid_response, errc::llm_invalid_response,
                     error_message(res.error()), keep);
        return;
      }
      succeed(std::move(*res), keep);
      return;
    }
    auto res = decode_chat_response(body_);
    if (!res) {
      fail_attempt(attempt_outcome::invalid_response, errc::llm_invalid_response,
                   error_message(res.error()), keep);
      return;
    }
    succeed(std::move(*res), keep);
  }

  // A transport error while writing or reading.
  void io_failed(error_code ec) {
    bool got_bytes = parser_ && parser_->got_some();
    if (reused_ && !got_bytes && !call_->fresh_retry_used) {
      // The server closed an idle keep-alive connection: once more on a fresh one, free.
      auto c = end_attempt(false);
      c->fresh_retry_used = true;
      --c->attempts;
      core_->attempts.fetch_sub(1, std::memory_order_relaxed);
      core_->acquire(c, true);
      return;
    }
    std::string text = (got_bytes ? "response from " : "connection to ") + call_->url + " broke";
    text += got_bytes ? " mid-response: " : " before a response: ";
    text += ec.message();
    auto code =
        call_->stream && sse_mode_ ? errc::llm_stream_truncated : errc::llm_invalid_response;
    if (!got_bytes)
      code = errc::llm_connect_failed;
    fail_attempt(attempt_outcome::truncated, code, std::move(text));
  }

  void fail_attempt(attempt_outcome outcome, errc code, std::string text, bool keep = false) {
    attempt_failure f;
    f.outcome = outcome;
    f.code = code;
    f.text = std::move(text);
    report_failure(std::move(f), keep);
  }

  void report_failure(attempt_failure f, bool keep) {
    // A stream whose deltas the caller already saw is not repeated: it would see them twice.
    auto c = end_attempt(keep);
    if (c->delivered_delta && f.outcome == attempt_outcome::truncated)
      f.outcome = attempt_outcome::invalid_response;
    core_->attempt_failed(c, std::move(f));
  }

  template <class Result>
  void succeed(Result res, bool keep) {
    if (call_->finished.exchange(true)) {
      end_attempt(false); // cancelled meanwhile: its connection does not go back
      return;
    }
    auto c = end_attempt(keep);
    if constexpr (std::is_same_v<Result, chat_result>)
      core_->succeed_chat(c, std::move(res));
    else
      core_->succeed_embed(c, std::move(res));
  }

  // Detaches the call; hands the connection back (or closes it). Returns the call.
  std::shared_ptr<call> end_attempt(bool reusable) {
    auto c = std::move(call_);
    call_.reset();
    if (c) {
      std::lock_guard guard{c->mu};
      if (c->conn.lock().get() == this)
        c->conn.reset();
    }
    parser_.reset();
    if (body_.capacity() > max_kept_capacity)
      std::string{}.swap(body_);
    if (buffer_.size() > 0) // unread bytes after a response: the connection is out of sync
      reusable = false;
    if (!reusable || !connected_)
      close();
    if (!core_->release(pool_, shared_from_this(), reusable && connected_))
      close();
    return c;
  }

  std::shared_ptr<session> shared_this() {
    return std::static_pointer_cast<session>(shared_from_this());
  }

  core* core_;
  std::shared_ptr<pool> pool_;
  executor ex_;
  Stream stream_;
  tcp::resolver resolver_;
  beast::flat_buffer buffer_;
  std::string head_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, 4096> chunk_;
  std::string body_;
  std::shared_ptr<call> call_;
  std::optional<milliseconds> retry_after_;
  unsigned status_ = 0;
  bool connected_ = false;
  bool reused_ = false;
  bool sse_mode_ = false;
};

using plain_session = session<beast::tcp_stream>;
using tls_session = session<ssl::stream<beast::tcp_stream>>;

std::shared_ptr<connection> core::make_connection(const std::shared_ptr<pool>& pl) {
  if (pl->url.tls)
    return std::make_shared<tls_session>(this, pl, make_executor());
  return std::make_shared<plain_session>(this, pl, make_executor());
}

// -- the call's life: start, acquire, retry, finish --------------------------------------------

void core::start_call(std::shared_ptr<call> c) {
  asio::post(c->strand, [this, c] {
    if (c->finished.load())
      return;
    c->deadline_timer.expires_at(c->deadline);
    c->deadline_timer.async_wait([this, c](error_code ec) {
      if (!ec)
        fail(c, make_error(errc::llm_timeout,
                           "no reply from " + c->url + " within " + ms_text(c->timeout) +
                               " after " + std::to_string(c->attempts.load()) + " attempt(s)"));
    });
    acquire(c, false);
  });
}

void core::acquire(const std::shared_ptr<call>& c, bool prefer_new) {
  if (c->finished.load())
    return;
  auto& pl = c->pl;
  std::shared_ptr<connection> conn;
  bool reused = false;
  {
    std::lock_guard guard{pl->mu};
    if (!prefer_new && !pl->idle.empty()) {
      conn = std::move(pl->idle.back());
      pl->idle.pop_back();
      reused = true;
    } else if (pl->open < c->max_connections) {
      ++pl->open;
      conn = make_connection(pl);
    } else if (!pl->idle.empty()) {
      conn = std::move(pl->idle.back());
      pl->idle.pop_back();
      reused = true;
    } else {
      pl->waiting.push_back(c);
      return;
    }
  }
  start_on(std::move(conn), c, reused);
}

void core::start_on(std::shared_ptr<connection> conn, std::shared_ptr<call> c, bool reused) {
  {
    std::lock_guard guard{c->mu};
    c->conn = conn;
  }
  auto ex = conn->get_executor();
  asio::post(ex, [conn = std::move(conn), c = std::move(c), reused]() mutable {
    conn->run(std::move(c), reused);
  });
}

bool core::release(const std::shared_ptr<pool>& pl, const std::shared_ptr<connection>& conn,
                   bool reusable) {
  std::shared_ptr<call> next;
  std::shared_ptr<connection> handed;
  bool kept = false;
  {
    std::lock_guard guard{pl->mu};
    while (!pl->waiting.empty()) {
      auto w = std::move(pl->waiting.front());
      pl->waiting.pop_front();
      if (!w->finished.load()) {
        next = std::move(w);
        break;
      }
    }
    if (next) {
      // The slot passes to the next waiter: this connection, or a fresh one in its place.
      handed = reusable ? conn : make_connection(pl);
      kept = reusable;
    } else if (reusable && !stopped.load() && pl->idle.size() < opts.max_idle_per_endpoint) {
      pl->idle.push_back(conn);
      kept = true;
    } else {
      --pl->open;
    }
  }
  if (next)
    start_on(std::move(handed), std::move(next), kept);
  return kept;
}

void core::attempt_failed(const std::shared_ptr<call>& c, attempt_failure f) {
  if (c->finished.load())
    return;
  if (f.status == 400 && !c->fallback_body.empty()) { // response_format refused: once without
    c->body = std::exchange(c->fallback_body, std::string{});
    retries.fetch_add(1, std::memory_order_relaxed);
    asio::post(c->strand, [this, c] { acquire(c, false); });
    return;
  }
  if (should_retry(f.outcome, f.status) && c->retries < opts.max_retries) {
    auto delay = backoff_delay(c->retries, opts.backoff_base, opts.backoff_max, f.retry_after,
                               unit_random());
    if (steady::now() + delay < c->deadline) {
      ++c->retries;
      retries.fetch_add(1, std::memory_order_relaxed);
      c->fresh_retry_used = false;
      asio::post(c->strand, [this, c, delay] {
        if (c->finished.load())
          return;
        if (delay.count() <= 0) {
          acquire(c, false);
          return;
        }
        c->backoff_timer.expires_after(delay);
        c->backoff_timer.async_wait([this, c](error_code ec) {
          if (!ec)
            acquire(c, false);
        });
      });
      return;
    }
  }
  auto text = std::move(f.text);
  if (auto n = c->attempts.load(); n > 1)
    text += " (after " + std::to_string(n) + " attempts)";
  fail(c, make_error(f.code, std::move(text)));
}

void core::unregister(const std::shared_ptr<call>& c) {
  std::lock_guard guard{mu};
  if (auto i = calls.find(c->id); i != calls.end() && i->second == c)
    calls.erase(i);
}

void core::call_done() {
  if (in_flight.fetch_sub(1) == 1) {
    std::lock_guard guard{mu};
    all_done.notify_all();
  }
}

bool core::fail(const std::shared_ptr<call>& c, caf::error err) {
  if (c->finished.exchange(true))
    return false;
  unregister(c);
  std::shared_ptr<connection> conn;
  {
    std::lock_guard guard{c->mu};
    conn = c->conn.lock();
  }
  if (conn) {
    auto ex = conn->get_executor();
    asio::post(ex, [conn, c] { conn->abort_if(c.get()); });
  }
  asio::post(c->strand, [this, c, err = std::move(err)]() mutable {
    c->deadline_timer.cancel();
    c->backoff_timer.cancel();
    if (c->kind == call_kind::chat) {
      auto cb = std::move(c->on_chat);
      cb(std::move(err));
    } else {
      auto cb = std::move(c->on_embed);
      cb(std::move(err));
    }
    call_done();
  });
  return true;
}

void core::succeed_chat(const std::shared_ptr<call>& c, chat_result res) {
  unregister(c);
  res.call_id = c->id;
  res.attempts = c->attempts.load();
  res.use.calls = 1;
  asio::post(c->strand, [this, c, res = std::move(res)]() mutable {
    c->deadline_timer.cancel();
    c->backoff_timer.cancel();
    auto cb = std::move(c->on_chat);
    cb(std::move(res));
    call_done();
  });
}

void core::succeed_embed(const std::shared_ptr<call>& c, embedding_result res) {
  unregister(c);
  res.call_id = c->id;
  res.use.calls = 1;
  asio::post(c->strand, [this, c, res = std::move(res)]() mutable {
    c->deadline_timer.cancel();
    c->backoff_timer.cancel();
    auto cb = std::move(c->on_embed);
    cb(std::move(res));
    call_done();
  });
}

void core::stop() {
  std::unordered_map<uint64_t, std::shared_ptr<call>> pending;
  std::vector<std::shared_ptr<connection>> idle;
  {
    std::lock_guard guard{mu};
    stopped.store(true);
    pending.swap(calls);
    for (auto& [key, pl] : pools) {
      std::lock_guard pg{pl->mu};
      for (auto& conn : pl->idle)
        idle.push_back(std::move(conn));
      pl->open -= pl->idle.size();
      pl->idle.clear();
    }
  }
  for (auto& [id, c] : pending)
    if (fail(c, make_error(errc::llm_cancelled, "the LLM client stopped")))
      cancelled.fetch_add(1, std::memory_order_relaxed);
  for (auto& conn : idle) {
    auto ex = conn->get_executor();
    asio::post(ex, [conn = std::move(conn)] { conn->close(); });
  }
  idle.clear();
  std::unique_lock guard{mu};
  work.reset();
  if (tl_core == this)
    return; // called from a callback: the threads finish once the work runs out
  // Bounded: every pending callback was posted above and every connection was told to close;
  // waiting for them lets aborted operations unwind instead of being dropped.
  all_done.wait_for(guard, std::chrono::seconds(10),
                    [this] { return in_flight.load() == 0 && live_connections.load() == 0; });
  auto threads_to_join = std::move(threads);
  threads.clear();
  guard.unlock();
  ioc.stop();
  for (auto& t : threads_to_join)
    if (t.joinable())
      t.join();
}

} // namespace

// -- the public class ------------------------------------------------------------------------

struct llm_client::impl {
  std::shared_ptr<core> co;
};

llm_client::llm_client(llm_client_options opts) : impl_(std::make_unique<impl>()) {
  impl_->co = std::make_shared<core>(std::move(opts));
  impl_->co->start_threads();
}

llm_client::~llm_client() {
  auto& co = *impl_->co;
  co.stop();
  // Destroyed from one of its own callbacks: that thread cannot join itself.
  std::lock_guard guard{co.mu};
  for (auto& t : co.threads)
    if (t.joinable())
      t.detach();
}

namespace {

/// Completes a call that never started, on an I/O thread unless the client is stopped.
template <class Callback>
void reject(core& co, Callback& done, caf::error err) {
  if (!done)
    return;
  if (co.stopped.load()) {
    done(std::move(err));
    return;
  }
  asio::post(co.ioc,
             [done = std::move(done), err = std::move(err)]() mutable { done(std::move(err)); });
}

bool bad_header_text(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

template <class Callback, class Encode>
std::shared_ptr<call> make_call(core& co, uint64_t id, call_kind kind, const llm_endpoint& ep,
                                caf::timespan timeout, std::string_view path, Callback& done,
                                Encode encode) {
  co.requests.fetch_add(1, std::memory_order_relaxed);
  if (co.stopped.load()) {
    reject(co, done, make_error(errc::llm_cancelled, "the LLM client is stopped"));
    return nullptr;
  }
  auto url = parse_url(ep.url);
  if (!url) {
    reject(co, done, url.error());
    return nullptr;
  }
  if (bad_header_text(ep.api_key)) {
    reject(co, done, make_error(errc::invalid_argument, "api_key holds a line break"));
    return nullptr;
  }
  auto body = encode();
  if (!body) {
    reject(co, done, body.error());
    return nullptr;
  }
  auto c = std::make_shared<call>(co.make_executor());
  c->id = id;
  c->kind = kind;
  c->body = std::move(*body);
  c->target = url->base_path;
  c->target += path;
  c->api_key = ep.api_key;
  c->url = ep.url;
  c->pl = co.pool_for(*url);
  // The endpoint's own bound (the spec's max_concurrent in a run), else the client's default.
  c->max_connections =
      ep.max_connections > 0 ? size_t{ep.max_connections} : co.opts.max_connections_per_endpoint;
  // Clamped so the deadline arithmetic cannot overflow.
  auto clamped = std::clamp(std::chrono::duration_cast<milliseconds>(timeout), milliseconds{0},
                            milliseconds{std::chrono::hours{24 * 365}});
  c->timeout = clamped;
  c->deadline = steady::now() + clamped;
  return c;
}

template <class Callback>
void register_and_start(core& co, std::shared_ptr<call> c, Callback& done) {
  {
    std::lock_guard guard{co.mu};
    if (!co.stopped.load()) {
      if (!co.calls.emplace(c->id, c).second) {
        auto err = make_error(errc::invalid_argument,
                              "call_id " + std::to_string(c->id) + " is already in flight");
        asio::post(co.ioc, [done = std::move(done), err = std::move(err)]() mutable {
          done(std::move(err));
        });
        return;
      }
      co.in_flight.fetch_add(1);
      co.start_call(std::move(c));
      return;
    }
  }
  reject(co, done, make_error(errc::llm_cancelled, "the LLM client is stopped"));
}

} // namespace

void llm_client::chat(chat_request req, chat_callback done, delta_callback on_delta) {
  auto& co = *impl_->co;
  if (!done)
    done = [](caf::expected<chat_result>) {};
  auto c = make_call(co, req.call_id, call_kind::chat, req.endpoint, req.timeout,
                     "/chat/completions", done, [&req] { return encode_chat_request(req); });
  if (!c)
    return;
  if (auto fallback = without_response_format(req)) // structured_fallback.hpp
    if (auto body = encode_chat_request(*fallback))
      c->fallback_body = std::move(*body);
  c->stream = req.stream;
  c->on_chat = std::move(done);
  c->on_delta = std::move(on_delta);
  auto& cb = c->on_chat;
  register_and_start(co, std::move(c), cb);
}

void llm_client::embed(embedding_request req, embedding_callback done) {
  auto& co = *impl_->co;
  if (!done)
    done = [](caf::expected<embedding_result>) {};
  auto c =
      make_call(co, req.call_id, call_kind::embed, req.endpoint, req.timeout, "/embeddings", done,
                [&req]() -> caf::expected<std::string> { return encode_embedding_request(req); });
  if (!c)
    return;
  c->on_embed = std::move(done);
  auto& cb = c->on_embed;
  register_and_start(co, std::move(c), cb);
}

void llm_client::cancel(uint64_t call_id) {
  auto& co = *impl_->co;
  std::shared_ptr<call> c;
  {
    std::lock_guard guard{co.mu};
    if (auto i = co.calls.find(call_id); i != co.calls.end())
      c = i->second;
  }
  if (c && co.fail(c, make_error(errc::llm_cancelled,
                                 "call " + std::to_string(call_id) + " was cancelled")))
    co.cancelled.fetch_add(1, std::memory_order_relaxed);
}

void llm_client::stop() {
  impl_->co->stop();
}

client_stats llm_client::stats() const {
  const auto& co = *impl_->co;
  client_stats out;
  out.requests = co.requests.load();
  out.attempts = co.attempts.load();
  out.retries = co.retries.load();
  out.cancelled = co.cancelled.load();
  out.connections_opened = co.connections_opened.load();
  out.in_flight = co.in_flight.load();
  return out;
}

} // namespace swarm::net
