// Budgets that cannot leak: the ledger's sums saturate instead of wrapping, and a reply without
// usage is charged its estimate (marked estimated), so a token budget stops calls in real runs
// against the mock answering without `usage`, streamed or not.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/budget.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/mock_runtime.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t max64 = UINT64_MAX;

} // namespace

TEST_CASE("a bogus huge usage saturates the ledger and the budget stays spent", "[pool]") {
  budget_limits limits;
  limits.per_agent.max_tokens = 200;
  budget_ledger ledger{limits, {}};
  agent_id a{"team", "a"};
  auto r1 = ledger.reserve({a, "m", 10, 10});
  REQUIRE(r1);
  ledger.settle(*r1, usage{5, max64, 1});
  CHECK(ledger.of_agent(a).used.total_tokens() == max64);
  // Wrapping would make the committed amount small again and let this call through.
  auto refusal = ledger.check({a, "m", 10, 10});
  REQUIRE(refusal);
  CHECK(refusal->level == budget_level::agent);
  CHECK(refusal->committed == max64);
  CHECK_FALSE(ledger.reserve({a, "m", 10, 10}));
  // The unlimited levels saturate as well instead of starting over.
  CHECK(ledger.total().used.completion_tokens == max64);
  CHECK(ledger.of_swarm("team").used.total_tokens() == max64);
  ledger.settle(*ledger.reserve({agent_id{"team", "b"}, "m", 1, 1}), usage{1, 1, 1});
  CHECK(ledger.total().used.total_tokens() == max64);
}

TEST_CASE("sums past 2^64 saturate at every level, reservations included", "[pool]") {
  budget_ledger ledger; // unlimited
  agent_id a{"team", "a"};
  auto r1 = ledger.reserve({a, "m", max64 - 5, 10});
  REQUIRE(r1);
  CHECK(r1->tokens == max64);
  CHECK(ledger.total().reserved_tokens == max64);
  auto r2 = ledger.reserve({a, "m", 1, 1});
  REQUIRE(r2);
  CHECK(ledger.total().reserved_tokens == max64);
  ledger.settle(*r1, usage{max64 - 5, 10, 1});
  ledger.settle(*r2, usage{10, 1, 1}); // prompt: 2^64 - 5 + 10
  auto acc = ledger.of_agent(a);
  CHECK(acc.used.prompt_tokens == max64);
  CHECK(acc.used.completion_tokens == 11);
  CHECK(acc.used.calls == 2);
}

TEST_CASE("the cost of a huge usage saturates instead of overflowing", "[pool]") {
  budget_limits limits;
  limits.runtime.max_usd = 5;
  price_table prices;
  prices.models["m"] = {1.0, 2.0};
  CHECK(prices.cost("m", 0, uint64_t{1} << 63) == max64);
  CHECK(prices.cost("m", max64, max64) == max64);
  budget_ledger ledger{limits, prices};
  agent_id a{"team", "a"};
  auto r = ledger.reserve({a, "m", 10, 10});
  REQUIRE(r);
  ledger.settle(*r, usage{0, uint64_t{1} << 63, 1});
  CHECK(ledger.total().cost == max64);
  auto refusal = ledger.check({a, "m", 1, 1});
  REQUIRE(refusal);
  CHECK(refusal->money);
}

TEST_CASE("calls settled with their estimate are counted as estimated", "[pool]") {
  budget_ledger ledger;
  agent_id a{"team", "a"};
  auto r1 = ledger.reserve({a, "m", 21, 100});
  REQUIRE(r1);
  ledger.settle(*r1, usage{21, 100, 1}, true);
  auto r2 = ledger.reserve({a, "m", 21, 100});
  REQUIRE(r2);
  ledger.settle(*r2, usage{20, 4, 1});
  CHECK(ledger.of_agent(a).estimated_calls == 1);
  CHECK(ledger.of_swarm("team").estimated_calls == 1);
  CHECK(ledger.total().estimated_calls == 1);
  CHECK(ledger.total().used.total_tokens() == 145);
}

