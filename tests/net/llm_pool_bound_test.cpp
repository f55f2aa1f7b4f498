// The LLM client's connections per endpoint follow the bound each request carries
// (llm_endpoint::max_connections: the spec's max_concurrent in a run), not a hidden client cap:
// counted at the mock (requests served at once) and at the client (connections opened).
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace swarm;
using swarm::net::llm_client;

namespace {

/// What a fan-out of calls saw.
struct fan_out_result {
  int finished = 0;
  int ok = 0;
  std::string first_error;
  uint64_t peak_in_flight = 0;     ///< at the mock
  uint64_t connections_opened = 0; ///< by the client
};

/// Starts `n` chat calls at once against a mock that answers each after `latency_ms`, every
/// request carrying the connection bound `bound`; waits (bounded) for all of them.
fan_out_result fan_out(llm_client_options opts, uint32_t bound, int n, int latency_ms) {
  test::temp_dir dir;
  mock_llm::server_options mopts;
  mopts.script_path =
      dir.write("mock.yaml", "latency: {fixed_ms: " + std::to_string(latency_ms) + "}\n");
  auto srv = mock_llm::server::start(mopts);
  REQUIRE(srv);
  auto& mock = **srv;
  opts.backoff_base = 2ms;
  opts.backoff_max = 20ms;
  llm_client client{opts};
  std::atomic<int> finished{0};
  std::atomic<int> ok{0};
  std::mutex mu;
  std::string first_error;
  for (int i = 0; i < n; ++i) {
    chat_request req;
    req.call_id = uint64_t(i) + 1;
    req.endpoint.url = mock.url();
    req.endpoint.max_connections = bound;
    req.model = "mock";
    req.messages.push_back({"user", "call " + std::to_string(i), "", "", {}});
    req.timeout = 30s;
    client.chat(std::move(req), [&](caf::expected<chat_result> r) {
      if (r) {
        ++ok;
      } else {
        std::lock_guard guard{mu};
        if (first_error.empty())
          first_error = describe(r.error());
      }
      ++finished;
    });
  }
  auto until = std::chrono::steady_clock::now() + 60s;
  while (finished.load() < n && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  fan_out_result out;
  out.finished = finished.load();
  out.ok = ok.load();
  {
    std::lock_guard guard{mu};
    out.first_error = first_error;
  }
  out.peak_in_flight = mock.stats().peak_in_flight;
  out.connections_opened = client.stats().connections_opened;
  client.stop();
  mock.stop();
  return out;
}

} // namespace

TEST_CASE("a request's connection bound above the client's default reaches the endpoint at once") {
  // 300 calls, each allowed 300 connections, against a client whose own default stays 256: all
  // 300 are served at once (the 256 default used to cap every endpoint, whatever its spec said).
  llm_client_options opts;
  REQUIRE(opts.max_connections_per_endpoint == 256);
  constexpr int n = 300;
  auto r = fan_out(opts, n, n, 1500);
  INFO(r.first_error);
  REQUIRE(r.finished == n);
  CHECK(r.ok == n);
  CHECK(r.peak_in_flight == n);
  CHECK(r.connections_opened == n);
}

TEST_CASE("a request's connection bound below the client's default is never passed") {
  llm_client_options opts;
  constexpr int n = 300;
  constexpr uint32_t bound = 20;
  auto r = fan_out(opts, bound, n, 20);
  INFO(r.first_error);
  REQUIRE(r.finished == n);
  CHECK(r.ok == n); // the excess queued, none failed
  CHECK(r.peak_in_flight <= bound);
  CHECK(r.peak_in_flight >= 2);
  CHECK(r.connections_opened <= bound);
}

TEST_CASE("a request without a connection bound gets the client's default") {
  llm_client_options opts;
  opts.max_connections_per_endpoint = 8;
  constexpr int n = 40;
  auto r = fan_out(opts, 0, n, 20);
  INFO(r.first_error);
  REQUIRE(r.finished == n);
  CHECK(r.ok == n);
  CHECK(r.peak_in_flight <= 8);
  CHECK(r.connections_opened <= 8);
}
