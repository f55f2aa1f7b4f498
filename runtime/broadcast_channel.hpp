// The broadcast channel of one swarm: a thin wrapper over a CAF local group. CAF deprecates
// groups after 0.17, so this is the only class that touches them.
#pragma once

#include <mutex>
#include <vector>

#include <caf/group.hpp>

#include "runtime/core/handles.hpp"

namespace swarm {

class broadcast_channel {
public:
  /// A new, empty channel (an anonymous local group of `sys`).
  explicit broadcast_channel(caf::actor_system& sys);

  /// Subscribes `who` at once: a broadcast sent after add() returns reaches it. Thread-safe:
  /// supervision adds a restarted agent from its coordinator's thread.
  void add(const agent_actor& who);

  /// Unsubscribes `dead` (an agent that died and was spawned again) and subscribes `now`.
  void replace(const agent_actor& dead, const agent_actor& now);

  /// Delivers `msg` to every subscriber.
  void send(broadcast msg) const;

  /// Drops every subscriber (when the swarm stops).
  void clear();

private:
  caf::group group_;
  std::mutex mtx_;
  std::vector<caf::strong_actor_ptr> members_; // guarded by mtx_
};

} // namespace swarm
