// The sequential coordinator: a pipeline; each member gets the task and the previous answer, the
// last answer is the result, a failure stops the pipeline.
#include "actors/sequential.hpp"

#include <memory>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/coordination.hpp"
#include "actors/planning.hpp"

namespace swarm::actors {

namespace {

// One task in flight: the steps done so far and the one being worked on.
struct pipeline {
  pipeline(task t, const guard_options& guards) : request(std::move(t)), budget(guards) {}

  task request;
  caf::typed_response_promise<result> promise;
  task_budget budget;
  std::vector<result> done; // the members' results, in order (the trace)
  std::string in_flight;    // task id of the step being worked on; empty: none
  size_t step = 0;          // index of the member working (or next to work)
  bool cancelled = false;   // no step starts any more; ends when the step in flight answers
  bool finished = false;
};

using pipeline_ptr = std::shared_ptr<pipeline>;

struct sequential_state {
  sequential_config cfg;
  monitor_actor monitor;
  std::unordered_map<std::string, pipeline_ptr> running; // task id -> pipeline
  uint64_t tasks_done = 0;
  supervisor sup; // the members' lives (coordination.hpp)

  static inline const char* name = "swarm.sequential";
};

using sequential_pointer = agent_actor::stateful_pointer<sequential_state>;

// Ends the pipeline: the last answer (the last successful one on failure) is the text.
void finish(sequential_pointer self, const pipeline_ptr& p, caf::error err) {
  if (p->finished)
    return;
  p->finished = true;
  auto& st = self->state;
  if (!p->in_flight.empty())
    cancel_member(self, st.cfg.members[p->step].handle, p->in_flight);
  result out;
  for (auto i = p->done.rbegin(); i != p->done.rend(); ++i) {
    if (!i->error) {
      out.text = i->text;
      out.confidence = i->confidence;
      break;
    }
  }
  out.error = std::move(err);
  out.trace = std::move(p->done);
  conclude(self, p, std::move(out));
}

// The id of step `i`: "<task>.<member>", plus "#<step>" when the member already had a step.
std::string step_id(const sequential_config& cfg, const task& t, size_t i) {
  auto id = t.id + "." + cfg.members[i].name;
  for (size_t j = 0; j < i; ++j)
    if (cfg.members[j].name == cfg.members[i].name)
      return id + "#" + std::to_string(i + 1);
  return id;
}

void run_step(sequential_pointer self, const pipeline_ptr& p);

void on_step(sequential_pointer self, const pipeline_ptr& p, result res) {
  p->in_flight.clear();
  if (p->finished)
    return;
  const auto& st = self->state;
  auto failed = res.error;
  p->done.push_back(std::move(res));
  if (p->cancelled) {
    finish(self, p, cancelled_error(p->request.id));
    return;
  }
  if (p->budget.past_deadline()) {
    finish(self, p, p->budget.exhausted());
    return;
  }
  if (failed) {
    const auto& who = st.cfg.members[p->step].name;
    finish(self, p,
           make_error(errc::member_failed,
                      "member " + who + " failed at step " + std::to_string(p->step + 1) + " of " +
                          std::to_string(st.cfg.members.size()) + ": " + describe(failed)));
    return;
  }
  if (++p->step == st.cfg.members.size()) {
    finish(self, p, {});
    return;
  }
  run_step(self, p);
}

// Sends the current step's member the task (and the previous answer).
void run_step(sequential_pointer self, const pipeline_ptr& p) {
  const auto& st = self->state;
  if (p->budget.past_deadline() || !p->budget.take_message()) {
    finish(self, p, p->budget.exhausted());
    return;
  }
  const auto& who = st.cfg.members[p->step];
  task t;
  t.id = step_id(st.cfg, p->request, p->step);
  t.run_id = p->request.run_id;
  t.from = st.cfg.id.name;
  if (p->step == 0) {
    t.text = p->request.text;
  } else {
    t.text = pipeline_text(p->request.text, st.cfg.members[p->step - 1].name, p->done.back().text);
  }
  if (p->step + 1 == st.cfg.members.size())
    t.response_format = p->request.response_format; // the last answer is the swarm's
  p->in_flight = t.id;
  ask(self, who, std::move(t), p->budget,
      [self, p](result res) { on_step(self, p, std::move(res)); });
}

agent_actor::behavior_type sequential_behavior(sequential_pointer self, sequential_config cfg,
                                               monitor_actor monitor) {
  self->state.cfg = std::move(cfg);
  self->state.monitor = std::move(monitor);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        if (auto why = refusal(st, t))
          return refuse(self, t, std::move(why));
        auto p = std::make_shared<pipeline>(t, st.cfg.guards);
        p->promise = self->make_response_promise<result>();
        st.running.emplace(t.id, p);
        run_step(self, p);
        return p->promise;
      },
      [self](task_cancel& c) {
        auto p = find_running(self->state, c.task_id); // a copy: finishing erases the entry
        if (!p || p->cancelled)
          return;
        p->cancelled = true;
        if (p->in_flight.empty()) // nothing to wait for
          return finish(self, p, cancelled_error(p->request.id));
        cancel_member(self, self->state.cfg.members[p->step].handle, p->in_flight);
      },
      // A message to the swarm as a whole reaches each member.
      [self](dm& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](broadcast& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](health_probe& p) { return report_health(p, self); },
  };
}

} // namespace

agent_actor spawn_sequential(caf::actor_system& sys, sequential_config cfg, monitor_actor monitor) {
  return sys.spawn(sequential_behavior, std::move(cfg), std::move(monitor));
}

} // namespace swarm::actors
