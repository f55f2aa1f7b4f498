// What every coordinator shares: asking a member (with deadline, cancellation and supervision),
// guards, events, finishing a task, forwarding dm/broadcast and answering health probes. Every
// coordinator's state has `cfg` (id, members, guards), `monitor`, `running`, `tasks_done` and
// `sup` (the supervisor of its members, supervision.hpp). Included by
// coordinator .cpp files (and conversation.cpp, for total_usage) only: it pulls in CAF's actor
// headers.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "actors/concurrent.hpp"
#include "actors/supervision.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/step_log.hpp"

namespace swarm::actors {

/// The budget of one task in flight: its deadline and the messages it may still send.
class task_budget {
public:
  using clock = std::chrono::steady_clock;

  explicit task_budget(const guard_options& g)
      : member_timeout_(g.member_timeout), max_messages_(g.max_messages) {
    if (g.deadline.count() > 0)
      deadline_ = clock::now() + std::chrono::duration_cast<clock::duration>(g.deadline);
  }

  /// Timeout for one member request: the member timeout, cut to what is left of the deadline.
  caf::timespan timeout() const {
    if (deadline_ == clock::time_point::max())
      return member_timeout_;
    auto left = std::chrono::duration_cast<caf::timespan>(deadline_ - clock::now());
    return std::max(caf::timespan{1}, std::min(member_timeout_, left));
  }

  bool past_deadline() const { return clock::now() >= deadline_; }

  /// Takes one message from the budget; false (and nothing taken) when it is spent.
  bool take_message() {
    if (max_messages_ > 0 && sent_ >= max_messages_)
      return false;
    ++sent_;
    return true;
  }

  uint32_t sent() const { return sent_; }

