// The floor for the fanout benchmark: N chat completions with plain Beast, no actors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

/// One keep-alive connection to `host:port` sending one chat completion at a time and waiting
/// for it, on the caller's thread: the floor of a single call's latency.
class bare_session {
public:
  bare_session(const std::string& host, uint16_t port);
  ~bare_session();
  bare_session(const bare_session&) = delete;
  bare_session& operator=(const bare_session&) = delete;

  /// POSTs `body` (encoded again for each call, as any client must) to `target`, reads the
  /// answer and parses its JSON; false if any of that failed (the connection is then remade).
  bool call(const std::string& target, const std::string& body);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::bench
