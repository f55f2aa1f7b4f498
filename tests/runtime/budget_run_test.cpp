// The resource pool in real runs (issue D): a budget that runs out mid-run ends the run cleanly
// with partial results and exact accounting; concurrency never passes the endpoint's slots; a
// storm of 429s slows the swarm down without failing it; an endpoint's slots are its connections
// too (a spec's max_concurrent above the client's default is served at once).
#include <chrono>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/mock_runtime.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

std::string panel_spec(const std::string& resources, int agents) {
  std::string out = "name: panel\nllm: {max_tokens: 5}\n" + resources + "agents:\n";
  for (int i = 1; i <= agents; ++i)
    out += "  - {name: m" + std::to_string(i) + ", system_prompt: You are member " +
           std::to_string(i) + ".}\n";
  return out;
}

// Runs without a data directory.
struct fixture : test::mock_runtime {
  using mock_runtime::mock_runtime;
  runtime_options options() const { return mock_runtime::options(false); }
};

} // namespace

TEST_CASE("a budget that runs out mid-run ends it with partial results and exact accounting") {
  fixture f{"default: {reply: ok, usage: {prompt_tokens: 10, completion_tokens: 5}}\n"};
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  // Each call reserves its estimate (about 20 prompt tokens + max_tokens 5) and settles 15: a
  // budget of 60 grants two reservations at once and refuses the rest.
  auto spec = load_spec_text(panel_spec("resources: {budget: {tokens: 60}}\n", 4));
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto r = team->run({"go"});
  REQUIRE(r); // partial: the swarm answers with what it has
  size_t ok = 0, refused = 0;
  usage members;
  for (const auto& m : r->trace) {
    if (!m.error) {
      ++ok;
      members += m.use;
    } else {
      CHECK(is(m.error, errc::budget_exhausted));
      CHECK(describe(m.error).find("panel/m") != std::string::npos);
      ++refused;
    }
  }
  CHECK(ok >= 1);
  CHECK(refused >= 1);
  CHECK(ok + refused == 4);
  CHECK(f.mock->stats().chat_requests == ok); // refused calls never reached the endpoint
  auto spent = team->spent();
  CHECK(spent.use.total_tokens() == 15 * ok);
  CHECK(spent.use.total_tokens() == members.total_tokens());
  CHECK(spent.reserved_tokens == 0);
  uint64_t per_agent = 0;
  for (const auto& [name, s] : team->spent_per_agent())
    per_agent += s.use.total_tokens();
  CHECK(per_agent == spent.use.total_tokens());
  // The budget is spent: the next run is refused at once, cleanly, and ends budget_exhausted
  // (the coordinator's all_members_failed is kept in the message).
  auto next = team->run({"again"});
  REQUIRE(!next);
  CHECK(is(next.error(), errc::budget_exhausted));
  CHECK(describe(next.error()).find("all_members_failed") != std::string::npos);
}

TEST_CASE("calls in flight never exceed the endpoint's slots") {
  fixture f{"latency: {fixed_ms: 40}\ndefault: {reply: ok}\n"};
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto spec = load_spec_text(
      panel_spec("resources:\n  endpoints: [{url: default, max_concurrent: 3}]\n", 10));
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto r = team->run({"go"});
  REQUIRE(r);
  CHECK(r->use.calls == 10);
  CHECK(f.mock->stats().peak_in_flight == 3);
}

TEST_CASE("a storm of 429s slows the swarm down but every member answers") {
  fixture f{"faults:\n  - {kind: http_429, first: 12, retry_after_s: 0}\ndefault: {reply: ok}\n"};
  auto opts = f.options();
  // Enough retries that even a call drawing every one of the 12 429s gets through: the storm
  // slows calls down, it must not fail them.
  opts.llm.max_retries = 12;
  runtime rt{opts, {f.mock->url(), "mock"}};
  auto spec = load_spec_text(
      panel_spec("resources:\n  endpoints: [{url: default, max_concurrent: 4}]\n", 8));
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto r = team->run({"go"});
  REQUIRE(r);
  for (const auto& m : r->trace)
    CHECK(!m.error);
  auto stats = f.mock->stats();
  CHECK(stats.status_counts[429] == 12);
  CHECK(stats.status_counts[200] == 8);
}

TEST_CASE("an endpoint's max_concurrent above the client's default is served at once") {
  // The client's own default is lowered to 8: the spec's 40 slots must be 40 connections too
  // (the default used to cap every endpoint, so 40 granted calls went 8 at a time).
  fixture f{"latency: {fixed_ms: 1000}\ndefault: {reply: ok}\n"};
  auto opts = f.options();
  opts.llm.max_connections_per_endpoint = 8;
  runtime rt{opts, {f.mock->url(), "mock"}};
  auto spec = load_spec_text(panel_spec(
      "resources:\n  endpoints: [{url: \"" + f.mock->url() + "\", max_concurrent: 40}]\n", 40));
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto r = team->run({"go"});
  REQUIRE(r);
  CHECK(r->use.calls == 40);
  CHECK(f.mock->stats().peak_in_flight == 40);
}
