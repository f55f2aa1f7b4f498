// The resource pool without its actor: budget arithmetic and bucket refill on injected times, price
// math, the wait queue, sub-swarm charges, and the pool options read from a spec.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/budget.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/types.hpp"
#include "runtime/pool_options.hpp"
#include "runtime/resource_pool.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

const pool_clock::time_point t0 = pool_clock::time_point{} + 1h;

} // namespace

// -- token bucket -----------------------------------------------------------------------------

TEST_CASE("a token bucket starts full and refills continuously with elapsed time", "[pool]") {
  token_bucket b{60, 60, t0}; // one token per second
  CHECK(b.available(t0) == 60);
  CHECK(b.try_take(60, t0).granted);
  CHECK(b.available(t0) == 0);
  auto r = b.try_take(1, t0 + 500ms);
  CHECK_FALSE(r.granted);
  CHECK(r.wait == 500ms);
  CHECK(b.try_take(1, t0 + 1s).granted);
  CHECK(b.available(t0 + 1s) == 0);
  CHECK(b.available(t0 + 30s + 999ms) == 29);
  CHECK(b.available(t0 + 10min) == 60);
}

TEST_CASE("a token bucket never goes below zero nor above its capacity", "[pool]") {
  token_bucket b{10, 6, t0}; // one token per 10 s
  CHECK(b.try_take(11, t0).wait == std::chrono::nanoseconds::max());
  CHECK(b.available(t0) == 10);
  b.give_back(5, t0);
  CHECK(b.available(t0) == 10);
  b.drain(25, t0);
  CHECK(b.available(t0) == 0);
  CHECK(b.try_take(1, t0).wait == 10s);
  // A clock value from the past neither adds tokens nor moves time back.
  CHECK(b.available(t0 - 1h) == 0);
  CHECK(b.try_take(1, t0 + 10s).granted);
}

