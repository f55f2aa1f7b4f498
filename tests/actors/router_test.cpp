// The router coordinator against the mock LLM: rules, fallback, an LLM router with one re-ask,
// no_route, member failure and the deadline.
#include <catch2/catch.hpp>

#include "actors/router.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

constexpr const char* members_script = R"(
rules:
  - match: {system: '^You are calc\.'}
    reply: "calc: {{user}}"
  - match: {system: '^You are poet\.'}
    reply: "poet: {{user}}"
)";

actors::router_config routed(std::vector<actors::member> members,
                             std::vector<route_rule> routes = {}, std::string fallback = {}) {
  actors::router_config cfg;
  cfg.id = agent_id{"", "desk"};
  cfg.members = std::move(members);
  cfg.options.routes = std::move(routes);
  cfg.options.fallback = std::move(fallback);
  return cfg;
}

} // namespace

TEST_CASE("without a router agent the first matching route picks the member") {
  test::actor_fixture f(members_script);
  auto swarm = f.keep(actors::spawn_router(
      f.sys,
      routed({f.agent("calc"), f.agent("poet")}, {{"sum|add", "calc", 0}, {"poem", "poet", 0}}),
      {}));
  auto r = f.ask(swarm, "write a poem");
  REQUIRE_FALSE(r.error);
  CHECK(r.text == "poet: write a poem");
  CHECK(r.agent.name == "desk");
  REQUIRE(r.trace.size() == 2);
  CHECK(r.trace[0].task_id == "t1.route");
  CHECK(r.trace[0].text == "poet (route 2 (/poem/))");
  CHECK(r.trace[1].task_id == "t1.poet");
  CHECK(r.trace[1].agent.name == "poet");
  CHECK(f.ask(swarm, "add 2 and 3", "t2").text == "calc: add 2 and 3");
  CHECK(f.mock->stats().chat_requests == 2);
}

TEST_CASE("a task no route matches goes to the fallback, by default the first member") {
  test::actor_fixture f(members_script);
  auto with_fallback = f.keep(actors::spawn_router(
      f.sys, routed({f.agent("calc"), f.agent("poet")}, {{"sum", "calc", 0}}, "poet"), {}));
  auto r = f.ask(with_fallback, "hello");
  CHECK(r.text == "poet: hello");
  CHECK(r.trace[0].text == "poet (fallback)");
  auto without = f.keep(actors::spawn_router(
      f.sys, routed({f.agent("calc"), f.agent("poet")}, {{"sum", "calc", 0}}), {}));
  r = f.ask(without, "hello");
  CHECK(r.text == "calc: hello");
  CHECK(r.trace[0].text == "calc (fallback (first member))");
}

TEST_CASE("nothing to route to is no_route, and no member is asked") {
  test::actor_fixture f(members_script);
  auto swarm = f.keep(
      actors::spawn_router(f.sys, routed({f.agent("calc")}, {{"sum", "calc", 0}}, "ghost"), {}));
  auto r = f.ask(swarm, "hello");
  REQUIRE(is(r.error, errc::no_route));
  CHECK_THAT(describe(r.error), Contains("fallback ghost is not a member"));
  CHECK(r.trace.empty());
  auto empty = f.keep(actors::spawn_router(f.sys, routed({}), {}));
  CHECK(is(f.ask(empty, "hello").error, errc::invalid_spec)); // no members: the common frame
  CHECK(f.mock->stats().chat_requests == 0);
}

TEST_CASE("a router agent picks the member in a JSON reply") {
  test::actor_fixture f(std::string{members_script} + R"(
  - match: {system: '^You are switch\.', user: '^Choose the one member'}
    json: {member: poet}
)");
  auto cfg = routed({f.agent("calc"), f.agent("poet")}, {{"poem", "calc", 0}});
  cfg.router = f.agent("switch");
  auto swarm = f.keep(actors::spawn_router(f.sys, cfg, {}));
  auto r = f.ask(swarm, "anything");
  REQUIRE_FALSE(r.error);
  CHECK(r.text == "poet: anything");
  REQUIRE(r.trace.size() == 3);
  CHECK(r.trace[0].task_id == "t1.route");
  CHECK(r.trace[0].agent.name == "switch");
  CHECK(r.trace[1].text == "poet (chosen by switch)");
  CHECK(r.trace[2].agent.name == "poet");
  CHECK(r.use.calls == 2);
}

TEST_CASE("a router naming no member is re-asked once, told which names are valid") {
  test::actor_fixture f(std::string{members_script} + R"(
  - match: {system: '^You are switch\.',
            user: '^Your previous choice was not valid: "nobody" is not a member \(members: calc, poet\)'}
    json: {member: poet}
  - match: {system: '^You are switch\.'}
    json: {member: nobody}
)");
  auto cfg = routed({f.agent("calc"), f.agent("poet")});
  cfg.router = f.agent("switch");
  auto swarm = f.keep(actors::spawn_router(f.sys, cfg, {}));
  auto r = f.ask(swarm, "anything");
  REQUIRE_FALSE(r.error);
  CHECK(r.text == "poet: anything");
  REQUIRE(r.trace.size() == 4);
  CHECK(r.trace[0].task_id == "t1.route");
  CHECK(r.trace[1].task_id == "t1.reroute");
  CHECK(f.mock->stats().chat_requests == 3);
}

TEST_CASE("a router wrong twice falls back to the rules") {
  test::actor_fixture f(std::string{members_script} + R"(
  - match: {system: '^You are switch\.'}
    reply: "the poet, surely"
)");
  auto cfg = routed({f.agent("calc"), f.agent("poet")}, {{"add", "calc", 0}});
  cfg.router = f.agent("switch");
  auto swarm = f.keep(actors::spawn_router(f.sys, cfg, {}));
  auto r = f.ask(swarm, "add 2 and 3");
  REQUIRE_FALSE(r.error);
  CHECK(r.text == "calc: add 2 and 3");
  REQUIRE(r.trace.size() == 4);
  CHECK_THAT(r.trace[2].text, Contains("chose no member twice"));
  CHECK_THAT(r.trace[2].text, Contains("route 1 (/add/)"));
  CHECK(f.mock->stats().chat_requests == 3);
}

TEST_CASE("the chosen member's failure is the router's member_failed") {
  test::actor_fixture f(std::string{"faults:\n  - {kind: http_500, match: {system: '^You are "
                                    "poet\\.'}}\n"} +
                        members_script);
  auto swarm = f.keep(
      actors::spawn_router(f.sys, routed({f.agent("calc"), f.agent("poet")}, {}, "poet"), {}));
  auto r = f.ask(swarm, "hello");
  REQUIRE(is(r.error, errc::member_failed));
  CHECK_THAT(describe(r.error), Contains("member poet failed"));
  REQUIRE(r.trace.size() == 2);
  CHECK(r.trace[1].error);
}

TEST_CASE("at the deadline the router answers deadline_exceeded with its decision traced") {
  test::actor_fixture f(R"(
rules:
  - match: {system: '^You are poet\.'}
    reply: "late"
    latency_ms: 5000
)");
  auto cfg = routed({f.agent("poet")});
  cfg.guards.deadline = 300ms;
  auto swarm = f.keep(actors::spawn_router(f.sys, cfg, {}));
  auto r = f.ask(swarm, "hello");
  REQUIRE(is(r.error, errc::deadline_exceeded));
  REQUIRE(r.trace.size() == 2);
  CHECK(r.trace[0].task_id == "t1.route");
  CHECK(r.trace[1].error);
  CHECK(test::eventually([&] { return f.mock->stats().cancels >= 1; }));
}
