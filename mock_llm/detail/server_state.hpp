// The state every connection of a mock server shares: the script it answers from, the live
// counters behind /stats, and the request log. No Asio here.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string_view>

#include "mock_llm/mock_llm_server.hpp"
#include "mock_llm/openai_format.hpp"
#include "mock_llm/script.hpp"

namespace swarm::mock_llm::detail {

inline constexpr auto relaxed = std::memory_order_relaxed;

/// The live counters; every update is a relaxed atomic, the hot path takes no lock.
class counters {
public:
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> chat_requests{0};
  std::atomic<uint64_t> stream_requests{0};
  std::atomic<uint64_t> embedding_requests{0};
  std::atomic<uint64_t> cancels{0};
  std::atomic<uint64_t> faults{0};
  std::atomic<uint64_t> prompt_tokens{0};
  std::atomic<uint64_t> completion_tokens{0};
  std::atomic<uint64_t> in_flight{0};
  std::atomic<uint64_t> peak_in_flight{0};
  std::array<std::atomic<uint64_t>, 600> status{};

  static void add(std::atomic<uint64_t>& x, uint64_t d = 1) { x.fetch_add(d, relaxed); }

  void enter() {
    auto now = in_flight.fetch_add(1, relaxed) + 1;
    auto peak = peak_in_flight.load(relaxed);
    while (now > peak && !peak_in_flight.compare_exchange_weak(peak, now, relaxed)) {
    }
  }

  void leave() { in_flight.fetch_sub(1, relaxed); }

  void count_status(unsigned code) {
    if (code < status.size())
      status[code].fetch_add(1, relaxed);
  }

  /// Zeroes the counters; in_flight is a gauge and stays, peak restarts from it.
  void reset();

  /// The counters now.
  mock_llm::stats snapshot() const;
};

/// What every session reads (the script) and updates (the counters).
struct shared_state {
  mock_llm::script script;
  counters count;
  std::FILE* request_log = nullptr; // server_options::request_log; guarded by log_mtx
  std::mutex log_mtx;

  /// Appends request `n`'s line to the request log, if there is one (see
  /// server_options::request_log).
  void log_request(uint64_t n, std::string_view body, const chat_request& req);
};

} // namespace swarm::mock_llm::detail
