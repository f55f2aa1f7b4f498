// Cancelling an agent's task in every phase (summary call, long-term recall, tool calls) and the
// agent's own deadline on its LLM path: the task is answered once, no later LLM step starts, and
// a call still out is cancelled on the path.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <catch2/catch.hpp>

#include "actors/tool_runner.hpp"
#include "memory/database.hpp"
#include "memory/long_term_actor.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/loopback_server.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// An LLM path that takes every call and never answers it; it notes the cancels it gets.
struct deaf_llm_log {
  std::mutex mtx;
  std::vector<uint64_t> asked;
  std::vector<uint64_t> cancelled;
};

struct deaf_llm_state {
  std::vector<caf::typed_response_promise<chat_result>> held; // never delivered
  static inline const char* name = "test.deaf_llm";
};

llm_actor::behavior_type deaf_llm(llm_actor::stateful_pointer<deaf_llm_state> self,
                                  std::shared_ptr<deaf_llm_log> log) {
  return {
      [self, log](chat_request& req) -> caf::typed_response_promise<chat_result> {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->asked.push_back(req.call_id);
        self->state.held.push_back(self->make_response_promise<chat_result>());
        return self->state.held.back();
      },
      [](embedding_request&) -> caf::result<embedding_result> {
        return make_error(errc::invalid_argument, "no embeddings here");
      },
      [log](const chat_cancel& c) {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->cancelled.push_back(c.call_id);
      },
  };
}

/// Waits for the task's result (a CAF error fails the test).
result wait_for(caf::scoped_actor& self, const agent_actor& who, task t,
                caf::timespan timeout = 8s) {
  result out;
  self->request(who, timeout, std::move(t))
      .receive([&](result& r) { out = std::move(r); },
               [&](caf::error& err) { FAIL("no result: " << describe(err)); });
  return out;
}

} // namespace

