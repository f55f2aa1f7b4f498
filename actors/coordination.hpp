// What every coordinator shares: asking a member (with deadline and cancellation), guards, and
// events. Included by coordinator .cpp files only (it pulls in CAF's actor headers).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "actors/concurrent.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

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

/// Asks `who` (a member of coordinator `self`, named `self_name`) to work on `t` within
/// `timeout`; `done(result)` runs in the coordinator, always exactly once. A transport failure
/// becomes a result with error; on a timeout the member is told to cancel, so its LLM request is
/// closed and its spend stops.
template <class Self, class Done>
void ask(Self* self, const std::string& self_name, const member& who, task t, caf::timespan timeout,
         Done done) {
  auto handle = who.handle;
  agent_id id{self_name, who.name};
  auto sub_id = t.id;
  self->request(handle, timeout, std::move(t))
      .then([done](result& r) mutable { done(std::move(r)); },
            [self, done, handle, id, sub_id](caf::error& err) mutable {
              if (err == caf::sec::request_timeout) {
                self->send(handle, task_cancel{sub_id});
                err = make_error(errc::member_timeout, "no answer from " + id.str() + " in time");
              }
              result r;
              r.task_id = sub_id;
              r.agent = id;
              r.error = std::move(err);
              done(std::move(r));
            });
}

/// Sends a coordinator event (leaf = false) to `monitor`, if there is one.
inline void emit_coordinator_event(const monitor_actor& monitor, event_kind kind,
                                   const agent_id& self, const task& t, const result* res,
                                   caf::timespan elapsed = caf::timespan{0}) {
  if (!monitor)
    return;
  event e;
  e.kind = kind;
  e.run_id = t.run_id;
  e.agent = self;
  e.task_id = t.id;
  e.leaf = false;
  e.duration = elapsed;
  if (res) {
    e.use = res->use;
    e.error = res->error;
  }
  caf::anon_send(monitor, std::move(e));
}

} // namespace swarm::actors
