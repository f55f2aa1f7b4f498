// The second floor for the fanout benchmark: the same chat completions with libcurl, no actors
// (curl's multi interface for N at once, one easy handle for one call at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "bench/bare_client.hpp"

namespace swarm::bench {

/// Sends `n` POST requests with body `body` to `host:port` (path `target`) with one curl multi
/// handle over at most `connections` keep-alive HTTP/1.1 connections, parsing each reply's
/// JSON; returns when all are answered.
bare_outcome curl_fanout(const std::string& host, uint16_t port, const std::string& target,
                         const std::string& body, size_t n, size_t connections);

/// One curl easy handle keeping its connection to `host:port` alive, sending one chat completion
/// at a time and waiting for it on the caller's thread: the floor of a single call's latency.
class curl_session {
public:
  curl_session(const std::string& host, uint16_t port);
  ~curl_session();
  curl_session(const curl_session&) = delete;
  curl_session& operator=(const curl_session&) = delete;

  /// POSTs `body` (encoded again for each call, as any client must) to `target`, reads the
  /// answer and parses its JSON; false if any of that failed.
  bool call(const std::string& target, const std::string& body);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::bench
