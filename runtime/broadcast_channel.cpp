// Broadcast over a CAF local group; subscription is synchronous (no join race).
#include "runtime/broadcast_channel.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/group_manager.hpp>
#include <caf/send.hpp>

namespace swarm {

broadcast_channel::broadcast_channel(caf::actor_system& sys) : group_(sys.groups().anonymous()) {}

void broadcast_channel::add(const agent_actor& who) {
  // Typed actors have no join() in CAF 0.17; subscribing the handle directly is synchronous,
  // unlike join(), which runs only once the actor is scheduled.
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(who);
  std::lock_guard<std::mutex> guard{mtx_};
  if (group_.subscribe(ptr))
    members_.push_back(std::move(ptr));
}

void broadcast_channel::replace(const agent_actor& dead, const agent_actor& now) {
  auto gone = caf::actor_cast<caf::strong_actor_ptr>(dead);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = std::find(members_.begin(), members_.end(), gone);
    if (i != members_.end()) {
      group_.unsubscribe(i->get());
      members_.erase(i);
    }
  }
  add(now);
}

void broadcast_channel::send(broadcast msg) const {
  caf::anon_send(group_, std::move(msg));
}

void broadcast_channel::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& m : members_)
    group_.unsubscribe(m.get());
  members_.clear();
}

} // namespace swarm
