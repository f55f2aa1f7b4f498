// The group_chat coordinator against agents on the real mock LLM: turn order,
// selector, judge, termination, guards and cancellation.
#include <chrono>
#include <memory>
#include <mutex>

#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/group_chat.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

struct chat_setup {
  std::vector<std::string> members{"a", "b", "c"};
  group_chat_options options;
  guard_options guards{.member_timeout = std::chrono::seconds(10)};
  std::string selector;
  std::string judge;
};

agent_actor spawn_chat(test::actor_fixture& f, const chat_setup& s, monitor_actor monitor = {}) {
  actors::group_chat_config cfg;
  cfg.id = agent_id{"", "chat"};
  for (const auto& name : s.members)
    cfg.members.push_back(f.agent(name));
  cfg.guards = s.guards;
  cfg.options = s.options;
  if (!s.selector.empty()) {
    cfg.options.speaker = "selector";
    cfg.selector = f.agent(s.selector);
  }
  if (!s.judge.empty())
    cfg.judge = f.agent(s.judge);
  return f.keep(actors::spawn_group_chat(f.sys, std::move(cfg), monitor));
}

// The events a test monitor received (the monitor runs on a scheduler thread).
class event_log {
public:
  void add(event e) {
    std::lock_guard<std::mutex> guard{mutex_};
    events_.push_back(std::move(e));
  }
  std::vector<event> events() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return events_;
  }

private:
  mutable std::mutex mutex_;
  std::vector<event> events_;
};

// A monitor that records every event. (It takes an argument: CAF 0.17 trips UBSan when a
// function-based actor is spawned without any.)
monitor_actor::behavior_type recorder(std::shared_ptr<event_log> log) {
  return {
      [log](event& e) { log->add(std::move(e)); },
      [](subscribe_events&) {},
      [](follow_events&) {},
      [](flush_events) { return true; },
  };
}

std::vector<std::string> speakers(const result& r) {
  std::vector<std::string> out;
  for (const auto& x : r.trace)
    out.push_back(x.agent.name);
  return out;
}

// Each agent says "NAME speaks" unless a rule below says otherwise.
const std::string speaks = "rules:\n"
                           "  - match: {system: '^You are (\\w+)\\.'}\n"
                           "    reply: '{{system}} speaks'\n";

} // namespace

TEST_CASE("a round-robin chat gives turns in member order until max_turns") {
  test::actor_fixture f{speaks};
  chat_setup s;
  s.options.max_turns = 4;
  auto chat = spawn_chat(f, s);
  auto r = f.ask(chat, "discuss");
  CHECK_FALSE(r.error);
  CHECK(speakers(r) == std::vector<std::string>{"a", "b", "c", "a"});
  CHECK(r.text == "You are a. speaks");
  CHECK(r.trace[1].task_id == "t1.b.turn2");
  CHECK(r.use.calls == 4);
  CHECK(r.agent.name == "chat");
}

TEST_CASE("the guard's max_rounds bounds the turns when smaller than max_turns") {
  test::actor_fixture f{speaks};
  chat_setup s;
  s.options.max_turns = 10;
  s.guards.max_rounds = 2;
  auto r = f.ask(spawn_chat(f, s), "discuss");
  CHECK_FALSE(r.error);
  CHECK(speakers(r) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a speaker sees the transcript of the turns before it") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are a\\.'}\n"
                        "    reply: 'alpha idea'\n"
                        "  - match: {system: '^You are b\\.', user: '\\na: alpha idea\\n'}\n"
                        "    reply: 'b read a'\n"
                        "  - match: {system: '^You are b\\.'}\n"
                        "    reply: 'b saw nothing'\n"};
  chat_setup s;
  s.members = {"a", "b"};
  s.options.max_turns = 2;
  auto r = f.ask(spawn_chat(f, s), "brainstorm");
  CHECK(r.text == "b read a");
}

