// The hierarchical coordinator against the mock LLM: planning, skill assignment, dependency
// order, retries and reassignment, review, re-planning, nesting, guards and cancellation.
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/hierarchical.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// The trace entry of `task_id`, or nullptr.
const result* traced(const result& r, const std::string& task_id) {
  for (const auto& x : r.trace)
    if (x.task_id == task_id)
      return &x;
  return nullptr;
}

std::vector<std::string> trace_ids(const result& r) {
  std::vector<std::string> out;
  for (const auto& x : r.trace)
    out.push_back(x.task_id);
  return out;
}

actors::hierarchical_config config(actors::member lead, std::vector<actors::member> members) {
  actors::hierarchical_config cfg;
  cfg.id = agent_id{"", "company"};
  cfg.lead = std::move(lead);
  cfg.members = std::move(members);
  return cfg;
}

// The lead "boss" aggregates by echoing its prompt, so tests can read what it was given.
constexpr const char* boss_aggregates = R"(
  - match: {system: '^You are boss\.', user: '^Write the final answer'}
    reply: "FINAL: {{user}}"
)";

} // namespace

TEST_CASE("the lead's plan runs by skill, independent subtasks in parallel, dependents after") {
  test::actor_fixture f(std::string{"rules:"} + boss_aggregates + R"(
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "find facts about otters", skill: research, depends_on: []},
                      {id: s2, text: "find facts about seals", skill: research, depends_on: []},
                      {id: s3, text: "write the report", skill: writing, depends_on: [s1, s2]}]}
  - match: {system: '^You are (a|c)\.', user: 'facts about (\w+)'}
    reply: "{{match.1}} are great"
    latency_ms: 100
  - match: {system: '^You are b\.'}
    reply: "REPORT[{{user}}]"
)");
  auto a = f.agent("a", {"research"});
  auto b = f.agent("b", {"writing"});
  auto c = f.agent("c", {"research"});
  auto swarm = f.keep(actors::spawn_hierarchical(f.sys, config(f.agent("boss"), {a, b, c}), {}));
  auto r = f.ask(swarm, "Report on marine mammals");
  REQUIRE_FALSE(r.error);
  CHECK(trace_ids(r) ==
        std::vector<std::string>{"t1.plan", "t1.s1", "t1.s2", "t1.s3", "t1.aggregate"});
  CHECK(r.trace[0].agent.name == "boss");
  CHECK(traced(r, "t1.s1")->agent.name == "a");
  CHECK(traced(r, "t1.s2")->agent.name == "c"); // a was busy: the least loaded researcher
  CHECK(traced(r, "t1.s3")->agent.name == "b");
  CHECK(traced(r, "t1.s1")->text == "otters are great");
  // s3 started after both dependencies: its text carries their answers.
  CHECK(traced(r, "t1.s3")->text ==
        "REPORT[write the report\n\nAnswer of subtask s1 (from a):\notters are great\n\nAnswer of "
        "subtask s2 (from c):\nseals are great]");
  CHECK(f.mock->stats().peak_in_flight >= 2); // s1 and s2 overlapped
  CHECK_THAT(r.text, StartsWith("FINAL: Write the final answer"));
  CHECK_THAT(r.text, Contains("Task: Report on marine mammals"));
  CHECK_THAT(r.text, Contains("Answer (from c):\nseals are great"));
  CHECK_THAT(r.text, Contains("REPORT["));
  CHECK(r.agent.name == "company");
  CHECK(r.use.calls == 5);
  CHECK(f.mock->stats().chat_requests == 5);
}

TEST_CASE("a failing worker's subtask is retried, then reassigned to another capable worker") {
  test::actor_fixture f(std::string{"faults:\n  - {kind: http_500, match: {system: '^You are "
                                    "a\\.'}}\nrules:"} +
                        boss_aggregates + R"(
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "find facts about otters", skill: research, depends_on: []}]}
  - match: {user: 'facts about (\w+)'}
    reply: "{{match.1}} are great"
)");
  auto a = f.agent("a", {"research"});
  auto b = f.agent("b", {"writing"});
  auto c = f.agent("c", {"research"});
  auto cfg = config(f.agent("boss"), {a, b, c});
  cfg.options.max_attempts = 3;
  auto swarm = f.keep(actors::spawn_hierarchical(f.sys, cfg, {}));
  auto r = f.ask(swarm, "Report on otters");
  REQUIRE_FALSE(r.error);
  CHECK(trace_ids(r) == std::vector<std::string>{"t1.plan", "t1.s1", "t1.s1.attempt2",
                                                 "t1.s1.attempt3", "t1.aggregate"});
  CHECK(r.trace[1].agent.name == "a");
  CHECK(is(r.trace[1].error, errc::llm_http_error));
  CHECK(r.trace[2].agent.name == "a"); // the retry
  CHECK(r.trace[2].error);
  CHECK(r.trace[3].agent.name == "c"); // reassigned to the other researcher, not to b
  CHECK(r.trace[3].text == "otters are great");
  CHECK_THAT(r.text, Contains("Answer (from c):\notters are great"));
}

