// The record/replay cassette: a JSON-lines file of LLM requests and their replies, as OpenAI
// bodies, so a recorded run repeats exactly offline (`swarm run --record / --replay`).
#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "runtime/core/call_store.hpp"

namespace swarm::net {

/// A cassette file. Line format: {"key": content key, "agent": ..., "task_id": ..., "step": n,
/// "request": OpenAI request body, "response": OpenAI completion body}.
class cassette final : public call_store {
public:
  /// Starts a new recording in `path` (truncated). errc::io_error if it cannot be created.
  [[nodiscard]] static caf::expected<std::shared_ptr<cassette>> create(const std::string& path);

  /// Loads a recording for replay. errc::io_error if unreadable; errc::invalid_argument naming
  /// the file and line of the first malformed line.
  [[nodiscard]] static caf::expected<std::shared_ptr<cassette>> load(const std::string& path);

  ~cassette() override;

  caf::expected<std::optional<chat_result>> find(const std::string& key) override;
  caf::error put(const std::string& key, const chat_request& req,
                 const chat_result& reply) override;
  std::string describe() const override;

  /// Calls in the cassette.
  size_t size() const;

  struct impl;
  explicit cassette(std::unique_ptr<impl> ptr);

private:
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::net
