// The resource pool actor's grants: fairness, slot limits, release, waiting, timeouts, exhausted
// budgets, leases, withdrawal, and sub-swarm budgets. Its arithmetic:
// resource_pool_ledger_test.cpp.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "runtime/budget.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/types.hpp"
#include "runtime/pool_options.hpp"
#include "runtime/resource_pool.hpp"
#include "tests/support/eventually.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

// -- fixtures ---------------------------------------------------------------------------------

caf::actor_system_config& config() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    register_types(c);
    c.set("scheduler.max-threads", 2);
    return c;
  }();
  return cfg;
}

const std::string ep = "http://llm.test/v1";

struct pool_fixture {
  caf::actor_system sys{config()};
  resource_pool_client pool;

  explicit pool_fixture(resource_pool_options opts)
      : pool(sys, spawn_resource_pool(sys, std::move(opts))) {}

  ~pool_fixture() { caf::anon_send_exit(pool.handle(), caf::exit_reason::user_shutdown); }

  size_t waiting() {
    auto r = pool.occupancy(ep);
    return r ? r->waiting : 0;
  }
};

resource_pool_options slots(size_t n) {
  resource_pool_options opts;
  opts.default_endpoint.max_concurrent = n;
  return opts;
}

grant_request call(std::string agent, uint64_t prompt = 10, uint64_t completion = 10,
                   int32_t priority = 0) {
  return {agent_id{"team", std::move(agent)}, ep, "m", prompt, completion, priority, 10s};
}

/// Thread-safe record of grant order.
struct grant_log {
  std::mutex mx;
  std::vector<std::string> order;

  void add(const std::string& x) {
    std::lock_guard<std::mutex> guard{mx};
    order.push_back(x);
  }

  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> guard{mx};
    return order;
  }
};

/// Sends its requests in the given order (one sender keeps them in order at the pool), records
/// each grant by agent name and releases it at once.
void requester(caf::event_based_actor* self, resource_pool_actor pool,
               std::vector<grant_request> reqs, std::shared_ptr<grant_log> log) {
  for (auto& req : reqs) {
    auto name = req.agent.name;
    self->request(pool, 10s, std::move(req))
        .then(
            [pool, log, name](grant& g) {
              log->add(name);
              caf::anon_send(pool, grant_release{g.lease, usage{}});
            },
            [log, name](caf::error&) { log->add("error:" + name); });
  }
}

} // namespace

// -- the pool actor ---------------------------------------------------------------------------

TEST_CASE("grants follow request order within a priority and higher priority first", "[pool]") {
  pool_fixture f{slots(1)};
  auto first = f.pool.acquire(call("holder"));
  REQUIRE(first);
  auto log = std::make_shared<grant_log>();
  std::vector<grant_request> reqs{
      call("a"), call("b"), call("urgent", 10, 10, 5), call("c"), call("low", 10, 10, -1),
      call("d")};
  auto sender = f.sys.spawn(requester, f.pool.handle(), std::move(reqs), log);
  REQUIRE(test::eventually([&] { return f.waiting() == 6; }, 5s));
  f.pool.release(first->lease, usage{});
  REQUIRE(test::eventually([&] { return log->snapshot().size() == 6; }, 5s));
  CHECK(log->snapshot() == std::vector<std::string>{"urgent", "a", "b", "c", "d", "low"});
  caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
}

TEST_CASE("concurrent calls never hold more slots than the endpoint allows", "[pool]") {
  pool_fixture f{slots(3)};
  std::atomic<int> held{0};
  std::atomic<int> max_held{0};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      auto g = f.pool.acquire(call("a" + std::to_string(i)));
      if (!g)
        return;
      ++granted;
      auto now = ++held;
      auto prev = max_held.load();
      while (now > prev && !max_held.compare_exchange_weak(prev, now)) {
      }
      // Hold the slot briefly so that callers overlap.
      std::this_thread::sleep_for(2ms);
      --held; // before the release, so the count never lags behind the pool
      f.pool.release(g->lease, usage{10, 5, 1});
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(granted == 12);
  CHECK(max_held <= 3);
  CHECK(max_held >= 1);
  REQUIRE(test::eventually(
      [&] {
        auto total = f.pool.usage_total();
        return total && total->use.calls == 12;
      },
      5s));
  auto total = f.pool.usage_total();
  CHECK(total->use.total_tokens() == 12 * 15);
  CHECK(total->reserved_tokens == 0);
  CHECK(f.pool.occupancy(ep)->held == 0);
}

