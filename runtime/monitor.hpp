// The monitor: receives every event of the runtime, counts them, forwards them to subscribers.
#pragma once

#include <caf/fwd.hpp>

#include "runtime/core/handles.hpp"

namespace swarm {

/// Spawns the runtime's monitor. It numbers every event it receives (event::seq, from 1, in
/// arrival order) and stamps its time if the sender did not; subscribers (subscribe_events) get
/// every later event in that order; a subscriber that terminates is dropped. In a runtime's actor
/// system the listeners are counted (swarm_config::event_listeners): while there are none,
/// agents, coordinators and runs send it nothing (events_wanted), so a run nobody watches costs
/// no event deliveries.
monitor_actor spawn_monitor(caf::actor_system& sys);

} // namespace swarm