TEST_CASE("a subtask that keeps failing is reported and its dependents are skipped") {
  test::actor_fixture f(std::string{"faults:\n  - {kind: http_500, match: {system: '^You are "
                                    "a\\.'}}\nrules:"} +
                        boss_aggregates + R"(
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "find facts", skill: research, depends_on: []},
                      {id: s2, text: "write on the facts", skill: writing, depends_on: [s1]},
                      {id: s3, text: "write a title", skill: writing, depends_on: []}]}
  - match: {system: '^You are b\.'}
    reply: "a fine title"
)");
  auto a = f.agent("a", {"research"});
  auto b = f.agent("b", {"writing"});
  auto swarm = f.keep(actors::spawn_hierarchical(f.sys, config(f.agent("boss"), {a, b}), {}));
  auto r = f.ask(swarm, "Report");
  REQUIRE_FALSE(r.error); // s3 succeeded: the lead still aggregates
  CHECK(trace_ids(r) == std::vector<std::string>{"t1.plan", "t1.s1", "t1.s1.attempt2",
                                                 "t1.s1.attempt3", "t1.s2", "t1.s3",
                                                 "t1.aggregate"});
  CHECK(r.trace[1].error);
  CHECK(r.trace[2].agent.name == "a"); // only one researcher: all max_attempts (3) on a
  CHECK(r.trace[3].agent.name == "a");
  const auto* skipped = traced(r, "t1.s2");
  REQUIRE(skipped);
  CHECK(is(skipped->error, errc::member_failed));
  CHECK_THAT(describe(skipped->error), Contains("dependency s1"));
  CHECK(traced(r, "t1.s3")->text == "a fine title");
  CHECK_THAT(r.text, Contains("## Subtask s1: find facts\n(failed at a: "));
  CHECK_THAT(r.text, Contains("## Subtask s2: write on the facts\n(failed: member_failed"));
  CHECK(f.mock->stats().chat_requests == 1 + 3 * 4 + 1 + 1); // a's calls retried by the client
}

TEST_CASE("a malformed plan is re-asked once, telling the lead what was wrong") {
  test::actor_fixture f(std::string{"rules:"} + boss_aggregates + R"(
  - match: {system: '^You are boss\.',
            user: '^Your previous plan was rejected: subtask s1 depends on unknown subtask s9\.'}
    json: {subtasks: [{id: s1, text: "find facts", skill: research, depends_on: []}]}
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "find facts", skill: research, depends_on: [s9]}]}
  - match: {system: '^You are a\.'}
    reply: "facts"
)");
  auto swarm = f.keep(
      actors::spawn_hierarchical(f.sys, config(f.agent("boss"), {f.agent("a", {"research"})}), {}));
  auto r = f.ask(swarm, "Report");
  REQUIRE_FALSE(r.error);
  CHECK(trace_ids(r) == std::vector<std::string>{"t1.plan", "t1.replan", "t1.s1", "t1.aggregate"});
  CHECK(traced(r, "t1.s1")->text == "facts");
  CHECK(f.mock->stats().chat_requests == 4);
}

TEST_CASE("a plan malformed twice is invalid_plan after exactly two plan calls") {
  test::actor_fixture f(R"(
rules:
  - match: {system: '^You are boss\.'}
    reply: "I would rather not plan."
)");
  auto swarm = f.keep(
      actors::spawn_hierarchical(f.sys, config(f.agent("boss"), {f.agent("a", {"research"})}), {}));
  auto r = f.ask(swarm, "Report");
  REQUIRE(is(r.error, errc::invalid_plan));
  CHECK_THAT(describe(r.error), Contains("the reply is not JSON"));
  CHECK(trace_ids(r) == std::vector<std::string>{"t1.plan", "t1.replan"});
  CHECK(f.mock->stats().chat_requests == 2);
}