TEST_CASE("release settles the usage, prices it and frees the slot", "[pool]") {
  auto opts = slots(1);
  opts.prices.models["m"] = {1.0, 3.0};
  pool_fixture f{opts};
  agent_id a{"team", "a"};
  auto g = f.pool.acquire(call("a", 100, 200));
  REQUIRE(g);
  CHECK(g->reserved_tokens == 300);
  CHECK(f.pool.occupancy(ep)->held == 1);
  CHECK(f.pool.usage_of(a)->reserved_tokens == 300);
  f.pool.release(g->lease, usage{100, 50, 1});
  auto mine = f.pool.usage_of(a);
  REQUIRE(mine);
  CHECK(mine->use.prompt_tokens == 100);
  CHECK(mine->use.completion_tokens == 50);
  CHECK(mine->use.calls == 1);
  CHECK(mine->reserved_tokens == 0);
  CHECK(mine->cost_usd == Approx(0.00025)); // 100 * $1/M + 50 * $3/M
  auto team = f.pool.usage_of_swarm("team");
  REQUIRE(team);
  CHECK(team->use.total_tokens() == 150);
  CHECK(f.pool.usage_of_swarm("nobody")->use.calls == 0);
  CHECK(f.pool.occupancy(ep)->held == 0);
  // A second release of the same lease changes nothing.
  f.pool.release(g->lease, usage{100, 50, 1});
  CHECK(f.pool.usage_of(a)->use.calls == 1);
}

TEST_CASE("a request waiting on a full pool is granted when a slot frees", "[pool]") {
  pool_fixture f{slots(1)};
  auto first = f.pool.acquire(call("a"));
  REQUIRE(first);
  auto second = std::async(std::launch::async, [&] { return f.pool.acquire(call("b")); });
  REQUIRE(test::eventually([&] { return f.waiting() == 1; }, 5s));
  CHECK(second.wait_for(0s) == std::future_status::timeout);
  f.pool.release(first->lease, usage{});
  REQUIRE(second.wait_for(5s) == std::future_status::ready);
  auto g = second.get();
  REQUIRE(g);
  CHECK(g->agent.name == "b");
  CHECK(f.pool.occupancy(ep)->held == 1);
  f.pool.release(g->lease, usage{});
}

TEST_CASE("a request that waits past its timeout gets request_timeout and leaves the queue",
          "[pool]") {
  pool_fixture f{slots(1)};
  auto first = f.pool.acquire(call("a"));
  REQUIRE(first);
  auto req = call("b");
  req.timeout = 50ms;
  auto started = std::chrono::steady_clock::now();
  auto g = f.pool.acquire(req);
  REQUIRE_FALSE(g);
  CHECK(g.error() == caf::sec::request_timeout);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(f.waiting() == 0);
  CHECK(f.pool.usage_of(agent_id{"team", "b"})->reserved_tokens == 0);
  f.pool.release(first->lease, usage{});
  auto again = f.pool.acquire(call("c"));
  CHECK(again);
}

TEST_CASE("the pool refuses a call past a budget with budget_exhausted naming the level",
          "[pool]") {
  auto opts = slots(2);
  opts.budgets.swarms["team"].max_tokens = 100;
  pool_fixture f{opts};
  auto g = f.pool.acquire(call("a", 100, 100));
  REQUIRE_FALSE(g);
  CHECK(is(g.error(), errc::budget_exhausted));
  CHECK(describe(g.error()).find("swarm 'team' token budget exhausted") != std::string::npos);
  CHECK(f.waiting() == 0);
  // The pool is still serving calls that fit.
  auto small = f.pool.acquire(call("a", 40, 40));
  REQUIRE(small);
  f.pool.release(small->lease, usage{40, 40, 1});
  auto over = f.pool.acquire(call("b", 10, 11));
  REQUIRE_FALSE(over);
  CHECK(describe(over.error()).find("80 committed + 21 requested > limit 100") !=
        std::string::npos);
}