  /// The guard that stops this task now, if any: errc::deadline_exceeded or
  /// errc::max_messages_reached with a context naming the limit.
  caf::error exhausted() const {
    if (past_deadline())
      return make_error(errc::deadline_exceeded, "the swarm's deadline passed");
    if (max_messages_ > 0 && sent_ >= max_messages_)
      return make_error(errc::max_messages_reached, "sent " + std::to_string(sent_) +
                                                        " of max_messages " +
                                                        std::to_string(max_messages_));
    return {};
  }

private:
  caf::timespan member_timeout_;
  clock::time_point deadline_ = clock::time_point::max();
  uint32_t max_messages_;
  uint32_t sent_ = 0;
};

/// A subtask for `member`, child of `parent`: id "<parent>.<member>" (plus `suffix`, e.g. a
/// round number), same run.
inline task subtask(const task& parent, const std::string& member, std::string text,
                    const std::string& from, std::string suffix = {}) {
  task t;
  t.id = parent.id + "." + member + suffix;
  t.run_id = parent.run_id;
  t.text = std::move(text);
  t.from = from;
  return t;
}

/// A result standing for a member's failure that never produced a result of its own.
inline result failed_result(const task& t, agent_id who, caf::error err) {
  result r;
  r.task_id = t.id;
  r.agent = std::move(who);
  r.error = std::move(err);
  return r;
}

/// Journals `r`, a member's answer in run `run_id`, before the coordinator acts on it (when the
/// runtime keeps a run journal). A step that cannot be kept turns into a failed result.
template <class Self>
void journal_step(Self* self, const std::string& run_id, result& r) {
  if (run_id.empty())
    return;
  if (auto* log = step_log_of(self->system()))
    if (auto err = log->record(run_id, r)) {
      r.text.clear();
      r.error = std::move(err);
    }
}

/// The id by which members of coordinator `self` are known in events: agents are named in
/// their spec's namespace ("spec/agent") wherever they sit in the tree, as the agents name
/// themselves; sub-swarms likewise.
inline agent_id member_id(const agent_id& self, const std::string& member) {
  return agent_id{self.swarm.empty() ? self.name : self.swarm, member};
}

/// Sends `e` to `monitor`, if there is one and anyone listens to it (emit_event).
inline void emit(const monitor_actor& monitor, event e) {
  emit_event(monitor, std::move(e));
}

/// Where a member's task stands in its coordinator's progress: round `number` (1-based; 0: the
/// architecture has no rounds), called `unit` ("round", "turn", "layer").
struct member_round {
  uint32_t number = 0;
  const char* unit = "round";
};

/// A member event about `who` working on `t`, in round `r`.
inline event member_event(event_kind kind, const agent_id& who, bool leaf, const task& t,
                          member_round r) {
  event e;
  e.kind = kind;
  e.run_id = t.run_id;
  e.task_id = t.id;
  e.agent = who;
  e.leaf = leaf;
  e.round = r.number;
  if (r.number > 0)
    e.name = r.unit;
  return e;
}

/// The event that ends a member's task with `r`: member_finished, member_cancelled or
/// member_failed, with its answer, usage and time.
inline event member_outcome(const agent_id& who, bool leaf, const task& t, member_round round,
                            const result& r, caf::timespan elapsed) {
  auto kind = !r.error                       ? event_kind::member_finished
              : is(r.error, errc::cancelled) ? event_kind::member_cancelled
                                             : event_kind::member_failed;
  auto e = member_event(kind, who, leaf, t, round);
  if (!r.error) {
    e.text = r.text;
    e.confidence = r.confidence;
  }
  e.error = r.error;
  e.use = r.use;
  e.duration = elapsed;
  return e;
}

/// Tells the monitor of coordinator `self` (state with `monitor` and `cfg.id`) that it will not
/// ask `member` for task `t`, and why.
template <class Self>
void emit_skipped(Self* self, const std::string& member, bool leaf, const task& t,
                  std::string why) {
  const auto& st = self->state;
  auto e = member_event(event_kind::member_skipped, member_id(st.cfg.id, member), leaf, t, {});
  e.text = std::move(why);
  emit(st.monitor, std::move(e));
}

/// What a coordinator decided, for decision_made (see decision_line for how it reads).
struct decision {
  std::string method;                 ///< majority, weighted, consensus, judge, route, plan...
  std::string winner;                 ///< the winning answer, member or route; or a summary
  double confidence = -1;             ///< < 0: none
  uint32_t round = 0;                 ///< 0: none
  std::vector<decision_score> scores; ///< tally or scores, best first
};

/// Tells the monitor of coordinator `self` what it decided for task `t`.
template <class Self>
void emit_decision(Self* self, const task& t, decision d) {
  const auto& st = self->state;
  event e;
  e.kind = event_kind::decision_made;
  e.run_id = t.run_id;
  e.task_id = t.id;
  e.agent = st.cfg.id;
  e.leaf = false;
  e.name = std::move(d.method);
  e.text = std::move(d.winner);
  e.confidence = d.confidence;
  e.round = d.round;
  std::stable_sort(d.scores.begin(), d.scores.end(),
                   [](const auto& x, const auto& y) { return x.value > y.value; });
  e.scores = std::move(d.scores);
  emit(st.monitor, std::move(e));
}

/// Starts watching member actor `h` of coordinator `self`: if it dies, the asks waiting on it
/// fail at once with errc::member_down (and may restart it, see ask).
template <class Self>
void watch(Self* self, const agent_actor& h) {
  auto& sup = self->state.sup;
  if (sup.needs_down_handler())
    self->set_down_handler([self](caf::down_msg& m) { self->state.sup.died(m.source, m.reason); });
  if (sup.watch(h))
    self->monitor(h);
}

namespace detail {

/// One ask of a member across its restart: sends the task and takes the first of its answer,
/// its death and the timeout. A member that died, or stayed silent for a whole member timeout,
/// is spawned again (member::respawn) when the swarm's supervision allows, and asked once more.
template <class Self, class Finish>
class member_ask : public std::enable_shared_from_this<member_ask<Self, Finish>> {
public:
  member_ask(Self* self, const member& who, task t, const task_budget& budget, Finish finish,
             agent_id id)
      : self_(self), original_(who.handle), leaf_(who.leaf), respawn_(who.respawn),
        task_(std::move(t)), budget_(budget), finish_(std::move(finish)), id_(std::move(id)) {}

