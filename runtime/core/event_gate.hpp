// Whether anyone listens to a runtime's events: senders on the hot path (agents, coordinators,
// runs) skip the mailbox delivery of events that the runtime's monitor would only number and
// drop. The count lives in the runtime's actor system config (swarm_config), so each runtime
// has its own and nothing is process-wide.
#pragma once

#include <caf/fwd.hpp>

#include "runtime/core/handles.hpp"
#include "runtime/core/messages.hpp"

namespace swarm {

/// False if `monitor` is null, or if its actor system counts event listeners
/// (swarm_config::event_listeners; runtime::on_event adds one before its subscription is sent)
/// and has none now; true otherwise (a monitor of a system that counts none, such as a test's, gets
/// every event).
bool events_wanted(const monitor_actor& monitor);

/// Sends `e` to `monitor` when events_wanted(monitor): the one way every part of the runtime
/// tells an event.
void emit_event(const monitor_actor& monitor, event e);

} // namespace swarm
