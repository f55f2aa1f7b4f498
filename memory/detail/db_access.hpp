// Internal: the raw RocksDB database behind a memory::database, for memory/*.cpp and memory
// tests only (it includes RocksDB headers; headers others include must not include this one).
#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/status.h>
#include <rocksdb/write_batch.h>

#include "memory/database.hpp"

namespace swarm::memory::detail {

/// Turns a failed RocksDB status into a swarm error naming `dir`: `storage_full` when the disk
/// is full (Status::IsNoSpace, or an IOError saying ENOSPC), else `io_error` ("corrupt
/// database" for corruption). `what` says what failed, e.g. "cannot write".
caf::error status_error(const std::string& dir, const std::string& what, const rocksdb::Status& st);

/// True if `st` means the disk or quota is full.
bool is_no_space(const rocksdb::Status& st);

/// The RocksDB parts of a database.
struct db_access {
  /// The raw database; valid as long as `db` lives.
  static rocksdb::DB& raw(const database& db);

  /// The handle of column family `name` (see database::column_families); never null.
  /// Throws nothing: an unknown name is a programming error (asserted).
  static rocksdb::ColumnFamilyHandle* cf(const database& db, std::string_view name);

  /// The write options every write uses (WAL on; `sync` as opened).
  static const rocksdb::WriteOptions& write_options(const database& db);

  /// `status_error` naming this database's directory.
  static caf::error fail(const database& db, const std::string& what, const rocksdb::Status& st);

  /// Writes `batch` atomically through the WAL; an error (see `status_error`) if it failed.
  static caf::error write(const database& db, rocksdb::WriteBatch& batch,
                          const std::string& what = "cannot write");
};

} // namespace swarm::memory::detail
