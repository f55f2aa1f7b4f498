// The monitor actor: event fan-out to subscribers.
#include "runtime/monitor.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace swarm {

namespace {

struct monitor_state {
  std::vector<caf::actor> subscribers;
  uint64_t next_seq = 1; // the stream's order is the order events reach the monitor
  static inline const char* name = "swarm.monitor";
};

using monitor_pointer = monitor_actor::stateful_pointer<monitor_state>;

monitor_actor::behavior_type monitor_behavior(monitor_pointer self,
                                              std::vector<caf::actor> subscribers) {
  for (auto& s : subscribers)
    self->monitor(s);
  self->state.subscribers = std::move(subscribers);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& a) { return a.address() == msg.source; }),
               subs.end());
  });
  return {
      [self](event& e) {
        e.seq = self->state.next_seq++;
        if (e.time_us == 0)
          e.time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        for (const auto& s : self->state.subscribers)
          caf::anon_send(s, e);
      },
      [self](subscribe_events& s) {
        if (!s.subscriber)
          return;
        self->monitor(s.subscriber);
        self->state.subscribers.push_back(std::move(s.subscriber));
      },
  };
}

} // namespace

monitor_actor spawn_monitor(caf::actor_system& sys) {
  // State travels as spawn arguments: CAF 0.17.6 dereferences a null pointer when a function
  // actor is spawned with no arguments (docs/decisions.md).
  return sys.spawn(monitor_behavior, std::vector<caf::actor>{});
}

} // namespace swarm
