// Bounded polling for tests: wait until a condition holds or a time limit passes.
#pragma once

#include <chrono>
#include <thread>

namespace swarm::test {

/// Polls `pred` every `poll` until it holds or `timeout` has passed, then asks it once more;
/// returns whether it held. Never waits longer than `timeout` plus one poll and one call.
template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(poll);
  }
  return pred();
}

} // namespace swarm::test
