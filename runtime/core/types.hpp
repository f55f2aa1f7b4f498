// Registers the project's message types and error category with a CAF config.
#pragma once

namespace caf {
class actor_system_config;
}

namespace swarm {

/// Adds every type of the `swarm` type-ID block (under its stable name) and the `swarm` error
/// category to `cfg`. Every process of a cluster must call it before creating its actor system.
void register_types(caf::actor_system_config& cfg);

} // namespace swarm
