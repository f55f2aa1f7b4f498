// The floor for the fanout benchmark: N chat completions with plain Beast, no actors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace swarm::bench {

struct bare_outcome {
  size_t ok = 0;
  size_t failed = 0;
};

/// Sends `n` POST /chat/completions requests with body `body` to `host:port` (path
/// `target`) over at most `connections` keep-alive connections, parsing each reply's JSON;
/// returns when all are answered.
bare_outcome bare_fanout(const std::string& host, uint16_t port, const std::string& target,
                         const std::string& body, size_t n, size_t connections);

} // namespace swarm::bench
