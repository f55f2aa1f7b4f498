// The sequential coordinator against the mock LLM: order, hand-over text, failure stop, guards.
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/sequential.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

actors::sequential_config pipeline(std::vector<actors::member> members) {
  actors::sequential_config cfg;
  cfg.id = agent_id{"", "pipeline"};
  cfg.members = std::move(members);
  return cfg;
}

constexpr const char* relay = R"(
rules:
  - match: {system: '^You are a\.'}
    reply: "A1"
  - match: {system: '^You are b\.'}
    reply: "B saw <{{user}}>"
  - match: {system: '^You are c\.'}
    reply: "C saw <{{user}}>"
)";

} // namespace

TEST_CASE("members run in order, each given the task and the previous answer") {
  test::actor_fixture f(relay);
  auto swarm = f.keep(
      actors::spawn_sequential(f.sys, pipeline({f.agent("a"), f.agent("b"), f.agent("c")}), {}));
  auto r = f.ask(swarm, "go");
  REQUIRE_FALSE(r.error);
  CHECK(r.text == "C saw <Task: go\n\nPrevious answer (from b): B saw <Task: go\n\nPrevious "
                  "answer (from a): A1>>");
  REQUIRE(r.trace.size() == 3);
  CHECK(r.trace[0].task_id == "t1.a");
  CHECK(r.trace[0].text == "A1");
  CHECK(r.trace[1].task_id == "t1.b");
  CHECK(r.trace[2].task_id == "t1.c");
  CHECK(r.agent.name == "pipeline");
  CHECK(r.use.calls == 3);
}

TEST_CASE("a failed member stops the pipeline with member_failed, keeping what was done") {
  test::actor_fixture f(std::string{"faults:\n  - {kind: http_500, match: {system: '^You are "
                                    "b\\.'}}\n"} +
                        relay);
  auto swarm = f.keep(
      actors::spawn_sequential(f.sys, pipeline({f.agent("a"), f.agent("b"), f.agent("c")}), {}));
  auto r = f.ask(swarm, "go");
  REQUIRE(is(r.error, errc::member_failed));
  CHECK_THAT(describe(r.error), Contains("member b failed at step 2 of 3"));
  REQUIRE(r.trace.size() == 2); // c never ran
  CHECK(r.trace[0].text == "A1");
  CHECK(r.trace[1].agent.name == "b");
  CHECK(r.trace[1].error);
  CHECK(r.text == "A1");
}

TEST_CASE("a nested swarm can be a pipeline stage") {
  test::actor_fixture f(relay);
  actors::concurrent_config duo;
  duo.id = agent_id{"pipeline", "duo"};
  duo.members = {f.agent("b"), f.agent("c")};
  auto inner = f.keep(actors::spawn_concurrent(f.sys, duo, {}));
  auto swarm =
      f.keep(actors::spawn_sequential(f.sys, pipeline({f.agent("a"), {"duo", inner, {}}}), {}));
  auto r = f.ask(swarm, "go");
  REQUIRE_FALSE(r.error);
  CHECK_THAT(r.text, Contains("## b\nB saw <Task: go\n\nPrevious answer (from a): A1>"));
  CHECK_THAT(r.text, Contains("## c\nC saw <"));
  REQUIRE(r.trace.size() == 2);
  CHECK(r.trace[1].trace.size() == 2);
}

TEST_CASE("at the deadline the pipeline ends with deadline_exceeded and a partial trace") {
  test::actor_fixture f(R"(
rules:
  - match: {system: '^You are a\.'}
    reply: "A1"
  - match: {system: '^You are b\.'}
    reply: "too late"
    latency_ms: 5000
)");
  auto cfg = pipeline({f.agent("a"), f.agent("b"), f.agent("c")});
  cfg.guards.deadline = 300ms;
  auto swarm = f.keep(actors::spawn_sequential(f.sys, cfg, {}));
  auto r = f.ask(swarm, "go");
  REQUIRE(is(r.error, errc::deadline_exceeded));
  REQUIRE(r.trace.size() == 2);
  CHECK(r.trace[0].text == "A1");
  CHECK(r.trace[1].error);
  CHECK(r.text == "A1");
  CHECK(test::eventually([&] { return f.mock->stats().cancels >= 1; }));
}

TEST_CASE("max_messages ends the pipeline early") {
  test::actor_fixture f(relay);
  auto cfg = pipeline({f.agent("a"), f.agent("b"), f.agent("c")});
  cfg.guards.max_messages = 2;
  auto swarm = f.keep(actors::spawn_sequential(f.sys, cfg, {}));
  auto r = f.ask(swarm, "go");
  REQUIRE(is(r.error, errc::max_messages_reached));
  CHECK(r.trace.size() == 2);
  CHECK(f.mock->stats().chat_requests == 2);
}

TEST_CASE("cancelling a pipeline reaches the member working and answers cancelled") {
  test::actor_fixture f(R"(
rules:
  - match: {system: '^You are a\.'}
    reply: "slow"
    latency_ms: 5000
)");
  auto swarm = f.keep(actors::spawn_sequential(f.sys, pipeline({f.agent("a"), f.agent("b")}), {}));
  caf::scoped_actor self{f.sys};
  auto pending = self->request(swarm, 20s, task{"t1", "r1", "go", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight >= 1; }));
  caf::anon_send(swarm, task_cancel{"t1"});
  result r;
  pending.receive([&](result& x) { r = std::move(x); },
                  [&](caf::error& err) { FAIL("request failed: " << describe(err)); });
  CHECK(is(r.error, errc::cancelled));
  CHECK(test::eventually([&] { return f.mock->stats().cancels >= 1; }));
}
