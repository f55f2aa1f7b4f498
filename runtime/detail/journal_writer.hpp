// The LLM broker's journal writer: one thread of its own that puts finished calls into a
// call_store (RocksDB, a file), so a slow disk never stalls a scheduler thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <caf/expected.hpp>

#include "runtime/core/call_store.hpp"

namespace swarm::detail {

/// Writes entries in the order they are given, one at a time, on its own thread (started at the
/// first put). Each entry's `done` runs on that thread once the put returned: with the reply if
/// it is durable, else with the store's error; it must only send a message.
class journal_writer {
public:
  using done_callback = std::function<void(caf::expected<chat_result>)>;

  explicit journal_writer(std::shared_ptr<call_store> store);

  /// Drains: every entry given to put is written before the thread ends, those still queued
  /// without running their `done` (nobody waits for them); a put that fails does not stop the
  /// others. Waits for that, unless it runs on the writer thread itself (from a `done`): then
  /// the thread finishes the queue on its own, detached.
  ~journal_writer();

  journal_writer(const journal_writer&) = delete;
  journal_writer& operator=(const journal_writer&) = delete;

  void put(std::string key, std::shared_ptr<const chat_request> req, chat_result reply,
           done_callback done);

  call_store& store() const;

private:
  struct shared; // the queue and the store: owned by the writer and its thread together

  static void run(const std::shared_ptr<shared>& sh);

  std::shared_ptr<shared> shared_;
  std::thread thread_; // started by the first put
};

} // namespace swarm::detail