TEST_CASE("a reply without usage is charged its estimate: a 200-token budget stops the second "
          "call") {
  auto stream = GENERATE(false, true);
  INFO("stream: " << stream);
  test::mock_runtime f{"default: {reply: ok, usage: none}\n"};
  auto& mock = f.mock;
  runtime rt{f.options(false), f.overrides()};
  std::mutex mtx;
  std::vector<event> finished_calls;
  auto watching = rt.on_event([&](const event& e) {
    if (e.kind != event_kind::llm_call_finished)
      return;
    std::lock_guard<std::mutex> guard{mtx};
    finished_calls.push_back(e);
  });
  // Each call's estimate: its prompt (a dozen tokens) + max_tokens 100; the reply says nothing
  // of its usage. Charged 0, every call would fit in 200; charged its estimate, only one does.
  auto spec = load_spec_text(std::string{"name: solo\nllm: {max_tokens: 100, stream: "} +
                             (stream ? "true" : "false") +
                             "}\nresources: {budget: {tokens: 200}}\n"
                             "agents:\n  - {name: a, system_prompt: You are a.}\n");
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto first = team->run({"one"});
  REQUIRE(first);
  CHECK(first->text == "## a\nok");
  auto spent = team->spent();
  CHECK(spent.use.total_tokens() > 100);
  CHECK(spent.use.total_tokens() <= 200);
  CHECK(spent.use.completion_tokens == 100); // the estimate: max_tokens
  CHECK(spent.reserved_tokens == 0);
  CHECK(first->use.total_tokens() == spent.use.total_tokens());
  auto second = team->run({"two"});
  REQUIRE_FALSE(second);
  CHECK(describe(second.error()).find("budget") != std::string::npos);
  auto third = team->run({"three"});
  REQUIRE_FALSE(third);
  CHECK(mock->stats().chat_requests == 1); // refused calls never reached the endpoint
  CHECK(team->spent().use.total_tokens() == spent.use.total_tokens());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto estimated = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    for (const auto& e : finished_calls)
      if (!e.error && e.estimated && e.use.total_tokens() == spent.use.total_tokens())
        return true;
    return false;
  };
  while (!estimated() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  CHECK(estimated());
}

TEST_CASE("a settle that takes a budget past 80 % reports it once, tokens and dollars apart",
          "[pool]") {
  budget_limits limits;
  limits.per_agent.max_tokens = 100;
  limits.runtime.max_usd = 1.0;
  price_table prices;
  prices.models["m"] = model_price{1'000'000, 0}; // a dollar per prompt token
  budget_ledger ledger{limits, prices};
  agent_id a{"team", "a"};
  auto settle = [&](uint64_t prompt, uint64_t completion) {
    auto r = ledger.reserve({a, "m", 1, 1});
    REQUIRE(r);
    return ledger.settle(*r, usage{prompt, completion, 1});
  };
  CHECK(settle(0, 79).empty()); // 79 tokens, $0: below 80 % everywhere
  auto crossed = settle(0, 1);  // 80 tokens: the agent's budget crosses 80 %
  REQUIRE(crossed.size() == 1);
  CHECK(crossed[0].level == budget_level::agent);
  CHECK(crossed[0].key == "team/a");
  CHECK_FALSE(crossed[0].money);
  CHECK(crossed[0].spent == 80);
  CHECK(crossed[0].limit == 100);
  CHECK(describe(crossed[0]) == "agent 'team/a' has spent 80 of its 100 tokens (80 %)");
  CHECK(settle(0, 5).empty()); // past it already: not again
  crossed = settle(0, 0);      // no use, no news
  CHECK(crossed.empty());
  // A reservation that was never used settles nothing.
  crossed = ledger.settle(*ledger.reserve({agent_id{"team", "b"}, "m", 1, 1}), usage{});
  CHECK(crossed.empty());
  // The run's dollar budget: one prompt token ($1 of $1) on another agent crosses it, as money.
  auto r = ledger.reserve({agent_id{"team", "b"}, "m", 1, 0});
  REQUIRE(r);
  crossed = ledger.settle(*r, usage{1, 0, 1});
  REQUIRE(crossed.size() == 1);
  CHECK(crossed[0].level == budget_level::runtime);
  CHECK(crossed[0].money);
  CHECK(crossed[0].spent == Approx(1.0));
  CHECK(describe(crossed[0]) == "the run has spent $1.0000 of its $1.0000 (100 %)");
}

