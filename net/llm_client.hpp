// The LLM client for the OpenAI-compatible HTTP API: async, pooled, retrying. Beast stays in the
// .cpp files (llm_client: this facade, llm_client_core: pools and a call's life, llm_connection:
// one connection's HTTP); this header is cheap to include.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"
#include "runtime/core/options.hpp"

namespace swarm::net {

/// Counters of one client since construction.
struct client_stats {
  uint64_t requests = 0; ///< calls started
  uint64_t attempts = 0; ///< HTTP attempts (requests + retries)
  uint64_t retries = 0;
  uint64_t cancelled = 0;
  uint64_t connections_opened = 0;
  uint64_t in_flight = 0;
};

/// Talks to any number of OpenAI-compatible endpoints. Thread-safe. Runs its own I/O threads;
/// callbacks run on them and must not block.
class llm_client {
public:
  using chat_callback = std::function<void(caf::expected<chat_result>)>;
  using delta_callback = std::function<void(std::string_view)>;
  using embedding_callback = std::function<void(caf::expected<embedding_result>)>;

  explicit llm_client(llm_client_options opts = {});
  ~llm_client(); ///< stop()s

  llm_client(const llm_client&) = delete;
  llm_client& operator=(const llm_client&) = delete;

  /// Starts a chat completion. `done` runs exactly once: with the result, or with an errc
  /// (llm_timeout, llm_http_error, llm_rate_limited, llm_invalid_response, llm_stream_truncated,
  /// llm_connect_failed, llm_tls_failed, llm_cancelled, invalid_argument, invalid_reply: a reply,
  /// streamed or not, with neither content nor tool calls). A reply over 64 MiB (body or stream)
  /// is llm_invalid_response naming the limit, not retried. For streamed requests
  /// `on_delta` (optional) gets each content delta as it arrives. At most
  /// `req.endpoint.max_connections` connections to the endpoint's host and port are open for it
  /// (0: llm_client_options::max_connections_per_endpoint); past that the call queues.
  void chat(chat_request req, chat_callback done, delta_callback on_delta = {});

  /// Starts an embeddings call; `done` runs exactly once.
  void embed(embedding_request req, embedding_callback done);

  /// Abandons call `call_id` (chat or embedding): closes its connection at once (the server sees
  /// the client go away) and completes it with errc::llm_cancelled. Unknown ids are ignored.
  void cancel(uint64_t call_id);

  /// Completes every pending call with errc::llm_cancelled and joins the I/O threads. Idempotent.
  void stop();

  client_stats stats() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::net
