// The hierarchical coordinator: the lead plans (JSON schema), subtasks run in dependency order on
// workers chosen by skill, failures are retried and reassigned, the lead aggregates.
#include "actors/hierarchical.hpp"

#include <memory>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/coordination.hpp"
#include "actors/planning.hpp"

namespace swarm::actors {

namespace {

// One planned subtask of a run: its attempts, reviews and outcome.
struct subtask_run {
  subtask_state state = subtask_state::pending;
  std::string text; // the planned text with the dependencies' answers appended
  uint32_t attempts = 0;
  uint32_t reviews = 0;
  size_t worker = 0; // member index of the current (or last) attempt
  std::vector<size_t> tried;
  std::string feedback;        // the last review's feedback, given to the next attempt
  result answer;               // the accepted answer (state done)
  caf::error error;            // why it failed or was skipped
  std::vector<result> history; // attempts, reviews and skips, in order (the trace)
};

// One task in flight.
struct run {
  run(task t, const guard_options& guards) : request(std::move(t)), budget(guards) {}

  task request;
  caf::typed_response_promise<result> promise;
  task_budget budget;
  std::vector<result> planning; // the plan calls' results
  plan steps;
  std::vector<subtask_run> subs;
  std::vector<size_t> loads; // per member: attempts in flight
  size_t round_robin = 0;
  std::unordered_map<std::string, agent_actor> in_flight; // task id sent -> who works on it
  std::vector<result> cut;                                // answers that arrived after a cancel
  bool cancelled = false; // nothing is sent any more; ends when in_flight is empty
  bool aggregating = false;
  bool finished = false;
};

using run_ptr = std::shared_ptr<run>;

struct hierarchical_state {
  hierarchical_config cfg;
  monitor_actor monitor;
  std::unordered_map<std::string, run_ptr> running; // task id -> run
  uint64_t tasks_done = 0;
  supervisor sup; // the members' lives (coordination.hpp)

