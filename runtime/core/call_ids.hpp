// Ids of LLM calls: unique within one actor system, and across the processes of a cluster, so
// that every caller of one LLM path (agents here or on other nodes, the memory tiers) can cancel
// by id without two calls ever sharing one, and without a process-wide counter.
#pragma once

#include <cstdint>

#include <caf/actor_system.hpp>
#include <caf/node_id.hpp>

namespace swarm {

/// A call id no other call of `sys` has: the system's own id sequence (the one actor ids come
/// from) in the low 40 bits, a 24-bit hash of the system's node (host and process) above them.
/// An agent another node spawned calls through its owner's broker, which keys calls by id: the
/// node hash keeps two processes' sequences apart (two of a cluster's processes share a hash with
/// odds of about 1 in 16 million per pair, and must then also have the same number in flight).
inline uint64_t new_call_id(caf::actor_system& sys) {
  const auto& node = sys.node();
  uint64_t tag = node ? static_cast<uint64_t>(node->hash_code()) : 0;
  tag = (tag ^ (tag >> 24) ^ (tag >> 48)) & 0xffffffu;
  return (tag << 40) | (sys.next_actor_id() & ((uint64_t{1} << 40) - 1));
}

} // namespace swarm
