// The live actor of each member of a running swarm (its agents and sub-swarms, by name): the one
// the factory spawned until supervision spawns another in its place. Shared under a mutex by the
// swarm's restart functions (on coordinator threads) and its handle (on callers' threads).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/handles.hpp"

namespace swarm {

class live_members {
public:
  /// `a` is now the actor of the agent (`leaf`) or sub-swarm called `name`; false (and nothing
  /// kept) once the swarm is closed: the caller stops `a`.
  [[nodiscard]] bool set(bool leaf, const std::string& name, agent_actor a) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return false;
    current_[{leaf, name}] = std::move(a);
    return true;
  }

  /// The swarm is stopping: no member is replaced from now on (see set), so replacements()
  /// taken after this is complete.
  void close() {
    std::lock_guard<std::mutex> guard{mtx_};
    closed_ = true;
  }

  bool closed() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return closed_;
  }

  /// The actor of `name` now; `spawned` (the factory's) if it was never replaced.
  agent_actor get(bool leaf, const std::string& name, const agent_actor& spawned) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = current_.find({leaf, name});
    return i == current_.end() ? spawned : i->second;
  }

  /// Every member's actor now that is not the factory's (to stop them with the swarm).
  std::vector<agent_actor> replacements() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<agent_actor> out;
    out.reserve(current_.size());
    for (const auto& [key, a] : current_)
      out.push_back(a);
    return out;
  }

private:
  mutable std::mutex mtx_;
  std::map<std::pair<bool, std::string>, agent_actor> current_; // only replaced members
  bool closed_ = false;
};

} // namespace swarm