  static inline const char* name = "swarm.hierarchical";
};

using hierarchical_pointer = agent_actor::stateful_pointer<hierarchical_state>;

bool stops_retries(const caf::error& err) {
  return is(err, errc::deadline_exceeded) || is(err, errc::max_messages_reached) ||
         is(err, errc::cancelled);
}

std::vector<subtask_state> states(const run& r) {
  std::vector<subtask_state> out;
  out.reserve(r.subs.size());
  for (const auto& s : r.subs)
    out.push_back(s.state);
  return out;
}

std::string subtask_id(const run& r, size_t i) {
  return r.request.id + "." + r.steps.subtasks[i].id;
}

// Every subtask's outcome, in plan order, as the lead sees it when aggregating.
std::vector<subtask_outcome> outcomes(const hierarchical_state& st, const run& r) {
  std::vector<subtask_outcome> out;
  for (size_t i = 0; i < r.subs.size(); ++i) {
    const auto& s = r.subs[i];
    subtask_outcome o{r.steps.subtasks[i].id, r.steps.subtasks[i].text, {}, {}, {}};
    if (s.attempts > 0)
      o.member = st.cfg.members[s.worker].name;
    if (s.state == subtask_state::done)
      o.answer = s.answer.text;
    else
      o.error = s.error ? describe(s.error) : "not finished";
    out.push_back(std::move(o));
  }
  return out;
}

// The trace: plan calls, every subtask's attempts, reviews and skips (plan order). With
// `stop`, subtasks that did not finish get a result carrying it.
std::vector<result> collect_trace(const hierarchical_state& st, const run& r,
                                  const caf::error& stop) {
  std::vector<result> out = r.planning;
  for (size_t i = 0; i < r.subs.size(); ++i) {
    const auto& s = r.subs[i];
    out.insert(out.end(), s.history.begin(), s.history.end());
    bool unfinished = s.state == subtask_state::pending || s.state == subtask_state::running;
    if (stop && unfinished) {
      task t{subtask_id(r, i), r.request.run_id, {}, st.cfg.id.name, {}};
      auto who = s.attempts > 0 ? st.cfg.members[s.worker].name : std::string{};
      out.push_back(failed_result(t, member_id(st.cfg.id, who), stop));
    }
  }
  return out;
}

void finish(hierarchical_pointer self, const run_ptr& r, result out) {
  if (r->finished)
    return;
  r->finished = true;
  cancel_in_flight(self, r->in_flight);
  r->in_flight.clear();
  conclude(self, r, std::move(out));
}

// Ends the run now with `err`: the answered subtasks as text, everything done in the trace.
void finish_partial(hierarchical_pointer self, const run_ptr& r, caf::error err) {
  const auto& st = self->state;
  result out;
  out.text = partial_answer(outcomes(st, *r));
  out.trace = collect_trace(st, *r, err);
  // An answer cut short by a cancel takes the place of the stand-in for its task.
  for (auto& c : r->cut) {
    auto same = [&c](const result& x) { return x.task_id == c.task_id; };
    if (auto i = std::find_if(out.trace.begin(), out.trace.end(), same); i != out.trace.end())
      *i = std::move(c);
    else
      out.trace.push_back(std::move(c));
  }
  out.error = std::move(err);
  finish(self, r, std::move(out));
}

// Sends `t` to `who` within the budget; `done` runs with its result unless the run ended (at
// the deadline it ends the run instead). Returns the guard that refused the send, if any.
template <class Done>
caf::error send(hierarchical_pointer self, const run_ptr& r, const member& who, task t, Done done) {
  if (r->budget.past_deadline() || !r->budget.take_message())
    return r->budget.exhausted();
  auto id = t.id;
  r->in_flight.emplace(id, who.handle);
  ask(self, who, std::move(t), r->budget, [self, r, id, done](result res) mutable {
    r->in_flight.erase(id);
    if (r->finished)
      return;
    if (r->cancelled) {
      r->cut.push_back(std::move(res));
      if (r->in_flight.empty())
        finish_partial(self, r, cancelled_error(r->request.id));
      return;
    }
    if (r->budget.past_deadline()) {
      finish_partial(self, r, r->budget.exhausted());
      return;
    }
    done(std::move(res));
  });
  return {};
}

void schedule(hierarchical_pointer self, const run_ptr& r);
void on_attempt(hierarchical_pointer self, const run_ptr& r, size_t i, size_t worker, result res);

// Sends subtask i to member `worker` (a first try, a retry or a reassignment).
void launch_attempt(hierarchical_pointer self, const run_ptr& r, size_t i, size_t worker) {
  const auto& st = self->state;
  auto& s = r->subs[i];
  s.state = subtask_state::running;
  s.worker = worker;
  ++s.attempts;
  if (std::find(s.tried.begin(), s.tried.end(), worker) == s.tried.end())
    s.tried.push_back(worker);
  auto id = subtask_id(*r, i);
  if (s.attempts > 1)
    id += ".attempt" + std::to_string(s.attempts);
  task t{id, r->request.run_id, with_feedback(s.text, s.feedback), st.cfg.id.name, {}};
  const auto& who = st.cfg.members[worker];
  emit_decision(self, r->request,
                {"assign", r->steps.subtasks[i].id + " -> " + who.name +
                               (s.attempts > 1 ? " (attempt " + std::to_string(s.attempts) + ")"
                                               : std::string{})});
  auto refused = send(self, r, who, t, [self, r, i, worker](result res) {
    on_attempt(self, r, i, worker, std::move(res));
  });
  if (!refused) {
    ++r->loads[worker];
    return;
  }
  if (is(refused, errc::deadline_exceeded)) {
    finish_partial(self, r, std::move(refused));
    return;
  }
  s.history.push_back(failed_result(t, member_id(st.cfg.id, who.name), refused));
  s.state = subtask_state::failed;
  s.error = std::move(refused);
}

// Subtask i is done with `answer`.
void accept(const run_ptr& r, size_t i, result answer) {
  auto& s = r->subs[i];
  s.state = subtask_state::done;
  s.answer = std::move(answer);
}

void on_review(hierarchical_pointer self, const run_ptr& r, size_t i, result answer,
               result review) {
  const auto& st = self->state;
  auto& s = r->subs[i];
  auto verdict = review.error ? std::nullopt : parse_review(review.text);
  s.history.push_back(std::move(review));
  // An unreadable review, an accept, or no attempt left: the answer stands.
  if (!verdict || verdict->verdict == review_verdict::accept ||
      s.attempts >= st.cfg.options.max_attempts) {
    accept(r, i, std::move(answer));
  } else {
    s.feedback = verdict->feedback;
    auto next = s.worker;
    if (verdict->verdict == review_verdict::reassign)
      next = reassign_member(r->steps.subtasks[i].skill, st.cfg.members, r->loads, s.tried)
                 .value_or(s.worker);
    launch_attempt(self, r, i, next);
  }
  schedule(self, r);
}

// Asks the lead to review subtask i's `answer`.
void send_review(hierarchical_pointer self, const run_ptr& r, size_t i, result answer) {
  const auto& st = self->state;
  auto& s = r->subs[i];
  ++s.reviews;
  auto id = subtask_id(*r, i) + ".review";
  if (s.reviews > 1)
    id += std::to_string(s.reviews);
  auto text = review_prompt(r->request.text, r->steps.subtasks[i], st.cfg.members[s.worker].name,
                            answer.text);
  task t{id, r->request.run_id, std::move(text), st.cfg.id.name, review_response_format()};
  auto refused = send(self, r, st.cfg.lead, t, [self, r, i, answer](result review) {
    on_review(self, r, i, answer, std::move(review));
  });
  if (!refused)
    return;
  if (is(refused, errc::deadline_exceeded)) {
    finish_partial(self, r, std::move(refused));
    return;
  }
  accept(r, i, std::move(answer)); // no budget for a review: the answer stands
  schedule(self, r);
}

void on_attempt(hierarchical_pointer self, const run_ptr& r, size_t i, size_t worker, result res) {
  const auto& st = self->state;
  auto& s = r->subs[i];
  --r->loads[worker];
  s.history.push_back(res);
  if (!res.error) {
    if (st.cfg.options.review && s.reviews < st.cfg.guards.max_rounds) {
      send_review(self, r, i, std::move(res));
      return;
    }
    accept(r, i, std::move(res));
  } else if (s.attempts < st.cfg.options.max_attempts && !stops_retries(res.error)) {
    const auto& skill = r->steps.subtasks[i].skill;
    launch_attempt(self, r, i,
                   next_worker(s.attempts + 1, worker, skill, st.cfg.members, r->loads, s.tried));
  } else {
    s.state = subtask_state::failed;
    s.error = res.error;
  }
  schedule(self, r);
}

void on_aggregate(hierarchical_pointer self, const run_ptr& r, result res) {
  const auto& st = self->state;
  result out;
  out.trace = collect_trace(st, *r, {});
  if (res.error) {
    out.text = partial_answer(outcomes(st, *r));
    out.error = make_error(errc::member_failed, "lead " + st.cfg.lead.name +
                                                    " failed to aggregate: " + describe(res.error));
  } else {
    out.text = res.text;
    out.confidence = res.confidence;
  }
  out.trace.push_back(std::move(res));
  finish(self, r, std::move(out));
}

// Every subtask has ended: the lead writes the final answer from their answers.
void aggregate(hierarchical_pointer self, const run_ptr& r) {
  const auto& st = self->state;
  r->aggregating = true;
  auto outs = outcomes(st, *r);
  if (std::none_of(outs.begin(), outs.end(), [](const auto& o) { return o.error.empty(); })) {
    finish_partial(self, r,
                   make_error(errc::member_failed,
                              "every subtask failed; first: " + outs[0].id + ": " + outs[0].error));
    return;
  }
  task t{r->request.id + ".aggregate", r->request.run_id, aggregation_prompt(r->request.text, outs),
         st.cfg.id.name, r->request.response_format};
  auto refused = send(self, r, st.cfg.lead, t,
                      [self, r](result res) { on_aggregate(self, r, std::move(res)); });
  if (refused)
    finish_partial(self, r, std::move(refused));
}

// Subtask i can never run: dependency `dep` failed or was skipped.
void skip(const hierarchical_state& st, const run_ptr& r, size_t i, const std::string& dep) {
  auto& s = r->subs[i];
  s.state = subtask_state::skipped;
  s.error = make_error(errc::member_failed, "skipped: dependency " + dep + " failed");
  task t{subtask_id(*r, i), r->request.run_id, {}, st.cfg.id.name, {}};
  s.history.push_back(failed_result(t, st.cfg.id, s.error));
}

// Starts the first attempt of subtask i on the member the assignment picks.
void start_subtask(hierarchical_pointer self, const run_ptr& r, size_t i) {
  const auto& st = self->state;
  const auto& step = r->steps.subtasks[i];
  std::vector<dependency_answer> deps;
  for (const auto& d : step.depends_on) {
    const auto& dep = r->subs[*r->steps.find(d)];
    deps.push_back({d, st.cfg.members[dep.worker].name, dep.answer.text});
  }
  r->subs[i].text = dependent_text(step, deps);
  auto choice = assign_member(step.skill, st.cfg.members, r->loads, r->round_robin);
  if (!choice.capable)
    ++r->round_robin;
  launch_attempt(self, r, i, choice.member);
}

// Skips what can never run, starts what is ready, aggregates when everything has ended.
void schedule(hierarchical_pointer self, const run_ptr& r) {
  // Each pass moves at least one pending subtask on, so passes are bounded by the plan's size.
  for (size_t pass = 0; pass <= r->subs.size(); ++pass) {
    if (r->finished)
      return;
    auto now = states(*r);
    auto blocked = blocked_subtasks(r->steps, now);
    auto ready = ready_subtasks(r->steps, now);
    if (blocked.empty() && ready.empty())
      break;
    for (const auto& b : blocked)
      skip(self->state, r, b.index, b.dependency);
    for (auto i : ready) {
      start_subtask(self, r, i);
      if (r->finished)
        return;
    }
  }
  auto ended = std::all_of(r->subs.begin(), r->subs.end(), [](const subtask_run& s) {
    return s.state != subtask_state::pending && s.state != subtask_state::running;
  });
  if (ended && !r->aggregating)
    aggregate(self, r);
}

void send_plan(hierarchical_pointer self, const run_ptr& r, std::string text,
               const std::string& suffix, int call);

void on_plan(hierarchical_pointer self, const run_ptr& r, result res, int call) {
  const auto& st = self->state;
  auto text = res.text;
  auto failed = res.error;
  r->planning.push_back(std::move(res));
  if (failed) {
    finish_partial(self, r,
                   make_error(errc::member_failed,
                              "lead " + st.cfg.lead.name + " failed to plan: " + describe(failed)));
    return;
  }
  auto check = parse_plan(text, st.cfg.options.max_subtasks);
  if (!check.ok()) {
    if (call == 1) {
      send_plan(self, r,
                replanning_prompt(check.problem, r->request.text, st.cfg.members,
                                  st.cfg.options.max_subtasks),
                ".replan", 2);
      return;
    }
    finish_partial(self, r,
                   make_error(errc::invalid_plan,
                              "the lead's plan was malformed twice; last: " + check.problem));
    return;
  }
  r->steps = std::move(check.value);
  r->subs.resize(r->steps.subtasks.size());
  std::string ids;
  for (const auto& step : r->steps.subtasks)
    ids += (ids.empty() ? "" : ", ") + step.id;
  emit_decision(self, r->request,
                {"plan", std::to_string(r->steps.subtasks.size()) + " subtasks (" + ids + ")"});
  schedule(self, r);
}

// Asks the lead for a plan (call 1) or a corrected plan (call 2).
void send_plan(hierarchical_pointer self, const run_ptr& r, std::string text,
               const std::string& suffix, int call) {
  const auto& st = self->state;
  task t{r->request.id + suffix, r->request.run_id, std::move(text), st.cfg.id.name,
         plan_response_format()};
  auto refused = send(self, r, st.cfg.lead, std::move(t),
                      [self, r, call](result res) { on_plan(self, r, std::move(res), call); });
  if (refused)
    finish_partial(self, r, std::move(refused));
}

agent_actor::behavior_type hierarchical_behavior(hierarchical_pointer self, hierarchical_config cfg,
                                                 monitor_actor monitor) {
  self->state.cfg = std::move(cfg);
  self->state.monitor = std::move(monitor);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        auto no_lead = st.cfg.lead.handle
                           ? caf::error{}
                           : make_error(errc::invalid_argument,
                                        "hierarchical swarm " + st.cfg.id.str() + " needs a lead");
        if (auto why = refusal(st, t, std::move(no_lead)))
          return refuse(self, t, std::move(why));
        auto r = std::make_shared<run>(t, st.cfg.guards);
        r->promise = self->make_response_promise<result>();
        r->loads.assign(st.cfg.members.size(), 0);
        st.running.emplace(t.id, r);
        send_plan(self, r, planning_prompt(t.text, st.cfg.members, st.cfg.options.max_subtasks),
                  ".plan", 1);
        return r->promise;
      },
      [self](task_cancel& c) {
        auto r = find_running(self->state, c.task_id); // a copy: finishing erases the entry
        if (!r || r->cancelled)
          return;
        r->cancelled = true;
        if (r->in_flight.empty()) // nothing to wait for
          return finish_partial(self, r, cancelled_error(r->request.id));
        cancel_in_flight(self, r->in_flight);
      },
      // A message to the swarm as a whole reaches each member and the lead agent.
      [self](dm& m) {
        forward(self, audience(self->state.cfg.members, self->state.cfg.lead.handle), m);
      },
      [self](broadcast& m) {
        forward(self, audience(self->state.cfg.members, self->state.cfg.lead.handle), m);
      },
      [self](health_probe& p) { return report_health(p, self); },
  };
}

} // namespace

agent_actor spawn_hierarchical(caf::actor_system& sys, hierarchical_config cfg,
                               monitor_actor monitor) {
  return sys.spawn(hierarchical_behavior, std::move(cfg), std::move(monitor));
}

} // namespace swarm::actors
