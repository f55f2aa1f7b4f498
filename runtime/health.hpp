// Health checks: probe many participants at once and report each one's liveness and round trip.
#pragma once

#include <chrono>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "runtime/core/handles.hpp"

namespace swarm {

/// One participant's answer to a health check.
struct agent_health {
  agent_id agent;
  bool alive = false;               ///< answered within the timeout
  std::chrono::microseconds rtt{0}; ///< probe round trip (when alive)
  uint64_t tasks_done = 0;
  uint64_t tasks_running = 0;
  uint64_t mailbox = 0;     ///< messages waiting in its mailbox when it answered
  bool coordinator = false; ///< a swarm (coordinator) rather than an agent
  caf::error error;         ///< why not alive: member_timeout (stalled), or the actor is gone
};

/// Someone to probe.
struct health_target {
  agent_id id;
  agent_actor handle;
  bool coordinator = false;
};

/// Sends every probe at once and timestamps each answer as it arrives (a slow participant
/// does not inflate the others' round trips). Returns within about `timeout`, in target order.
std::vector<agent_health> probe_health(caf::actor_system& sys, std::vector<health_target> targets,
                                       std::chrono::milliseconds timeout);

} // namespace swarm
