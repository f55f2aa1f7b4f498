// The mock LLM's HTTP(S) server: binds, accepts on its I/O threads and hands each connection
// to a session (session.cpp); loads the script, the TLS context and the request log; stops.
#include "mock_llm/mock_llm_server.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "mock_llm/detail/server_state.hpp"
#include "mock_llm/detail/session.hpp"
#include "mock_llm/script.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::mock_llm {

namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

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
    detail::serve_connection(state_, std::move(socket), ssl_ ? &*ssl_ : nullptr);
    do_accept();
  }

  server_options opts_;
  detail::shared_state state_;
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
