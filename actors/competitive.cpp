// The competitive coordinator: members race on the same task; a judge's scores, the members'
// confidence, or arrival order (first k) pick the winner. Decisions live in voting.hpp.
#include "actors/competitive.hpp"

#include <memory>
#include <optional>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/coordination.hpp"
#include "actors/voting.hpp"

namespace swarm::actors {

namespace {

// One task in flight: the members' answers as they arrive, then the judge's verdict.
struct race {
  race(task t, const guard_options& g) : request(std::move(t)), budget(g) {}

  task request;
  caf::typed_response_promise<result> promise;
  task_budget budget;
  std::vector<task> subs;                     // each member's subtask, in member order
  std::vector<std::optional<result>> answers; // in member order; empty: still running
  std::vector<size_t> arrived;                // member indices in arrival order
  std::vector<size_t> winners;                // first_k: member indices in arrival order
  std::vector<result> roles;                  // the judge's results
  std::unordered_map<std::string, agent_actor> in_flight; // subtask id -> who works on it
  size_t pending = 0;
  bool deadline_hit = false; // a member's timeout was cut to the deadline and ran out
  bool cancelled = false;
  bool done = false;
};

using race_ptr = std::shared_ptr<race>;

struct competitive_state {
  competitive_config cfg;
  monitor_actor monitor;
  std::unordered_map<std::string, race_ptr> running; // task id -> race
  uint64_t tasks_done = 0;
  supervisor sup; // the members' lives (coordination.hpp)