TEST_CASE("a request over the endpoint's token rate waits for the bucket, then is granted",
          "[pool]") {
  auto opts = slots(4);
  opts.default_endpoint.tokens_per_minute = 12'000; // 200 tokens a second
  pool_fixture f{opts};
  // An estimate of the whole capacity takes a full bucket and empties it.
  auto big = f.pool.acquire(call("a", 12'000, 0));
  REQUIRE(big);
  f.pool.release(big->lease, usage{12'000, 0, 1});
  // 20 tokens need about 100 ms of refill; no release is needed for the grant to come.
  auto started = std::chrono::steady_clock::now();
  auto g = f.pool.acquire(call("b", 10, 10));
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(g);
  CHECK(took >= 50ms);
  CHECK(took < 5s);
  f.pool.release(g->lease, usage{10, 10, 1});
}

TEST_CASE("an estimate above the endpoint's tokens per minute is refused at once, saying so",
          "[pool]") {
  auto opts = slots(4);
  opts.default_endpoint.tokens_per_minute = 12'000;
  pool_fixture f{opts};
  auto started = std::chrono::steady_clock::now();
  auto over = f.pool.acquire(call("a", 11'000, 1'024)); // could never fit: no 60 s wait
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(over);
  CHECK(is(over.error(), errc::llm_rate_limited));
  CHECK_THAT(describe(over.error()),
             Catch::Contains("agent 'team/a'") &&
                 Catch::Contains("estimate (12024 tokens: prompt 11000 + completion up to 1024) "
                                 "exceeds tokens_per_minute 12000 of endpoint " +
                                 ep));
  CHECK(took < 2s);
  CHECK(f.waiting() == 0);
  // Nothing was reserved for it, and a call that fits goes through.
  auto fits = f.pool.acquire(call("a", 6'000, 6'000));
  REQUIRE(fits);
  f.pool.release(fits->lease, usage{10, 10, 1});
  auto spent = f.pool.usage_of(agent_id{"team", "a"});
  REQUIRE(spent);
  CHECK(spent->use.total_tokens() == 20);
  CHECK(spent->reserved_tokens == 0);
}

TEST_CASE("calls on a model without a price are counted, so the cost is known to be unknown",
          "[pool]") {
  auto opts = slots(2);
  opts.prices.models["m"] = model_price{1.0, 2.0};
  pool_fixture f{opts};
  auto priced = f.pool.acquire(call("a")); // model "m"
  REQUIRE(priced);
  f.pool.release(priced->lease, usage{1'000, 1'000, 1});
  auto other = call("b");
  other.model = "unpriced-model";
  auto unpriced = f.pool.acquire(other);
  REQUIRE(unpriced);
  f.pool.release(unpriced->lease, usage{1'000, 1'000, 1});
  auto a = f.pool.usage_of(agent_id{"team", "a"});
  auto b = f.pool.usage_of(agent_id{"team", "b"});
  auto total = f.pool.usage_total();
  REQUIRE((a && b && total));
  CHECK(a->unpriced_calls == 0);
  CHECK(a->cost_usd == Approx(0.003));
  CHECK(b->unpriced_calls == 1);
  CHECK(b->cost_usd == 0);
  CHECK(total->unpriced_calls == 1);
  // A model listed as free is priced: its cost is known to be 0.
  price_table free;
  free.models["local"] = model_price{};
  CHECK(free.knows("local"));
  CHECK_FALSE(free.knows("gpt-4o"));
}

TEST_CASE("a grant never released is reclaimed after its lease and slack", "[pool]") {
  auto opts = slots(1);
  opts.lease_slack = 20ms;
  pool_fixture f{opts};
  auto req = call("a", 10, 10);
  req.lease = 30ms;
  auto forgotten = f.pool.acquire(req);
  REQUIRE(forgotten);
  CHECK(f.pool.occupancy(ep)->held == 1);
  // Nobody releases it: the slot comes back, the next caller gets it.
  REQUIRE(test::eventually([&] { return f.pool.occupancy(ep)->reclaimed == 1; }, 5s));
  CHECK(f.pool.occupancy(ep)->held == 0);
  auto next = f.pool.acquire(call("b"));
  REQUIRE(next);
  CHECK(f.pool.occupancy(ep)->held == 1);
  // The forgotten call's reservation stays until its holder settles it, late.
  auto a = agent_id{"team", "a"};
  CHECK(f.pool.usage_of(a)->reserved_tokens == 20);
  f.pool.release(forgotten->lease, usage{7, 5, 1});
  REQUIRE(test::eventually([&] { return f.pool.usage_of(a)->use.calls == 1; }, 5s));
  CHECK(f.pool.usage_of(a)->reserved_tokens == 0);
  CHECK(f.pool.usage_of(a)->use.total_tokens() == 12);
  // The late release did not free a second slot: `b` still holds the only one.
  CHECK(f.pool.occupancy(ep)->held == 1);
  f.pool.release(next->lease, usage{});
  REQUIRE(test::eventually([&] { return f.pool.occupancy(ep)->held == 0; }, 5s));
}

TEST_CASE("a grant released in time is not reclaimed", "[pool]") {
  auto opts = slots(1);
  opts.lease_slack = 1ms;
  pool_fixture f{opts};
  auto req = call("a");
  req.lease = 1ms;
  auto g = f.pool.acquire(req);
  REQUIRE(g);
  f.pool.release(g->lease, usage{1, 1, 1});
  // A second grant on the same slot outlives the first one's lease timer untouched.
  auto second = f.pool.acquire(call("b"));
  REQUIRE(second);
  std::this_thread::sleep_for(20ms);
  CHECK(f.pool.occupancy(ep)->held == 1);
  CHECK(f.pool.occupancy(ep)->reclaimed == 0);
  f.pool.release(second->lease, usage{});
}

TEST_CASE("a waiting request withdrawn by its ticket leaves the queue with llm_cancelled",
          "[pool]") {
  pool_fixture f{slots(1)};
  auto first = f.pool.acquire(call("a"));
  REQUIRE(first);
  auto req = call("b", 30, 30);
  req.ticket = 77;
  auto waiting = std::async(std::launch::async, [&] { return f.pool.acquire(req); });
  REQUIRE(test::eventually([&] { return f.waiting() == 1; }, 5s));
  CHECK(f.pool.usage_of(agent_id{"team", "b"})->reserved_tokens == 60);
  caf::anon_send(f.pool.handle(), grant_withdraw{78}); // not its ticket: ignored
  caf::anon_send(f.pool.handle(), grant_withdraw{77});
  auto g = waiting.get();
  REQUIRE_FALSE(g);
  CHECK(is(g.error(), errc::llm_cancelled));
  CHECK(f.waiting() == 0);
  CHECK(f.pool.usage_of(agent_id{"team", "b"})->reserved_tokens == 0);
  f.pool.release(first->lease, usage{});
}

// -- sub-swarm budgets ------------------------------------------------------------------------

TEST_CASE("a sub-swarm's budget runs out while its sibling sub-swarm goes on", "[pool]") {
  auto spec = load_spec_text(R"(
name: demo
resources: {per_swarm: {tokens: 1000}}
swarms:
  board: {members: [a], budget: {tokens: 100}}
  free: {members: [b]}
swarm: {members: [board, free]}
agents: [{name: a}, {name: b}]
)");
  REQUIRE(spec);
  pool_fixture f{pool_options_from(*spec)};
  auto ask = [](const std::string& name) {
    return grant_request{agent_id{"demo", name}, ep, "m", 15, 15, 0, 10s};
  };
  auto spend = [&](const std::string& name) -> caf::error {
    auto g = f.pool.acquire(ask(name));
    if (!g)
      return std::move(g.error());
    f.pool.release(g->lease, usage{15, 15, 1});
    return {};
  };
  // 30 tokens a call: board allows 3 of a's calls, then refuses a and only a.
  for (int i = 0; i < 3; ++i)
    REQUIRE_FALSE(spend("a"));
  auto refused = spend("a");
  REQUIRE(refused);
  CHECK(is(refused, errc::budget_exhausted));
  CHECK(describe(refused).find(
            "swarm 'demo/board' token budget exhausted: 90 committed + 30 requested > limit 100") !=
        std::string::npos);
  for (int i = 0; i < 10; ++i)
    REQUIRE_FALSE(spend("b"));
  CHECK(spend("a")); // still refused
  REQUIRE(test::eventually([&] { return f.pool.usage_of_swarm("demo")->use.calls == 13; }, 5s));
  CHECK(f.pool.usage_of_swarm("demo/board")->use.total_tokens() == 90);
  CHECK(f.pool.usage_of_swarm("demo/free")->use.total_tokens() == 300);
  CHECK(f.pool.usage_of_swarm("demo")->use.total_tokens() == 390);
  CHECK(f.pool.usage_total()->use.total_tokens() == 390);
  CHECK(f.pool.usage_of(agent_id{"demo", "a"})->use.calls == 3);
}
