// Supervision through the runtime: a worker killed mid-task (swarm_handle::kill) in each family
// of swarms is restarted from its spec, asked again, told as member_restarted and counted.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_runtime.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

// Every call takes 300 ms, so a test can kill an agent while its call is in flight.
const char* script = R"(
latency: {fixed_ms: 300}
rules:
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "part one", skill: work, depends_on: []},
                      {id: s2, text: "part two", skill: work, depends_on: []}]}
  - match: {system: '^You are boss\.'}
    reply: "FINAL"
default: {json: {answer: "42", confidence: 0.9}}
)";

const char* agents = R"(
agents:
  - {name: boss, system_prompt: You are boss.}
  - {name: a, system_prompt: You are a., skills: [work]}
  - {name: b, system_prompt: You are b., skills: [work]}
  - {name: c, system_prompt: You are c., skills: [work]}
)";

struct family {
  std::string name;
  std::string swarm;
};

} // namespace

TEST_CASE("a worker killed mid-task is restarted, asked again, told and counted, in each family") {
  auto fam = GENERATE(
      family{"hierarchical", "swarm: {architecture: hierarchical, lead: boss, members: [a, b]}"},
      family{"collaborative", "swarm: {architecture: collaborative, members: [a, b, c]}"},
      family{"competitive",
             "swarm: {architecture: competitive, select: confidence, members: [a, b, c]}"});
  INFO(fam.name);
  test::mock_runtime f{script};
  runtime rt{f.options(), f.overrides()};
  std::mutex mtx;
  std::vector<event> restarts;
  std::atomic<bool> a_calling{false};
  auto watching = rt.on_event([&](const event& e) {
    if (e.kind == event_kind::llm_call_started && e.agent.name == "a")
      a_calling = true;
    if (e.kind == event_kind::member_restarted) {
      std::lock_guard<std::mutex> guard{mtx};
      restarts.push_back(e);
    }
  });
  auto team = f.spawn(rt, "name: team\n" + std::string{agents} + fam.swarm + "\n");
  REQUIRE(team);
  caf::expected<result> out{result{}};
  std::thread runner{[&] { out = team->run({"go", "run-1"}); }};
  bool killed = test::eventually([&] { return a_calling.load(); });
  if (killed)
    CHECK_FALSE(team->kill("a"));
  runner.join();
  REQUIRE(killed);
  REQUIRE(out);
  CHECK(out->restarts == 1);
  REQUIRE(test::eventually([&] {
    std::lock_guard<std::mutex> guard{mtx};
    return !restarts.empty();
  }));
  {
    std::lock_guard<std::mutex> guard{mtx};
    REQUIRE(restarts.size() == 1);
    CHECK(restarts[0].agent.name == "a");
    CHECK(restarts[0].run_id == "run-1");
    CHECK(is(restarts[0].error, errc::member_down));
    CHECK(restarts[0].attempts == 1);
  }
  // The restarted agent is the one the swarm's handle reaches now.
  for (const auto& h : team->health_check(2s)) {
    INFO(h.agent.name);
    CHECK(h.alive);
  }
  CHECK_FALSE(team->dm("a", "still there?"));
  CHECK(is(team->kill("nobody"), errc::unknown_agent));
}

TEST_CASE("supervision: {restart: false} leaves a killed worker failed, named member_down") {
  test::mock_runtime f{script};
  runtime rt{f.options(false), f.overrides()};
  std::atomic<bool> a_calling{false};
  auto watching = rt.on_event([&](const event& e) {
    if (e.kind == event_kind::llm_call_started && e.agent.name == "a")
      a_calling = true;
  });
  auto team = f.spawn(rt, "name: team\n" + std::string{agents} +
                              "swarm: {members: [a, b], supervision: {restart: false}}\n");
  REQUIRE(team);
  caf::expected<result> out{result{}};
  std::thread runner{[&] { out = team->run({"go"}); }};
  bool killed = test::eventually([&] { return a_calling.load(); });
  if (killed)
    CHECK_FALSE(team->kill("a"));
  runner.join();
  REQUIRE(killed);
  REQUIRE(out); // b answered
  CHECK(out->restarts == 0);
  REQUIRE(out->trace.size() == 2);
  CHECK(is(out->trace[0].error, errc::member_down));
  CHECK_FALSE(out->trace[1].error);
}

TEST_CASE("supervision keys are read with their limits") {
  auto spec = load_spec_text(std::string{"name: team\n"} + agents +
                             "swarm: {supervision: {max_restarts: 5, within_ms: 1000}}\n");
  REQUIRE(spec);
  CHECK(spec->root.guards.supervision.restart);
  CHECK(spec->root.guards.supervision.max_restarts == 5);
  CHECK(spec->root.guards.supervision.within == 1000ms);
  auto bad = load_spec_text(std::string{"name: team\n"} + agents +
                            "swarm: {supervision: {restart: true, max_restart: 2}}\n");
  REQUIRE_FALSE(bad);
  CHECK(describe(bad.error()).find("max_restarts") != std::string::npos); // did you mean
}
