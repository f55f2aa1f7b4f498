// The listener count behind events_wanted, read from the monitor's actor system config: a few
// loads and no lock.
#include "runtime/core/event_gate.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "runtime/core/step_log.hpp"

namespace swarm {

bool events_wanted(const monitor_actor& monitor) {
  if (!monitor)
    return false;
  auto* ctrl = caf::actor_cast<caf::actor_control_block*>(monitor);
  // A monitor on another node (an agent placed there) counts its listeners there: send.
  if (ctrl->node() != ctrl->home_system->node())
    return true;
  const auto* cfg = dynamic_cast<const swarm_config*>(&ctrl->home_system->config());
  return cfg == nullptr || !cfg->event_listeners ||
         cfg->event_listeners->load(std::memory_order_seq_cst) != 0;
}

void emit_event(const monitor_actor& monitor, event e) {
  if (events_wanted(monitor))
    caf::anon_send(monitor, std::move(e));
}

} // namespace swarm
