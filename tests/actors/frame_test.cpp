// The common frame of all eight coordinators (docs/architectures.md, "The common frame"): a
// duplicate task id, a swarm without members and a cancel are handled the same way by each.
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/collaborative.hpp"
#include "actors/competitive.hpp"
#include "actors/concurrent.hpp"
#include "actors/graph.hpp"
#include "actors/group_chat.hpp"
#include "actors/hierarchical.hpp"
#include "actors/router.hpp"
#include "actors/sequential.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

// Every agent answers slowly, so a task is still running when the test acts on it.
const std::string slow_script = "latency: {fixed_ms: 5000}\n";

// One architecture: how to spawn it with `members` (a lead or router agent is spawned by
// `spawn` where the architecture needs one), and how many member tasks are in flight at first.
struct architecture {
  std::string name;
  uint64_t first_in_flight;
  std::function<agent_actor(test::actor_fixture&, std::vector<actors::member>)> spawn;
};

guard_options guards() {
  guard_options g;
  g.member_timeout = 10s;
  return g;
}

const agent_id swarm_id{"", "team"};

// An agent that its coordinator can restart: spawned again under the same name.
actors::member restartable(test::actor_fixture& f, const std::string& name) {
  auto m = f.agent(name);
  m.respawn = std::make_shared<const actors::respawn_fn>(
      [&f, name](const agent_actor&) -> caf::expected<agent_actor> {
        return f.agent(name).handle;
      });
  return m;
}

std::vector<architecture> all_coordinators() {
  return {
      {"concurrent", 2,
       [](test::actor_fixture& f, std::vector<actors::member> ms) {
         return actors::spawn_concurrent(f.sys, {swarm_id, std::move(ms), guards()}, {});
       }},
      {"sequential", 1,
       [](test::actor_fixture& f, std::vector<actors::member> ms) {
         return actors::spawn_sequential(f.sys, {swarm_id, std::move(ms), guards()}, {});
       }},
      {"hierarchical", 1, // the lead's plan call
       [](test::actor_fixture& f, std::vector<actors::member> ms) {
         actors::hierarchical_config cfg;
         cfg.id = swarm_id;
         cfg.members = std::move(ms);
         cfg.guards = guards();
         cfg.lead = restartable(f, "boss");
         return actors::spawn_hierarchical(f.sys, std::move(cfg), {});
       }},
      {"collaborative", 2,
       [](test::actor_fixture& f, std::vector<actors::member> ms) {
         actors::collaborative_config cfg;
         cfg.id = swarm_id;
         cfg.members = std::move(ms);
         cfg.guards = guards();
         return actors::spawn_collaborative(f.sys, std::move(cfg), {});
       }},
      {"competitive", 2,
       [](test::actor_fixture& f, std::vector<actors::member> ms) {
         actors::competitive_config cfg;
         cfg.id = swarm_id;
         cfg.members = std::move(ms);
         cfg.guards = guards();
         cfg.options.select = "confidence";
         return actors::spawn_competitive(f.sys, std::move(cfg), {});
       }},
      {"group_chat", 1,
       [](test::actor_fixture& f, std::vector<actors::member> ms) {
         actors::group_chat_config cfg;
         cfg.id = swarm_id;
         cfg.members = std::move(ms);
         cfg.guards = guards();
         return actors::spawn_group_chat(f.sys, std::move(cfg), {});
       }},
      {"graph", 2, // no edges: both nodes are entries
       [](test::actor_fixture& f, std::vector<actors::member> ms) {
         actors::graph_config cfg;
         cfg.id = swarm_id;
         cfg.members = std::move(ms);
         cfg.guards = guards();
         return actors::spawn_graph(f.sys, std::move(cfg), {});
       }},
      {"router", 1, // no router agent: the fallback, the first member
       [](test::actor_fixture& f, std::vector<actors::member> ms) {
         actors::router_config cfg;
         cfg.id = swarm_id;
         cfg.members = std::move(ms);
         cfg.guards = guards();
         return actors::spawn_router(f.sys, std::move(cfg), {});
       }},
  };
}

uint64_t tasks_running(test::actor_fixture& f, const agent_actor& swarm) {
  caf::scoped_actor self{f.sys};
  uint64_t out = 0;
  self->request(swarm, 5s, health_probe{1})
      .receive([&](health_report& h) { out = h.tasks_running; },
               [&](caf::error& err) { FAIL("health probe failed: " << describe(err)); });
  return out;
}

} // namespace

