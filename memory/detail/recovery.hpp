// Internal: what opening the memory database needs to find damage and say what it lost: a
// reader of RocksDB's write-ahead log format, a WAL filter counting what recovery replays, and
// the WAL ledger (the file SMOLSWARMS-WAL) that names the WAL files a store that was not closed
// cleanly still needs. For memory/database.cpp and memory tests only (it includes RocksDB).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <rocksdb/listener.h>
#include <rocksdb/status.h>
#include <rocksdb/wal_filter.h>
#include <rocksdb/write_batch.h>

#include "memory/database.hpp"

namespace swarm::memory::detail {

/// The name of the WAL ledger in the database's directory.
inline constexpr const char* wal_ledger_name = "SMOLSWARMS-WAL";

/// What reading one WAL file record by record found.
struct wal_scan {
  uint64_t number = 0;  ///< the WAL's log number (000012.log: 12)
  std::string name;     ///< its file name
  uint64_t bytes = 0;   ///< its size
  uint64_t batches = 0; ///< intact write batches (each one atomic write)
  uint64_t records = 0; ///< their writes to the `records` column family
  /// The first damage: where (a byte offset) and what (e.g. "checksum mismatch").
  std::optional<std::pair<uint64_t, std::string>> damage;
  /// True if the damage is a record cut short by the end of the file (a truncated file, or one
  /// being written right now).
  bool cut_short = false;
};

/// Reads `file`, RocksDB's log format (32 KiB blocks of CRC32C-checked records), counting the
/// intact write batches and their writes to the column family `records_cf` (all intact ones,
/// before and after damage). Empty `name` and no bytes when the file cannot be read.
wal_scan scan_wal(const std::string& file, uint64_t number, uint32_t records_cf);

/// The WAL files (number -> file name) in `dir`.
std::map<uint64_t, std::string> wal_files(const std::string& dir);

/// Counts what recovery replays: write batches and writes to `records`, per WAL file, and
/// learns the column families' ids and the oldest WAL recovery needs.
class counting_wal_filter : public rocksdb::WalFilter {
public:
  void ColumnFamilyLogNumberMap(const std::map<uint32_t, uint64_t>& cf_lognumber_map,
                                const std::map<std::string, uint32_t>& cf_name_id_map) override;
  WalProcessingOption LogRecordFound(unsigned long long log_number,
                                     const std::string& log_file_name,
                                     const rocksdb::WriteBatch& batch, rocksdb::WriteBatch*,
                                     bool*) override;
  const char* Name() const override { return "smolswarms.counting_wal_filter"; }

  uint64_t batches = 0;
  uint64_t records = 0;
  /// The oldest WAL holding data not yet in SST files (none seen: 0).
  uint64_t min_log_number = 0;
  /// The id of the `records` column family (none seen: UINT32_MAX).
  uint32_t records_cf = UINT32_MAX;
};

/// What the ledger says: the last read-write open did not end with a clean close (`open`), and
/// then the WAL files that held its unflushed writes.
struct wal_ledger {
  bool open = false;
  std::vector<uint64_t> wals;
};

/// Reads the ledger in `dir`; none (a clean state) when missing or unreadable.
wal_ledger read_wal_ledger(const std::string& dir);

/// Replaces the ledger in `dir` (a temporary file renamed over it); false if it could not.
bool write_wal_ledger(const std::string& dir, const wal_ledger& ledger);

/// "000012.log" for 12.
std::string wal_file_name(uint64_t number);

/// Keeps the WAL ledger of `dir` naming the WAL files with writes not yet in SST files: after
/// every flush (atomic, so every column family's older writes are in SST files then) that is
/// only the current WAL file. Once `closing` is set it writes nothing (the close does).
struct ledger_keeper : rocksdb::EventListener {
  explicit ledger_keeper(std::string dir) : dir(std::move(dir)) {}
  const char* Name() const override { return "smolswarms.ledger_keeper"; }
  void OnFlushCompleted(rocksdb::DB* db, const rocksdb::FlushJobInfo&) override;
  std::string dir;
  std::mutex mtx;
  bool closing = false;
};

/// What point-in-time recovery (counted by `kept`) left out of the store in `path`, after the
/// strict open failed with `st`: each damaged WAL file with the byte and the kind of its first
/// damage, then what was kept and dropped. A record cut short at the end of the newest WAL file
/// is not damage when another process is writing it (`writer_elsewhere`).
std::vector<std::string> describe_wal_damage(const std::string& path,
                                             const counting_wal_filter& kept,
                                             const rocksdb::Status& st, bool writer_elsewhere);

/// meta/damage: what read-write opens found lost, one line each ("TIME: what").
inline constexpr std::string_view damage_key = "damage";

/// Appends `lines`, each with the time, to meta/damage.
caf::error record_damage(const database& db, const std::vector<std::string>& lines);

} // namespace swarm::memory::detail
