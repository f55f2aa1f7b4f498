// The collaborative coordinator against agents on the real mock LLM: who was asked what in which
// round (mock rules keyed on the system prompt and the user text), and what was decided.
#include <chrono>
#include <memory>
#include <mutex>

#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/collaborative.hpp"
#include "runtime/core/events.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

agent_actor spawn(test::actor_fixture& fx, std::vector<std::string> names,
                  collaborative_options opts, guard_options guards = {},
                  std::string aggregator = {}, monitor_actor monitor = {}) {
  actors::collaborative_config cfg;
  cfg.id = agent_id{"", "team"};
  for (const auto& n : names)
    cfg.members.push_back(fx.agent(n));
  cfg.guards = guards;
  cfg.options = std::move(opts);
  if (!aggregator.empty())
    cfg.aggregator = fx.agent(aggregator);
  return fx.keep(actors::spawn_collaborative(fx.sys, std::move(cfg), std::move(monitor)));
}

collaborative_options decision(std::string d) {
  collaborative_options o;
  o.decision = std::move(d);
  return o;
}

std::vector<std::string> task_ids(const result& r) {
  std::vector<std::string> out;
  for (const auto& x : r.trace)
    out.push_back(x.task_id);
  return out;
}

struct event_log {
  std::mutex mx;
  std::vector<event> events;

  std::vector<event> coordinator_events() {
    std::lock_guard<std::mutex> guard{mx};
    std::vector<event> out;
    for (const auto& e : events)
      if (!e.leaf)
        out.push_back(e);
    return out;
  }
};

monitor_actor::behavior_type log_behavior(monitor_actor::pointer, std::shared_ptr<event_log> log) {
  return {
      [log](event& e) {
        std::lock_guard<std::mutex> guard{log->mx};
        log->events.push_back(std::move(e));
      },
      [](subscribe_events&) {},
      [](follow_events&) {},
      [](flush_events) { return true; },
  };
}

// Spawned with an argument: CAF 0.17 binds a null argument tuple for a function actor spawned
// without any, which UBSan reports.
monitor_actor spawn_log(test::actor_fixture& fx, std::shared_ptr<event_log> log) {
  return fx.keep(fx.sys.spawn(log_behavior, std::move(log)));
}

// Members a, b, c, d answer the capital question as below; anything else is "unexpected".
const char* capitals = R"(
faults:
  - {kind: http_500, match: {system: '^You are broken\.'}}
rules:
  - {match: {system: '^You are a\.', user: '^Capital of France\?$'}, reply: 'Paris.'}
  - {match: {system: '^You are b\.', user: '^Capital of France\?$'}, reply: 'paris'}
  - {match: {system: '^You are c\.', user: '^Capital of France\?$'}, reply: 'Lyon'}
  - {match: {system: '^You are d\.', user: '^Capital of France\?$'}, reply: 'lyon'}
  - {match: {system: '^You are e\.', user: '^Capital of France\?$'}, reply: 'Rome'}
default: {reply: 'unexpected'}
)";

} // namespace

TEST_CASE("majority returns the most common answer as its first member wrote it") {
  test::actor_fixture fx{capitals};
  auto team = spawn(fx, {"a", "b", "c"}, decision("majority"));
  auto out = fx.ask(team, "Capital of France?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Paris.");
  CHECK(out.confidence == Approx(2.0 / 3));
  CHECK(out.agent.name == "team");
  CHECK(task_ids(out) == std::vector<std::string>{"t1.a", "t1.b", "t1.c"});
  CHECK(out.trace[2].text == "Lyon");
  CHECK(out.use.calls == 3);
  CHECK(fx.mock->stats().chat_requests == 3);
}

TEST_CASE("a majority tie goes to the answer given first, or fails with tie: fail") {
  test::actor_fixture fx{capitals};
  auto opts = decision("majority");
  opts.quorum = 0.25; // a 2-2 tie clears it, so only the tie rule decides
  auto first = spawn(fx, {"c", "a", "b", "d"}, opts);
  auto out = fx.ask(first, "Capital of France?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Lyon"); // c comes first in member order
  CHECK(out.confidence == Approx(0.5));

  opts.tie = "fail";
  auto fail = spawn(fx, {"c", "a", "b", "d"}, opts);
  out = fx.ask(fail, "Capital of France?", "t2");
  CHECK(is(out.error, errc::no_quorum));
  CHECK(describe(out.error) == "no_quorum: a tie for the most votes with tie: fail (4 valid of 4 "
                               "votes: \"lyon\" 2, \"paris\" 2)");
  CHECK(out.text.empty());
  CHECK(out.trace.size() == 4);
}