  static inline const char* name = "swarm.competitive";
};

using competitive_pointer = agent_actor::stateful_pointer<competitive_state>;

bool valid(const result& r) {
  return !r.error && !r.text.empty();
}

// Every answer (member order) then the role agents' results; first_k: arrival order instead.
std::vector<result> race_trace(const race& r, bool by_arrival) {
  std::vector<result> out;
  if (by_arrival) {
    for (auto i : r.arrived)
      out.push_back(*r.answers[i]);
  }
  for (const auto& a : r.answers)
    if (a && !by_arrival)
      out.push_back(*a);
  out.insert(out.end(), r.roles.begin(), r.roles.end());
  return out;
}

void finish(competitive_pointer self, const race_ptr& r, result out,
            std::vector<result> extra = {}) {
  r->done = true;
  out.trace = race_trace(*r, self->state.cfg.options.select == "first_k");
  out.trace.insert(out.trace.end(), std::make_move_iterator(extra.begin()),
                   std::make_move_iterator(extra.end()));
  conclude(self, r, std::move(out));
}

// The earliest valid answer, as a result (partial results and a lone answer).
result earliest(const race& r) {
  result out;
  for (auto i : r.arrived)
    if (valid(*r.answers[i])) {
      out.text = r.answers[i]->text;
      out.confidence = r.answers[i]->confidence;
      break;
    }
  return out;
}

result all_failed(const race& r) {
  result out;
  std::string first;
  for (auto i : r.arrived)
    if (r.answers[i]->error) {
      first = describe(r.answers[i]->error);
      break;
    }
  out.error = make_error(errc::all_members_failed,
                         "no member answered" + (first.empty() ? "" : "; first: " + first));
  return out;
}

// -- select: first_k ----------------------------------------------------------------------------

// Cancels every member still racing at once (their LLM requests close) and answers with the
// winners; the losers appear in the trace as cancelled.
void close_race(competitive_pointer self, const race_ptr& r) {
  auto& st = self->state;
  std::vector<result> losers;
  for (size_t i = 0; i < r->answers.size(); ++i) {
    if (r->answers[i])
      continue;
    const auto& sub = r->subs[i];
    if (auto j = r->in_flight.find(sub.id); j != r->in_flight.end())
      cancel_member(self, j->second, sub.id);
    losers.push_back(failed_result(
        sub, member_id(st.cfg.id, st.cfg.members[i].name),
        make_error(errc::cancelled,
                   "lost the race: " + std::to_string(r->winners.size()) + " answers came first")));
  }
  result out;
  const auto& first = *r->answers[r->winners.front()];
  out.text = first.text;
  out.confidence = first.confidence;
  std::string names;
  for (auto w : r->winners)
    names += (names.empty() ? "" : ", ") + st.cfg.members[w].name;
  emit_decision(
      self, r->request,
      {"first_k", names + " answered first; " + std::to_string(losers.size()) + " cancelled"});
  finish(self, r, std::move(out), std::move(losers));
}

void first_k_answer(competitive_pointer self, const race_ptr& r, size_t i) {
  auto k = std::max<uint32_t>(1, self->state.cfg.options.k);
  if (valid(*r->answers[i]) && r->winners.size() < k && !r->cancelled) {
    r->winners.push_back(i);
    if (r->winners.size() == k)
      return close_race(self, r);
  }
  if (r->pending > 0)
    return;
  if (auto why = stop_reason(*r)) {
    result out = earliest(*r);
    out.error = std::move(why);
    return finish(self, r, std::move(out));
  }
  if (r->winners.empty())
    return finish(self, r, all_failed(*r));
  result out = earliest(*r); // fewer than k answered: those that did win
  finish(self, r, std::move(out));
}

// -- select: confidence -------------------------------------------------------------------------

void pick_confident(competitive_pointer self, const race_ptr& r) {
  const auto n = r->answers.size();
  std::vector<double> conf(n, -1);
  std::vector<std::string> text(n);
  std::vector<size_t> rank(n, n);
  std::string problem;
  for (size_t pos = 0; pos < r->arrived.size(); ++pos) {
    auto i = r->arrived[pos];
    const auto& a = *r->answers[i];
    rank[i] = pos;
    if (a.error)
      continue;
    auto report = parse_self_report(a.text);
    if (a.confidence >= 0) { // logprobs: the endpoint's own measure beats a self-report
      conf[i] = a.confidence;
      text[i] = report ? report->answer : a.text;
    } else if (report) {
      conf[i] = report->confidence;
      text[i] = report->answer;
    } else if (problem.empty()) {
      problem = a.agent.name + ": " + describe(report.error());
    }
  }
  auto best = pick_highest(conf, rank);
  result out;
  if (best) {
    out.text = text[*best];
    out.confidence = conf[*best];
    decision d{"confidence", self->state.cfg.members[*best].name, conf[*best], 0, {}};
    for (size_t i = 0; i < n; ++i)
      if (conf[i] >= 0)
        d.scores.push_back({self->state.cfg.members[i].name, conf[i]});
    if (!stop_reason(*r))
      emit_decision(self, r->request, std::move(d));
  }
  if (auto why = stop_reason(*r))
    out.error = std::move(why);
  else if (!best && problem.empty())
    out = all_failed(*r);
  else if (!best)
    out.error = make_error(errc::invalid_reply, "no usable confidence; first problem: " + problem);
  finish(self, r, std::move(out));
}

// -- select: judge ------------------------------------------------------------------------------

void ask_judge(competitive_pointer self, const race_ptr& r, std::vector<size_t> candidates,
               std::string problem) {
  auto& st = self->state;
  const auto& judge = st.cfg.judge;
  std::vector<labelled_answer> answers;
  std::vector<std::string> labels;
  for (auto i : candidates) {
    answers.push_back({st.cfg.members[i].name, r->answers[i]->text});
    labels.push_back(st.cfg.members[i].name);
  }
  const auto& criteria = st.cfg.options.criteria;
  bool retry = !problem.empty();
  auto text = retry ? judge_retry_prompt(r->request.text, criteria, answers, problem)
                    : judge_prompt(r->request.text, criteria, answers);
  auto sub = subtask(r->request, judge.name, std::move(text), st.cfg.id.name,
                     retry ? ".judge2" : ".judge");
  sub.response_format = judge_response_format(labels);
  ask_member(
      self, r, judge, std::move(sub), [self, r, candidates, labels, retry](result verdict) mutable {
        r->roles.push_back(verdict);
        auto name = verdict.agent.name;
        if (auto why = stop_reason(*r)) {
          result out = earliest(*r);
          out.error = std::move(why);
          return finish(self, r, std::move(out));
        }
        if (verdict.error) {
          result out;
          out.error = make_error(errc::member_failed,
                                 "judge " + name + " failed: " + describe(verdict.error));
          return finish(self, r, std::move(out));
        }
        auto scores = parse_judge_scores(verdict.text, labels);
        if (!scores && !retry)
          return ask_judge(self, r, std::move(candidates), describe(scores.error()));
        if (!scores) {
          result out;
          out.error =
              make_error(errc::invalid_reply,
                         "judge " + name + " replied malformed twice: " + describe(scores.error()));
          return finish(self, r, std::move(out));
        }
        std::vector<size_t> rank;
        for (auto i : candidates)
          rank.push_back(static_cast<size_t>(std::find(r->arrived.begin(), r->arrived.end(), i) -
                                             r->arrived.begin()));
        auto best = *pick_highest(*scores, rank);
        result out;
        out.text = r->answers[candidates[best]]->text;
        out.confidence = (*scores)[best] / 10;
        decision d{"judge", labels[best], out.confidence, 0, {}};
        for (size_t i = 0; i < labels.size(); ++i)
          d.scores.push_back({labels[i], (*scores)[i]});
        emit_decision(self, r->request, std::move(d));
        finish(self, r, std::move(out));
      });
}

void judge_answers(competitive_pointer self, const race_ptr& r) {
  if (auto why = stop_reason(*r)) {
    result out = earliest(*r);
    out.error = std::move(why);
    return finish(self, r, std::move(out));
  }
  std::vector<size_t> candidates; // member order: the judge reads them as the spec lists them
  for (size_t i = 0; i < r->answers.size(); ++i)
    if (valid(*r->answers[i]))
      candidates.push_back(i);
  if (candidates.empty())
    return finish(self, r, all_failed(*r));
  if (candidates.size() == 1) // nothing to compare: no judge call
    return finish(self, r, earliest(*r));
  ask_judge(self, r, std::move(candidates), {});
}

// -- the race -----------------------------------------------------------------------------------

void member_answered(competitive_pointer self, const race_ptr& r, size_t i, result res) {
  r->answers[i] = std::move(res);
  r->arrived.push_back(i);
  --r->pending;
  const auto& select = self->state.cfg.options.select;
  if (select == "first_k")
    return first_k_answer(self, r, i);
  if (r->pending > 0)
    return;
  if (select == "confidence")
    return pick_confident(self, r);
  judge_answers(self, r);
}

void start_race(competitive_pointer self, const race_ptr& r) {
  auto& st = self->state;
  const auto& members = st.cfg.members;
  for (const auto& m : members) {
    r->subs.push_back(subtask(r->request, m.name, r->request.text, st.cfg.id.name));
    r->subs.back().response_format = st.cfg.options.select == "confidence"
                                         ? self_report_response_format()
                                         : r->request.response_format;
  }
  r->answers.assign(members.size(), std::nullopt);
  r->pending = members.size();
  for (size_t i = 0; i < members.size(); ++i)
    ask_member(self, r, members[i], r->subs[i],
               [self, r, i](result res) { member_answered(self, r, i, std::move(res)); });
}

caf::error misconfigured(const competitive_config& cfg) {
  const auto& s = cfg.options.select;
  if (s != "judge" && s != "confidence" && s != "first_k")
    return make_error(errc::invalid_argument, "unknown select \"" + s + "\"");
  if (s == "judge" && !cfg.judge.handle)
    return make_error(errc::invalid_argument, "select judge needs a judge");
  return {};
}

agent_actor::behavior_type competitive_behavior(competitive_pointer self, competitive_config cfg,
                                                monitor_actor monitor) {
  self->state.cfg = std::move(cfg);
  self->state.monitor = std::move(monitor);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        if (auto why = refusal(st, t, misconfigured(st.cfg)))
          return refuse(self, t, std::move(why));
        auto r = std::make_shared<race>(t, st.cfg.guards);
        r->promise = self->make_response_promise<result>();
        st.running.emplace(t.id, r);
        start_race(self, r);
        return r->promise;
      },
      [self](task_cancel& c) {
        if (auto r = find_running(self->state, c.task_id))
          cancel_run(self, *r);
      },
      // A message to the swarm as a whole reaches each member.
      [self](dm& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](broadcast& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](health_probe& p) { return report_health(p, self); },
  };
}

} // namespace

agent_actor spawn_competitive(caf::actor_system& sys, competitive_config cfg,
                              monitor_actor monitor) {
  return sys.spawn(competitive_behavior, std::move(cfg), std::move(monitor));
}

} // namespace swarm::actors
