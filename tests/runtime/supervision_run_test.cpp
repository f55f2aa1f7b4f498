// Supervision through the runtime: a worker killed mid-task (swarm_handle::kill) in each family
// of swarms is restarted from its spec, asked again, told as member_restarted and counted.
#include <atomic>
#include <chrono>
#include <condition_variable>
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

namespace {

// Holds the threads that call it until released (at most 10 s): two event listeners held in
// their callbacks keep both of a runtime's two scheduler threads, so that no actor runs.
class thread_gate {
public:
  void hold() {
    std::unique_lock<std::mutex> guard{mtx_};
    ++held_;
    changed_.notify_all();
    changed_.wait_for(guard, 10s, [this] { return open_; });
  }

  /// Whether `n` threads are held now (waits at most 10 s).
  bool wait_held(int n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return changed_.wait_for(guard, 10s, [&] { return held_ >= n; });
  }

  void open() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = true;
    changed_.notify_all();
  }

private:
  std::mutex mtx_;
  std::condition_variable changed_;
  int held_ = 0;
  bool open_ = false;
};

} // namespace

TEST_CASE("a swarm stopped while a member restarts spawns nothing") {
  // a's call outlasts its member timeout: when the timeout fires the coordinator restarts a.
  test::mock_runtime f{"latency: {fixed_ms: 3000}\ndefault: {reply: late}\n"};
  auto opts = f.options(false);
  REQUIRE(opts.scheduler_threads == 2);
  runtime rt{opts, f.overrides()};
  thread_gate gate;
  std::atomic<int> a_calls{0};
  std::atomic<int> restarts{0};
  auto counting = rt.on_event([&](const event& e) {
    if (e.kind == event_kind::llm_call_started && e.agent.name == "a" && a_calls++ == 0)
      gate.hold();
    if (e.kind == event_kind::member_restarted)
      ++restarts;
  });
  std::atomic<bool> second_held{false};
  auto holding = rt.on_event([&](const event& e) {
    if (e.kind == event_kind::llm_call_started && e.agent.name == "a" &&
        !second_held.exchange(true))
      gate.hold();
  });
  auto team = f.spawn(rt, "name: team\nagents:\n  - {name: a, system_prompt: You are a.}\n"
                          "swarm: {members: [a], member_timeout_ms: 300}\n");
  REQUIRE(team);
  caf::expected<result> out{result{}};
  std::thread runner{[&] { out = team->run({"go"}); }};
  // a's call started; no actor runs from here until the gate opens. The member timeout passes
  // (the clock thread queues it at the coordinator), then the swarm is stopped: the restart the
  // coordinator makes when it runs again comes after the stop.
  bool frozen = gate.wait_held(2);
  if (frozen) {
    std::this_thread::sleep_for(800ms);
    team->stop();
  }
  gate.open();
  runner.join();
  REQUIRE(frozen);
  CHECK_FALSE(out); // the swarm stopped under the run
  // No replacement was spawned: none restarted, none asked again.
  std::this_thread::sleep_for(500ms);
  CHECK(restarts.load() == 0);
  CHECK(a_calls.load() == 1);
  CHECK(f.mock->stats().chat_requests == 1);
  (void)team->kill("a"); // a replacement that escaped the stop would still run: not past the test
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
