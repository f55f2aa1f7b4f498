// The monitor: receives every event of the runtime, numbers it, logs it, forwards it to
// subscribers and to the followers of its run.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "runtime/core/handles.hpp"

namespace swarm {

namespace memory {
class event_log;
} // namespace memory

/// Spawns the runtime's monitor. It numbers every event it receives (event::seq, from 1, in
/// arrival order) and stamps its time if the sender did not; subscribers (subscribe_events) get
/// every later event in that order; a subscriber that terminates is dropped. In a runtime's actor
/// system the listeners are counted (swarm_config::event_listeners): while there are none,
/// agents, coordinators and runs send it nothing (events_wanted), so a run nobody watches costs
/// no event deliveries.
/// With an event `log`, each event of a run also gets its place in its run's log
/// (event::run_seq) and is kept there before anyone sees it; followers (follow_events) get a run's
/// logged events, those the log had first, then the later ones. A log write that fails (a full
/// disk) loses that event from the log only: it still goes to every watcher.
monitor_actor spawn_monitor(caf::actor_system& sys, std::shared_ptr<memory::event_log> log = {});

} // namespace swarm