TEST_CASE("every coordinator refuses a duplicate task id at once and keeps the first task") {
  for (const auto& arch : all_coordinators()) {
    SECTION(arch.name) {
      test::actor_fixture f{slow_script};
      auto swarm = f.keep(arch.spawn(f, {f.agent("a"), f.agent("b")}));
      caf::scoped_actor self{f.sys};
      auto first = self->request(swarm, 20s, task{"t1", "r1", "go", "user", {}});
      REQUIRE(test::eventually([&] { return f.mock->stats().in_flight >= 1; }));
      auto requests = f.mock->stats().chat_requests;
      auto started = std::chrono::steady_clock::now();
      auto dup = f.ask(swarm, "again", "t1");
      CHECK(std::chrono::steady_clock::now() - started < 2s);
      CHECK(dup.task_id == "t1");
      REQUIRE(is(dup.error, errc::invalid_argument));
      CHECK(describe(dup.error).find("task t1 is already running") != std::string::npos);
      CHECK(tasks_running(f, swarm) == 1);
      // The first task is still its own: it answers a cancel as itself.
      self->send(swarm, task_cancel{"t1"});
      result out;
      std::move(first).receive([&](result& r) { out = std::move(r); },
                               [&](caf::error& err) { FAIL(describe(err)); });
      CHECK(out.task_id == "t1");
      CHECK(is(out.error, errc::cancelled));
      CHECK(f.mock->stats().chat_requests <= requests + 1); // the duplicate asked no one
    }
  }
}

TEST_CASE("every coordinator answers a swarm without members with invalid_spec") {
  for (const auto& arch : all_coordinators()) {
    SECTION(arch.name) {
      test::actor_fixture f{slow_script};
      auto swarm = f.keep(arch.spawn(f, {}));
      auto r = f.ask(swarm, "go");
      CHECK(r.task_id == "t1");
      REQUIRE(is(r.error, errc::invalid_spec));
      CHECK(describe(r.error).find("swarm 'team' has no members") != std::string::npos);
      CHECK(f.mock->stats().chat_requests == 0);
      CHECK(tasks_running(f, swarm) == 0);
    }
  }
}

TEST_CASE("every coordinator answers a cancel once its members in flight have answered") {
  for (const auto& arch : all_coordinators()) {
    SECTION(arch.name) {
      test::actor_fixture f{slow_script};
      auto swarm = f.keep(arch.spawn(f, {f.agent("a"), f.agent("b")}));
      caf::scoped_actor self{f.sys};
      auto started = std::chrono::steady_clock::now();
      auto pending = self->request(swarm, 20s, task{"t1", "r1", "go", "user", {}});
      REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == arch.first_in_flight; }));
      self->send(swarm, task_cancel{"nope"}); // an unknown task: nothing happens
      self->send(swarm, task_cancel{"t1"});
      result out;
      std::move(pending).receive([&](result& r) { out = std::move(r); },
                                 [&](caf::error& err) { FAIL(describe(err)); });
      CHECK(std::chrono::steady_clock::now() - started < 4s);
      CHECK(out.task_id == "t1");
      CHECK(is(out.error, errc::cancelled));
      // The members in flight answered (cancelled) before the swarm did: their answers are in
      // the trace.
      size_t cut = 0;
      for (const auto& x : out.trace)
        if (is(x.error, errc::cancelled) && x.task_id.starts_with("t1."))
          ++cut;
      CHECK(cut >= arch.first_in_flight);
      CHECK(test::eventually([&] { return f.mock->stats().cancels == arch.first_in_flight; }));
      // Nothing was asked after the cancel.
      CHECK(f.mock->stats().chat_requests == arch.first_in_flight);
      CHECK(tasks_running(f, swarm) == 0);
    }
  }
}

