// The step log lookup (see step_log.hpp).
#include "runtime/core/step_log.hpp"

#include <caf/actor_system.hpp>

namespace swarm {

step_log* step_log_of(caf::actor_system& sys) {
  const auto* cfg = dynamic_cast<const swarm_config*>(&sys.config());
  return cfg != nullptr ? cfg->steps.get() : nullptr;
}

} // namespace swarm