  void send() {
    auto& sup = self_->state.sup;
    handle_ = sup.current(original_);
    watch(self_, handle_);
    auto n = ++sends_;
    auto me = this->shared_from_this();
    waiting_ = sup.expect(handle_, [me, n](caf::error err) { me->failed(n, std::move(err)); });
    timeout_ = budget_.timeout(); // the member timeout, cut to what is left of the deadline
    self_->request(handle_, timeout_, task_)
        .then([me, n](result& r) { me->answered(n, std::move(r)); },
              [me, n](caf::error& err) { me->failed(n, std::move(err)); });
  }

private:
  // Whether send `n` is the current one; it ends here (later news of it is stale).
  bool current(uint32_t n) {
    if (n != sends_ || ended_ == n)
      return false;
    ended_ = n;
    self_->state.sup.settled(waiting_);
    return true;
  }

  void answered(uint32_t n, result r) {
    if (current(n))
      done(std::move(r));
  }

  void failed(uint32_t n, caf::error err) {
    if (!current(n))
      return;
    const auto& guards = self_->state.cfg.guards;
    bool silent = err == caf::sec::request_timeout;
    if (silent) {
      self_->send(handle_, task_cancel{task_.id});
      err = make_error(errc::member_timeout, "no answer from " + id_.str() + " in time");
    } else if (err == caf::sec::request_receiver_down) {
      err = make_error(errc::member_down, id_.str() + " is not running");
    }
    // A timeout the run's deadline cut short is the deadline's, not the member's.
    bool restartable =
        is(err, errc::member_down) || (silent && timeout_ >= caf::timespan{guards.member_timeout});
    if (restartable && restart(err))
      return;
    result r;
    r.task_id = task_.id;
    r.agent = id_;
    r.error = std::move(err);
    done(std::move(r));
  }

  // Asks the member's live actor again, spawning it first unless another ask already did; false
  // when supervision does not allow it (one retry per ask, within the run's deadline).
  bool restart(const caf::error& why) {
    auto& st = self_->state;
    if (retried_ || !respawn_ || st.sup.was_cancelled(task_.id) || budget_.past_deadline() ||
        !st.cfg.guards.supervision.restart)
      return false;
    retried_ = true;
    if (st.sup.current(original_) != handle_) { // replaced since this send: ask the new one
      send();
      return true;
    }
    uint32_t count = 0;
    if (!st.sup.may_restart(st.cfg.guards.supervision, original_, count))
      return false;
    caf::anon_send_exit(handle_, caf::exit_reason::kill); // a silent one is not trusted again
    auto fresh = (*respawn_)(handle_);
    if (!fresh)
      return false;
    st.sup.replace(original_, std::move(*fresh));
    ++restarts_;
    auto e = member_event(event_kind::member_restarted, id_, leaf_, task_, {});
    e.error = why;
    e.attempts = count;
    emit(st.monitor, std::move(e));
    send();
    return true;
  }

  void done(result r) {
    self_->state.sup.forget_cancel(task_.id);
    r.restarts += restarts_;
    finish_(std::move(r));
  }