TEST_CASE(
    "every coordinator restarts members killed mid-task, asks again, and the task completes") {
  for (const auto& arch : all_coordinators()) {
    SECTION(arch.name) {
      test::actor_fixture f{R"(
latency: {fixed_ms: 300}
rules:
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "do the work", skill: "", depends_on: []}]}
  - match: {system: '^You are boss\.'}
    reply: "FINAL"
default: {json: {answer: "the answer", confidence: 0.9}}
)"};
      std::vector<actors::member> members{restartable(f, "a"), restartable(f, "b")};
      auto swarm = f.keep(arch.spawn(f, members));
      caf::scoped_actor self{f.sys};
      auto pending = self->request(swarm, 30s, task{"t1", "r1", "go", "user", {}});
      REQUIRE(test::eventually([&] { return f.mock->stats().in_flight >= 1; }));
      // Every agent spawned so far (members, and a lead) dies while a call is in flight.
      auto first = f.spawned;
      for (const auto& a : first)
        if (a != caf::actor_cast<caf::actor>(swarm))
          caf::anon_send_exit(a, caf::exit_reason::kill);
      result out;
      std::move(pending).receive([&](result& r) { out = std::move(r); },
                                 [&](caf::error& err) { FAIL(describe(err)); });
      INFO(describe(out.error));
      CHECK_FALSE(out.error);
      CHECK(out.restarts >= 1);
      CHECK(out.restarts <= first.size() - 1); // each killed one at most once
      CHECK(f.spawned.size() == first.size() + out.restarts);
    }
  }
}

TEST_CASE("a member killed past its supervision's max_restarts stays failed, named member_down") {
  test::actor_fixture f{"latency: {fixed_ms: 300}\ndefault: {reply: ok}\n"};
  auto a = restartable(f, "a");
  auto g = guards();
  g.supervision.max_restarts = 0;
  auto swarm = f.keep(actors::spawn_concurrent(f.sys, {swarm_id, {a}, g}, {}));
  caf::scoped_actor self{f.sys};
  auto pending = self->request(swarm, 30s, task{"t1", "r1", "go", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight >= 1; }));
  auto started = std::chrono::steady_clock::now();
  caf::anon_send_exit(a.handle, caf::exit_reason::kill);
  result out;
  std::move(pending).receive([&](result& r) { out = std::move(r); },
                             [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(std::chrono::steady_clock::now() - started < 5s); // not the member timeout (10 s)
  REQUIRE(out.trace.size() == 1);
  CHECK(is(out.trace[0].error, errc::member_down));
  CHECK(out.restarts == 0);
  CHECK(f.spawned.size() == 2); // the agent and the swarm: nothing respawned
}

TEST_CASE("a member that dies under two tasks is spawned again once, and both tasks complete") {
  test::actor_fixture f{"latency: {fixed_ms: 300}\ndefault: {reply: ok}\n"};
  auto a = restartable(f, "a");
  auto swarm = f.keep(actors::spawn_concurrent(f.sys, {swarm_id, {a}, guards()}, {}));
  caf::scoped_actor self{f.sys};
  auto first = self->request(swarm, 30s, task{"t1", "r1", "one", "user", {}});
  auto second = self->request(swarm, 30s, task{"t2", "r1", "two", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight >= 2; }));
  auto before = f.spawned.size();
  caf::anon_send_exit(a.handle, caf::exit_reason::kill);
  for (auto* pending : {&first, &second}) {
    result out;
    std::move(*pending).receive([&](result& r) { out = std::move(r); },
                                [&](caf::error& err) { FAIL(describe(err)); });
    INFO(out.task_id << ": " << describe(out.error));
    CHECK_FALSE(out.error);
  }
  CHECK(f.spawned.size() == before + 1); // one death, one new actor for both asks
}

TEST_CASE("a member spawned again near its task's deadline is asked within what is left of it") {
  test::actor_fixture f{"latency: {fixed_ms: 3000}\ndefault: {reply: ok}\n"};
  auto a = restartable(f, "a");
  auto g = guards(); // member timeout 10 s
  g.deadline = 800ms;
  auto swarm = f.keep(actors::spawn_concurrent(f.sys, {swarm_id, {a}, g}, {}));
  caf::scoped_actor self{f.sys};
  auto started = std::chrono::steady_clock::now();
  auto pending = self->request(swarm, 30s, task{"t1", "r1", "go", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight >= 1; }));
  caf::anon_send_exit(a.handle, caf::exit_reason::kill);
  result out;
  std::move(pending).receive([&](result& r) { out = std::move(r); },
                             [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(out.restarts == 1);
  REQUIRE(out.trace.size() == 1);
  CHECK(is(out.trace[0].error, errc::member_timeout));
  // The retry ended at the task's deadline, not a whole member timeout (10 s) later.
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}