// Coordinators wrap a member's budget refusal in their own codes (member_failed,
// all_members_failed); the run's end looks through them: the run is budget_exhausted in its
// error, its run_finished event and the journal, and a failure of another cause stays "failed".
TEST_CASE("a run the budget stopped ends budget_exhausted, however deep the refusal") {
  struct shape {
    const char* name;
    const char* swarm; // the spec's swarm part
    const char* wrapped;
  };
  auto s = GENERATE(
      // a answers (60 tokens of 100), b's call (its estimate over 50) is refused: member_failed.
      shape{"pipeline", "swarm: {architecture: sequential, members: [a, b]}\n", "member_failed"},
      // The refusals are the members of a nested swarm: all_members_failed two levels up.
      shape{"nested",
            "swarms:\n  sub: {architecture: concurrent, members: [b, c]}\n"
            "swarm: {architecture: concurrent, members: [sub]}\n",
            "all_members_failed"});
  INFO(s.name);
  test::mock_runtime f{"default: {reply: ok, usage: {prompt_tokens: 10, completion_tokens: 50}}\n"};
  runtime rt{f.options(), f.overrides()};
  std::mutex mtx;
  std::vector<event> finished;
  auto watching = rt.on_event([&](const event& e) {
    if (e.kind != event_kind::run_finished)
      return;
    std::lock_guard<std::mutex> guard{mtx};
    finished.push_back(e);
  });
  auto budget = std::string{s.name} == "nested" ? "20" : "100";
  auto team = f.spawn(rt, std::string{"name: team\nllm: {max_tokens: 50}\n"} +
                              "resources: {budget: {tokens: " + budget + "}}\n" +
                              "agents:\n  - {name: a, system_prompt: You are a.}\n"
                              "  - {name: b, system_prompt: You are b.}\n"
                              "  - {name: c, system_prompt: You are c.}\n" +
                              s.swarm);
  REQUIRE(team);
  task_input in{"go"};
  in.run_id = std::string{"budget-"} + s.name;
  auto r = team->run(in);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::budget_exhausted));
  // The coordinator's own words are kept whole in the message.
  CHECK(describe(r.error()).rfind(std::string{"budget_exhausted: "} + s.wrapped + ": ", 0) == 0);
  CHECK(describe(r.error()).find("refused") != std::string::npos);
  CHECK(f.mock->stats().chat_requests == (std::string{s.name} == "pipeline" ? 1u : 0u));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto count = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    return finished.size();
  };
  while (count() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  {
    std::lock_guard<std::mutex> guard{mtx};
    REQUIRE(finished.size() == 1);
    CHECK(finished[0].name == "budget_exhausted");
    CHECK(is(finished[0].error, errc::budget_exhausted));
  }
  auto info = rt.find_run(in.run_id);
  REQUIRE(info);
  REQUIRE(*info);
  CHECK((*info)->status == "budget_exhausted");
  CHECK((*info)->error == describe(r.error()));
}

TEST_CASE("a run that failed of another cause stays failed, budget or not") {
  test::mock_runtime f{"faults:\n  - {kind: http_500}\n"};
  auto opts = f.options();
  opts.llm.max_retries = 0;
  runtime rt{opts, f.overrides()};
  auto team = f.spawn(rt, "name: team\nresources: {budget: {tokens: 100000}}\n"
                          "agents:\n  - {name: a, system_prompt: You are a.}\n");
  REQUIRE(team);
  task_input in{"go"};
  in.run_id = "http-500";
  auto r = team->run(in);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::all_members_failed));
  auto info = rt.find_run(in.run_id);
  REQUIRE(info);
  REQUIRE(*info);
  CHECK((*info)->status == "failed");
}