TEST_CASE("majority without quorum fails with no_quorum, failed votes not counted") {
  test::actor_fixture fx{capitals};
  auto team = spawn(fx, {"a", "c", "e", "broken"}, decision("majority"));
  auto out = fx.ask(team, "Capital of France?");
  REQUIRE(is(out.error, errc::no_quorum));
  CHECK(describe(out.error) == "no_quorum: no answer has more than 50% of the valid votes (3 valid "
                               "of 4 votes: \"paris\" 1, \"lyon\" 1, \"rome\" 1)");
  REQUIRE(out.trace.size() == 4);
  CHECK(out.trace[3].agent.name == "broken");
  CHECK(out.trace[3].error);
}

TEST_CASE("weighted votes follow the members' weights") {
  test::actor_fixture fx{capitals};
  auto opts = decision("weighted");
  opts.weights = {{"e", 3}};
  auto team = spawn(fx, {"a", "b", "e"}, opts);
  auto out = fx.ask(team, "Capital of France?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Rome");
  CHECK(out.confidence == Approx(0.6));
}

TEST_CASE("consensus converges when a member revises after seeing the others' answers") {
  test::actor_fixture fx{R"(
rules:
  - match: {system: '^You are c\.', user: '^Capital\?\n\nThe other members answered in the previous round:\n\nAnswer from a:\nParis\n\nAnswer from b:\nParis\n\nYour previous answer:\nLyon\n'}
    reply: 'Paris'
  - {match: {system: '^You are c\.', user: '^Capital\?$'}, reply: 'Lyon'}
  - match: {system: '^You are (a|b)\.', user: 'Answer from c:\nLyon\n\nYour previous answer:\nParis'}
    reply: 'Paris'
  - {match: {system: '^You are (a|b)\.', user: '^Capital\?$'}, reply: 'Paris'}
default: {reply: 'unexpected'}
)"};
  auto opts = decision("consensus");
  auto team = spawn(fx, {"a", "b", "c"}, opts);
  auto out = fx.ask(team, "Capital?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Paris");
  CHECK(out.confidence == Approx(1.0));
  CHECK(task_ids(out) ==
        std::vector<std::string>{"t1.a", "t1.b", "t1.c", "t1.a.r2", "t1.b.r2", "t1.c.r2"});
  CHECK(out.trace[2].text == "Lyon");  // round 1: c disagreed
  CHECK(out.trace[5].text == "Paris"); // round 2: c saw a and b and changed its answer
  CHECK(fx.mock->stats().chat_requests == 6);
}

TEST_CASE("consensus stops at max_rounds with the last round's majority") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are c\.'}, reply: 'Lyon'}
  - {match: {system: '^You are (a|b)\.'}, reply: 'Paris'}
)"};
  guard_options guards;
  guards.max_rounds = 3;
  auto team = spawn(fx, {"a", "b", "c"}, decision("consensus"), guards);
  auto out = fx.ask(team, "Capital?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Paris");
  CHECK(out.confidence == Approx(2.0 / 3));
  REQUIRE(out.trace.size() == 9);
  CHECK(out.trace[8].task_id == "t1.c.r3");
  CHECK(fx.mock->stats().chat_requests == 9);
}

TEST_CASE("consensus without a majority at max_rounds fails with max_rounds_reached") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are a\.'}, reply: 'Paris'}
  - {match: {system: '^You are b\.'}, reply: 'Lyon'}
  - {match: {system: '^You are c\.'}, reply: 'Rome'}
)"};
  guard_options guards;
  guards.max_rounds = 2;
  auto team = spawn(fx, {"a", "b", "c"}, decision("consensus"), guards);
  auto out = fx.ask(team, "Capital?");
  REQUIRE(is(out.error, errc::max_rounds_reached));
  CHECK(describe(out.error).starts_with("max_rounds_reached: no agreement after 2 rounds and "
                                        "no_quorum: no answer has more than 50%"));
  CHECK(out.trace.size() == 6);
  CHECK(fx.mock->stats().chat_requests == 6);
}

TEST_CASE("synthesize shows each layer the previous one and lets the aggregator merge the last") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are agg\.', user: 'Answer from a:\nalpha 2\n\nAnswer from b:\nbeta 2$'}, reply: 'merged'}
  - {match: {system: '^You are agg\.', user: 'Answer from a:\nalpha 1\n\nAnswer from b:\nbeta 1$'}, reply: 'merged layer 1'}
  - {match: {system: '^You are a\.', user: 'previous layer[\s\S]*Answer from a:\nalpha 1\n\nAnswer from b:\nbeta 1'}, reply: 'alpha 2'}
  - {match: {system: '^You are b\.', user: 'previous layer[\s\S]*Answer from a:\nalpha 1\n\nAnswer from b:\nbeta 1'}, reply: 'beta 2'}
  - {match: {system: '^You are a\.', user: '^Write\.$'}, reply: 'alpha 1'}
  - {match: {system: '^You are b\.', user: '^Write\.$'}, reply: 'beta 1'}
