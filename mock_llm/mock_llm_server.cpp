// The mock LLM's HTTP(S) server: Beast sessions templated on the stream type, asio timers for
// latency, a pending read during every wait so a client that goes away counts as a cancel.
#include "mock_llm/mock_llm_server.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
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
#include "mock_llm/openai_format.hpp"
#include "mock_llm/script.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::mock_llm {

namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto relaxed = std::memory_order_relaxed;
constexpr size_t watch_chunk = 4096;      // bytes read per watch read
constexpr size_t watch_limit = 1 << 20;   // stop watching once this much is buffered
constexpr uint64_t body_limit = 64 << 20; // largest request body
constexpr uint32_t header_limit = 64 << 10;

/// The live counters; every update is a relaxed atomic, the hot path takes no lock.
class counters {
public:
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> chat_requests{0};
  std::atomic<uint64_t> stream_requests{0};
  std::atomic<uint64_t> embedding_requests{0};
  std::atomic<uint64_t> cancels{0};
  std::atomic<uint64_t> faults{0};
  std::atomic<uint64_t> prompt_tokens{0};
  std::atomic<uint64_t> completion_tokens{0};
  std::atomic<uint64_t> in_flight{0};
  std::atomic<uint64_t> peak_in_flight{0};
  std::array<std::atomic<uint64_t>, 600> status{};

  static void add(std::atomic<uint64_t>& x, uint64_t d = 1) { x.fetch_add(d, relaxed); }

  void enter() {
    auto now = in_flight.fetch_add(1, relaxed) + 1;
    auto peak = peak_in_flight.load(relaxed);
    while (now > peak && !peak_in_flight.compare_exchange_weak(peak, now, relaxed)) {
    }
  }

  void leave() { in_flight.fetch_sub(1, relaxed); }

  void count_status(unsigned code) {
    if (code < status.size())
      status[code].fetch_add(1, relaxed);
  }

  /// Zeroes the counters; in_flight is a gauge and stays, peak restarts from it.
  void reset() {
    for (auto* x : {&requests, &chat_requests, &stream_requests, &embedding_requests, &cancels,
                    &faults, &prompt_tokens, &completion_tokens})
      x->store(0, relaxed);
    peak_in_flight.store(in_flight.load(relaxed), relaxed);
    for (auto& x : status)
      x.store(0, relaxed);
  }

  mock_llm::stats snapshot() const {
    mock_llm::stats s;
    s.requests = requests.load(relaxed);
    s.chat_requests = chat_requests.load(relaxed);
    s.stream_requests = stream_requests.load(relaxed);
    s.embedding_requests = embedding_requests.load(relaxed);
    s.cancels = cancels.load(relaxed);
    s.faults = faults.load(relaxed);
    s.prompt_tokens = prompt_tokens.load(relaxed);
    s.completion_tokens = completion_tokens.load(relaxed);
    s.in_flight = in_flight.load(relaxed);
    s.peak_in_flight = peak_in_flight.load(relaxed);
    for (size_t i = 0; i < status.size(); ++i)
      if (auto x = status[i].load(relaxed))
        s.status_counts[static_cast<int>(i)] = x;
    return s;
  }
};

/// What every session reads (the script) and updates (the counters).
struct shared_state {
  mock_llm::script script;
  counters count;
  std::FILE* request_log = nullptr; // server_options::request_log; guarded by log_mtx
  std::mutex log_mtx;

  void log_request(uint64_t n, std::string_view body, const chat_request& req) {
    if (request_log == nullptr)
      return;
    uint64_t h = 1469598103934665603ull; // FNV-1a 64
    for (unsigned char c : body)
      h = (h ^ c) * 1099511628211ull;
    char digest[17];
    std::snprintf(digest, sizeof(digest), "%016llx", static_cast<unsigned long long>(h));
    std::string line = "{\"n\":" + std::to_string(n) + ",\"model\":";
    json_text::append_string(line, req.model);
    line += ",\"digest\":\"";
    line += digest;
    line += "\",\"user\":";
    json_text::append_string(line, req.user);
    line += req.response_format ? ",\"response_format\":true}\n" : ",\"response_format\":false}\n";
    std::lock_guard<std::mutex> guard{log_mtx};
    std::fwrite(line.data(), 1, line.size(), request_log);
    std::fflush(request_log);
  }
};

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
      extra_.assign("Retry-After: ");
      json_text::append_uint(extra_, plan_.fault->retry_after_s);
      extra_ += "\r\n";
      return send(429, "application/json", extra_);
    }
    if (kind == fault_kind::http_500)
      return send_error(500, "The server had an error (mock fault)", "server_error");
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
    bool truncate = kind == fault_kind::truncate;
    if (!truncate) {
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
      return close();
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
    if (!keep_alive_)
      return close();
    if (watching_) {
      reply_done_ = true; // the watch read completes when the next request arrives
      return;
    }
    do_read();
  }

  // -- noticing a client that goes away
  // ------------------------------------------------------------

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

  void close() {
    if (closed_)
      return;
    closed_ = true;
    timer_.cancel();
    error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_);
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
  bool closed_ = false;
};

class server_impl final : public server {
public:
  explicit server_impl(server_options opts) : opts_(std::move(opts)) {}

  ~server_impl() override { stop(); }

