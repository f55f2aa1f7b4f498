// The graph coordinator against agents on the real mock LLM: edge order,
// conditions, fan-in, failures, parallel branches, guards and cancellation.
#include <chrono>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/conversation.hpp"
#include "actors/graph.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

agent_actor make_flow(test::actor_fixture& f, std::vector<std::string> nodes,
                      std::vector<graph_edge> edges, guard_options guards = {}) {
  actors::graph_config cfg;
  cfg.id = agent_id{"", "flow"};
  for (const auto& name : nodes)
    cfg.members.push_back(f.agent(name));
  cfg.guards = guards;
  if (cfg.guards.member_timeout > 10s)
    cfg.guards.member_timeout = 10s;
  cfg.options.edges = std::move(edges);
  return f.keep(actors::spawn_graph(f.sys, std::move(cfg), {}));
}

std::vector<std::string> order(const result& r) {
  std::vector<std::string> out;
  for (const auto& x : r.trace)
    out.push_back(x.agent.name);
  return out;
}

const result* find(const result& r, const std::string& name) {
  for (const auto& x : r.trace)
    if (x.agent.name == name)
      return &x;
  return nullptr;
}

// Each agent says "NAME done" unless a rule before this one says otherwise.
const std::string done_rule = "  - match: {system: '^You are (\\w+)\\.'}\n"
                              "    reply: '{{system}} done'\n";

} // namespace

TEST_CASE("a node runs after its predecessor and gets the task plus its answer") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are b\\.', user: "
                        "'^Task: report\\n\\nAnswer from a: You are a\\. done$'}\n"
                        "    reply: 'b built on a'\n" +
                        done_rule};
  auto flow = make_flow(f, {"a", "b"}, {{"a", "b", "", 1}});
  auto r = f.ask(flow, "report");
  CHECK_FALSE(r.error);
  CHECK(r.text == "b built on a");
  CHECK(order(r) == std::vector<std::string>{"a", "b"});
  CHECK(r.trace[1].task_id == "t1.b");
  CHECK(r.use.calls == 2);
  CHECK(r.agent.name == "flow");
}

TEST_CASE("a conditional edge is taken when its regex matches and the other "
          "branch skipped") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are triage\\.'}\n"
                        "    reply: 'verdict: bug'\n" +
                        done_rule};
  auto flow = make_flow(f, {"triage", "fixer", "writer", "editor"},
                        {{"triage", "fixer", "verdict: bug", 1},
                         {"triage", "writer", "verdict: feature", 2},
                         {"writer", "editor", "", 3}});
  auto r = f.ask(flow, "issue 12");
  CHECK_FALSE(r.error);
  // Exits: fixer (ran) and editor (skipped through writer): the one exit that
  // ran answers.
  CHECK(r.text == "You are fixer. done");
  REQUIRE(find(r, "writer"));
  CHECK(is(find(r, "writer")->error, errc::no_route));
  CHECK(find(r, "writer")->text == actors::skipped_text);
  REQUIRE(find(r, "editor"));
  CHECK(is(find(r, "editor")->error, errc::no_route));
  CHECK(r.trace.size() == 4);
  CHECK(r.use.calls == 2);
}

TEST_CASE("fan-in waits for both branches and gets both answers") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are slow\\.'}\n"
                        "    reply: 'slow part'\n"
                        "    latency_ms: 200\n"
                        "  - match: {system: '^You are merge\\.', user: "
                        "'Answer from fast: You are fast\\. done\\n\\nAnswer "
                        "from slow: slow part'}\n"
                        "    reply: 'merged both'\n"
                        "  - match: {system: '^You are merge\\.'}\n"
                        "    reply: 'merged too early'\n" +
                        done_rule};
  auto flow =
      make_flow(f, {"fast", "slow", "merge"}, {{"fast", "merge", "", 1}, {"slow", "merge", "", 2}});
  auto r = f.ask(flow, "combine");
  CHECK_FALSE(r.error);
  CHECK(r.text == "merged both");
  CHECK(order(r) == std::vector<std::string>{"fast", "slow", "merge"});
}

