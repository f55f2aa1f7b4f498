// The fold of a run's events (run_view): what supervision's restarts do to a member's state.
#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/event_json.hpp"
#include "runtime/core/events.hpp"

using namespace swarm;

namespace {

event member_event(event_kind kind, const std::string& name) {
  event e;
  e.kind = kind;
  e.run_id = "r1";
  e.task_id = "t1." + name;
  e.agent = agent_id{"team", name};
  return e;
}

} // namespace

TEST_CASE("run_view counts restarts: the member runs again, then its answer counts") {
  run_view v;
  event start;
  start.kind = event_kind::run_started;
  start.run_id = "r1";
  start.total = 2;
  REQUIRE(v.apply(start));
  v.apply(member_event(event_kind::member_started, "a"));
  auto restarted = member_event(event_kind::member_restarted, "a");
  restarted.error = make_error(errc::member_down, "the member's actor died");
  restarted.attempts = 1;
  v.apply(restarted);
  const member_view* a = nullptr;
  for (const auto* m : v.agents())
    if (m->agent.name == "a")
      a = m;
  REQUIRE(a != nullptr);
  CHECK(a->state == "running");
  CHECK(a->restarts == 1);
  CHECK(v.restarts() == 1);
  auto done = member_event(event_kind::member_finished, "a");
  done.text = "42";
  v.apply(done);
  CHECK(a->state == "done");
  CHECK(a->text == "42");
  bool listed = false;
  for (const auto& m : members_json(v))
    if (m.as_object().at("agent").as_string() == "team/a") {
      listed = true;
      CHECK(m.as_object().at("restarts").to_number<int>() == 1);
    }
  CHECK(listed);
}

TEST_CASE("a run's status names how it ended: cancelled and interrupted are not failed") {
  CHECK(run_status(caf::error{}) == "done");
  CHECK(run_status(make_error(errc::cancelled, "the caller cancelled")) == "cancelled");
  CHECK(run_status(make_error(errc::runtime_stopped, "SIGINT")) == "interrupted");
  CHECK(run_status(make_error(errc::budget_exhausted, "tokens")) == "budget_exhausted");
  CHECK(run_status(make_error(errc::all_members_failed, "3 of 3")) == "failed");
  CHECK(run_status(make_error(errc::member_down, "killed")) == "failed");
}

TEST_CASE("an event read back from its JSON writes the same JSON") {
  event e;
  e.kind = event_kind::decision_made;
  e.seq = 12;
  e.run_seq = 9;
  e.time_us = 1'700'000'000'000'000;
  e.run_id = "run-1";
  e.task_id = "t1.a";
  e.agent = agent_id{"team", "a"};
  e.leaf = false;
  e.name = "majority";
  e.text = "408 ✓";
  e.arguments = R"({"q":1})";
  e.use = usage{11, 22, 3};
  e.confidence = 0.8;
  e.error = make_error(errc::llm_http_error, "503 from upstream");
  e.duration = std::chrono::milliseconds(1234);
  e.round = 2;
  e.step = 0;
  e.total = 5;
  e.approval = 7;
  e.scores = {{"408", 4}, {"407", 1}};
  auto json = to_json(e);
  auto back = event_from_json(json);
  REQUIRE(back);
  CHECK(to_json(*back) == json);
  CHECK(back->agent == e.agent);
  CHECK(is(back->error, errc::llm_http_error));
  e.kind = event_kind::llm_call_finished;
  e.cost_usd = -1; // no price: null
  back = event_from_json(to_json(e));
  REQUIRE(back);
  CHECK(back->cost_usd < 0);
  CHECK(to_json(*back) == to_json(e));
}

TEST_CASE("JSON that is no event is refused, naming the field") {
  CHECK_FALSE(event_from_json(boost::json::object{{"kind", "nope"}}));
  CHECK_FALSE(event_from_json(boost::json::object{}));
  auto wrong = event_from_json(boost::json::object{{"kind", "run_started"}, {"run_id", 3}});
  REQUIRE_FALSE(wrong);
  CHECK(describe(wrong.error()).find("run_id") != std::string::npos);
  auto foreign = event_from_json(boost::json::object{
      {"kind", "member_failed"},
      {"error", boost::json::object{{"code", "request_timeout"}, {"message", "slow"}}}});
  REQUIRE(foreign);
  CHECK(describe(foreign->error) == "member_failed: request_timeout: slow");
}
