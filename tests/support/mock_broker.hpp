// The LLM path of a runtime without the runtime, for broker tests: the in-process mock LLM, an
// actor system, the real LLM client and LLM actor, a resource pool, and brokers spawned on them
// (runtime/llm_broker.hpp); everything is stopped with the fixture.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/types.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/resource_pool.hpp"
#include "tests/support/mock_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace swarm::test {

/// How a mock_broker is set up; the defaults suit most tests.
struct mock_broker_options {
  resource_pool_options pool;    ///< the pool's budgets, prices and slots
  uint32_t max_retries = 0;      ///< the client's retries (after 1-5 ms)
  size_t scheduler_threads = 2;  ///< the actor system's
  mock_llm::server_options mock; ///< on top of the script
};

struct mock_broker {
  temp_dir dir;
  std::unique_ptr<mock_llm::server> mock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<net::llm_client> client;
  llm_actor llm; // the client as an actor (a broker's `inner` path)
  std::optional<resource_pool_client> pool;
  std::vector<caf::actor> kept; // brokers and other actors stopped with the fixture

  /// Starts the mock with `script` (docs/mock-llm.md; empty: default replies) and the rest.
  explicit mock_broker(const std::string& script, mock_broker_options opts = {})
      : mock(start_mock(dir, script, std::move(opts.mock))) {
    register_types(cfg);
    cfg.set("scheduler.max-threads", opts.scheduler_threads);
    sys = std::make_unique<caf::actor_system>(cfg);
    llm_client_options copts;
    copts.max_retries = opts.max_retries;
    copts.backoff_base = std::chrono::milliseconds(1);
    copts.backoff_max = std::chrono::milliseconds(5);
    client = std::make_shared<net::llm_client>(copts);
    llm = net::spawn_llm_actor(*sys, client);
    pool.emplace(*sys, spawn_resource_pool(*sys, std::move(opts.pool)));
  }

  ~mock_broker() {
    client->stop();
    for (auto& a : kept)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(pool->handle(), caf::exit_reason::user_shutdown);
    kept.clear();
    llm = nullptr;
    pool.reset();
    client.reset();
    sys.reset();
    mock->stop();
  }

  mock_broker(const mock_broker&) = delete;
  mock_broker& operator=(const mock_broker&) = delete;

  /// A broker on the client and the pool, stopped with the fixture.
  llm_actor spawn_broker(llm_broker_options opts = {}) {
    return keep(spawn_llm_broker(*sys, client, pool->handle(), std::move(opts)));
  }

  /// Keeps `a` to stop it with the fixture.
  template <class Handle>
  Handle keep(Handle a) {
    kept.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  /// The pool's view of the mock's endpoint now.
  endpoint_report occupancy() const {
    auto r = pool->occupancy(mock->url());
    REQUIRE(r);
    return *r;
  }
};

} // namespace swarm::test
