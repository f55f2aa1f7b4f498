// The LLM broker's journal writer: one thread of its own that puts finished calls into a
// call_store (RocksDB, a file), so a slow disk never stalls a scheduler thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
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

  /// Waits for the put under way, if any; entries not yet written are dropped (their `done`
  /// never runs).
  ~journal_writer();

  journal_writer(const journal_writer&) = delete;
  journal_writer& operator=(const journal_writer&) = delete;

  void put(std::string key, std::shared_ptr<const chat_request> req, chat_result reply,
           done_callback done);

  call_store& store() const { return *store_; }

private:
  struct entry {
    std::string key;
    std::shared_ptr<const chat_request> req;
    chat_result reply;
    done_callback done;
  };

  void run();

  std::shared_ptr<call_store> store_;
  std::mutex mtx_;
  std::condition_variable wake_;
  std::deque<entry> queue_; // guarded by mtx_
  bool stop_ = false;       // guarded by mtx_
  std::thread thread_;      // started by the first put
};

} // namespace swarm::detail
