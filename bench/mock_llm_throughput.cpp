// Throughput of the mock LLM: C keep-alive connections send chat requests for a bounded time
// (and count) and report requests/s and latency percentiles.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "bench/records.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string url; // empty: start the mock in-process
  size_t connections = 32;
  double seconds = 3;
  uint64_t max_requests = 5'000'000;
  size_t client_threads = 1;
  size_t server_threads = 1;
  bool stream = false;
  std::string script;
};

void usage() {
  std::puts("usage: bench_mock_llm_throughput [--url http://host:port/v1] [--connections C=32]\n"
            "         [--seconds S=3] [--max-requests N=5000000] [--client-threads T=1]\n"
            "         [--server-threads T=1] [--stream] [--script file.yaml]\n"
            "Without --url the mock runs in-process on a free loopback port.");
}

std::optional<options> parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc)
        return std::nullopt;
      return std::string_view{argv[++i]};
    };
    auto number = [&](auto& out) {
      auto v = value();
      if (!v)
        return false;
      auto res = std::from_chars(v->data(), v->data() + v->size(), out);
      return res.ec == std::errc{} && res.ptr == v->data() + v->size();
    };
    bool ok = true;
    if (arg == "--url") {
      auto v = value();
      ok = v.has_value();
      if (ok)
        o.url = *v;
    } else if (arg == "--script") {
      auto v = value();
      ok = v.has_value();
      if (ok)
        o.script = *v;
    } else if (arg == "--connections") {
      ok = number(o.connections) && o.connections > 0;
    } else if (arg == "--seconds") {
      ok = number(o.seconds) && o.seconds > 0;
    } else if (arg == "--max-requests") {
      ok = number(o.max_requests) && o.max_requests > 0;
    } else if (arg == "--client-threads") {
      ok = number(o.client_threads) && o.client_threads > 0;
    } else if (arg == "--server-threads") {
      ok = number(o.server_threads) && o.server_threads > 0;
    } else if (arg == "--stream") {
      o.stream = true;
    } else {
      ok = false;
    }
    if (!ok) {
      usage();
      return std::nullopt;
    }
  }
  return o;
}

/// host, port and target of the chat endpoint from a base URL like http://127.0.0.1:8089/v1.
struct endpoint_url {
  std::string host;
  std::string port;
  std::string target;
};

std::optional<endpoint_url> parse_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme))
    return std::nullopt;
  url.remove_prefix(scheme.size());
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  std::string path{slash == std::string_view::npos ? "" : url.substr(slash)};
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  auto colon = authority.rfind(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  endpoint_url out{
      std::string{authority.substr(0, colon)}, std::string{authority.substr(colon + 1)}, {}};
  out.target = (path.empty() ? std::string{"/v1"} : path) + "/chat/completions";
  return out;
}

/// Shared by every client thread.
struct run_state {
  clock_type::time_point deadline;
  uint64_t max_requests = 0;
  std::atomic<uint64_t> issued{0};
  std::atomic<uint64_t> errors{0};
};

/// One keep-alive connection: write a request, read the reply, repeat until the bounds.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(net::io_context& ioc, const http::request<http::string_body>& req, run_state& state,
             std::vector<uint32_t>& latencies_us)
      : socket_(ioc), req_(req), state_(state), latencies_us_(latencies_us) {}

  void start(const tcp::resolver::results_type& endpoints) {
    net::async_connect(socket_, endpoints,
                       [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                         if (ec) {
                           self->state_.errors.fetch_add(1, std::memory_order_relaxed);
                           return;
                         }
                         self->socket_.set_option(tcp::no_delay(true), ec);
                         self->send();
                       });
  }

private:
  void send() {
    if (clock_type::now() >= state_.deadline ||
        state_.issued.fetch_add(1, std::memory_order_relaxed) >= state_.max_requests)
      return close();
    sent_at_ = clock_type::now();
    http::async_write(socket_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    if (ec)
      return fail();
    res_.emplace();
    http::async_read(
        socket_, buffer_, *res_,
        [self = shared_from_this()](beast::error_code ec2, size_t) { self->on_read(ec2); });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return fail();
    if (res_->result_int() != 200)
      state_.errors.fetch_add(1, std::memory_order_relaxed);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - sent_at_);
    latencies_us_.push_back(static_cast<uint32_t>(us.count()));
    send();
  }

  void fail() {
    state_.errors.fetch_add(1, std::memory_order_relaxed);
    close();
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  const http::request<http::string_body>& req_;
  run_state& state_;
  std::vector<uint32_t>& latencies_us_;
  beast::flat_buffer buffer_;
  std::optional<http::response<http::string_body>> res_;
  clock_type::time_point sent_at_;
};

