// One connection of the LLM client (plain TCP or TLS over TCP, Beast HTTP/1.1): connects,
// handshakes, sends one call's request per attempt and reads its response, plain or as an SSE
// stream, into a result or an attempt failure for the core to retry or report.
#include <array>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <type_traits>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/detail/llm_client_core.hpp"

namespace swarm::net::detail {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t max_ok_body = size_t{64} << 20;    // 2xx bodies we accept
constexpr size_t max_error_body = size_t{64} << 10; // error bodies we keep for the message
constexpr size_t max_kept_capacity = size_t{64} << 10;

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
        call_->ss.emplace(core_->opts.max_sse_line_bytes);
      call_->ss->sse.reset();
      call_->ss->acc.reset();
      call_->ss->saw_done = false;
    }
    body_.clear();
    stream_bytes_ = 0;
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
    // A stream folds into one reply: the same bound as a plain body's.
    stream_bytes_ += data.size();
    if (stream_bytes_ > max_ok_body) {
      fail_attempt(attempt_outcome::invalid_response, errc::llm_invalid_response, too_large_text(),
                   false);
      return false;
    }
    auto& st = *call_->ss;
    st.sse.feed(data);
    while (auto ev = st.sse.next())
      if (!fold_event(*ev))
        return false;
    if (st.sse.overflowed()) {
      fail_attempt(attempt_outcome::invalid_response, errc::llm_invalid_response,
                   "a line of the stream from " + call_->url + " is longer than " +
                       std::to_string(st.sse.max_line()) + " bytes (max_sse_line_bytes)",
                   false);
      return false;
    }
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
      auto res = st.acc.finish();
      if (!res) {
        // As in a non-streamed reply: an empty message is the model's fault: invalid_reply.
        fail_attempt(attempt_outcome::invalid_response, errc::invalid_reply,
                     error_message(res.error()) + " from " + call_->url, keep);
        return;
      }
      succeed(std::move(*res), keep);
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
      // An empty message is the model's fault, not the transport's: invalid_reply.
      auto code =
          is(res.error(), errc::invalid_reply) ? errc::invalid_reply : errc::llm_invalid_response;
      fail_attempt(attempt_outcome::invalid_response, code, error_message(res.error()), keep);
      return;
    }
    succeed(std::move(*res), keep);
  }

  // Names the bound a reply broke; a server that sends it once will again, so no retry.
  std::string too_large_text() const {
    return "the reply from " + call_->url + " is larger than " + std::to_string(max_ok_body >> 20) +
           " MiB, the most the client accepts";
  }

  // A transport error while writing or reading.
  void io_failed(error_code ec) {
    if (ec == http::error::body_limit) {
      fail_attempt(attempt_outcome::invalid_response, errc::llm_invalid_response, too_large_text());
      return;
    }
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
  size_t stream_bytes_ = 0; // body bytes of this attempt's stream so far
  bool connected_ = false;
  bool reused_ = false;
  bool sse_mode_ = false;
};

using plain_session = session<beast::tcp_stream>;
using tls_session = session<ssl::stream<beast::tcp_stream>>;

} // namespace

std::shared_ptr<connection> core::make_connection(const std::shared_ptr<pool>& pl) {
  if (pl->url.tls)
    return std::make_shared<tls_session>(this, pl, make_executor());
  return std::make_shared<plain_session>(this, pl, make_executor());
}

} // namespace swarm::net::detail
