// The monitor actor: event numbering, the event log, fan-out to subscribers and followers.
#include "runtime/monitor.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "memory/event_log.hpp"
#include "runtime/core/event_json.hpp"

namespace swarm {

namespace {

struct follower {
  caf::actor who;
  std::string run_id;
};

struct monitor_state {
  std::vector<caf::actor> subscribers;
  std::vector<follower> followers;
  std::shared_ptr<memory::event_log> log;
  uint64_t next_seq = 1; // the stream's order is the order events reach the monitor
  static inline const char* name = "swarm.monitor";
};

using monitor_pointer = monitor_actor::stateful_pointer<monitor_state>;

// Gives `e` its place in its run's log and keeps it there; its followers get it as logged.
void log_event(monitor_state& st, event& e) {
  if (!st.log || e.run_id.empty())
    return;
  auto seq = st.log->next_seq(e.run_id);
  if (!seq)
    return; // the log cannot be read: the event goes unlogged, and unnumbered, to watchers
  e.run_seq = *seq;
  logged_event le{e.run_seq, e.kind, e.run_id, to_json_line(e)};
  static_cast<void>(st.log->append(e, le.json));
  for (const auto& f : st.followers)
    if (f.run_id == e.run_id)
      caf::anon_send(f.who, le);
}

monitor_actor::behavior_type monitor_behavior(monitor_pointer self,
                                              std::vector<caf::actor> subscribers,
                                              std::shared_ptr<memory::event_log> log) {
  for (auto& s : subscribers)
    self->monitor(s);
  self->state.subscribers = std::move(subscribers);
  self->state.log = std::move(log);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& a) { return a.address() == msg.source; }),
               subs.end());
    auto& fs = self->state.followers;
    fs.erase(std::remove_if(fs.begin(), fs.end(),
                            [&](const follower& f) { return f.who.address() == msg.source; }),
             fs.end());
  });
  return {
      [self](event& e) {
        e.seq = self->state.next_seq++;
        if (e.time_us == 0)
          e.time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        log_event(self->state, e);
        for (const auto& s : self->state.subscribers)
          caf::anon_send(s, e);
      },
      [self](subscribe_events& s) {
        if (!s.subscriber)
          return;
        self->monitor(s.subscriber);
        self->state.subscribers.push_back(std::move(s.subscriber));
      },
      [self](follow_events& f) {
        if (!f.subscriber || !self->state.log)
          return;
        // The backlog is read and sent in this turn, before any later event is logged: the
        // follower misses none and gets none twice.
        auto kept = self->state.log->read(f.run_id, f.after, std::numeric_limits<size_t>::max());
        if (kept)
          for (auto& le : *kept)
            caf::anon_send(f.subscriber, std::move(le));
        self->monitor(f.subscriber);
        self->state.followers.push_back({std::move(f.subscriber), std::move(f.run_id)});
      },
      [](flush_events) { return true; }, // the mailbox's order makes it a barrier
  };
}

} // namespace

monitor_actor spawn_monitor(caf::actor_system& sys, std::shared_ptr<memory::event_log> log) {
  // State travels as spawn arguments: CAF 0.17.6 dereferences a null pointer when a function
  // actor is spawned with no arguments (docs/decisions.md).
  return sys.spawn(monitor_behavior, std::vector<caf::actor>{}, std::move(log));
}

} // namespace swarm
