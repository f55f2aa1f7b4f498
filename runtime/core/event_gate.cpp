// The monitors' listener counts behind events_wanted: a few fixed slots of atomics, looked up by
// the monitor's control block, so a check costs a few loads and takes no lock.
#include "runtime/core/event_gate.hpp"

#include <array>
#include <atomic>
#include <cstdint>

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>

namespace swarm {

namespace {

struct gate_slot {
  std::atomic<const void*> owner{nullptr}; ///< the monitor's control block; null: free
  std::atomic<int64_t> listeners{0};
};

// One runtime has one monitor; tests run a few runtimes at once.
constexpr size_t slot_count = 32;
std::array<gate_slot, slot_count> slots;
std::atomic<size_t> registered{0};

const void* key_of(const monitor_actor& monitor) {
  return caf::actor_cast<caf::actor_control_block*>(monitor);
}

gate_slot* find(const void* key) {
  for (auto& s : slots)
    if (s.owner.load(std::memory_order_acquire) == key)
      return &s;
  return nullptr;
}

} // namespace

bool event_gate_register(const monitor_actor& monitor) {
  auto key = key_of(monitor);
  if (key == nullptr)
    return false;
  for (auto& s : slots) {
    const void* expected = nullptr;
    if (s.owner.load(std::memory_order_relaxed) != nullptr)
      continue;
    if (s.owner.compare_exchange_strong(expected, key, std::memory_order_acq_rel)) {
      // No listener can be counted yet: the caller has not handed the monitor out.
      s.listeners.store(0, std::memory_order_release);
      registered.fetch_add(1, std::memory_order_acq_rel);
      return true;
    }
  }
  return false;
}

void event_gate_unregister(const caf::actor_addr& addr) {
  const void* key = caf::actor_cast<caf::actor_control_block*>(addr);
  if (key == nullptr)
    return;
  if (auto* s = find(key)) {
    s->owner.store(nullptr, std::memory_order_release);
    registered.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void event_gate_listeners(const monitor_actor& monitor, int delta) {
  if (auto* s = find(key_of(monitor)))
    s->listeners.fetch_add(delta, std::memory_order_seq_cst);
}

bool events_wanted(const monitor_actor& monitor) {
  if (!monitor)
    return false;
  if (registered.load(std::memory_order_acquire) == 0)
    return true;
  auto* s = find(key_of(monitor));
  // A count below zero (a late cancel after the slot changed hands) errs on sending.
  return s == nullptr || s->listeners.load(std::memory_order_seq_cst) != 0;
}

} // namespace swarm