TEST_CASE("a token bucket gives the exact wait for a fractional refill", "[pool]") {
  token_bucket b{10, 7, t0};
  REQUIRE(b.try_take(10, t0).granted);
  // 60 s / 7 = 8.571428571428... s, rounded up to the nanosecond.
  CHECK(b.wait_for(1, t0) == std::chrono::nanoseconds{8'571'428'572});
  CHECK_FALSE(b.try_take(1, t0 + std::chrono::nanoseconds{8'571'428'571}).granted);
  CHECK(b.try_take(1, t0 + std::chrono::nanoseconds{8'571'428'572}).granted);
}

TEST_CASE("a token bucket without refill waits forever once empty", "[pool]") {
  token_bucket b{3, 0, t0};
  REQUIRE(b.try_take(3, t0).granted);
  CHECK(b.try_take(1, t0 + 24h).wait == std::chrono::nanoseconds::max());
}

// -- prices and the ledger --------------------------------------------------------------------

TEST_CASE("prices are dollars per million prompt and completion tokens", "[pool]") {
  price_table prices;
  prices.models["big"] = {3.0, 15.0};
  prices.models["small"] = {0.15, 0.6};
  CHECK(prices.cost("big", 1'000'000, 0) == to_nano_usd(3.0));
  CHECK(prices.cost("big", 1000, 500) == 10'500'000);           // $0.003 + $0.0075
  CHECK(prices.cost("small", usage{2000, 1000, 1}) == 900'000); // $0.0003 + $0.0006
  CHECK(prices.cost("unknown", 1000, 1000) == 0);
  prices.fallback = {1.0, 2.0};
  CHECK(prices.cost("unknown", 1000, 1000) == 3'000'000);
  CHECK(to_usd(10'500'000) == Approx(0.0105));
  CHECK(to_nano_usd(-1.0) == 0);
}

TEST_CASE("reserving holds budget and settling releases the unused reservation", "[pool]") {
  budget_limits limits;
  limits.per_agent.max_tokens = 1000;
  price_table prices;
  prices.models["m"] = {1.0, 2.0};
  budget_ledger ledger{limits, prices};
  agent_id a{"team", "a"};
  auto r1 = ledger.reserve({a, "m", 300, 500});
  REQUIRE(r1);
  CHECK(r1->tokens == 800);
  CHECK(r1->cost == 300 * 1000 + 500 * 2000);
  CHECK(ledger.of_agent(a).reserved_tokens == 800);
  CHECK(ledger.of_swarm("team").reserved_tokens == 800);
  CHECK(ledger.total().reserved_tokens == 800);
  CHECK_FALSE(ledger.reserve({a, "m", 100, 200}));
  ledger.settle(*r1, usage{300, 100, 1});
  auto acc = ledger.of_agent(a);
  CHECK(acc.reserved_tokens == 0);
  CHECK(acc.reserved_cost == 0);
  CHECK(acc.used.total_tokens() == 400);
  CHECK(acc.used.calls == 1);
  CHECK(acc.cost == 300 * 1000 + 100 * 2000);
  CHECK(ledger.of_swarm("team").cost == acc.cost);
  CHECK(ledger.total().cost == acc.cost);
  auto r2 = ledger.reserve({a, "m", 100, 200});
  REQUIRE(r2);
  ledger.cancel(*r2);
  CHECK(ledger.of_agent(a).reserved_tokens == 0);
  CHECK(ledger.of_agent(a).used.total_tokens() == 400);
}

TEST_CASE("an exhausted budget names the level that ran out", "[pool]") {
  budget_limits limits;
  limits.per_agent.max_tokens = 1000;
  limits.swarms["research"].max_tokens = 1500;
  limits.runtime.max_usd = 0.01;
  price_table prices;
  prices.models["m"] = {10.0, 10.0}; // $0.00001 a token
  budget_ledger ledger{limits, prices};
  agent_id a{"research", "a"};
  agent_id b{"research", "b"};
  agent_id c{"other", "c"};

  SECTION("the agent's token limit") {
    auto refusal = ledger.check({a, "m", 600, 600});
    REQUIRE(refusal);
    CHECK(refusal->level == budget_level::agent);
    CHECK(refusal->key == "research/a");
    CHECK_FALSE(refusal->money);
    CHECK(refusal->limit == 1000);
    CHECK(refusal->requested == 1200);
    auto res = ledger.reserve({a, "m", 600, 600});
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::budget_exhausted));
    CHECK(describe(res.error()).find("agent 'research/a' token budget exhausted") !=
          std::string::npos);
  }
  SECTION("the swarm's token limit") {
    auto r = ledger.reserve({a, "m", 500, 400});
    REQUIRE(r);
    ledger.settle(*r, usage{500, 400, 1});
    auto refusal = ledger.check({b, "m", 400, 300});
    REQUIRE(refusal);
    CHECK(refusal->level == budget_level::swarm);
    CHECK(refusal->key == "research");
    CHECK(refusal->committed == 900);
    CHECK(refusal->requested == 700);
    CHECK(to_string(*refusal) ==
          "swarm 'research' token budget exhausted: 900 committed + 700 requested > limit 1500");
  }
  SECTION("the runtime's money limit") {
    auto r = ledger.reserve({c, "m", 500, 400}); // $0.009
    REQUIRE(r);
    auto refusal = ledger.check({b, "m", 100, 100}); // + $0.002 > $0.01
    REQUIRE(refusal);
    CHECK(refusal->level == budget_level::runtime);
    CHECK(refusal->money);
    CHECK(refusal->committed == 9'000'000);
    CHECK(refusal->requested == 2'000'000);
    CHECK(refusal->limit == 10'000'000);
    CHECK(to_string(*refusal).find("runtime money budget exhausted: $0.009000 committed") == 0);
  }
}

TEST_CASE("the wait queue pops higher priority first and in arrival order within one", "[pool]") {
  priority_fifo<std::string> q;
  q.push(0, "a");
  q.push(0, "b");
  q.push(5, "c");
  q.push(-1, "d");
  q.push(5, "e");
  q.push(0, "f");
  CHECK(q.size() == 6);
  CHECK(q.take_if([](const std::string& x) { return x == "b"; }) == "b");
  std::vector<std::string> out;
  while (!q.empty())
    out.push_back(q.pop());
  CHECK(out == std::vector<std::string>{"c", "e", "a", "f", "d"});
}

// -- sub-swarm budgets ------------------------------------------------------------------------

TEST_CASE("a call is charged to every swarm its agent belongs to, and the nearest that runs out "
          "refuses it",
          "[pool]") {
  budget_limits limits;
  limits.swarms["demo/inner"].max_tokens = 100;
  limits.swarms["demo/outer"].max_tokens = 150;
  limits.agent_swarms["demo/a"] = {"demo/inner", "demo/outer"};
  limits.agent_swarms["demo/b"] = {"demo/outer", "demo"}; // the root listed too: charged once
  budget_ledger ledger{limits, {}};
  agent_id a{"demo", "a"};
  agent_id b{"demo", "b"};
  auto r = ledger.reserve({a, "m", 40, 40});
  REQUIRE(r);
  ledger.settle(*r, usage{30, 30, 1});
  for (const auto* swarm : {"demo/inner", "demo/outer", "demo"})
    CHECK(ledger.of_swarm(swarm).used.total_tokens() == 60);
  auto refusal = ledger.check({a, "m", 25, 20});
  REQUIRE(refusal);
  CHECK(refusal->level == budget_level::swarm);
  CHECK(refusal->key == "demo/inner");
  CHECK(refusal->committed == 60);
  // b is outside "demo/inner": only the outer swarm holds it back.
  auto rb = ledger.reserve({b, "m", 40, 40});
  REQUIRE(rb);
  CHECK(ledger.of_swarm("demo").reserved_tokens == 80);
  CHECK(ledger.of_swarm("demo/inner").reserved_tokens == 0);
  ledger.settle(*rb, usage{40, 40, 1});
  CHECK(ledger.of_swarm("demo").used.total_tokens() == 140);
  CHECK(ledger.of_swarm("demo/outer").used.total_tokens() == 140);
  auto over = ledger.check({b, "m", 5, 6});
  REQUIRE(over);
  CHECK(over->key == "demo/outer");
  CHECK(to_string(*over) ==
        "swarm 'demo/outer' token budget exhausted: 140 committed + 11 requested > limit 150");
  CHECK(ledger.total().used.total_tokens() == 140);
}

// -- pool options from a spec ----------------------------------------------------------------

TEST_CASE("pool options come from the spec's resources and budgets", "[pool]") {
  auto spec = load_spec_text(R"(
name: demo
resources:
  endpoints:
    - {url: default, max_concurrent: 4, requests_per_minute: 100}
    - {url: "http://h:1/v1", max_concurrent: 2, tokens_per_minute: 5000}
  budget: {tokens: 10000, usd: 5}
  per_swarm: {tokens: 4000, usd: 2}
  per_agent: {tokens: 1000, usd: 0.5}
  prices: [{model: m, prompt: 0.15, completion: 0.6}]
  grant_timeout_ms: 1500
swarms:
  board: {members: [a], budget: {tokens: 300}}
  free: {members: [b]}
swarm: {members: [board, free], budget: {usd: 1}}
agents:
  - {name: a, budget: {tokens: 200}}
  - {name: b}
)");
  REQUIRE(spec);
  auto opts = pool_options_from(*spec);
  CHECK(opts.default_endpoint.max_concurrent == 4);
  CHECK(opts.default_endpoint.requests_per_minute == 100);
  REQUIRE(opts.endpoints.count("http://h:1/v1") == 1);
  CHECK(opts.endpoints["http://h:1/v1"].max_concurrent == 2);
  CHECK(opts.endpoints["http://h:1/v1"].tokens_per_minute == 5000);
  CHECK(opts.budgets.runtime.max_tokens == 10000);
  CHECK(opts.budgets.runtime.max_usd == 5);
  CHECK(opts.budgets.per_swarm.max_tokens == 4000);
  CHECK(opts.budgets.per_agent.max_usd == 0.5);
  // Fields an agent or swarm leaves 0 are inherited from per_agent / per_swarm.
  REQUIRE(opts.budgets.agents.size() == 1);
  CHECK(opts.budgets.agents["demo/a"].max_tokens == 200);
  CHECK(opts.budgets.agents["demo/a"].max_usd == 0.5);
  REQUIRE(opts.budgets.swarms.size() == 2);
  CHECK(opts.budgets.swarms["demo"].max_tokens == 4000);
  CHECK(opts.budgets.swarms["demo"].max_usd == 1);
  CHECK(opts.budgets.swarms["demo/board"].max_tokens == 300);
  CHECK(opts.budgets.swarms["demo/board"].max_usd == 2);
  REQUIRE(opts.prices.models.count("m") == 1);
  CHECK(opts.prices.models["m"].prompt_per_million == 0.15);
  CHECK(opts.prices.models["m"].completion_per_million == 0.6);
  CHECK(broker_options_from(*spec).grant_timeout == 1500ms);
  // The agent budget keys are the ids the factory gives agents.
  CHECK(agent_id{spec->name, "a"}.str() == "demo/a");
}

TEST_CASE("a spec without resources gives an unlimited pool", "[pool]") {
  auto spec = load_spec_text("name: demo\nagents: [{name: a, budget: {usd: 0.1}}]\n");
  REQUIRE(spec);
  auto opts = pool_options_from(*spec);
  CHECK(opts.default_endpoint.max_concurrent == 16);
  CHECK(opts.endpoints.empty());
  CHECK(opts.budgets.runtime.max_tokens == 0);
  CHECK(opts.budgets.agents["demo/a"].max_tokens == 0);
  CHECK(opts.budgets.agents["demo/a"].max_usd == 0.1);
  CHECK(opts.budgets.swarms.empty());
  CHECK(opts.prices.models.empty());
  CHECK(broker_options_from(*spec).grant_timeout == 60s);
}

TEST_CASE("pool options list each agent's enclosing sub-swarms, nearest first and transitively",
          "[pool]") {
  auto spec = load_spec_text(R"(
name: demo
swarms:
  left: {members: [a, inner]}
  inner: {members: [b]}
  right: {members: [c]}
swarm: {members: [left, right, d]}
agents: [{name: a}, {name: b}, {name: c}, {name: d}]
)");
  REQUIRE(spec);
  auto opts = pool_options_from(*spec);
  auto& of = opts.budgets.agent_swarms;
  CHECK(of["demo/a"] == std::vector<std::string>{"demo/left"});
  CHECK(of["demo/b"] == std::vector<std::string>{"demo/inner", "demo/left"});
  CHECK(of["demo/c"] == std::vector<std::string>{"demo/right"});
  CHECK(of.count("demo/d") == 0); // only in the root, its agent_id's swarm
}
