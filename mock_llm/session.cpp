// The mock LLM's connections: Beast sessions templated on the stream type, asio timers for
// latency, a pending read during every wait so a client that goes away counts as a cancel.
#include "mock_llm/detail/session.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "mock_llm/json_text.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::mock_llm::detail {

namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr size_t watch_chunk = 4096;      // bytes read per watch read
constexpr size_t watch_limit = 1 << 20;   // stop watching once this much is buffered
constexpr uint64_t body_limit = 64 << 20; // largest request body
constexpr uint32_t header_limit = 64 << 10;
constexpr size_t big_buffer = 8 << 20; // reply buffers above this are freed once sent

/// The message of an error's context, for the `error.message` of a 400 reply.
std::string error_text(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

/// One client connection. `Stream` is tcp::socket or beast::ssl_stream<tcp::socket>.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
  static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

  template <class... Args>
  explicit session(shared_state& state, Args&&... args)
      : stream_(std::forward<Args>(args)...), timer_(stream_.get_executor()), state_(state) {}

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  ~session() {
    if (in_flight_)
      state_.count.leave();
  }

  /// Starts serving on the session's own executor (a strand when there are several threads).
  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::on_run, this->shared_from_this()));
  }

private:
  void on_run() {
    if constexpr (is_tls)
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&session::on_handshake, this->shared_from_this()));
    else
      do_read();
  }

  void on_handshake(error_code ec) {
    if (ec)
      return close();
    do_read();
  }

  // -- reading requests ---------------------------------------------------------------------------

  void do_read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  void on_read(error_code ec, size_t) {
    if (ec)
      return close(); // end of stream, reset, or a request we cannot parse
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    counters::add(state_.count.requests);
    std::string_view target{req.target().data(), req.target().size()};
    if (auto q = target.find('?'); q != std::string_view::npos)
      target = target.substr(0, q);
    auto method = req.method();
    auto want = [&](http::verb v) {
      if (method == v)
        return true;
      send_error(405, "method not allowed on " + std::string{target}, "invalid_request_error");
      return false;
    };
    if (target == "/v1/chat/completions") {
      if (want(http::verb::post))
        handle_chat(req.body());
    } else if (target == "/v1/embeddings") {
      if (want(http::verb::post))
        handle_embeddings(req.body());
    } else if (target == "/v1/models") {
      if (want(http::verb::get)) {
        write_models(body_, state_.script);
        send(200, "application/json");
      }
    } else if (target == "/stats") {
      if (want(http::verb::get)) {
        write_stats(body_, state_.count.snapshot());
        send(200, "application/json");
      }
    } else if (target == "/stats/reset") {
      if (want(http::verb::post)) {
        state_.count.reset();
        write_stats(body_, state_.count.snapshot());
        send(200, "application/json");
      }
    } else if (target == "/health") {
      if (want(http::verb::get)) {
        body_ = "ok";
        send(200, "text/plain");
      }
    } else {
      send_error(404, "unknown path " + std::string{target}, "invalid_request_error");
    }
  }

  // -- chat and embeddings ------------------------------------------------------------------------

  void handle_chat(std::string_view body) {
    auto n = state_.count.chat_requests.fetch_add(1, relaxed) + 1;
    auto req = parse_chat_request(body);
    if (!req)
      return send_error(400, error_text(req.error()), "invalid_request_error");
    state_.log_request(n, body, *req);
    if (req->stream)
      counters::add(state_.count.stream_requests);
    enter();
    plan_ = plan_reply(state_.script, *req, n);
    chat_ = std::move(*req);
    n_ = n;
    if (plan_.fault) {
      counters::add(state_.count.faults);
      if (plan_.fault->kind == fault_kind::stall)
        return start_watch(); // never answers; the watch notices the client leaving
    }
    if (plan_.latency_ms > 0) {
      timer_.expires_after(std::chrono::microseconds{std::llround(plan_.latency_ms * 1000.0)});
      timer_.async_wait(beast::bind_front_handler(&session::on_latency, this->shared_from_this()));
      return start_watch();
    }
    deliver_chat();
  }

  void on_latency(error_code ec) {
    if (ec || closed_)
      return;
    deliver_chat();
  }

  void deliver_chat() {
    auto kind = plan_.fault ? std::optional{plan_.fault->kind} : std::nullopt;
    if (kind == fault_kind::http_429) {
      write_error(body_, "Rate limit reached (mock fault)", "rate_limit_error",
                  "rate_limit_exceeded");
      extra_.clear();
      if (auto seconds = plan_.fault->retry_after_s) {
        extra_.assign("Retry-After: ");
        json_text::append_uint(extra_, *seconds);
        extra_ += "\r\n";
      }
      return send(429, "application/json", extra_);
    }
    if (kind == fault_kind::http_500)
      return send_error(500, "The server had an error (mock fault)", "server_error");
    if (kind == fault_kind::http_503)
      return send_error(503, "The server is overloaded (mock fault)", "server_error");
    if (kind == fault_kind::reset && !plan_.fault->midway) {
      leave();
      return close(true); // no byte of a reply
    }
    if (kind == fault_kind::refuse_response_format)
      return send_error(400, "response_format is not supported (mock fault)",
                        "invalid_request_error");
    if (kind == fault_kind::invalid_json) {
      if (chat_.stream) {
        body_ = "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":\n\n"
                "data: [DONE]\n\n";
        ends_.assign({body_.size() - 14, body_.size()});
        return send_stream(false);
      }
      body_ = "this is not JSON {\"choices\": [";
      return send(200, "application/json");
    }
    bool truncate = kind == fault_kind::truncate || kind == fault_kind::reset;
    reset_ = kind == fault_kind::reset;
    if (!kind) {
      counters::add(state_.count.prompt_tokens, plan_.prompt_tokens);
      counters::add(state_.count.completion_tokens, plan_.completion_tokens);
    }
    if (chat_.stream) {
      write_completion_stream(body_, ends_, chat_, plan_, n_);
      return send_stream(truncate);
    }
    write_completion(body_, chat_, plan_, n_);
    if (truncate)
      return send_truncated();
    send(200, "application/json");
  }

  void handle_embeddings(std::string_view body) {
    counters::add(state_.count.embedding_requests);
    auto req = parse_embedding_request(body);
    if (!req)
      return send_error(400, error_text(req.error()), "invalid_request_error");
    enter();
    write_embeddings(body_, *req, req->dimensions.value_or(state_.script.embedding_dimensions));
    send(200, "application/json");
  }

  // -- writing replies ----------------------------------------------------------------------------

  void append_head(unsigned status, std::string_view content_type, std::string_view extra) {
    head_.assign("HTTP/1.1 ");
    json_text::append_uint(head_, status);
    head_ += ' ';
    auto reason = http::obsolete_reason(http::int_to_status(status));
    head_.append(reason.data(), reason.size());
    head_ += "\r\nServer: swarm-mock-llm\r\nContent-Type: ";
    head_ += content_type;
    head_ += "\r\n";
    head_ += extra;
    if (!keep_alive_)
      head_ += "Connection: close\r\n";
  }

  /// Sends head_ + body_ with a Content-Length.
  void send(unsigned status, std::string_view content_type, std::string_view extra = {}) {
    append_head(status, content_type, extra);
    head_ += "Content-Length: ";
    json_text::append_uint(head_, body_.size());
    head_ += "\r\n\r\n";
    state_.count.count_status(status);
    std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body_)};
    net::async_write(stream_, buffers,
                     beast::bind_front_handler(&session::on_written, this->shared_from_this()));
  }

  void send_error(unsigned status, std::string_view message, std::string_view type) {
    write_error(body_, message, type);
    send(status, "application/json");
  }

  /// Sends the SSE events in body_ (ends_ marks them) as HTTP chunks, one write per event so
  /// clients see incremental streaming. `truncate`: close after half the events.
  void send_stream(bool truncate) {
    append_head(200, "text/event-stream",
                "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n");
    head_ += "\r\n";
    wire_.assign(head_);
    segment_ends_.clear();
    size_t start = 0;
    for (auto end : ends_) {
      char hex[20];
      auto res = std::to_chars(hex, hex + sizeof hex, end - start, 16);
      wire_.append(hex, res.ptr);
      wire_ += "\r\n";
      wire_.append(body_, start, end - start);
      wire_ += "\r\n";
      segment_ends_.push_back(wire_.size());
      start = end;
    }
    wire_ += "0\r\n\r\n";
    segment_ends_.back() = wire_.size();
    state_.count.count_status(200);
    segment_ = 0;
    segment_limit_ =
        truncate ? std::max<size_t>(1, segment_ends_.size() / 2) : segment_ends_.size();
    truncate_ = truncate;
    write_segment();
  }

  /// Sends a head announcing the whole body_ but only half of it, then closes.
  void send_truncated() {
    append_head(200, "application/json", {});
    head_ += "Content-Length: ";
    json_text::append_uint(head_, body_.size());
    head_ += "\r\n\r\n";
    wire_.assign(head_);
    wire_.append(body_, 0, body_.size() / 2);
    segment_ends_.assign({wire_.size()});
    state_.count.count_status(200);
    segment_ = 0;
    segment_limit_ = 1;
    truncate_ = true;
    write_segment();
  }

  void write_segment() {
    size_t start = segment_ == 0 ? 0 : segment_ends_[segment_ - 1];
    net::async_write(stream_, net::buffer(wire_.data() + start, segment_ends_[segment_] - start),
                     beast::bind_front_handler(&session::on_segment, this->shared_from_this()));
  }

  void on_segment(error_code ec, size_t n) {
    if (closed_)
      return;
    if (ec)
      return on_written(ec, n);
    if (++segment_ < segment_limit_)
      return write_segment();
    if (truncate_) {
      leave();
      return close(reset_);
    }
    on_written(ec, n);
  }

  void on_written(error_code ec, size_t) {
    if (closed_)
      return;
    if (ec) {
      cancel(); // the client went away before the reply was sent
      return close();
    }
    leave();
    if (body_.capacity() > big_buffer) { // a huge_reply's buffers are not kept for the next
      std::string{}.swap(body_);
      std::string{}.swap(wire_);
      plan_ = {};
    }
    if (!keep_alive_)
      return close();
    if (watching_) {
      reply_done_ = true; // the watch read completes when the next request arrives
      return;
    }
    do_read();
  }

  // -- noticing a client that goes away ---------------------------------------------------------

  /// Keeps a read pending while a reply is delayed or stalled: its failure means the client closed.
  /// Bytes it reads (a pipelined next request) stay in buffer_ for the next do_read.
  void start_watch() {
    if (watching_ || closed_ || buffer_.size() >= watch_limit)
      return;
    watching_ = true;
    stream_.async_read_some(
        buffer_.prepare(watch_chunk),
        beast::bind_front_handler(&session::on_watch, this->shared_from_this()));
  }

  void on_watch(error_code ec, size_t n) {
    watching_ = false;
    if (closed_)
      return;
    if (ec) {
      cancel();
      return close();
    }
    buffer_.commit(n);
    if (reply_done_) {
      reply_done_ = false;
      return do_read();
    }
    // Bytes of the next request arrived (the client may send it as soon as it has our reply,
    // before on_written runs): stop watching, so on_written's do_read parses them. Re-arming
    // here would leave a read pending that nothing completes.
    if (in_flight_ && n == 0)
      start_watch();
  }

  // -- bookkeeping --------------------------------------------------------------------------------

  void enter() {
    in_flight_ = true;
    state_.count.enter();
  }

  void leave() {
    if (!in_flight_)
      return;
    in_flight_ = false;
    state_.count.leave();
  }

  void cancel() {
    if (!in_flight_)
      return;
    counters::add(state_.count.cancels);
    leave();
  }

  /// Closes the connection; `reset`: abortively (SO_LINGER 0: the peer gets an RST, not a FIN).
  void close(bool reset = false) {
    if (closed_)
      return;
    closed_ = true;
    timer_.cancel();
    error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_);
    if (reset) {
      socket.set_option(net::socket_base::linger{true, 0}, ignored);
      socket.close(ignored);
      return;
    }
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  Stream stream_;
  net::steady_timer timer_;
  shared_state& state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // Reused for every reply, so steady traffic allocates little.
  std::string head_;
  std::string body_;
  std::string extra_;
  std::string wire_;
  std::vector<size_t> ends_;
  std::vector<size_t> segment_ends_;
  size_t segment_ = 0;
  size_t segment_limit_ = 0;
  chat_request chat_;
  reply_plan plan_;
  uint64_t n_ = 0;
  bool keep_alive_ = true;
  bool in_flight_ = false;  // counted in in_flight
  bool watching_ = false;   // a watch read is pending
  bool reply_done_ = false; // reply sent while a watch read was pending
  bool truncate_ = false;
  bool reset_ = false; // the truncated reply ends with an RST (a reset fault with midway)
  bool closed_ = false;
};

} // namespace

void serve_connection(shared_state& state, tcp::socket socket, ssl::context* tls) {
  if (tls != nullptr)
    std::make_shared<session<beast::ssl_stream<tcp::socket>>>(state, std::move(socket), *tls)
        ->run();
  else
    std::make_shared<session<tcp::socket>>(state, std::move(socket))->run();
}

} // namespace swarm::mock_llm::detail
