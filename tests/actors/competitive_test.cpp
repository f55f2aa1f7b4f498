// The competitive coordinator against agents on the real mock LLM: what the judge saw, whose
// confidence counted, and which racers were cancelled.
#include <chrono>
#include <cmath>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/competitive.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

agent_actor spawn(test::actor_fixture& fx, std::vector<actors::member> members,
                  competitive_options opts, guard_options guards = {}, actors::member judge = {}) {
  actors::competitive_config cfg;
  cfg.id = agent_id{"", "race"};
  cfg.members = std::move(members);
  cfg.guards = guards;
  cfg.options = std::move(opts);
  cfg.judge = std::move(judge);
  return fx.keep(actors::spawn_competitive(fx.sys, std::move(cfg), {}));
}

std::vector<actors::member> agents(test::actor_fixture& fx, std::vector<std::string> names) {
  std::vector<actors::member> out;
  for (const auto& n : names)
    out.push_back(fx.agent(n));
  return out;
}

actors::member logprob_agent(test::actor_fixture& fx, const std::string& name) {
  auto cfg = fx.agent_config(name);
  cfg.logprobs = true;
  return actors::member{name, fx.keep(actors::spawn_agent(fx.sys, cfg, fx.llm, {})), {}};
}

competitive_options select(std::string s) {
  competitive_options o;
  o.select = std::move(s);
  return o;
}

std::vector<std::string> task_ids(const result& r) {
  std::vector<std::string> out;
  for (const auto& x : r.trace)
    out.push_back(x.task_id);
  return out;
}

// Three answers; the judge scores them only when it sees all three, labelled, with the criteria.
const char* judged = R"(
rules:
  - match: {system: '^You are judge\.', user: 'could not be used: invalid_reply: not JSON'}
    json: {scores: [{member: a, score: 2}, {member: b, score: 3}, {member: c, score: 8}]}
  - match: {system: '^You are judge\.', user: 'criteria: accuracy\.[\s\S]*Task: Explain tides\.\n\nAnswer from a:\nanswer A\n\nAnswer from b:\nanswer B\n\nAnswer from c:\nanswer C$'}
    json: {scores: [{member: a, score: 4}, {member: b, score: 9}, {member: c, score: 7}]}
  - {match: {system: '^You are judge\.'}, reply: 'B is clearly best'}
  - {match: {system: '^You are a\.', user: '^Explain tides\.$'}, reply: 'answer A'}
  - {match: {system: '^You are b\.', user: '^Explain tides\.$'}, reply: 'answer B'}
  - {match: {system: '^You are c\.', user: '^Explain tides\.$'}, reply: 'answer C'}
  - {match: {system: '^You are d\.'}, reply: 'answer D'}
default: {reply: 'unexpected'}
)";

} // namespace

TEST_CASE("the judge sees every answer labelled by member and its highest score wins") {
  test::actor_fixture fx{judged};
  auto opts = select("judge");
  opts.criteria = "accuracy";
  auto race = spawn(fx, agents(fx, {"a", "b", "c"}), opts, {}, fx.agent("judge"));
  auto out = fx.ask(race, "Explain tides.");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "answer B");
  CHECK(out.confidence == Approx(0.9));
  CHECK(task_ids(out) == std::vector<std::string>{"t1.a", "t1.b", "t1.c", "t1.judge.judge"});
  CHECK(out.use.calls == 4);
  CHECK(fx.mock->stats().chat_requests == 4);
}

TEST_CASE("a malformed judge reply is re-asked once with the problem stated") {
  test::actor_fixture fx{judged};
  auto opts = select("judge");
  opts.criteria = "brevity"; // the first-ask rule wants "accuracy": the judge replies prose
  auto race = spawn(fx, agents(fx, {"a", "b", "c"}), opts, {}, fx.agent("judge"));
  auto out = fx.ask(race, "Explain tides.");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "answer C");
  CHECK(task_ids(out) ==
        std::vector<std::string>{"t1.a", "t1.b", "t1.c", "t1.judge.judge", "t1.judge.judge2"});
  CHECK(out.trace[3].text == "B is clearly best");
}

TEST_CASE("a judge malformed twice fails with invalid_reply") {
  test::actor_fixture fx{judged};
  // d's answer is unknown to the first rule, and the re-ask rule's scores name no d: malformed.
  auto race = spawn(fx, agents(fx, {"a", "d"}), select("judge"), {}, fx.agent("judge"));
  auto out = fx.ask(race, "Explain tides.");
  REQUIRE(is(out.error, errc::invalid_reply));
  CHECK(describe(out.error).starts_with("invalid_reply: judge judge replied malformed twice: "
                                        "invalid_reply:"));
  CHECK(out.trace.size() == 4);
  CHECK(fx.mock->stats().chat_requests == 4);
}

