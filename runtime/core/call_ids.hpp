// Ids of LLM calls: unique within one actor system, so that every caller of one LLM path (agents,
// the memory tiers) can cancel by id without two calls ever sharing one, and without a
// process-wide counter.
#pragma once

#include <cstdint>

#include <caf/actor_system.hpp>

namespace swarm {

/// A call id no other call of `sys` has: drawn from the system's own id sequence (the one actor
/// ids come from).
inline uint64_t new_call_id(caf::actor_system& sys) {
  return sys.next_actor_id();
}

} // namespace swarm