default: {reply: 'unexpected'}
)"};
  auto opts = decision("synthesize");
  opts.layers = 2;
  auto team = spawn(fx, {"a", "b"}, opts, {}, "agg");
  auto out = fx.ask(team, "Write.");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "merged");
  CHECK(task_ids(out) ==
        std::vector<std::string>{"t1.a", "t1.b", "t1.a.l2", "t1.b.l2", "t1.agg.aggregate"});
  CHECK(out.trace[4].agent.name == "agg");
  CHECK(out.use.calls == 5);

  SECTION("layers are bounded by max_rounds") {
    guard_options guards;
    guards.max_rounds = 1;
    auto short_team = spawn(fx, {"a", "b"}, opts, guards, "agg");
    auto one = fx.ask(short_team, "Write.", "t2");
    REQUIRE_FALSE(one.error);
    CHECK(one.text == "merged layer 1");
    CHECK(task_ids(one) == std::vector<std::string>{"t2.a", "t2.b", "t2.agg.aggregate"});
  }
}

TEST_CASE("cancelling a collaborative task cancels every member in flight") {
  test::actor_fixture fx{"latency: {fixed_ms: 5000}\n"};
  auto team = spawn(fx, {"a", "b", "c"}, decision("consensus"));
  caf::scoped_actor self{fx.sys};
  auto started = clock_type::now();
  auto handle = self->request(team, 20s, task{"t1", "r1", "Capital?", "user", {}});
  REQUIRE(test::eventually([&] { return fx.mock->stats().in_flight == 3; }));
  self->send(team, task_cancel{"t1"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(clock_type::now() - started < 4s);
  CHECK(out.trace.size() == 3); // no second round after a cancel
  CHECK(test::eventually([&] { return fx.mock->stats().cancels == 3; }));
}

TEST_CASE("at the deadline a vote returns its partial result with deadline_exceeded") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are c\.'}, reply: 'Lyon', latency_ms: 5000}
  - {match: {system: '^You are (a|b)\.'}, reply: 'Paris'}
)"};
  guard_options guards;
  guards.deadline = 500ms;
  auto team = spawn(fx, {"a", "b", "c"}, decision("majority"), guards);
  auto started = clock_type::now();
  auto out = fx.ask(team, "Capital?");
  CHECK(clock_type::now() - started < 3s);
  REQUIRE(is(out.error, errc::deadline_exceeded));
  CHECK(out.text == "Paris");
  REQUIRE(out.trace.size() == 3);
  CHECK(is(out.trace[2].error, errc::member_timeout));
  CHECK(test::eventually([&] { return fx.mock->stats().cancels == 1; }));
}

TEST_CASE("members beyond max_messages are refused and do not vote") {
  test::actor_fixture fx{capitals};
  guard_options guards;
  guards.max_messages = 2;
  auto team = spawn(fx, {"a", "b", "c"}, decision("majority"), guards);
  auto out = fx.ask(team, "Capital of France?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Paris.");
  CHECK(out.confidence == Approx(1.0));
  CHECK(is(out.trace[2].error, errc::max_messages_reached));
  CHECK(fx.mock->stats().chat_requests == 2);
}

TEST_CASE("a collaborative swarm reports each member's answer and the vote it decided") {
  test::actor_fixture fx{capitals};
  auto log = std::make_shared<event_log>();
  auto team = spawn(fx, {"a", "b", "c"}, decision("majority"), {}, {}, spawn_log(fx, log));
  auto out = fx.ask(team, "Capital of France?");
  REQUIRE_FALSE(out.error);
  auto of_kind = [&](event_kind k) {
    std::lock_guard<std::mutex> guard{log->mx};
    std::vector<event> xs;
    for (const auto& e : log->events)
      if (e.kind == k)
        xs.push_back(e);
    return xs;
  };
  REQUIRE(test::eventually([&] { return of_kind(event_kind::member_finished).size() == 3; }));
  CHECK(of_kind(event_kind::member_started).size() == 3);
  uint64_t completion = 0;
  for (const auto& e : of_kind(event_kind::member_finished)) {
    CHECK(e.leaf);
    CHECK_FALSE(e.text.empty());
    completion += e.use.completion_tokens;
  }
  CHECK(completion == out.use.completion_tokens);
  CHECK(out.use.completion_tokens > 0);
  REQUIRE(test::eventually([&] { return of_kind(event_kind::decision_made).size() == 1; }));
  auto d = of_kind(event_kind::decision_made)[0];
  CHECK_FALSE(d.leaf);
  CHECK(d.agent.name == "team");
  CHECK(d.name == "majority");
  CHECK(d.text == "paris");
  REQUIRE(d.scores.size() == 2);
  CHECK(d.scores[0].value == 2);
  CHECK(decision_line(d) == "majority: paris (2 of 3, confidence 0.67)");

  caf::scoped_actor self{fx.sys};
  self->request(team, 5s, health_probe{9})
      .receive(
          [&](health_report& h) {
            CHECK(h.nonce == 9);
            CHECK(h.tasks_done == 1);
            CHECK(h.tasks_running == 0);
          },
          [&](caf::error& err) { FAIL(describe(err)); });
}
