// The group chat coordinator: speakers take turns on a shared transcript (round
// robin or chosen by a selector) until a termination marker, the turn limit, a
// judge or a guard ends the chat.
#include "actors/group_chat.hpp"

#include <memory>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/conversation.hpp"
#include "actors/coordination.hpp"

namespace swarm::actors {

namespace {

// One task in flight: the transcript so far and every member call made for it.
struct chat_run {
  explicit chat_run(const guard_options& g) : budget(g) {}

  task request;
  caf::typed_response_promise<result> promise;
  task_budget budget;
  uint32_t max_turns = 1;
  std::vector<chat_turn> transcript;
  std::vector<result> trace; // turns, selector and judge calls, in call order
  std::unordered_map<std::string, agent_actor> in_flight; // subtask id -> member
  bool cancelled = false;
  bool finished = false;
};

using run_ptr = std::shared_ptr<chat_run>;

struct group_chat_state {
  group_chat_config cfg;
  monitor_actor monitor;
  std::vector<std::string> names;                   // member names, in member order
  std::unordered_map<std::string, run_ptr> running; // task id -> run
  uint64_t tasks_done = 0;
  supervisor sup; // the members' lives (coordination.hpp)

  static inline const char* name = "swarm.group_chat";
};

using chat_pointer = agent_actor::stateful_pointer<group_chat_state>;

void finish(chat_pointer self, const run_ptr& run, caf::error err) {
  if (run->finished)
    return;
  run->finished = true;
  auto& st = self->state;
  // Whoever still works on the task (only after a guard fired) stops now.
  cancel_in_flight(self, run->in_flight);
  run->in_flight.clear();
  result out;
  if (!run->transcript.empty())
    out.text = strip_marker(run->transcript.back().text, st.cfg.options.terminate_on);
  out.error = std::move(err);
  out.trace = std::move(run->trace);
  conclude(self, run, std::move(out));
}

// Asks `who` for `t` under the run's guards, on the coming turn. `next(result)` runs only while
// the chat goes on; cancellation, the deadline and the message budget end it here.
template <class Next>
void call(chat_pointer self, const run_ptr& run, const member& who, task t, Next next) {
  auto turn = static_cast<uint32_t>(run->transcript.size() + 1);
  if (!run->budget.take_message()) {
    finish(self, run, run->budget.exhausted());
    return;
  }
  run->in_flight.emplace(t.id, who.handle);
  auto sub_id = t.id;
  ask(
      self, who, std::move(t), run->budget,
      [self, run, sub_id, next](result r) mutable {
        if (run->finished)
          return;
        run->in_flight.erase(sub_id);
        run->trace.push_back(r);
        if (run->cancelled)
          return finish(self, run, cancelled_error(run->request.id));
        if (run->budget.past_deadline())
          return finish(self, run, run->budget.exhausted());
        next(std::move(r));
      },
      member_round{turn, "turn"});
}

std::string turn_suffix(const run_ptr& run) {
  return ".turn" + std::to_string(run->transcript.size() + 1);
}

void start_turn(chat_pointer self, const run_ptr& run);

// The chat ends: the monitor hears why, then the run finishes.
void chat_over(chat_pointer self, const run_ptr& run, std::string why) {
  auto turns = static_cast<uint32_t>(run->transcript.size());
  emit_decision(self, run->request, {"chat ended", std::move(why), -1, turns, {}});
  finish(self, run, {});
}

void after_turn(chat_pointer self, const run_ptr& run) {
  auto& st = self->state;
  const auto& last = run->transcript.back();
  if (mentions_marker(last.text, st.cfg.options.terminate_on))
    return chat_over(self, run, last.speaker + " said " + st.cfg.options.terminate_on);
  if (run->transcript.size() >= run->max_turns)
    return chat_over(self, run, "max_turns " + std::to_string(run->max_turns) + " reached");
  if (!st.cfg.judge.handle)
    return start_turn(self, run);
  auto q =
      subtask(run->request, st.cfg.judge.name, judge_task_text(run->request.text, run->transcript),
              st.cfg.id.name, ".turn" + std::to_string(run->transcript.size()));
  q.response_format = judge_response_format();
  call(self, run, st.cfg.judge, std::move(q), [self, run](result r) {
    // A failed or malformed verdict counts as "not done": the turn limit still
    // bounds the chat.
    auto done = r.error ? caf::expected<bool>{false} : parse_done(r.text);
    if (done && *done)
      return chat_over(self, run, "judge " + self->state.cfg.judge.name + " says done");
    start_turn(self, run);
  });
}

void speak(chat_pointer self, const run_ptr& run, size_t speaker) {
  auto& st = self->state;
  const auto& who = st.cfg.members[speaker];
  auto t = subtask(run->request, who.name,
                   speaker_task_text(run->request.text, run->transcript, who.name), st.cfg.id.name,
                   turn_suffix(run));
  call(self, run, who, std::move(t), [self, run, speaker](result r) {
    if (r.error) {
      auto& name = self->state.cfg.members[speaker].name;
      return finish(self, run,
                    make_error(errc::member_failed, name + " failed on turn " +
                                                        std::to_string(run->transcript.size() + 1) +
                                                        ": " + describe(r.error)));
    }
    run->transcript.push_back(chat_turn{self->state.cfg.members[speaker].name, std::move(r.text)});
    after_turn(self, run);
  });
}

size_t index_of(const group_chat_state& st, const std::string& name) {
  for (size_t i = 0; i < st.names.size(); ++i)
    if (st.names[i] == name)
      return i;
  return 0;
}

// Asks the selector for the next speaker; an invalid name is re-asked once
// (`retry`), then the turn falls back to round robin, as does a failed
// selector.
void select(chat_pointer self, const run_ptr& run, bool retry, std::string problem) {
  auto& st = self->state;
  auto question = selector_task_text(run->request.text, run->transcript, st.names);
  if (retry)
    question = selector_retry_text(question, problem, st.names);
  auto q = subtask(run->request, st.cfg.selector.name, std::move(question), st.cfg.id.name,
                   turn_suffix(run) + (retry ? ".retry" : ""));
  q.response_format = selector_response_format(st.names);
  call(self, run, st.cfg.selector, std::move(q), [self, run, retry](result r) {
    auto& st = self->state;
    auto fallback =
        round_robin_speaker(static_cast<uint32_t>(run->transcript.size()), st.names.size());
    if (r.error)
      return speak(self, run, fallback);
    auto choice = parse_speaker(r.text, st.names);
    if (choice)
      return speak(self, run, index_of(st, *choice));
    if (!retry)
      return select(self, run, true, describe(choice.error()));
    speak(self, run, fallback);
  });
}

void start_turn(chat_pointer self, const run_ptr& run) {
  auto& st = self->state;
  if (st.cfg.options.speaker == "selector" && st.cfg.selector.handle)
    return select(self, run, false, {});
  speak(self, run,
        round_robin_speaker(static_cast<uint32_t>(run->transcript.size()), st.names.size()));
}

agent_actor::behavior_type group_chat_behavior(chat_pointer self, group_chat_config cfg,
                                               monitor_actor monitor) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.monitor = std::move(monitor);
  for (const auto& m : st.cfg.members)
    st.names.push_back(m.name);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        if (auto why = refusal(st, t))
          return refuse(self, t, std::move(why));
        auto run = std::make_shared<chat_run>(st.cfg.guards);
        run->request = t;
        run->promise = self->make_response_promise<result>();
        run->max_turns = chat_turn_limit(st.cfg.options.max_turns, st.cfg.guards.max_rounds);
        st.running.emplace(t.id, run);
        start_turn(self, run);
        return run->promise;
      },
      [self](task_cancel& c) {
        // The run ends when the member in flight answers (with errc::cancelled).
        if (auto run = find_running(self->state, c.task_id))
          cancel_run(self, *run);
      },
      // A message to the swarm as a whole reaches each member.
      [self](dm& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](broadcast& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](health_probe& p) { return report_health(p, self); },
  };
}

} // namespace

agent_actor spawn_group_chat(caf::actor_system& sys, group_chat_config cfg, monitor_actor monitor) {
  return sys.spawn(group_chat_behavior, std::move(cfg), std::move(monitor));
}

} // namespace swarm::actors
