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
#include "tests/support/mock_broker.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// The mock (stalling every "stall" request), client, LLM actor, a one-slot pool and its broker
/// (tests/support/mock_broker.hpp).
struct deadline_fixture : test::mock_broker {
  llm_actor gate;

  deadline_fixture()
      : mock_broker("faults:\n  - {kind: stall, match: {user: stall}}\ndefault: {reply: ok}\n",
                    {.pool = one_slot()}),
        gate(spawn_broker()) {} // grant_timeout: the default 60 s

  static resource_pool_options one_slot() {
    resource_pool_options popts;
    popts.default_endpoint.max_concurrent = 1;
    return popts;
  }

  agent_actor agent(const std::string& name, caf::timespan timeout) {
    actors::agent_config c;
    c.id = agent_id{"demo", name};
    c.system_prompt = "You are " + name + ".";
    c.model = "mock";
    c.endpoint.url = mock->url();
    c.llm_timeout = timeout;
    return keep(actors::spawn_agent(*sys, std::move(c), gate, {}));
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