TEST_CASE("with review, the lead can send an answer to another worker with feedback") {
  test::actor_fixture f(std::string{"rules:"} + boss_aggregates + R"(
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "find facts", skill: research, depends_on: []}]}
  - match: {system: '^You are boss\.', user: 'Answer \(from a\)'}
    json: {verdict: reassign, feedback: "cite sources"}
  - match: {system: '^You are boss\.', user: '^Review the answer'}
    json: {verdict: accept, feedback: ""}
  - match: {system: '^You are a\.'}
    reply: "vague facts"
  - match: {system: '^You are c\.'}
    reply: "C: {{user}}"
)");
  auto cfg = config(f.agent("boss"), {f.agent("a", {"research"}), f.agent("c", {"research"})});
  cfg.options.review = true;
  auto swarm = f.keep(actors::spawn_hierarchical(f.sys, cfg, {}));
  auto r = f.ask(swarm, "Report");
  REQUIRE_FALSE(r.error);
  CHECK(trace_ids(r) == std::vector<std::string>{"t1.plan", "t1.s1", "t1.s1.review",
                                                 "t1.s1.attempt2", "t1.s1.review2",
                                                 "t1.aggregate"});
  CHECK(traced(r, "t1.s1")->agent.name == "a");
  CHECK(traced(r, "t1.s1.review")->agent.name == "boss");
  CHECK(traced(r, "t1.s1.attempt2")->agent.name == "c");
  CHECK(traced(r, "t1.s1.attempt2")->text ==
        "C: find facts\n\nReviewer feedback on an earlier answer: cite sources");
  CHECK_THAT(r.text, Contains("Answer (from c):\nC: find facts"));
}

TEST_CASE("a worker may be a nested concurrent swarm; its skills are its agents' union") {
  test::actor_fixture f(std::string{"rules:"} + boss_aggregates + R"(
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "add 2 and 3", skill: math, depends_on: []},
                      {id: s2, text: "find facts", skill: research, depends_on: []}]}
  - match: {system: '^You are x\.'}
    reply: "x says 5"
  - match: {system: '^You are y\.'}
    reply: "y says 5"
  - match: {system: '^You are a\.'}
    reply: "facts"
)");
  actors::concurrent_config crew_cfg;
  crew_cfg.id = agent_id{"company", "crew"};
  crew_cfg.members = {f.agent("x", {"math"}), f.agent("y", {"math"})};
  auto crew = f.keep(actors::spawn_concurrent(f.sys, crew_cfg, {}));
  actors::member crew_member{"crew", crew, {"math"}};
  auto swarm = f.keep(actors::spawn_hierarchical(
      f.sys, config(f.agent("boss"), {f.agent("a", {"research"}), crew_member}), {}));
  auto r = f.ask(swarm, "Sum and facts");
  REQUIRE_FALSE(r.error);
  const auto* sum = traced(r, "t1.s1");
  REQUIRE(sum);
  CHECK(sum->agent.name == "crew");
  REQUIRE(sum->trace.size() == 2);
  CHECK(sum->trace[0].task_id == "t1.s1.x");
  CHECK(sum->trace[1].text == "y says 5");
  CHECK(traced(r, "t1.s2")->agent.name == "a");
  CHECK_THAT(r.text, Contains("## x\nx says 5"));
  CHECK(r.use.calls == 5); // plan, a, x, y, aggregate
}

TEST_CASE("three levels nest: hierarchical over hierarchical over concurrent over agents") {
  test::actor_fixture f(std::string{"rules:"} + boss_aggregates + R"(
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "count the stock", skill: ops, depends_on: []},
                      {id: s2, text: "announce the count", skill: writing, depends_on: [s1]}]}
  - match: {system: '^You are chief\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "count shelves", skill: "", depends_on: []}]}
  - match: {system: '^You are chief\.', user: '^Write the final answer'}
    reply: "CHIEF: {{user}}"
  - match: {system: '^You are x\.'}
    reply: "x counted 7"
  - match: {system: '^You are y\.'}
    reply: "y counted 7"
  - match: {system: '^You are w\.'}
    reply: "W: {{user}}"
)");
  actors::concurrent_config pair_cfg;
  pair_cfg.id = agent_id{"dept", "pair"};
  pair_cfg.members = {f.agent("x"), f.agent("y")};
  auto pair = f.keep(actors::spawn_concurrent(f.sys, pair_cfg, {}));
  actors::hierarchical_config dept_cfg = config(f.agent("chief"), {{"pair", pair, {}}});
  dept_cfg.id = agent_id{"company", "dept"};
  auto dept = f.keep(actors::spawn_hierarchical(f.sys, dept_cfg, {}));
  auto swarm = f.keep(actors::spawn_hierarchical(
      f.sys, config(f.agent("boss"), {{"dept", dept, {"ops"}}, f.agent("w", {"writing"})}), {}));
  auto r = f.ask(swarm, "Stock report");
  REQUIRE_FALSE(r.error);
  const auto* dept_result = traced(r, "t1.s1");
  REQUIRE(dept_result);
  CHECK(dept_result->agent.name == "dept");
  CHECK_THAT(dept_result->text, StartsWith("CHIEF: Write the final answer"));
  const auto* pair_result = traced(*dept_result, "t1.s1.s1");
  REQUIRE(pair_result);
  CHECK(pair_result->agent.name == "pair");
  REQUIRE(pair_result->trace.size() == 2);
  CHECK(pair_result->trace[0].task_id == "t1.s1.s1.x");
  CHECK(pair_result->trace[0].text == "x counted 7");
  // The dependent subtask at the top got the nested answer.
  CHECK_THAT(traced(r, "t1.s2")->text, Contains("Answer of subtask s1 (from dept):\nCHIEF:"));
  CHECK_THAT(traced(r, "t1.s2")->text, Contains("x counted 7"));
  CHECK(r.use.calls == 7); // boss 2, chief 2, x, y, w
  CHECK(f.mock->stats().chat_requests == 7);
}