uint32_t percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse_args(argc, argv);
  if (!opts)
    return 2;

  std::unique_ptr<swarm::mock_llm::server> srv;
  std::string url = opts->url;
  if (url.empty()) {
    swarm::mock_llm::server_options so;
    so.threads = opts->server_threads;
    so.script_path = opts->script;
    auto started = swarm::mock_llm::server::start(so);
    if (!started) {
      std::fprintf(stderr, "cannot start the mock: %s\n", swarm::describe(started.error()).c_str());
      return 1;
    }
    srv = std::move(*started);
    url = srv->url();
  }
  auto ep = parse_url(url);
  if (!ep) {
    std::fprintf(stderr, "unsupported URL %s (expected http://host:port[/v1])\n", url.c_str());
    return 2;
  }

  http::request<http::string_body> req{http::verb::post, ep->target, 11};
  req.set(http::field::host, ep->host);
  req.set(http::field::content_type, "application/json");
  req.body() = std::string{R"({"model":"mock","messages":[{"role":"user","content":"hi"}])"} +
               (opts->stream ? R"(,"stream":true})" : "}");
  req.prepare_payload();

  run_state state;
  state.max_requests = opts->max_requests;
  auto threads = std::min(opts->client_threads, opts->connections);
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<std::vector<uint32_t>> latencies(threads);
  for (size_t t = 0; t < threads; ++t) {
    contexts.push_back(std::make_unique<net::io_context>(1));
    latencies[t].reserve(std::min<uint64_t>(opts->max_requests, 4'000'000) / threads + 1);
  }
  beast::error_code ec;
  tcp::resolver resolver{*contexts[0]};
  auto endpoints = resolver.resolve(ep->host, ep->port, ec);
  if (ec) {
    std::fprintf(stderr, "cannot resolve %s: %s\n", ep->host.c_str(), ec.message().c_str());
    return 1;
  }

  auto start = clock_type::now();
  state.deadline = start + std::chrono::duration_cast<clock_type::duration>(
                               std::chrono::duration<double>{opts->seconds});
  for (size_t i = 0; i < opts->connections; ++i) {
    auto t = i % threads;
    std::make_shared<connection>(*contexts[t], req, state, latencies[t])->start(endpoints);
  }
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t)
    workers.emplace_back([&ctx = *contexts[t]] { ctx.run(); });
  for (auto& w : workers)
    w.join();
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();

  std::vector<uint32_t> all;
  for (auto& l : latencies)
    all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto served = static_cast<double>(all.size());
  std::printf(
      "mock_llm throughput: %s, %zu connections, %zu client thread(s), %s%s\n", url.c_str(),
      opts->connections, threads,
      srv ? ("in-process server, " + std::to_string(opts->server_threads) + " io thread(s)").c_str()
          : "external server",
      opts->stream ? ", streaming" : "");
  std::printf("requests: %zu in %.2f s, errors: %llu\n", all.size(), elapsed,
              static_cast<unsigned long long>(state.errors.load()));
  std::printf("throughput: %.0f req/s\n", served / elapsed);
  std::printf("latency: p50 %u us, p99 %u us, max %u us\n", percentile(all, 0.50),
              percentile(all, 0.99), all.empty() ? 0u : all.back());
  if (srv)
    srv->stop();
  if (state.errors.load() != 0)
    return 1;
  using swarm::bench::better;
  std::vector<swarm::bench::param> params{{"connections", opts->connections},
                                          {"stream", opts->stream ? "yes" : "no"}};
  swarm::bench::record(
      {"mock-llm", params, "requests_per_s", "req/s", better::higher, served / elapsed, {}});
  swarm::bench::record({"mock-llm",
                        params,
                        "latency_us_p50",
                        "us",
                        better::lower,
                        static_cast<double>(percentile(all, 0.50)),
                        {}});
  return 0;
}
