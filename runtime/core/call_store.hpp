// Where finished LLM calls are kept so that they need not be made again: the run journal
// (RocksDB, memory/) and the record/replay cassette (a file, net/). Each swarm's LLM broker
// (runtime/llm_broker) reads and writes the journal; the LLM tape (net/llm_tape) only records
// and replays cassettes. The runtime decides which store each gets.
#pragma once

#include <optional>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"

namespace swarm {

/// A durable map from a call's key to its reply. Implementations are thread-safe.
class call_store {
public:
  virtual ~call_store() = default;

  /// The reply stored under `key`, or none. An error only if the store cannot be read.
  [[nodiscard]] virtual caf::expected<std::optional<chat_result>> find(const std::string& key) = 0;

  /// Stores `reply`, the answer to `req`, under `key`. When it returns without error the entry
  /// survives a crash of the process (it went through a write-ahead log or was flushed).
  /// An existing entry under `key` is replaced.
  [[nodiscard]] virtual caf::error put(const std::string& key, const chat_request& req,
                                       const chat_result& reply) = 0;

  /// A short description for error messages, e.g. "journal in state/memory".
  virtual std::string describe() const = 0;
};

} // namespace swarm
