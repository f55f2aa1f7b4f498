// The supervisor's bookkeeping: failing the asks of a member that died, counting restarts.
#include "actors/supervision.hpp"

#include "runtime/core/errc.hpp"

namespace swarm::actors {

void supervisor::died(const caf::actor_addr& who, const caf::error& reason) {
  watched_.erase(who);
  std::vector<on_down> failing;
  for (auto i = waiting_.begin(); i != waiting_.end();) {
    if (i->second.on == who) {
      failing.push_back(std::move(i->second.fail));
      i = waiting_.erase(i);
    } else {
      ++i;
    }
  }
  auto why = reason ? describe(reason) : std::string{"it stopped"};
  for (auto& fail : failing)
    fail(make_error(errc::member_down, "the member's actor died: " + why));
}

bool supervisor::may_restart(const supervision_options& policy, const agent_actor& original,
                             uint32_t& count) {
  if (!policy.restart || policy.max_restarts == 0)
    return false;
  auto& times = restarts_[original.address()];
  auto now = clock::now();
  while (!times.empty() && now - times.front() > policy.within)
    times.pop_front();
  if (times.size() >= policy.max_restarts)
    return false;
  times.push_back(now);
  count = static_cast<uint32_t>(times.size());
  return true;
}

} // namespace swarm::actors
