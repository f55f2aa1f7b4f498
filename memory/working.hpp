// Working memory: the per-run blackboard the agents of a run share (notes, facts, subtask
// results), kept in the database's `working` column family so that a crash loses no note that
// was acknowledged; BM25 over a run's notes; and the actor that serves every run of a runtime.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "memory/bm25.hpp"
#include "memory/database.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/memory_messages.hpp"

namespace swarm::memory {

/// Options of the working-memory store.
struct working_options {
  /// Runs whose notes are kept in memory for queries (least recently used ones are dropped and
  /// read again from RocksDB when next touched). Default: 64.
  size_t cached_runs = 64;
  /// BM25 parameters of queries. Default: k1 = 1.2, b = 0.75.
  bm25_params bm25;
};

/// Checks a write before anything is stored: `invalid_argument` naming the field for an empty
/// run id or one containing NUL, a kind other than note/fact/result, an importance outside
/// [0, 1].
[[nodiscard]] caf::error validate(const wm_write& w);

/// The id of a note: "RUN:KEY" for a keyed write, "RUN#SEQ" for the SEQ-th unkeyed one.
std::string note_id(const std::string& run_id, const std::string& key, uint64_t seq);

/// `notes` that match `text`, best first, at most `top_k`: BM25 (statistics over `notes`)
/// with ties broken newest first (later time, then later in `notes`); notes without a matching
/// term are left out. A text without index terms yields the newest notes first.
std::vector<wm_note> rank_notes(const std::vector<wm_note>& notes, const std::string& text,
                                size_t top_k, const bm25_params& params = {});

/// Every note of run `run_id`, in write order, read straight from the database (for readers
/// other than the working-memory actor, e.g. consolidation).
[[nodiscard]] caf::expected<std::vector<wm_note>> read_run_notes(const database& db,
                                                                 const std::string& run_id);

/// The working memory of every run in one database. Key layout of the `working` column family:
/// `run_id NUL seq` (seq: u64 big endian, so a run's notes iterate in write order) -> encoded
/// note (including its idempotency key). Each write is one RocksDB write through the WAL
/// before it returns. Not thread-safe: one owner (the actor) uses it.
class working_store {
public:
  /// A store over `db`'s `working` column family.
  explicit working_store(std::shared_ptr<database> db, working_options opts = {});

  /// Stores a note at `now_ms` and returns it (see wm_write for keys and errors).
  [[nodiscard]] caf::expected<wm_note> write(const wm_write& w, int64_t now_ms);

  /// Stores several notes in one RocksDB write (group commit) and returns them in order; all or
  /// nothing. Later writes see earlier ones (numbering, keys).
  [[nodiscard]] caf::expected<std::vector<wm_note>> write_all(const std::vector<wm_write>& writes,
                                                              int64_t now_ms);

  /// The run's best matching notes (see rank_notes).
  [[nodiscard]] caf::expected<std::vector<wm_note>> query(const wm_query& q);

  /// Every note of the run, in write order.
  [[nodiscard]] caf::expected<std::vector<wm_note>> list(const std::string& run_id);

  /// Deletes every note of the run; returns how many.
  [[nodiscard]] caf::expected<uint64_t> forget_run(const std::string& run_id);

private:
  /// A run's notes as loaded from RocksDB.
  struct run_notes {
    std::vector<wm_note> notes;                     ///< in write order
    std::vector<uint64_t> seqs;                     ///< the RocksDB sequence of each note
    std::unordered_map<std::string, size_t> by_key; ///< idempotency key -> index in notes
    uint64_t next_seq = 0;
  };

  caf::expected<run_notes*> load(const std::string& run_id);
  void drop(const std::set<std::string>& run_ids);

  std::shared_ptr<database> db_;
  working_options opts_;
  std::unordered_map<std::string, run_notes> runs_;
  std::list<std::string> lru_;   ///< cached run ids, most recently used first
  std::set<std::string> pinned_; ///< runs of the batch being built: never evicted
};

/// Spawns the working-memory actor over `db` (one per runtime serves all runs); it reports each
/// durable write to `monitor` (if valid) as `event_kind::memory_written` with the note id as text.
working_memory_actor spawn_working_memory(caf::actor_system& sys, std::shared_ptr<database> db,
                                          monitor_actor monitor = {}, working_options opts = {});

} // namespace swarm::memory
