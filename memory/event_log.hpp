// The event log: every event of every run, in its JSON wire form (docs/events.md), kept in the
// `events` column family of the memory database so that a watcher can read a run's events again
// or resume a stream where it broke off (by the run's own sequence number, `run_seq`).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

#include "memory/database.hpp"
#include "runtime/core/messages.hpp"

namespace swarm::memory {

/// How long the log keeps what.
struct event_log_options {
  /// A run's events are dropped this long after its last event. Default: 7 days.
  std::chrono::hours retention{24 * 7};
  /// At most this many runs keep their events: beyond it, those whose last event is oldest are
  /// dropped. Default: 10,000.
  size_t max_runs = 10000;
};

/// The event log of a data directory. Thread-safe. Appends go through the WAL like every write
/// of the database; a run's sequence numbers go on from the last one kept, across restarts.
class event_log {
public:
  explicit event_log(std::shared_ptr<database> db, event_log_options opts = {});

  /// The sequence number run `run_id`'s next event gets: 1 + the last one kept (1 for a run
  /// the log has not seen), counted up by `append`.
  [[nodiscard]] caf::expected<uint64_t> next_seq(const std::string& run_id);

  /// Keeps `e` (its run_seq already set, see next_seq) as its `json` wire form.
  [[nodiscard]] caf::error append(const event& e, std::string_view json);

  /// Run `run_id`'s events with run_seq > `after`, oldest first, at most `limit` of them.
  [[nodiscard]] caf::expected<std::vector<logged_event>> read(const std::string& run_id,
                                                              uint64_t after, size_t limit) const;

  /// Drops the events of runs past the retention (`now` is the reference time) and of the
  /// oldest runs beyond max_runs; returns how many runs it dropped.
  [[nodiscard]] caf::expected<size_t>
  prune(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  /// Drops every event of run `run_id`; returns how many there were.
  [[nodiscard]] caf::expected<size_t> forget(const std::string& run_id);

  /// "event log in <data_dir>/memory".
  std::string describe() const;

private:
  caf::error drop_run(const std::string& run_id, size_t* dropped);

  std::shared_ptr<database> db_;
  event_log_options opts_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, uint64_t> last_; ///< runs seen since open: their last seq
};

} // namespace swarm::memory