TEST_CASE("a turn mentioning the marker ends the chat, the marker stripped "
          "from the result") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are b\\.'}\n"
                        "    reply: 'The answer is 42. TERMINATE'\n"
                        "  - match: {system: '^You are a\\.'}\n"
                        "    reply: 'thinking'\n"};
  chat_setup s;
  s.options.max_turns = 10;
  s.guards.max_rounds = 10;
  auto r = f.ask(spawn_chat(f, s), "what is the answer?");
  CHECK_FALSE(r.error);
  CHECK(speakers(r) == std::vector<std::string>{"a", "b"});
  CHECK(r.text == "The answer is 42.");
}

TEST_CASE("a custom terminate_on marker ends the chat") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are c\\.'}\n"
                        "    reply: 'DONE: ship it'\n"
                        "  - match: {system: '^You are (\\w+)\\.'}\n"
                        "    reply: 'TERMINATE is not our word'\n"};
  chat_setup s;
  s.options.terminate_on = "DONE:";
  auto r = f.ask(spawn_chat(f, s), "decide");
  CHECK(speakers(r) == std::vector<std::string>{"a", "b", "c"});
  CHECK(r.text == "ship it");
}

TEST_CASE("the selector's choice of speaker is honoured each turn") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are sel\\.', user: 'c: You are c'}\n"
                        "    json: {speaker: a}\n"
                        "  - match: {system: '^You are sel\\.'}\n"
                        "    json: {speaker: c}\n"
                        "  - match: {system: '^You are (\\w+)\\.'}\n"
                        "    reply: '{{system}} speaks'\n"};
  chat_setup s;
  s.selector = "sel";
  s.options.max_turns = 2;
  auto r = f.ask(spawn_chat(f, s), "debate");
  CHECK_FALSE(r.error);
  CHECK(speakers(r) == std::vector<std::string>{"sel", "c", "sel", "a"});
  CHECK(r.trace[0].task_id == "t1.sel.turn1");
  CHECK(r.text == "You are a. speaks");
  CHECK(r.use.calls == 4);
}

TEST_CASE("an invalid selector choice is re-asked once with the problem stated") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are sel\\.', user: 'zed. is not a member'}\n"
                        "    json: {speaker: b}\n"
                        "  - match: {system: '^You are sel\\.'}\n"
                        "    json: {speaker: zed}\n"
                        "  - match: {system: '^You are (\\w+)\\.'}\n"
                        "    reply: '{{system}} speaks'\n"};
  chat_setup s;
  s.selector = "sel";
  s.options.max_turns = 1;
  auto r = f.ask(spawn_chat(f, s), "debate");
  CHECK(speakers(r) == std::vector<std::string>{"sel", "sel", "b"});
  CHECK(r.trace[1].task_id == "t1.sel.turn1.retry");
}

TEST_CASE("a selector invalid twice falls back to round robin for that turn") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are sel\\.'}\n"
                        "    reply: 'nobody'\n"
                        "  - match: {system: '^You are (\\w+)\\.'}\n"
                        "    reply: '{{system}} speaks'\n"};
  chat_setup s;
  s.selector = "sel";
  s.options.max_turns = 2;
  auto r = f.ask(spawn_chat(f, s), "debate");
  CHECK_FALSE(r.error);
  CHECK(speakers(r) == std::vector<std::string>{"sel", "sel", "a", "sel", "sel", "b"});
}

TEST_CASE("a judge asked after each turn ends the chat when it says done") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are judge\\.', user: 'b: You are b'}\n"
                        "    json: {done: true}\n"
                        "  - match: {system: '^You are judge\\.'}\n"
                        "    json: {done: false}\n"
                        "  - match: {system: '^You are (\\w+)\\.'}\n"
                        "    reply: '{{system}} speaks'\n"};
  chat_setup s;
  s.judge = "judge";
  s.options.max_turns = 10;
  auto r = f.ask(spawn_chat(f, s), "solve");
  CHECK_FALSE(r.error);
  CHECK(speakers(r) == std::vector<std::string>{"a", "judge", "b", "judge"});
  CHECK(r.text == "You are b. speaks");
}

