// Where coordinators journal each step of a run: a member's answer is kept before the
// coordinator acts on it (issue C). The runtime installs one per actor system (the run journal);
// actors find it through their system, so no coordinator config has to carry it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include "runtime/core/messages.hpp"

namespace caf {
class actor_system;
}

namespace swarm {

/// Keeps the steps of runs. Implementations are thread-safe.
class step_log {
public:
  virtual ~step_log() = default;

  /// Keeps `member_result` (its task_id names the subtask) as a step of run `run_id`. When it
  /// returns without error the step survives a crash of the process.
  [[nodiscard]] virtual caf::error record(const std::string& run_id,
                                          const result& member_result) = 0;
};

/// An actor system config that also carries the runtime's step log and the count of its event
/// listeners.
class swarm_config : public caf::actor_system_config {
public:
  /// Null: steps are not journaled.
  std::shared_ptr<step_log> steps;
  /// The runtime's event listeners (runtime::on_event subscriptions): while it is 0, senders
  /// skip the monitor (events_wanted). Null: events are always sent.
  std::shared_ptr<std::atomic<int64_t>> event_listeners;
  /// Agent actors running in this process, its own swarms' and those other cluster nodes
  /// spawned here (a node's load). Null (not a node): not counted.
  std::shared_ptr<std::atomic<int64_t>> hosted_agents;
};

/// The step log of `sys`, or null when `sys` was not configured with a swarm_config holding one.
step_log* step_log_of(caf::actor_system& sys);

} // namespace swarm
