// Tests of the LLM client against the mock server over loopback, its connections: cancellation,
// the pool bound, io threads, keep-alive, fast failures, stop, TLS and a CPU measurement.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "tests/net/llm_client_mock_util.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_server.hpp"

using namespace std::chrono_literals;
using namespace swarm;
using namespace swarm::llm_client_mock;
using swarm::net::llm_client;

namespace {

mock_llm::server_options with_port(uint16_t port) {
  mock_llm::server_options o;
  o.port = port;
  return o;
}

mock_llm::server_options with_tls(const std::string& cert, const std::string& key) {
  mock_llm::server_options o;
  o.tls_cert = cert;
  o.tls_key = key;
  return o;
}

} // namespace

TEST_CASE("cancelling a call closes its connection and completes it with llm_cancelled") {
  mock m{R"(
rules:
  - match: {user: "slow"}
    reply: "eventually"
    latency_ms: 5000
)"};
  llm_client client{fast_options()};
  std::promise<caf::expected<chat_result>> done;
  auto fut = done.get_future();
  client.chat(make_request(m.url(), "slow please", 9),
              [&](caf::expected<chat_result> r) { done.set_value(std::move(r)); });
  REQUIRE(test::eventually([&] { return m.stats().in_flight == 1; }, 5s));
  auto start = std::chrono::steady_clock::now();
  client.cancel(9);
  REQUIRE(fut.wait_for(2s) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  auto res = fut.get();
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::llm_cancelled));
  CHECK(test::eventually([&] { return m.stats().cancels == 1; }, 5s));
  CHECK(client.stats().cancelled == 1);
  CHECK(test::eventually([&] { return client.stats().in_flight == 0; }, 5s));
  client.cancel(9); // unknown by now: ignored
  // The cancelled connection was not pooled: the next call opens a fresh one and succeeds.
  auto next = chat_sync(client, make_request(m.url(), "quick", 10));
  REQUIRE(next);
}

TEST_CASE("the pool never opens more connections than the bound, excess calls queue") {
  // Two server threads: a reused connection's next request can then arrive before the mock
  // has finished with the previous reply (a race the mock once lost, hanging the call).
  mock m{R"(
latency: {fixed_ms: 20}
)",
         mock_llm::server_options{.threads = 2}};
  auto opts = fast_options();
  opts.max_connections_per_endpoint = 4;
  llm_client client{opts};
  constexpr int n = 40;
  std::atomic<int> ok{0};
  std::atomic<int> finished{0};
  std::mutex mu;
  std::string first_error;
  for (int i = 0; i < n; ++i)
    client.chat(make_request(m.url(), "call " + std::to_string(i), 100 + i),
                [&](caf::expected<chat_result> r) {
                  if (r) {
                    ++ok;
                  } else {
                    std::lock_guard guard{mu};
                    first_error = describe(r.error());
                  }
                  ++finished;
                });
  REQUIRE(test::eventually([&] { return finished.load() == n; }, 10s));
  INFO(first_error);
  CHECK(ok.load() == n);
  CHECK(m.stats().peak_in_flight <= 4);
  CHECK(m.stats().peak_in_flight >= 2);
  CHECK(client.stats().connections_opened <= 4);
}

