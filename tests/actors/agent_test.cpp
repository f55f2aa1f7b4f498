// The agent actor against the real mock LLM over loopback HTTP, through the LLM actor.
#include <chrono>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/agent.hpp"
#include "actors/concurrent.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/eventually.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

// The shared actor fixture; agent(NAME) is an agent's config, each test spawns its own.
struct fixture : test::actor_fixture {
  using actor_fixture::actor_fixture;
  actors::agent_config agent(const std::string& name) { return agent_config(name); }
};

} // namespace

TEST_CASE("an agent answers a task with the model's reply and its usage") {
  fixture f{"rules:\n  - match: {system: '^You are alice'}\n    reply: 'alice says {{user}}'\n"};
  auto alice = actors::spawn_agent(f.sys, f.agent("alice"), f.llm, {});
  auto r = f.ask(alice, "hello");
  CHECK_FALSE(r.error);
  CHECK(r.text == "alice says hello");
  CHECK(r.agent == agent_id{"team", "alice"});
  CHECK(r.task_id == "t1");
  CHECK(r.use.calls == 1);
  CHECK(r.use.completion_tokens > 0);
  CHECK(r.use.prompt_tokens > 0);
  caf::anon_send_exit(alice, caf::exit_reason::user_shutdown);
}

TEST_CASE("an agent remembers its conversation and direct messages in later turns") {
  // The reply echoes how many messages the request carried, via the system-prompt rule and
  // the request count; the real check is on what the mock received: see prompt tokens grow.
  fixture f{"default: {reply: 'ok {{n}}'}\n"};
  auto bob = actors::spawn_agent(f.sys, f.agent("bob"), f.llm, {});
  auto first = f.ask(bob, "first question", "t1");
  caf::anon_send(bob, dm{"carol", "remember the number 42"});
  auto second = f.ask(bob, "second question", "t2");
  CHECK(first.text == "ok 1");
  CHECK(second.text == "ok 2");
  // The second request carries the first turn and the dm, so it costs more prompt tokens.
  CHECK(second.use.prompt_tokens > first.use.prompt_tokens + 5);
  caf::anon_send_exit(bob, caf::exit_reason::user_shutdown);
}

TEST_CASE("each run has its own conversation; direct messages reach every run") {
  // Runs of a served swarm belong to different clients: one run's turns must not reach another.
  fixture f{"default: {reply: 'ok {{n}}'}\n"};
  auto bob = actors::spawn_agent(f.sys, f.agent("bob"), f.llm, {});
  auto secret = f.ask(bob, "the secret is SECRET-OF-ALICE-42", "t1", 30s, "alice-run");
  auto other = f.ask(bob, "a question from bob", "t1", 30s, "bob-run");
  CHECK_FALSE(other.error);
  // Bob's request carried no turn of Alice's run: it costs what a first turn costs.
  CHECK(other.use.prompt_tokens <= secret.use.prompt_tokens);
  auto again = f.ask(bob, "and again", "t2", 30s, "alice-run");
  CHECK(again.use.prompt_tokens > secret.use.prompt_tokens); // it carries Alice's first turn
  caf::anon_send(bob, dm{"carol", "remember the number 42 please, it matters a lot"});
  auto later = f.ask(bob, "a question from bob", "t1", 30s, "third-run");
  CHECK(later.use.prompt_tokens > other.use.prompt_tokens + 5); // the dm seeds a new run
  caf::anon_send_exit(bob, caf::exit_reason::user_shutdown);
}