  Self* self_;
  agent_actor original_; // the member's actor as spawned: the supervisor's key
  bool leaf_;
  std::shared_ptr<const respawn_fn> respawn_;
  task task_;
  task_budget budget_;    // the task's deadline and member timeout: every send's timeout
  caf::timespan timeout_; // of the current send
  Finish finish_;
  agent_id id_;
  agent_actor handle_;   // the actor asked by the current send
  uint64_t waiting_ = 0; // the supervisor's key of the current send
  uint32_t sends_ = 0;
  uint32_t ended_ = 0;
  uint32_t restarts_ = 0;
  bool retried_ = false;
};

} // namespace detail

/// Asks `who` (a member of coordinator `self`) to work on `t` within `budget`'s timeout (the
/// member timeout, cut to what is left of the task's deadline); `done(result)`
/// runs in the coordinator, always exactly once, after the answer is journaled. A transport
/// failure becomes a result with error; on a timeout the member is told to cancel, so its LLM
/// request is closed and its spend stops. A member that dies (errc::member_down) or stays silent
/// for its whole member timeout is restarted and asked again once, as the swarm's supervision
/// allows (member_restarted; counted in result::restarts). The monitor hears member_started
/// now and the outcome (member_finished, member_failed or member_cancelled) when it comes, with
/// `round`.
template <class Self, class Done>
void ask(Self* self, const member& who, task t, const task_budget& budget, Done done,
         member_round round = {}) {
  const auto& st = self->state;
  auto id = member_id(st.cfg.id, who.name);
  bool leaf = who.leaf;
  emit(st.monitor, member_event(event_kind::member_started, id, leaf, t, round));
  auto head = t; // the task without its text would do, but tasks are small next to answers
  head.text.clear();
  auto started = std::chrono::steady_clock::now();
  auto finish = [self, done, head, id, leaf, round, started](result r) mutable {
    journal_step(self, head.run_id, r);
    emit(self->state.monitor,
         member_outcome(id, leaf, head, round, r, std::chrono::steady_clock::now() - started));
    done(std::move(r));
  };
  std::make_shared<detail::member_ask<Self, decltype(finish)>>(self, who, std::move(t), budget,
                                                               std::move(finish), std::move(id))
      ->send();
}

/// Tells the live actor of member `handle` (see supervisor::current) to cancel subtask `sub_id`;
/// a member that dies on it is not restarted for it.
template <class Self>
void cancel_member(Self* self, const agent_actor& handle, const std::string& sub_id) {
  auto& sup = self->state.sup;
  sup.cancelled(sub_id);
  self->send(sup.current(handle), task_cancel{sub_id});
}

/// Sum of the usage of `xs` (each result's use already includes its own trace).
inline usage total_usage(const std::vector<result>& xs) {
  usage out;
  for (const auto& x : xs)
    out += x.use;
  return out;
}

/// Sum of the restarts of `xs` (each result's count already includes its own trace).
inline uint32_t total_restarts(const std::vector<result>& xs) {
  uint32_t out = 0;
  for (const auto& x : xs)
    out += x.restarts;
  return out;
}

/// Tells everyone in `in_flight` (subtask id -> who works on it) to cancel that subtask.
template <class Self>
void cancel_in_flight(Self* self, const std::unordered_map<std::string, agent_actor>& in_flight) {
  for (const auto& [sub_id, handle] : in_flight)
    cancel_member(self, handle, sub_id);
}

/// The run of task `id` in coordinator state `st` (with `running`: task id -> run), or null.
template <class State>
auto find_running(State& st, const std::string& id) ->
    typename decltype(State::running)::mapped_type {
  auto i = st.running.find(id);
  return i == st.running.end() ? nullptr : i->second;
}

/// The error of swarm `id`, which has no members: errc::invalid_spec, the same for every
/// architecture (docs/architectures.md, "The common frame").
inline caf::error no_members(const agent_id& id) {
  return make_error(errc::invalid_spec, "swarm '" + id.str() + "' has no members");
}

/// The error that ends task `id` after a task_cancel: errc::cancelled.
inline caf::error cancelled_error(const std::string& id) {
  return make_error(errc::cancelled, "task " + id + " cancelled");
}

/// Why coordinator state `st` (with `running`, `cfg.id`, `cfg.members`) refuses task `t` at once,
/// if it does, checked in this order: a task with the same id already running
/// (errc::invalid_argument), no members (no_members), else `why` (the architecture's own
/// configuration problem, e.g. a missing lead).
template <class State>
caf::error refusal(const State& st, const task& t, caf::error why = {}) {
  if (st.running.count(t.id) > 0)
    return make_error(errc::invalid_argument, "task " + t.id + " is already running");
  if (st.cfg.members.empty())
    return no_members(st.cfg.id);
  return why;
}

/// Answers task `t` of coordinator `self` at once with `err` (a refusal): nothing starts, nothing
/// counts as done, and a running task with the same id goes on unaffected.
template <class Self>
caf::typed_response_promise<result> refuse(Self* self, const task& t, caf::error err) {
  auto rp = self->template make_response_promise<result>();
  rp.deliver(failed_result(t, self->state.cfg.id, std::move(err)));
  return rp;
}

/// Marks task run `r` (with `cancelled` and `in_flight`) cancelled and tells everyone working on
/// it to cancel; the run ends, with errc::cancelled and what is done so far, once their answers
/// have arrived (no member task starts after the cancel).
template <class Self, class Run>
void cancel_run(Self* self, Run& r) {
  r.cancelled = true;
  cancel_in_flight(self, r.in_flight);
}

/// Answers task run `r` (with `request` and `promise`) of coordinator `self` with `out`, its
/// trace set: the run leaves `running` (if it is the entry for its id), the task counts as done,
/// `out` gets the task id, the swarm's id and the trace's usage. (Its parent, or the runtime for
/// the root, tells the monitor.)
template <class Self, class Run>
void conclude(Self* self, const std::shared_ptr<Run>& r, result out) {
  auto& st = self->state;
  if (auto i = st.running.find(r->request.id); i != st.running.end() && i->second == r)
    st.running.erase(i);
  ++st.tasks_done;
  out.task_id = r->request.id;
  out.agent = st.cfg.id;
  out.use = total_usage(out.trace);
  out.restarts = total_restarts(out.trace);
  r->promise.deliver(std::move(out));
}

/// The guard that ends task run `r` now (with `cancelled`, `deadline_hit`, `budget`): cancel,
/// deadline, or (if `needs_messages`, i.e. another round must be sent) no message left.
template <class Run>
caf::error stop_reason(const Run& r, bool needs_messages = false) {
  if (r.cancelled)
    return cancelled_error(r.request.id);
  if (r.deadline_hit || r.budget.past_deadline())
    return make_error(errc::deadline_exceeded, "the swarm's deadline passed");
  if (needs_messages)
    return r.budget.exhausted();
  return {};
}

/// Asks `who` for `sub` within the budget of task run `r` (with `budget`, `in_flight`,
/// `deadline_hit`, `done`); `done(result)` runs once with the result (unless the task was already
/// answered). Refused by max_messages: a failed result at once. A member timeout that the
/// deadline cut short marks the run's deadline as hit.
template <class Self, class Run, class Done>
void ask_member(Self* self, const std::shared_ptr<Run>& r, const member& who, task sub, Done done,
                member_round round = {}) {
  const auto& st = self->state;
  if (!r->budget.take_message()) {
    emit_skipped(self, who.name, who.leaf, sub, describe(r->budget.exhausted()));
    done(failed_result(sub, member_id(st.cfg.id, who.name), r->budget.exhausted()));
    return;
  }
  auto sub_id = sub.id;
  r->in_flight.emplace(sub_id, who.handle);
  ask(
      self, who, std::move(sub), r->budget,
      [r, sub_id, done](result res) mutable {
        r->in_flight.erase(sub_id);
        // A member timeout at the deadline is the deadline's (is() needs an error).
        if (res.error && is(res.error, errc::member_timeout) && r->budget.past_deadline())
          r->deadline_hit = true;
        if (!r->done)
          done(std::move(res));
      },
      round);
}

/// The handles of `members` and, unless it is empty or one of them, of the role agent `role`
/// (a lead, a router): who hears a dm or broadcast sent to the swarm.
inline std::vector<agent_actor> audience(const std::vector<member>& members,
                                         const agent_actor& role = {}) {
  std::vector<agent_actor> out;
  out.reserve(members.size() + 1);
  for (const auto& m : members)
    out.push_back(m.handle);
  if (role && std::find(out.begin(), out.end(), role) == out.end())
    out.push_back(role);
  return out;
}

/// Forwards `msg` (a dm or broadcast to the swarm as a whole) to each of `to` (or what
/// replaced them, see supervisor::current).
template <class Self, class Message>
void forward(Self* self, const std::vector<agent_actor>& to, const Message& msg) {
  for (const auto& h : to)
    self->send(self->state.sup.current(h), msg);
}

/// The answer to `probe` from coordinator `self`, whose state has `cfg.id`, `tasks_done` and
/// `running` (its tasks in flight).
template <class Self>
health_report report_health(const health_probe& probe, Self* self) {
  const auto& st = self->state;
  return health_report{probe.nonce, st.cfg.id, st.tasks_done, st.running.size(),
                       self->mailbox().size()};
}

} // namespace swarm::actors