TEST_CASE("two io threads serve concurrent plain and streamed calls and cancellations") {
  mock m{R"(
latency: {fixed_ms: 10}
)"};
  auto opts = fast_options();
  opts.io_threads = 2;
  opts.max_connections_per_endpoint = 8;
  llm_client client{opts};
  constexpr int n = 60;
  std::atomic<int> ok{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> finished{0};
  std::atomic<int> delta_bytes{0};
  for (int i = 0; i < n; ++i) {
    auto req = make_request(m.url(), "io " + std::to_string(i), 1000 + i);
    req.stream = i % 2 == 0;
    client.chat(
        std::move(req),
        [&](caf::expected<chat_result> r) {
          if (r)
            ++ok;
          else if (is(r.error(), errc::llm_cancelled))
            ++cancelled;
          ++finished;
        },
        [&](std::string_view d) { delta_bytes += static_cast<int>(d.size()); });
    if (i % 10 == 9)
      client.cancel(1000 + i);
  }
  REQUIRE(test::eventually([&] { return finished.load() == n; }, 10s));
  CHECK(ok.load() + cancelled.load() == n);
  CHECK(ok.load() >= n - 6);
  CHECK(delta_bytes.load() > 0);
  CHECK(m.stats().peak_in_flight <= 8);
}

TEST_CASE("sequential calls reuse one keep-alive connection") {
  mock m{""};
  llm_client client{fast_options()};
  for (int i = 0; i < 20; ++i) {
    auto req = make_request(m.url(), "again " + std::to_string(i), 1 + i);
    req.stream = i % 2 == 1;
    REQUIRE(chat_sync(client, req));
  }
  CHECK(client.stats().connections_opened == 1);
  CHECK(client.stats().attempts == 20);
}

TEST_CASE("a pooled connection the server closed is replaced without counting a retry") {
  auto first = std::make_unique<mock>("");
  auto port = first->srv->port();
  auto url = first->url();
  llm_client client{fast_options()};
  REQUIRE(chat_sync(client, make_request(url, "one", 1)));
  first->srv->stop(); // closes the idle keep-alive connection the client pooled
  first.reset();
  mock second{"", with_port(port)};
  auto res = chat_sync(client, make_request(url, "two", 2));
  REQUIRE(res);
  CHECK(res->attempts == 1);
  CHECK(client.stats().retries == 0);
  CHECK(client.stats().connections_opened == 2);
}

TEST_CASE("calls fail fast with invalid_argument or llm_connect_failed") {
  llm_client client{fast_options()};
  SECTION("a bad URL") {
    auto res = chat_sync(client, make_request("ftp://127.0.0.1/v1", "hi"));
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::invalid_argument));
  }
  SECTION("tool parameters that are not JSON") {
    auto req = make_request("http://127.0.0.1:1/v1", "hi");
    req.tools.push_back({"t", "", "{oops"});
    auto res = chat_sync(client, req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::invalid_argument));
  }
  SECTION("nothing listening") {
    uint16_t port = 0;
    {
      mock m{""};
      port = m.srv->port();
    }
    auto res =
        chat_sync(client, make_request("http://127.0.0.1:" + std::to_string(port) + "/v1", "hi"));
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::llm_connect_failed));
    CHECK(client.stats().attempts == 3);
  }
  SECTION("a duplicate call id") {
    mock m{R"(
latency: {fixed_ms: 300}
)"};
    std::promise<caf::expected<chat_result>> first;
    client.chat(make_request(m.url(), "a", 5),
                [&](caf::expected<chat_result> r) { first.set_value(std::move(r)); });
    auto dup = chat_sync(client, make_request(m.url(), "b", 5));
    REQUIRE_FALSE(dup);
    CHECK(is(dup.error(), errc::invalid_argument));
    auto fut = first.get_future();
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    CHECK(fut.get());
  }
}

TEST_CASE("stop completes every pending call with llm_cancelled exactly once") {
  mock m{R"(
latency: {fixed_ms: 5000}
)"};
  llm_client client{fast_options()};
  std::atomic<int> cancelled{0};
  std::atomic<int> calls{0};
  for (int i = 0; i < 5; ++i)
    client.chat(make_request(m.url(), "x", 1 + i), [&](caf::expected<chat_result> r) {
      ++calls;
      if (!r && is(r.error(), errc::llm_cancelled))
        ++cancelled;
    });
  REQUIRE(test::eventually([&] { return m.stats().in_flight == 5; }, 5s));
  client.stop();
  CHECK(calls.load() == 5);
  CHECK(cancelled.load() == 5);
  client.stop();
  auto after = chat_sync(client, make_request(m.url(), "late", 99));
  REQUIRE_FALSE(after);
  CHECK(is(after.error(), errc::llm_cancelled));
}

