// The one RocksDB database of a data directory (`<data_dir>/memory`), shared by the memory tiers
// and the run journal, each in its own column families. RocksDB stays behind the pimpl: nothing
// here includes its headers (memory/detail/db_access.hpp gives memory/ code the raw database).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace swarm::memory {

namespace detail {
struct db_access;
} // namespace detail

/// Long-term records: id -> encoded record.
inline constexpr std::string_view cf_records = "records";
/// Unused and kept empty: stores before the in-memory BM25 index kept their postings here (see
/// memory/long_term.cpp); it stays so that those stores and new ones have the same families.
inline constexpr std::string_view cf_bm25 = "bm25";
/// The schema marker.
inline constexpr std::string_view cf_meta = "meta";
/// Embedding vectors of long-term records (the hnswlib index is rebuilt from them).
inline constexpr std::string_view cf_vectors = "vectors";
/// The run journal: finished LLM calls and coordinator steps, keyed by run.
inline constexpr std::string_view cf_journal = "journal";
/// One header per run: run id -> run record.
inline constexpr std::string_view cf_runs = "runs";
/// Working memory (the per-run blackboards).
inline constexpr std::string_view cf_working = "working";
/// The event log: every event of every run, by run and sequence (memory/event_log.hpp).
inline constexpr std::string_view cf_events = "events";

/// Per-database options.
struct database_options {
  /// Sync the write-ahead log to disk before a write returns (RocksDB WriteOptions::sync).
  /// Without it a write survives a process crash, not a machine crash. Default: false.
  bool sync = false;
  /// Create `<data_dir>/memory` and the database when missing or empty. Default: true.
  bool create_if_missing = true;
  /// Open without writing anything and without taking the lock, so that it works beside a
  /// process that has the database open; reads see the state as of opening, writes fail with
  /// `io_error`. The database must exist (`create_if_missing` is ignored). Default: false.
  bool read_only = false;
};

/// One open RocksDB database with the column families `records`, `bm25`, `meta`, `vectors`,
/// `journal`, `runs`, `working` and `events` (missing ones are created on open, so older stores
/// gain new ones). Shared by its users through `std::shared_ptr`; closed when the last one lets go.
/// Thread-safe (RocksDB is).
class database {
public:
  /// The schema marker stored under `meta/schema`.
  static constexpr std::string_view schema_marker = "smolswarms.memory.v1";

  /// The database's directory inside a data directory.
  static constexpr std::string_view subdirectory = "memory";

  /// Disk space kept in the file `SMOLSWARMS-RESERVE` of the database's directory. Opening
  /// read-write frees it before RocksDB starts, so that a database whose disk filled up still
  /// opens (to read, export or forget), then takes back as much of it as the disk has.
  static constexpr int64_t reserve_bytes = 1 << 20;

  /// Every column family the database has besides RocksDB's `default`.
  static const std::vector<std::string>& column_families();

  /// Opens (or, if missing or empty, creates) the database in `<data_dir>/memory`.
  /// Recovery is strict first (any damage in the write-ahead log fails it); on damage it is
  /// point-in-time (every write before the first damage is kept, the rest of the log dropped)
  /// and `damage()` says what was found and lost; WAL files that a store not closed cleanly
  /// still needed and that are gone count as damage too. A store whose log held its schema
  /// marker and is gone is `data_dir_unusable` as a damaged store, never as a foreign one.
  /// Errors, each naming the directory: `data_dir_unusable` when it holds something other than
  /// a SmolSwarms memory store (a foreign RocksDB database, other files; left untouched), when
  /// the database is corrupt, when another process has it open (the message names that
  /// process), or when it cannot be written (a read-only file system, no permission);
  /// `storage_full` when the disk is full; `io_error` when `read_only` or `create_if_missing`
  /// off finds no store; `invalid_argument` for an empty `data_dir`.
  [[nodiscard]] static caf::expected<std::shared_ptr<database>> open(const std::string& data_dir,
                                                                     database_options options = {});

  /// The process that has the database in `<data_dir>/memory` open read-write (it holds
  /// RocksDB's lock on the file `LOCK`, a POSIX record lock): its pid, or 0 if the lock is held
  /// from where its pid cannot be seen (another pid namespace). None if no other process holds
  /// it or there is no database; this process's own lock does not count. `io_error` if it cannot
  /// be told (Linux's /proc/locks is unreadable). Takes no lock, opens nothing in the directory.
  [[nodiscard]] static caf::expected<std::optional<int64_t>>
  lock_holder(const std::string& data_dir);

  /// Closes the database. Opened read-write, it first flushes every column family into SST
  /// files, so that no WAL file is needed and RocksDB deletes them (on a full disk the flush
  /// fails and they stay, to be replayed by the next open).
  ~database();

  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// The data directory given to `open`.
  const std::string& data_dir() const;

  /// The database's own directory, `<data_dir>/memory`.
  const std::string& path() const;

  /// The options given to `open`.
  const database_options& options() const;

  /// Bytes of the files in the database's directory, the reserve left out.
  [[nodiscard]] caf::expected<uint64_t> disk_usage() const;

  /// The write-ahead log files in the database's directory now: how many, and their bytes.
  struct wal_usage {
    uint64_t files = 0;
    uint64_t bytes = 0;
  };
  wal_usage wal_files() const;

  /// What opening found damaged or lost, one sentence each naming the file (and byte) and what
  /// recovery dropped; empty for a healthy store.
  const std::vector<std::string>& damage() const;

  /// What read-write opens found damaged or lost, kept in `meta/damage` ("TIME: what", one per
  /// line, oldest first) until `clear_recorded_damage`; a read-write open's own `damage()` is
  /// among them.
  [[nodiscard]] caf::expected<std::vector<std::string>> recorded_damage() const;

  /// Forgets what `recorded_damage` holds (once someone has looked at it).
  [[nodiscard]] caf::error clear_recorded_damage();

private:
  friend struct detail::db_access;
  struct impl;
  explicit database(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::memory
