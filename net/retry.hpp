// Retry policy of the LLM client as plain functions: which attempt outcomes to retry, and how
// long to back off.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace swarm::net {

/// How one HTTP attempt ended.
enum class attempt_outcome : uint8_t {
  ok,               ///< a 2xx with a well-formed body
  http_status,      ///< a non-2xx status (see the status code)
  connect_failed,   ///< resolve or TCP connect failed
  tls_failed,       ///< TLS handshake or certificate verification failed
  attempt_timeout,  ///< the attempt's own deadline (connect timeout) passed
  truncated,        ///< the connection broke or the stream ended before the response completed
  invalid_response, ///< a 2xx whose body is not the JSON the API promises
  cancelled,        ///< the caller abandoned the call
};

/// True if an attempt that ended this way can succeed when repeated: 429, every 5xx, connect
/// failures, attempt timeouts and truncated reads. Never other 4xx, TLS failures, invalid JSON
/// of a 2xx, or cancellation.
bool should_retry(attempt_outcome outcome, int http_status = 0);

/// Parses a Retry-After value: delta-seconds ("2", "0.5" tolerated) or an IMF-fixdate
/// ("Sun, 06 Nov 1994 08:49:37 GMT", relative to `now`). Nothing when unparsable.
std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// The cap of backoff number `retry` (0 for the first retry): min(max, base * 2^retry).
std::chrono::milliseconds backoff_cap(uint32_t retry, std::chrono::milliseconds base,
                                      std::chrono::milliseconds max);

/// The wait before retry number `retry` (0-based): full jitter, `unit_random` in [0, 1) scales
/// the cap; a Retry-After is honoured (at least that long), everything capped by `max`.
std::chrono::milliseconds backoff_delay(uint32_t retry, std::chrono::milliseconds base,
                                        std::chrono::milliseconds max,
                                        std::optional<std::chrono::milliseconds> retry_after,
                                        double unit_random);

} // namespace swarm::net