TEST_CASE("an LLM failure becomes a result with a named error, not a crash") {
  fixture f{"faults:\n  - {kind: http_500}\n"};
  auto a = actors::spawn_agent(f.sys, f.agent("a"), f.llm, {});
  auto r = f.ask(a, "hi");
  REQUIRE(r.error);
  CHECK(is(r.error, errc::llm_http_error));
  CHECK(r.text.empty());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("cancelling a task closes its HTTP request and answers with cancelled") {
  fixture f{"latency: {fixed_ms: 5000}\n"};
  auto a = actors::spawn_agent(f.sys, f.agent("a"), f.llm, {});
  caf::scoped_actor self{f.sys};
  auto started = std::chrono::steady_clock::now();
  auto handle = self->request(a, 20s, task{"slow", "r1", "take your time", "user"});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  self->send(a, task_cancel{"slow"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  CHECK(test::eventually([&] { return f.mock->stats().cancels == 1; }));
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("an agent reports its health with tasks done") {
  fixture f{"default: {reply: 'fine'}\n"};
  auto a = actors::spawn_agent(f.sys, f.agent("a"), f.llm, {});
  f.ask(a, "one");
  caf::scoped_actor self{f.sys};
  self->request(a, 5s, health_probe{7})
      .receive(
          [&](health_report& h) {
            CHECK(h.nonce == 7);
            CHECK(h.agent.name == "a");
            CHECK(h.tasks_done == 1);
            CHECK(h.tasks_running == 0);
          },
          [&](caf::error& err) { FAIL(describe(err)); });
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("an agent keeps the caller's shared config instead of a copy of it") {
  // The factory's respawn and the agent hold one config: a million agents, not two million
  // configs. The agent takes the pointer as it is and lets it go when it stops.
  fixture f{"rules:\n  - match: {system: '^You are alice'}\n    reply: 'alice says {{user}}'\n"};
  auto own = f.agent("alice");
  own.target = std::make_shared<const actors::llm_target>(
      actors::llm_target{own.endpoint, own.model, {}}); // as the factory's configs have
  auto cfg = std::make_shared<const actors::agent_config>(std::move(own));
  auto alice = actors::spawn_agent(f.sys, cfg, f.llm, {});
  auto r = f.ask(alice, "hello");
  CHECK(r.text == "alice says hello");
  CHECK(r.agent == agent_id{"team", "alice"});
  CHECK(cfg.use_count() == 2); // the caller's and the agent's: no copy
  caf::anon_send_exit(alice, caf::exit_reason::user_shutdown);
  CHECK(test::eventually([&] { return cfg.use_count() == 1; }));
}

TEST_CASE("agents sharing one behavior each answer as themselves, on every scheduler thread") {
  // The handlers are shared by all agents and find theirs through the actor being run: probes
  // and dms to many agents at once, spread over the scheduler's threads, reach the right one.
  fixture f{"default: {reply: 'fine'}\n"};
  constexpr int n = 200;
  std::vector<agent_actor> agents;
  for (int i = 0; i < n; ++i)
    agents.push_back(actors::spawn_agent(f.sys, f.agent("a" + std::to_string(i)), f.llm, {}));
  for (int i = 0; i < n; ++i) // agent i gets i % 3 dms: none of them may land on another agent
    for (int k = 0; k < i % 3; ++k)
      caf::anon_send(agents[i], dm{"x", "note"});
  caf::scoped_actor self{f.sys};
  for (int i = 0; i < n; ++i)
    self->send(agents[i], health_probe{static_cast<uint64_t>(i)});
  int answered = 0;
  for (int i = 0; i < n; ++i)
    self->receive(
        [&](health_report& h) {
          ++answered;
          CHECK(h.agent.name == "a" + std::to_string(h.nonce));
        },
        caf::after(5s) >> [&] { FAIL("no health report within 5 s"); });
  CHECK(answered == n);
  // The dms each agent holds go with its next request: agents a0, a1 and a2 (same name and
  // question lengths) hold 0, 1 and 2 of them, so their prompts grow in that order.
  std::vector<uint64_t> prompt;
  for (int i : {0, 1, 2}) {
    auto r = f.ask(agents[i], "q" + std::to_string(i), "t" + std::to_string(i));
    CHECK_FALSE(r.error);
    CHECK(r.agent.name == "a" + std::to_string(i));
    prompt.push_back(r.use.prompt_tokens);
  }
  CHECK(prompt[1] > prompt[0]);
  CHECK(prompt[2] > prompt[1]);
  for (auto& a : agents)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("a concurrent swarm gathers every member, failures in place") {
  fixture f{"faults:\n  - {kind: http_500, match: {system: '^You are b'}}\n"
            "rules:\n  - match: {system: '^You are (a|c)'}\n    reply: 'fine from {{system}}'\n"};
  std::vector<actors::member> members;
  for (auto name : {"a", "b", "c"})
    members.push_back({name, actors::spawn_agent(f.sys, f.agent(name), f.llm, {})});
  auto team = actors::spawn_concurrent(
      f.sys, actors::concurrent_config{agent_id{"", "team"}, members, 10s}, {});
  auto r = f.ask(team, "go");
  CHECK_FALSE(r.error);
  REQUIRE(r.trace.size() == 3);
  CHECK(r.trace[0].text == "fine from You are a.");
  CHECK(is(r.trace[1].error, errc::llm_http_error));
  CHECK(r.trace[2].text == "fine from You are c.");
  CHECK(r.trace[1].task_id == "t1.b");
  CHECK(r.use.calls == 3);
  for (auto& m : members)
    caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(team, caf::exit_reason::user_shutdown);
}
