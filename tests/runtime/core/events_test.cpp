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