TEST_CASE("at the deadline the run ends with deadline_exceeded, a partial trace and cancels") {
  test::actor_fixture f(std::string{"rules:"} + boss_aggregates + R"(
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "quick", skill: research, depends_on: []},
                      {id: s2, text: "slow", skill: writing, depends_on: []}]}
  - match: {system: '^You are a\.'}
    reply: "quick facts"
  - match: {system: '^You are b\.'}
    reply: "too late"
    latency_ms: 5000
)");
  auto cfg = config(f.agent("boss"), {f.agent("a", {"research"}), f.agent("b", {"writing"})});
  cfg.guards.deadline = 400ms;
  auto swarm = f.keep(actors::spawn_hierarchical(f.sys, cfg, {}));
  auto started = std::chrono::steady_clock::now();
  auto r = f.ask(swarm, "Report");
  CHECK(std::chrono::steady_clock::now() - started < 3s);
  REQUIRE(is(r.error, errc::deadline_exceeded));
  CHECK(r.text == "## s1 (from a)\nquick facts");
  CHECK(traced(r, "t1.plan"));
  CHECK(traced(r, "t1.s1")->text == "quick facts");
  REQUIRE(traced(r, "t1.s2"));
  CHECK(traced(r, "t1.s2")->error);
  CHECK_FALSE(traced(r, "t1.aggregate"));
  CHECK(test::eventually([&] { return f.mock->stats().cancels >= 1; }));
}

TEST_CASE("max_messages stops new work; the answered subtasks are the partial result") {
  test::actor_fixture f(std::string{"rules:"} + boss_aggregates + R"(
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "one", skill: research, depends_on: []},
                      {id: s2, text: "two", skill: research, depends_on: [s1]}]}
  - match: {system: '^You are a\.'}
    reply: "done {{user}}"
)");
  auto cfg = config(f.agent("boss"), {f.agent("a", {"research"})});
  cfg.guards.max_messages = 2; // the plan and s1
  auto swarm = f.keep(actors::spawn_hierarchical(f.sys, cfg, {}));
  auto r = f.ask(swarm, "Report");
  REQUIRE(is(r.error, errc::max_messages_reached));
  CHECK(r.text == "## s1 (from a)\ndone one");
  CHECK(is(traced(r, "t1.s2")->error, errc::max_messages_reached));
  CHECK(f.mock->stats().chat_requests == 2);
}

TEST_CASE("cancelling a task reaches the worker on it and answers cancelled") {
  test::actor_fixture f(R"(
rules:
  - match: {system: '^You are boss\.', user: '^Plan the task'}
    json: {subtasks: [{id: s1, text: "slow", skill: research, depends_on: []}]}
  - match: {system: '^You are a\.'}
    reply: "too late"
    latency_ms: 5000
)");
  auto swarm = f.keep(
      actors::spawn_hierarchical(f.sys, config(f.agent("boss"), {f.agent("a", {"research"})}), {}));
  caf::scoped_actor self{f.sys};
  auto pending = self->request(swarm, 20s, task{"t1", "r1", "Report", "user", {}});
  REQUIRE(test::eventually(
      [&] { return f.mock->stats().chat_requests >= 2 && f.mock->stats().in_flight >= 1; }));
  caf::anon_send(swarm, task_cancel{"t1"});
  result r;
  pending.receive([&](result& x) { r = std::move(x); },
                  [&](caf::error& err) { FAIL("request failed: " << describe(err)); });
  CHECK(is(r.error, errc::cancelled));
  CHECK(test::eventually([&] { return f.mock->stats().cancels >= 1; }));
}

TEST_CASE("a hierarchical swarm answers health probes") {
  test::actor_fixture f("default: {reply: hi}\n");
  auto swarm =
      f.keep(actors::spawn_hierarchical(f.sys, config(f.agent("boss"), {f.agent("a")}), {}));
  caf::scoped_actor self{f.sys};
  self->request(swarm, 5s, health_probe{42})
      .receive(
          [&](health_report& h) {
            CHECK(h.nonce == 42);
            CHECK(h.agent.name == "company");
            CHECK(h.tasks_running == 0);
          },
          [&](caf::error& err) { FAIL(describe(err)); });
}