TEST_CASE("confidence from logprobs picks the most certain member") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are a\.'}, reply: 'Paris', logprob: -0.5}
  - {match: {system: '^You are b\.'}, reply: 'Lyon', logprob: -0.05}
  - {match: {system: '^You are c\.'}, reply: 'Rome', logprob: -1.0}
)"};
  auto race = spawn(fx, {logprob_agent(fx, "a"), logprob_agent(fx, "b"), logprob_agent(fx, "c")},
                    select("confidence"));
  auto out = fx.ask(race, "Capital?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Lyon");
  CHECK(out.confidence == Approx(std::exp(-0.05)));
  REQUIRE(out.trace.size() == 3);
  CHECK(out.trace[0].confidence == Approx(std::exp(-0.5)));
}

TEST_CASE("without logprobs the members' self-reported confidence decides") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are a\.'}, json: {answer: Paris, confidence: 0.7}}
  - {match: {system: '^You are b\.'}, json: {answer: Lyon, confidence: 0.9}}
  - {match: {system: '^You are c\.'}, reply: 'Rome, I am sure'}
)"};
  auto race = spawn(fx, agents(fx, {"a", "b", "c"}), select("confidence"));
  auto out = fx.ask(race, "Capital?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Lyon");
  CHECK(out.confidence == Approx(0.9));
  CHECK(out.trace[1].text.find("\"Lyon\"") != std::string::npos); // the raw reply is kept
}

TEST_CASE("equal confidence goes to the earliest answer") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are a\.'}, json: {answer: Paris, confidence: 0.9}, latency_ms: 300}
  - {match: {system: '^You are b\.'}, json: {answer: Lyon, confidence: 0.9}}
)"};
  auto race = spawn(fx, agents(fx, {"a", "b"}), select("confidence"));
  auto out = fx.ask(race, "Capital?");
  REQUIRE_FALSE(out.error);
  CHECK(out.text == "Lyon");
}

TEST_CASE("first_k keeps the first k answers and cancels the losers at once") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are (a|b)\.'}, reply: 'quick {{system}}', latency_ms: 200}
  - {match: {system: '^You are (c|d|e)\.'}, reply: 'slow', latency_ms: 6000}
)"};
  auto opts = select("first_k");
  opts.k = 2;
  auto race = spawn(fx, agents(fx, {"c", "a", "d", "b", "e"}), opts);
  auto started = clock_type::now();
  auto out = fx.ask(race, "Go!");
  CHECK(clock_type::now() - started < 3s); // long before the losers' 6 s
  REQUIRE_FALSE(out.error);
  CHECK(out.text.starts_with("quick You are "));
  REQUIRE(out.trace.size() == 5);
  CHECK(out.text == out.trace[0].text);
  for (size_t i = 0; i < 2; ++i) {
    CHECK_FALSE(out.trace[i].error);
    CHECK(out.trace[i].text.starts_with("quick"));
  }
  CHECK(task_ids(out)[2] == "t1.c");
  CHECK(task_ids(out)[3] == "t1.d");
  CHECK(task_ids(out)[4] == "t1.e");
  for (size_t i = 2; i < 5; ++i)
    CHECK(is(out.trace[i].error, errc::cancelled));
  CHECK(test::eventually([&] { return fx.mock->stats().cancels == 3; }));
  CHECK(test::eventually([&] { return fx.mock->stats().in_flight == 0; }));
}

TEST_CASE("a competitive race past its deadline returns the earliest answer unjudged") {
  test::actor_fixture fx{R"(
rules:
  - {match: {system: '^You are a\.'}, reply: 'on time'}
  - {match: {system: '^You are b\.'}, reply: 'late', latency_ms: 5000}
)"};
  guard_options guards;
  guards.deadline = 400ms;
  auto race = spawn(fx, agents(fx, {"a", "b"}), select("judge"), guards, fx.agent("judge"));
  auto out = fx.ask(race, "Go!");
  REQUIRE(is(out.error, errc::deadline_exceeded));
  CHECK(out.text == "on time");
  CHECK(out.trace.size() == 2); // the judge was not asked
  CHECK(fx.mock->stats().chat_requests == 2);
  CHECK(test::eventually([&] { return fx.mock->stats().cancels == 1; }));
}

TEST_CASE("cancelling a race cancels every racer in flight") {
  test::actor_fixture fx{"latency: {fixed_ms: 5000}\n"};
  auto race = spawn(fx, agents(fx, {"a", "b"}), select("judge"), {}, fx.agent("judge"));
  caf::scoped_actor self{fx.sys};
  auto started = clock_type::now();
  auto handle = self->request(race, 20s, task{"t1", "r1", "Go!", "user", {}});
  REQUIRE(test::eventually([&] { return fx.mock->stats().in_flight == 2; }));
  self->send(race, task_cancel{"t1"});
  result out;
  std::move(handle).receive([&](result& r) { out = std::move(r); },
                            [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(is(out.error, errc::cancelled));
  CHECK(clock_type::now() - started < 4s);
  CHECK(test::eventually([&] { return fx.mock->stats().cancels == 2; }));
}