TEST_CASE("a task cancelled while its tool call waits is answered at once; no next LLM step") {
  test::actor_fixture f{"rules:\n  - match: {history: 'tool: '}\n    reply: 'after the tool'\n"
                        "default:\n  tool_calls: [{name: list_files, arguments: {path: .}}]\n"};
  actors::tool_runner_config tools;
  tool_decl list;
  list.name = "list_files";
  list.needs_approval = true; // the call waits for a human: a tool that is slow for sure
  tools.tools.push_back(list);
  tools.permissions["team/alice"] = {"list_files"};
  tools.workspace_root = f.dir.path() / "workspaces";
  auto runner = f.keep(actors::spawn_tool_runner(f.sys, tools));
  auto cfg = f.agent_config("alice");
  cfg.tools = actors::tool_specs_for(tools, cfg.id);
  cfg.tool_runner = runner;
  auto alice = f.keep(actors::spawn_agent(f.sys, cfg, f.llm, {}));
  caf::scoped_actor self{f.sys};
  caf::scoped_actor poll{f.sys};
  auto approvals = [&] {
    std::vector<pending_approval> out;
    poll->request(runner, 5s, list_approvals{})
        .receive([&](std::vector<pending_approval>& xs) { out = std::move(xs); },
                 [&](caf::error& err) { FAIL(describe(err)); });
    return out;
  };
  auto handle = self->request(alice, 8s, task{"t1", "r1", "list the files", "user", {}});
  REQUIRE(test::eventually([&] { return approvals().size() == 1; }));
  auto started = clock_type::now();
  self->send(alice, task_cancel{"t1"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL("no result: " << describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(clock_type::now() - started < 3s);
  CHECK(out.use.calls == 1); // the usage so far is kept
  CHECK(out.use.prompt_tokens > 0);
  // The tool answers after the cancel (rejected by a human): the agent ignores the answer.
  poll->request(runner, 5s, approval_decision{approvals().at(0).id, false, "too late"})
      .receive([](bool) {}, [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(test::eventually([&] { return approvals().empty(); }));
  std::this_thread::sleep_for(300ms);
  CHECK(f.mock->stats().chat_requests == 1);
  poll->request(alice, 5s, health_probe{1})
      .receive([](health_report& h) { CHECK(h.tasks_running == 0); },
               [&](caf::error& err) { FAIL(describe(err)); });
}

TEST_CASE("a task cancelled during its long-term recall is answered at once; no LLM call") {
  test::actor_fixture f{"default: {reply: answered}\n"};
  test::loopback_server embeddings{test::loopback_server::silent()}; // the query embedding hangs
  auto db = memory::database::open((f.dir.path() / "data").string());
  REQUIRE(db);
  memory::long_term_memory_options lopts;
  lopts.embeddings = memory::embedding_options{f.llm, {embeddings.url("/v1"), ""}, "embed", 20s};
  auto ltm = f.keep(memory::spawn_long_term_memory(f.sys, *db, lopts));
  auto cfg = f.agent_config("bob");
  cfg.long_term = ltm;
  auto bob = f.keep(actors::spawn_agent(f.sys, cfg, f.llm, {}));
  caf::scoped_actor self{f.sys};
  auto handle = self->request(bob, 8s, task{"t1", "r1", "what do you remember?", "user", {}});
  REQUIRE(test::eventually([&] { return f.client->stats().in_flight == 1; }));
  auto started = clock_type::now();
  self->send(bob, task_cancel{"t1"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL("no result: " << describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(clock_type::now() - started < 3s);
  CHECK(out.use.total_tokens() == 0);
  std::this_thread::sleep_for(300ms);
  CHECK(f.mock->stats().chat_requests == 0);
}

TEST_CASE("a task cancelled during its summary call is answered at once; no step follows") {
  test::actor_fixture f{
      "rules:\n  - match: {system: '^You condense'}\n    reply: summary\n"
      "    latency_ms: 5000\n"
      "default: {reply: 'a long enough answer to fill the small window, and then some more'}\n"};
  auto cfg = f.agent_config("carol");
  cfg.short_term_tokens = 20; // the second task's turn pushes the first out of the window
  cfg.summarize_overflow = true;
  auto carol = f.keep(actors::spawn_agent(f.sys, cfg, f.llm, {}));
  caf::scoped_actor self{f.sys};
  auto first = wait_for(self, carol, task{"t1", "r1", "a first question of some length", "user"});
  REQUIRE_FALSE(first.error);
  auto handle = self->request(carol, 8s, task{"t2", "r1", "a second question", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  REQUIRE(f.mock->stats().chat_requests == 2); // the summary call is the one in flight
  auto started = clock_type::now();
  self->send(carol, task_cancel{"t2"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL("no result: " << describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(clock_type::now() - started < 3s);
  CHECK(test::eventually([&] { return f.mock->stats().cancels == 1; }));
  std::this_thread::sleep_for(300ms);
  CHECK(f.mock->stats().chat_requests == 2);
}

TEST_CASE("an agent whose LLM path does not answer in time cancels the call on the path") {
  test::actor_fixture f{"default: {reply: unused}\n"};
  auto log = std::make_shared<deaf_llm_log>();
  auto path = f.keep(f.sys.spawn(deaf_llm, log));
  auto cfg = f.agent_config("dave");
  cfg.llm_timeout = 300ms;
  auto dave = f.keep(actors::spawn_agent(f.sys, cfg, path, {}));
  caf::scoped_actor self{f.sys};
  auto started = clock_type::now();
  auto out = wait_for(self, dave, task{"t1", "r1", "hello", "user"});
  CHECK(clock_type::now() - started < 4s);
  CHECK(is(out.error, errc::llm_timeout));
  CHECK_THAT(describe(out.error), Catch::Contains("300 ms"));
  CHECK(out.use.calls == 1);
  auto cancelled = [&] {
    std::lock_guard<std::mutex> guard{log->mtx};
    return log->asked.size() == 1 && log->cancelled == log->asked;
  };
  CHECK(test::eventually(cancelled));
}

TEST_CASE("a second cancel, or one for an unknown task, changes nothing") {
  test::actor_fixture f{"latency: {fixed_ms: 3000}\ndefault: {reply: late}\n"};
  auto erin = f.keep(actors::spawn_agent(f.sys, f.agent_config("erin"), f.llm, {}));
  caf::scoped_actor self{f.sys};
  auto handle = self->request(erin, 8s, task{"t1", "r1", "slow one", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  self->send(erin, task_cancel{"nope"});
  self->send(erin, task_cancel{"t1"});
  self->send(erin, task_cancel{"t1"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL("no result: " << describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(out.use.calls == 1);
  auto next = f.ask(erin, "again", "t2");
  CHECK(next.text == "late");
  CHECK(f.mock->stats().chat_requests == 2);
}

TEST_CASE("a task whose id is already running cancels the older one: its asker asks anew") {
  // A sub-swarm coordinator that died is spawned again and sends the same subtask ids: the
  // orphaned task must stop spending, the new one must run.
  test::actor_fixture f{"latency: {fixed_ms: 1500}\ndefault: {reply: fresh}\n"};
  auto erin = f.keep(actors::spawn_agent(f.sys, f.agent_config("erin"), f.llm, {}));
  caf::scoped_actor self{f.sys};
  auto orphan = self->request(erin, 8s, task{"t1.erin", "r1", "first ask", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  auto again = self->request(erin, 8s, task{"t1.erin", "r1", "asked anew", "user", {}});
  result old_out;
  std::move(orphan).receive([&](result& r) { old_out = std::move(r); },
                            [&](caf::error& err) { FAIL("no result: " << describe(err)); });
  CHECK(is(old_out.error, errc::cancelled));
  result new_out;
  std::move(again).receive([&](result& r) { new_out = std::move(r); },
                           [&](caf::error& err) { FAIL("no result: " << describe(err)); });
  CHECK_FALSE(new_out.error);
  CHECK(new_out.text == "fresh");
  CHECK(f.mock->stats().cancels == 1);
}