TEST_CASE("independent branches run in parallel and every exit answers under "
          "its name") {
  test::actor_fixture f{"latency: {fixed_ms: 300}\n"
                        "rules:\n" +
                        done_rule};
  auto flow = make_flow(f, {"a", "b"}, {});
  auto r = f.ask(flow, "both");
  CHECK_FALSE(r.error);
  CHECK(r.text == "## a\nYou are a. done\n\n## b\nYou are b. done");
  CHECK(f.mock->stats().peak_in_flight == 2);
}

TEST_CASE("a failed node skips its dependents while another exit still answers") {
  test::actor_fixture f{"faults:\n  - {kind: http_500, match: {system: '^You are a'}}\n"
                        "rules:\n" +
                        done_rule};
  auto flow = make_flow(f, {"a", "b", "c"}, {{"a", "b", "", 1}});
  auto r = f.ask(flow, "go");
  CHECK_FALSE(r.error);
  CHECK(r.text == "You are c. done");
  REQUIRE(find(r, "a"));
  CHECK(is(find(r, "a")->error, errc::llm_http_error));
  REQUIRE(find(r, "b"));
  CHECK(is(find(r, "b")->error, errc::no_route));
}

TEST_CASE("a graph in which no exit node ran fails with member_failed") {
  test::actor_fixture f{"faults:\n  - {kind: http_500, match: {system: '^You are a'}}\n"
                        "rules:\n" +
                        done_rule};
  auto flow = make_flow(f, {"a", "b"}, {{"a", "b", "", 1}});
  auto r = f.ask(flow, "go");
  CHECK(is(r.error, errc::member_failed));
  CHECK(order(r) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a graph with a cycle answers every task with invalid_spec") {
  test::actor_fixture f{"rules:\n" + done_rule};
  auto flow = make_flow(f, {"a", "b"}, {{"a", "b", "", 1}, {"b", "a", "", 2}});
  auto r = f.ask(flow, "go");
  CHECK(is(r.error, errc::invalid_spec));
  CHECK(describe(r.error).find("cycle: a -> b -> a") != std::string::npos);
  CHECK(f.mock->stats().chat_requests == 0);
}

TEST_CASE("max_messages refuses the nodes beyond it and marks the result partial") {
  test::actor_fixture f{"rules:\n" + done_rule};
  guard_options guards;
  guards.max_messages = 1;
  auto flow = make_flow(f, {"a", "b"}, {{"a", "b", "", 1}}, guards);
  auto r = f.ask(flow, "go");
  CHECK(is(r.error, errc::max_messages_reached));
  CHECK(order(r) == std::vector<std::string>{"a", "b"});
  CHECK(is(r.trace[1].error, errc::max_messages_reached));
  CHECK(f.mock->stats().chat_requests == 1);
}

TEST_CASE("at the deadline the nodes in flight are cancelled and the partial "
          "result returned") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are slow\\.'}\n"
                        "    reply: 'late'\n"
                        "    latency_ms: 5000\n" +
                        done_rule};
  guard_options guards;
  guards.deadline = 500ms;
  auto flow = make_flow(f, {"quick", "slow", "after"}, {{"slow", "after", "", 1}}, guards);
  auto started = std::chrono::steady_clock::now();
  auto r = f.ask(flow, "go");
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  CHECK(is(r.error, errc::deadline_exceeded));
  CHECK(r.text == "You are quick. done");
  REQUIRE(find(r, "slow"));
  CHECK(find(r, "slow")->error);
  CHECK(test::eventually([&] { return f.mock->stats().cancels == 1; }));
}

TEST_CASE("cancelling a graph reaches every node in flight") {
  test::actor_fixture f{"latency: {fixed_ms: 5000}\n"};
  auto flow = make_flow(f, {"a", "b", "c"}, {{"a", "c", "", 1}, {"b", "c", "", 2}});
  caf::scoped_actor self{f.sys};
  auto started = std::chrono::steady_clock::now();
  auto handle = self->request(flow, 20s, task{"t5", "r1", "go", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 2; }));
  self->send(flow, task_cancel{"t5"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  REQUIRE(find(out, "a"));
  CHECK(is(find(out, "a")->error, errc::cancelled));
  CHECK(find(out, "a")->task_id == "t5.a");
  REQUIRE(find(out, "b"));
  CHECK(is(find(out, "b")->error, errc::cancelled));
  CHECK_FALSE(find(out, "c"));
  CHECK(test::eventually([&] { return f.mock->stats().cancels == 2; }));
}