  caf::error init() {
    try {
      if (!opts_.script_path.empty()) {
        auto s = load_script(opts_.script_path);
        if (!s)
          return std::move(s.error());
        state_.script = std::move(*s);
      }
      if (!opts_.request_log.empty()) {
        state_.request_log = std::fopen(opts_.request_log.c_str(), "a");
        if (state_.request_log == nullptr)
          return make_error(errc::io_error, "cannot open request log " + opts_.request_log + ": " +
                                                std::strerror(errno));
      }
      if (opts_.tls_cert.empty() != opts_.tls_key.empty())
        return make_error(errc::invalid_argument, "TLS needs both tls_cert and tls_key");
      if (!opts_.tls_cert.empty())
        if (auto err = init_tls())
          return err;
      error_code ec;
      auto address = net::ip::make_address(opts_.host, ec);
      if (ec)
        return make_error(errc::invalid_argument, "bad host address " + opts_.host);
      ioc_ = std::make_unique<net::io_context>(static_cast<int>(thread_count()));
      acceptor_.emplace(*ioc_);
      retry_timer_.emplace(*ioc_);
      tcp::endpoint endpoint{address, opts_.port};
      acceptor_->open(endpoint.protocol(), ec);
      if (!ec)
        acceptor_->set_option(net::socket_base::reuse_address(true), ec);
      if (!ec)
        acceptor_->bind(endpoint, ec);
      if (!ec)
        acceptor_->listen(net::socket_base::max_listen_connections, ec);
      if (ec)
        return make_error(errc::io_error, "cannot listen on " + opts_.host + ":" +
                                              std::to_string(opts_.port) + ": " + ec.message());
      port_ = acceptor_->local_endpoint().port();
      do_accept();
      for (size_t i = 0; i < thread_count(); ++i)
        threads_.emplace_back([this] { run_loop(); });
      return {};
    } catch (const std::exception& e) {
      return make_error(errc::io_error, std::string{"cannot start mock LLM server: "} + e.what());
    }
  }

  uint16_t port() const override { return port_; }

  std::string url() const override {
    std::string host =
        opts_.host.find(':') != std::string::npos ? "[" + opts_.host + "]" : opts_.host;
    return std::string{ssl_ ? "https" : "http"} + "://" + host + ":" + std::to_string(port_) +
           "/v1";
  }

  mock_llm::stats stats() const override { return state_.count.snapshot(); }

  void stop() override {
    std::lock_guard<std::mutex> guard{stop_mutex_};
    if (!ioc_)
      return;
    ioc_->stop();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
    threads_.clear();
    retry_timer_.reset();
    acceptor_.reset();
    // Destroying the context destroys every pending handler, and with them the sessions and
    // their sockets: stalled and idle connections close here.
    ioc_.reset();
    if (state_.request_log != nullptr) {
      std::fclose(state_.request_log);
      state_.request_log = nullptr;
    }
  }

private:
  size_t thread_count() const { return std::max<size_t>(1, opts_.threads); }

  caf::error init_tls() {
    ssl_.emplace(ssl::context::tls_server);
    ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ssl_->native_handle(), TLS1_2_VERSION);
    error_code ec;
    ssl_->use_certificate_chain_file(opts_.tls_cert, ec);
    if (ec)
      return make_error(errc::io_error,
                        "cannot load TLS certificate " + opts_.tls_cert + ": " + ec.message());
    ssl_->use_private_key_file(opts_.tls_key, ssl::context::pem, ec);
    if (ec)
      return make_error(errc::io_error,
                        "cannot load TLS key " + opts_.tls_key + ": " + ec.message());
    if (SSL_CTX_check_private_key(ssl_->native_handle()) != 1)
      return make_error(errc::io_error, "TLS key " + opts_.tls_key +
                                            " does not match certificate " + opts_.tls_cert);
    return {};
  }

  void run_loop() {
    for (;;) {
      try {
        ioc_->run();
        return;
      } catch (...) {
        // A handler threw (only allocation can): keep serving the other connections.
      }
    }
  }

  void do_accept() {
    net::any_io_executor ex = thread_count() > 1 ? net::any_io_executor{net::make_strand(*ioc_)}
                                                 : net::any_io_executor{ioc_->get_executor()};
    acceptor_->async_accept(
        ex, [this](error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open())
      return;
    if (ec) {
      // Out of descriptors or similar: retry soon instead of spinning.
      retry_timer_->expires_after(std::chrono::milliseconds{20});
      retry_timer_->async_wait([this](error_code timer_ec) {
        if (!timer_ec)
          do_accept();
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (ssl_)
      std::make_shared<session<beast::ssl_stream<tcp::socket>>>(state_, std::move(socket), *ssl_)
          ->run();
    else
      std::make_shared<session<tcp::socket>>(state_, std::move(socket))->run();
    do_accept();
  }

  server_options opts_;
  shared_state state_;
  std::optional<ssl::context> ssl_; // outlives the context's sessions
  std::unique_ptr<net::io_context> ioc_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> retry_timer_; // delays accepting after an accept error
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::mutex stop_mutex_;
};

} // namespace

caf::expected<std::unique_ptr<server>> server::start(server_options opts) {
  auto impl = std::make_unique<server_impl>(std::move(opts));
  if (auto err = impl->init())
    return err;
  return std::unique_ptr<server>{std::move(impl)};
}

} // namespace swarm::mock_llm