TEST_CASE("https works with the CA file and fails verification without it") {
  temp_dir dir;
  auto key = (dir.path() / "k.pem").string();
  auto cert = (dir.path() / "c.pem").string();
  auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
             " -days 1 -subj /CN=localhost"
             " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  mock m{"", with_tls(cert, key)};
  REQUIRE(m.url().rfind("https://", 0) == 0);
  SECTION("trusted through ca_file, by IP and by host name") {
    auto opts = fast_options();
    opts.ca_file = cert;
    llm_client client{opts};
    auto res = chat_sync(client, make_request(m.url(), "secure hello"));
    REQUIRE(res);
    CHECK(res->content == "Mock answer from mock to: secure hello");
    auto by_name = "https://localhost:" + std::to_string(m.srv->port()) + "/v1";
    auto streamed = make_request(by_name, "secure stream", 2);
    streamed.stream = true;
    auto res2 = chat_sync(client, streamed);
    REQUIRE(res2);
    CHECK(res2->content == "Mock answer from mock to: secure stream");
    REQUIRE(chat_sync(client, make_request(m.url(), "reuse", 3)));
    CHECK(client.stats().connections_opened == 2);
  }
  SECTION("untrusted without the CA") {
    llm_client client{fast_options()};
    auto res = chat_sync(client, make_request(m.url(), "hi"));
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::llm_tls_failed));
    CHECK_THAT(describe(res.error()), Catch::Contains("certificate"));
    CHECK(client.stats().attempts == 1);
  }
  SECTION("a certificate for another host name") {
    auto key2 = (dir.path() / "k2.pem").string();
    auto cert2 = (dir.path() / "c2.pem").string();
    auto cmd2 = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key2 + " -out " + cert2 +
                " -days 1 -subj /CN=other.example"
                " -addext subjectAltName=DNS:other.example >/dev/null 2>&1";
    REQUIRE(std::system(cmd2.c_str()) == 0);
    mock other{"", with_tls(cert2, key2)};
    auto opts = fast_options();
    opts.ca_file = cert2;
    llm_client client{opts};
    auto res = chat_sync(client, make_request(other.url(), "hi"));
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::llm_tls_failed));
  }
  SECTION("verification off") {
    auto opts = fast_options();
    opts.verify_tls = false;
    llm_client client{opts};
    REQUIRE(chat_sync(client, make_request(m.url(), "hi")));
  }
}

TEST_CASE("client and mock CPU per call at 1000 concurrent calls", "[.perf]") {
  mock m{""};
  auto opts = fast_options();
  opts.max_connections_per_endpoint = 1000;
  opts.max_idle_per_endpoint = 1000;
  llm_client client{opts};
  constexpr int concurrent = 1000;
  constexpr int rounds = 5;
  auto cpu_now = [] { return std::clock(); };
  std::clock_t cpu_start = 0;
  auto wall_start = std::chrono::steady_clock::now();
  for (int round = 0; round <= rounds; ++round) {
    if (round == 1) { // round 0 warms up the pool
      cpu_start = cpu_now();
      wall_start = std::chrono::steady_clock::now();
    }
    std::atomic<int> finished{0};
    std::atomic<int> ok{0};
    for (int i = 0; i < concurrent; ++i)
      client.chat(make_request(m.url(), "perf", uint64_t(round) * concurrent + i + 1),
                  [&](caf::expected<chat_result> r) {
                    if (r)
                      ++ok;
                    ++finished;
                  });
    REQUIRE(test::eventually([&] { return finished.load() == concurrent; }, 30s));
    REQUIRE(ok.load() == concurrent);
  }
  auto cpu_us = double(cpu_now() - cpu_start) * 1e6 / CLOCKS_PER_SEC;
  auto wall = std::chrono::steady_clock::now() - wall_start;
  WARN("client+mock CPU per call: " << cpu_us / (rounds * concurrent) << " us; wall "
                                    << std::chrono::duration<double>(wall).count() << " s; opened "
                                    << client.stats().connections_opened);
}