TEST_CASE("a failed speaker ends the chat with member_failed and the turns so far") {
  test::actor_fixture f{"faults:\n  - {kind: http_500, match: {system: '^You are b'}}\n" + speaks};
  chat_setup s;
  auto r = f.ask(spawn_chat(f, s), "discuss");
  CHECK(is(r.error, errc::member_failed));
  CHECK(speakers(r) == std::vector<std::string>{"a", "b"});
  CHECK(r.text == "You are a. speaks");
  CHECK(is(r.trace[1].error, errc::llm_http_error));
}

TEST_CASE("max_messages stops the chat with a partial result") {
  test::actor_fixture f{speaks};
  chat_setup s;
  s.guards.max_messages = 2;
  auto r = f.ask(spawn_chat(f, s), "discuss");
  CHECK(is(r.error, errc::max_messages_reached));
  CHECK(speakers(r) == std::vector<std::string>{"a", "b"});
  CHECK(r.text == "You are b. speaks");
}

TEST_CASE("at the deadline the member is cancelled and the partial result returned") {
  test::actor_fixture f{"rules:\n"
                        "  - match: {system: '^You are b\\.'}\n"
                        "    reply: 'late'\n"
                        "    latency_ms: 5000\n"
                        "  - match: {system: '^You are a\\.'}\n"
                        "    reply: 'first thoughts'\n"};
  chat_setup s;
  s.guards.deadline = 500ms;
  auto started = std::chrono::steady_clock::now();
  auto r = f.ask(spawn_chat(f, s), "discuss");
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  CHECK(is(r.error, errc::deadline_exceeded));
  CHECK(r.text == "first thoughts");
  CHECK(speakers(r) == std::vector<std::string>{"a", "b"});
  CHECK(test::eventually([&] { return f.mock->stats().cancels == 1; }));
}

TEST_CASE("cancelling a chat reaches the member speaking") {
  test::actor_fixture f{"latency: {fixed_ms: 5000}\n"};
  chat_setup s;
  auto chat = spawn_chat(f, s);
  caf::scoped_actor self{f.sys};
  auto started = std::chrono::steady_clock::now();
  auto handle = self->request(chat, 20s, task{"t9", "r1", "talk", "user", {}});
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  self->send(chat, task_cancel{"t9"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  REQUIRE(out.trace.size() == 1);
  CHECK(out.trace[0].task_id == "t9.a.turn1");
  CHECK(is(out.trace[0].error, errc::cancelled));
  CHECK(test::eventually([&] { return f.mock->stats().cancels == 1; }));
}

TEST_CASE("a chat reports every turn and why it ended") {
  test::actor_fixture f{speaks};
  auto log = std::make_shared<event_log>();
  auto monitor = f.keep(f.sys.spawn(recorder, log));
  chat_setup s;
  s.options.max_turns = 2;
  auto r = f.ask(spawn_chat(f, s, monitor), "discuss");
  REQUIRE(test::eventually([&] { return log->events().size() == 5; }));
  auto events = log->events();
  CHECK(events[0].kind == event_kind::member_started);
  CHECK(events[0].round == 1);
  CHECK(events[1].kind == event_kind::member_finished);
  CHECK(events[1].use.calls == 1);
  CHECK(events[2].kind == event_kind::member_started);
  CHECK(events[2].round == 2);
  CHECK(events[3].kind == event_kind::member_finished);
  CHECK(events[4].kind == event_kind::decision_made);
  CHECK_FALSE(events[4].leaf);
  CHECK(events[4].agent.name == "chat");
  CHECK(events[4].name == "chat ended");
  CHECK(events[4].text == "max_turns 2 reached");
}

TEST_CASE("a chat answers health probes with the tasks it has done") {
  test::actor_fixture f{speaks};
  chat_setup s;
  s.members = {"a"};
  s.options.max_turns = 1;
  auto chat = spawn_chat(f, s);
  f.ask(chat, "one");
  caf::scoped_actor self{f.sys};
  self->request(chat, 5s, health_probe{3})
      .receive(
          [&](health_report& h) {
            CHECK(h.nonce == 3);
            CHECK(h.agent.name == "chat");
            CHECK(h.tasks_done == 1);
            CHECK(h.tasks_running == 0);
          },
          [&](caf::error& err) { FAIL(describe(err)); });
}
