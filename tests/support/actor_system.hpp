// The actor system configuration tests share: the project's message types, two scheduler threads.
#pragma once

#include <caf/actor_system_config.hpp>

#include "runtime/core/types.hpp"

namespace swarm::test {

/// One configuration for every actor system a test process makes (CAF reads it at each start).
inline caf::actor_system_config& actor_test_config() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    register_types(c);
    c.set("scheduler.max-threads", 2);
    return c;
  }();
  return cfg;
}

} // namespace swarm::test
