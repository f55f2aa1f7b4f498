// One deadline per LLM call, set by the agent (chat_request::timeout): it covers the wait for a
// grant and the call itself. Agents behind a broker with one slot on an endpoint that stalls: a
// call past its deadline is closed on the wire, never sent late, and its slot goes to the next.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/agent.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/resource_pool.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// The mock (stalling every "stall" request), client, LLM actor, a one-slot pool and its broker.
struct deadline_fixture {
  test::temp_dir dir;
  std::unique_ptr<mock_llm::server> mock;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<net::llm_client> client;
  llm_actor llm;
  std::optional<resource_pool_client> pool;
  llm_actor gate;
  std::vector<caf::actor> agents;

  deadline_fixture() {
    auto started = mock_llm::server::start(
        {.script_path = dir.write("mock.yaml", "faults:\n  - {kind: stall, match: {user: stall}}\n"
                                               "default: {reply: ok}\n")});
    REQUIRE(started);
    mock = std::move(*started);
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    llm_client_options copts;
    copts.max_retries = 0;
    client = std::make_shared<net::llm_client>(copts);
    llm = net::spawn_llm_actor(*sys, client);
    resource_pool_options popts;
    popts.default_endpoint.max_concurrent = 1;
    pool.emplace(*sys, spawn_resource_pool(*sys, popts));
    gate = spawn_llm_broker(*sys, client, pool->handle()); // grant_timeout: the default 60 s
  }

  ~deadline_fixture() {
    client->stop();
    for (auto& a : agents)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(pool->handle(), caf::exit_reason::user_shutdown);
    agents.clear();
    gate = nullptr;
    llm = nullptr;
    pool.reset();
    client.reset();
    sys.reset();
    mock->stop();
  }

  agent_actor agent(const std::string& name, caf::timespan timeout) {
    actors::agent_config c;
    c.id = agent_id{"demo", name};
    c.system_prompt = "You are " + name + ".";
    c.model = "mock";
    c.endpoint.url = mock->url();
    c.llm_timeout = timeout;
    auto a = actors::spawn_agent(*sys, std::move(c), gate, {});
    agents.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  endpoint_report occupancy() const {
    auto r = pool->occupancy(mock->url());
    REQUIRE(r);
    return *r;
  }
};

} // namespace

TEST_CASE("a call's deadline covers its grant wait: past it the call is never sent late, the "
          "stalled one is closed and the slot goes to the next caller") {
  deadline_fixture f;
  auto holder = f.agent("holder", 1500ms);
  auto waiter = f.agent("waiter", 700ms);
  auto next = f.agent("next", 5s);
  caf::scoped_actor self{*f.sys};
  auto t0 = clock_type::now();
  auto held = self->request(holder, 10s, task{"t1", "r1", "stall please", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  // The waiter's deadline passes while the holder keeps the only slot.
  auto waited = self->request(waiter, 10s, task{"t2", "r1", "stall as well", "user", {}});
  result w;
  std::move(waited).receive([&](result& r) { w = std::move(r); },
                            [&](caf::error& err) { FAIL(describe(err)); });
  auto waiter_done = clock_type::now() - t0;
  CHECK(is(w.error, errc::llm_timeout));
  CHECK_THAT(describe(w.error), Catch::Contains("700 ms"));
  CHECK(waiter_done < 1400ms); // its own deadline, not the grant timeout nor a fresh one
  result h;
  std::move(held).receive([&](result& r) { h = std::move(r); },
                          [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(is(h.error, errc::llm_timeout));
  // The stalled request was closed on the wire and the slot came back at once.
  CHECK(test::eventually([&] { return f.mock->stats().cancels == 1; }));
  auto freed = clock_type::now();
  result n;
  self->request(next, 10s, task{"t3", "r1", "hello", "user", {}})
      .receive([&](result& r) { n = std::move(r); }, [&](caf::error& err) { FAIL(describe(err)); });
  CHECK_FALSE(n.error);
  CHECK(n.text == "ok");
  CHECK(clock_type::now() - freed < 1s);
  // The waiter never reached the endpoint: only the holder's and the next call did.
  CHECK(f.mock->stats().chat_requests == 2);
  CHECK(test::eventually([&] { return f.occupancy().held == 0; }));
  CHECK(f.occupancy().waiting == 0);
}
