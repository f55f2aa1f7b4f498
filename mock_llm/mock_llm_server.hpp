// `swarm mock-llm`: our own deterministic, scriptable OpenAI-compatible server (tests, demos,
// benchmarks). The script format is documented in docs/mock-llm.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace swarm::mock_llm {

/// Per server. Default-constructed options serve plain HTTP on a free loopback port.
struct server_options {
  /// Address to bind. Default: "127.0.0.1".
  std::string host = "127.0.0.1";
  /// Port; 0 picks a free one (see server::port()). Default: 0.
  uint16_t port = 0;
  /// I/O threads. Default: 1.
  size_t threads = 1;
  /// Script file (YAML); empty: default replies only, no faults, no latency. Default: empty.
  std::string script_path;
  /// PEM certificate and key; both set: serve HTTPS. Default: empty (plain HTTP).
  std::string tls_cert;
  std::string tls_key;
  /// File to append one JSON line per chat request to, written before the reply:
  /// {"n": number, "model": ..., "digest": FNV-1a 64 of the request body (hex), "user": last
  /// user message}. Tests use it to see which requests repeated. Default: empty (no log).
  std::string request_log;
};

/// Counters since start (or the last POST /stats/reset). Also served as JSON at GET /stats.
struct stats {
  uint64_t requests = 0;           ///< HTTP requests of any path
  uint64_t chat_requests = 0;      ///< POST /v1/chat/completions
  uint64_t stream_requests = 0;    ///< of those, with "stream": true
  uint64_t embedding_requests = 0; ///< POST /v1/embeddings
  uint64_t cancels = 0;            ///< requests whose client closed the connection before the reply
  uint64_t faults = 0;             ///< faults injected
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  uint64_t in_flight = 0;                ///< requests being served now
  uint64_t peak_in_flight = 0;           ///< most requests served at once
  std::map<int, uint64_t> status_counts; ///< HTTP status -> responses sent
};

/// A running mock server. Stops (and joins its threads) on stop() or destruction.
class server {
public:
  /// Loads the script, binds, and starts serving. Errors: errc::invalid_spec for a bad script
  /// (message names file, path and line), errc::io_error for bind/TLS-file failures.
  [[nodiscard]] static caf::expected<std::unique_ptr<server>> start(server_options opts);

  virtual ~server() = default;

  /// The bound port.
  virtual uint16_t port() const = 0;

  /// Base URL clients use, e.g. "http://127.0.0.1:40123/v1" (https when serving TLS).
  virtual std::string url() const = 0;

  /// A snapshot of the counters.
  virtual mock_llm::stats stats() const = 0;

  /// Stops accepting, closes connections, joins the threads. Idempotent.
  virtual void stop() = 0;
};

} // namespace swarm::mock_llm
