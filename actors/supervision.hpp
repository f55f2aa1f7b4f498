// What a coordinator knows of its members' lives: which live actor stands for each member, the
// asks waiting on each, the cancelled subtasks, and the restarts made within the policy's window.
// Owned by the coordinator frame (coordination.hpp); each coordinator's state holds one.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/error.hpp>

#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

class supervisor {
public:
  using clock = std::chrono::steady_clock;
  using on_down = std::function<void(caf::error)>;

  /// The live actor of the member spawned as `original` (itself until it is restarted).
  agent_actor current(const agent_actor& original) const {
    if (replaced_.empty() || !original)
      return original;
    auto i = replaced_.find(original.address());
    return i == replaced_.end() ? original : i->second;
  }

  /// True once: the coordinator must start monitoring `handle` (and install its down handler
  /// the first time any member is watched, see `needs_down_handler`).
  bool watch(const agent_actor& handle) { return watched_.insert(handle.address()).second; }

  /// True the first time it is asked: the coordinator installs the frame's down handler.
  bool needs_down_handler() { return !std::exchange(down_handler_set_, true); }

  /// Registers an ask waiting on `handle`; `fail` runs if it dies first. Returns a key for
  /// `settled`.
  uint64_t expect(const agent_actor& handle, on_down fail) {
    auto key = next_key_++;
    waiting_.emplace(key, waiting_ask{handle.address(), std::move(fail)});
    return key;
  }

  /// The ask of `key` got its answer (or failed otherwise): it no longer waits.
  void settled(uint64_t key) { waiting_.erase(key); }

  /// `who` died with `reason`: every ask waiting on it fails with errc::member_down.
  void died(const caf::actor_addr& who, const caf::error& reason);

  /// Subtask `id` was cancelled: a member that dies on it is not restarted for it.
  void cancelled(const std::string& id) { cancelled_.insert(id); }
  bool was_cancelled(const std::string& id) const { return cancelled_.count(id) > 0; }
  /// The ask of subtask `id` ended: its cancel is no longer needed.
  void forget_cancel(const std::string& id) {
    if (!cancelled_.empty())
      cancelled_.erase(id);
  }

  /// Whether `policy` allows one more restart of the member spawned as `original` now; if so it
  /// is counted. `count` gets its restarts within the window, this one included.
  bool may_restart(const supervision_options& policy, const agent_actor& original, uint32_t& count);

  /// The member spawned as `original` lives on as `now`.
  void replace(const agent_actor& original, agent_actor now) {
    replaced_[original.address()] = std::move(now);
  }

private:
  struct waiting_ask {
    caf::actor_addr on;
    on_down fail;
  };
  std::unordered_map<caf::actor_addr, agent_actor> replaced_;
  std::unordered_set<caf::actor_addr> watched_;
  std::unordered_map<uint64_t, waiting_ask> waiting_;
  std::unordered_set<std::string> cancelled_;
  std::unordered_map<caf::actor_addr, std::deque<clock::time_point>> restarts_;
  uint64_t next_key_ = 1;
  bool down_handler_set_ = false;
};

} // namespace swarm::actors
