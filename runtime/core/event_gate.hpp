// Whether anyone listens to a monitor: senders on the hot path (agents, coordinators) skip the
// mailbox delivery of events that the runtime's monitor would only number and drop.
#pragma once

#include <caf/actor_addr.hpp>

#include "runtime/core/handles.hpp"

namespace swarm {

/// Counts the listeners of `monitor` from now on (spawn_monitor calls it): events_wanted is then
/// false until event_gate_listeners adds one. False if every slot is taken (then events always
/// go to it). At most a few monitors per process are counted; others always get events.
bool event_gate_register(const monitor_actor& monitor);

/// Stops counting the monitor at `addr` (it terminated): events_wanted is true for it again.
void event_gate_unregister(const caf::actor_addr& addr);

/// Adds `delta` listeners to `monitor`, if it is counted. Add one before the subscription
/// message is sent, so events sent after it (by actors it causes to act) reach the monitor.
void event_gate_listeners(const monitor_actor& monitor, int delta);

/// False if `monitor` is null, or counted and without listeners; true otherwise (a monitor that
/// is not counted, such as a test's own actor, gets every event).
bool events_wanted(const monitor_actor& monitor);

} // namespace swarm
