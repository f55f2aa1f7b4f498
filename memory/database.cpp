// The memory database of a data directory (see database.hpp): opening with the foreign and
// corrupt directory checks, strict recovery with a report of what damage cost, column families
// created on demand, memtables flushed on close, RocksDB status -> swarm error.
#include "memory/database.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <rocksdb/env.h>

#include "memory/detail/db_access.hpp"
#include "memory/detail/info_log.hpp"
#include "memory/detail/recovery.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::memory {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view key_schema = "schema";

/// The file that keeps some disk space for the database (see database.hpp).
constexpr std::string_view reserve_name = "SMOLSWARMS-RESERVE";

/// Frees the reserve in `dir`, so that opening has room for its new MANIFEST even when the disk
/// filled up.
void release_reserve(const std::string& dir) {
  std::error_code ec;
  fs::remove(fs::path{dir} / reserve_name, ec);
}

/// (Re)creates the reserve in `dir`: `database::reserve_bytes`, or as much of it (at least
/// 64 KiB) as the disk still has; none if not even that.
void make_reserve(const std::string& dir) {
  auto file = (fs::path{dir} / reserve_name).string();
  int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  bool kept = false;
  for (off_t size = database::reserve_bytes; size >= (64 << 10) && !kept; size /= 2) {
    kept = ::posix_fallocate(fd, 0, size) == 0;
    if (!kept && ::ftruncate(fd, 0) != 0)
      break;
  }
  ::close(fd);
  if (!kept)
    ::unlink(file.c_str());
}

/// Our own store, damaged so that it cannot be opened.
caf::error damaged_store(const std::string& path, const std::string& why) {
  return make_error(errc::data_dir_unusable, "memory database " + path +
                                                 ": a damaged SmolSwarms memory store (" + why +
                                                 "); left untouched");
}

caf::error not_ours(const std::string& path, const std::string& why) {
  return make_error(errc::data_dir_unusable, "memory database " + path +
                                                 ": not a SmolSwarms memory store (" + why +
                                                 "); left untouched");
}

std::vector<rocksdb::ColumnFamilyDescriptor> descriptors(const std::vector<std::string>& names) {
  std::vector<rocksdb::ColumnFamilyDescriptor> result;
  for (const auto& n : names)
    result.emplace_back(n, rocksdb::ColumnFamilyOptions{});
  return result;
}

/// Checks that `path`, a RocksDB database with the column families `names`, is one of ours.
/// Opens it read-only (no LOG, no LOCK written) so that a damaged manifest shows as corruption
/// rather than as a foreign database, then looks for the original column families and the
/// schema marker (newer column families may be missing: open adds them).
caf::error probe(const std::string& path, const std::vector<std::string>& names) {
  rocksdb::DBOptions opts;
  opts.info_log = std::make_shared<detail::null_logger>();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto st = rocksdb::DB::OpenForReadOnly(opts, path, descriptors(names), &handles, &db);
  if (!st.ok())
    return detail::status_error(path, "cannot open read-only", st);
  std::string missing;
  for (auto cf : {cf_records, cf_bm25, cf_meta})
    if (std::find(names.begin(), names.end(), cf) == names.end())
      missing += (missing.empty() ? "" : ", ") + std::string{cf};
  std::string marker;
  rocksdb::Status got;
  if (missing.empty()) {
    auto meta = std::find(names.begin(), names.end(), cf_meta) - names.begin();
    got = db->Get(rocksdb::ReadOptions{}, handles[static_cast<size_t>(meta)],
                  rocksdb::Slice{key_schema.data(), key_schema.size()}, &marker);
  }
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
  delete db;
  if (!missing.empty())
    return not_ours(path, "a RocksDB database without the column families " + missing);
  if (got.IsNotFound()) // our column families: ours, with the log that held the marker lost
    return damaged_store(path, "the schema marker meta/schema is missing: the write-ahead log "
                               "files (*.log) that held it were deleted or cut short");
  if (!got.ok())
    return detail::status_error(path, "cannot read meta/schema", got);
  if (marker != database::schema_marker)
    return not_ours(path, "unsupported schema '" + marker + "', expected '" +
                              std::string{database::schema_marker} + "'");
  return {};
}

/// The pid holding a POSIX lock on `file` other than this process, as /proc/locks lists it (0:
/// a holder whose pid this pid namespace cannot see); none if no other process holds one; an
/// error if /proc/locks cannot be read. Opens nothing on `file` itself: closing a descriptor of
/// it would drop this process's own lock on it.
caf::expected<std::optional<int64_t>> posix_lock_holder(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return std::optional<int64_t>{};
  std::ifstream locks{"/proc/locks"};
  if (!locks)
    return make_error(errc::io_error, "cannot read /proc/locks");
  char dev[32];
  std::snprintf(dev, sizeof(dev), "%02x:%02x:", ::major(st.st_dev), ::minor(st.st_dev));
  auto id = dev + std::to_string(st.st_ino);
  std::string line;
  while (std::getline(locks, line)) {
    // "1: POSIX  ADVISORY  WRITE 1234 fe:00:10952740 0 EOF"; "1: -> ..." is a waiter.
    std::istringstream in{line};
    std::string number, kind, mode, access, pid, where;
    in >> number >> kind;
    if (kind != "POSIX")
      continue;
    in >> mode >> access >> pid >> where;
    if (where != id)
      continue;
    auto holder = std::atoll(pid.c_str());
    if (holder == static_cast<int64_t>(::getpid()))
      continue;
    return std::optional<int64_t>{holder > 0 ? holder : 0};
  }
  return std::optional<int64_t>{};
}

/// "process 1234 (swarm run spec.yaml --task ...)" for the holder of the lock on `file`, or
/// "another process" when it cannot be named.
std::string lock_holder_text(const std::string& file) {
  auto holder = posix_lock_holder(file);
  if (!holder || !*holder || **holder == 0)
    return "another process";
  auto pid = std::to_string(**holder);
  std::ifstream in{"/proc/" + pid + "/cmdline", std::ios::binary};
  std::string cmd{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  for (auto& c : cmd) // NUL-separated arguments
    if (c == '\0')
      c = ' ';
  while (!cmd.empty() && cmd.back() == ' ')
    cmd.pop_back();
  if (cmd.size() > 100)
    cmd = cmd.substr(0, 97) + "...";
  return "process " + pid + (cmd.empty() ? "" : " (" + cmd + ")");
}

/// True if `st` says another process (or this one) holds the database's LOCK file.
bool is_lock_held(const rocksdb::Status& st) {
  auto text = st.ToString();
  return st.IsIOError() && text.find("LOCK") != std::string::npos &&
         (text.find("Resource temporarily unavailable") != std::string::npos ||
          text.find("lock hold by current process") != std::string::npos ||
          text.find("No locks available") != std::string::npos);
}

} // namespace

// --- status -> error ----------------------------------------------------------------------------

namespace detail {

bool is_no_space(const rocksdb::Status& st) {
  if (st.ok())
    return false;
  if (st.IsNoSpace())
    return true;
  auto text = st.ToString();
  return text.find("No space left on device") != std::string::npos ||
         text.find("ENOSPC") != std::string::npos ||
         text.find("Disk quota exceeded") != std::string::npos;
}

caf::error status_error(const std::string& dir, const std::string& what,
                        const rocksdb::Status& st) {
  if (is_no_space(st))
    return make_error(errc::storage_full, "memory database " + dir + ": " + what +
                                              ": the disk is full: " + st.ToString());
  if (is_lock_held(st)) {
    // RocksDB refuses a second open in one process itself, before touching the lock.
    if (st.ToString().find("lock hold by current process") != std::string::npos)
      return make_error(errc::io_error, "memory database " + dir + ": " + what +
                                            ": locked by this process, which has it open "
                                            "already: " +
                                            st.ToString());
    return make_error(errc::io_error,
                      "memory database " + dir + ": " + what + ": locked by " +
                          lock_holder_text((fs::path{dir} / "LOCK").string()) +
                          ", which has this data directory open: one process at a time can use "
                          "it; wait for that one to end (or stop it), or use another data "
                          "directory: " +
                          st.ToString());
  }
  auto kind = st.IsCorruption() ? "corrupt database: " : "";
  return make_error(errc::io_error,
                    "memory database " + dir + ": " + kind + what + ": " + st.ToString());
}

} // namespace detail

// --- impl ---------------------------------------------------------------------------------------

struct database::impl {
  std::string data_dir;
  std::string path;
  database_options opts;
  rocksdb::WriteOptions write_opts;
  rocksdb::DB* db = nullptr;
  std::vector<std::string> names;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<std::string> damage;
  std::shared_ptr<detail::ledger_keeper> keeper;

  ~impl();
};

database::impl::~impl() {
  if (db == nullptr)
    return;
  if (!opts.read_only) {
    if (keeper) {
      std::lock_guard guard{keeper->mtx};
      keeper->closing = true;
    }
    // Every memtable into SST files, so that no WAL file is needed any more and RocksDB deletes
    // them; on a full disk the flush fails and the WAL files (and the ledger naming them) stay.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    if (db->Flush(flush, handles).ok())
      detail::write_wal_ledger(path, {});
  }
  // Handles must go before the database closes.
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
  delete db;
}

database::database(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {}

database::~database() = default;

const std::vector<std::string>& database::column_families() {
  static const std::vector<std::string> names{std::string{cf_records}, std::string{cf_bm25},
                                              std::string{cf_meta},    std::string{cf_vectors},
                                              std::string{cf_journal}, std::string{cf_runs},
                                              std::string{cf_working}, std::string{cf_events}};
  return names;
}

const std::string& database::data_dir() const {
  return impl_->data_dir;
}

const std::string& database::path() const {
  return impl_->path;
}

const database_options& database::options() const {
  return impl_->opts;
}

caf::expected<uint64_t> database::disk_usage() const {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it{impl_->path, ec}, end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (it->path().filename() == reserve_name)
      continue;
    if (it->is_regular_file(size_ec)) {
      auto n = it->file_size(size_ec);
      if (!size_ec) // a file RocksDB deletes meanwhile counts as nothing
        total += n;
    }
  }
  if (ec)
    return make_error(errc::io_error, "memory database " + impl_->path + ": " + ec.message());
  return total;
}

namespace {

/// Creates a store with every column family and the schema marker (synced) in
/// `<path>.creating`, then renames it to `path` (an empty directory there is replaced).
caf::error create_store(const std::string& path, bool empty_dir_exists) {
  auto staging = path + ".creating";
  std::error_code ec;
  fs::remove_all(staging, ec); // a creation killed half-way: ours by name, start over
  fs::create_directories(staging, ec);
  if (ec) {
    auto err = ec == std::errc::no_space_on_device ? errc::storage_full : errc::io_error;
    return make_error(err,
                      "memory database " + path + ": cannot create directory: " + ec.message());
  }
  {
    rocksdb::DBOptions db_opts;
    db_opts.create_if_missing = true;
    db_opts.create_missing_column_families = true;
    db_opts.allow_fallocate = false;
    db_opts.info_log = std::make_shared<detail::null_logger>();
    std::vector<std::string> names{rocksdb::kDefaultColumnFamilyName};
    for (const auto& cf : database::column_families())
      names.emplace_back(cf);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    auto st = rocksdb::DB::Open(db_opts, staging, descriptors(names), &handles, &db);
    if (!st.ok())
      return detail::status_error(path, "cannot create", st);
    auto meta = std::find(names.begin(), names.end(), cf_meta) - names.begin();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    st = db->Put(wo, handles[static_cast<size_t>(meta)],
                 rocksdb::Slice{key_schema.data(), key_schema.size()},
                 rocksdb::Slice{database::schema_marker.data(), database::schema_marker.size()});
    // The marker into an SST file: a store whose WAL files are lost is still known as ours.
    if (st.ok())
      st = db->Flush(rocksdb::FlushOptions{}, handles[static_cast<size_t>(meta)]);
    for (auto* h : handles)
      db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    auto closed = db->Close();
    delete db;
    if (!st.ok())
      return detail::status_error(path, "cannot write schema marker", st);
    if (!closed.ok())
      return detail::status_error(path, "cannot close the new store", closed);
  }
  if (empty_dir_exists)
    fs::remove(path, ec);
  fs::rename(staging, path, ec);
  if (ec)
    return make_error(errc::io_error, "memory database " + path +
                                          ": cannot move the new store in place: " + ec.message());
  return {};
}

} // namespace

namespace {

/// Deletes what stores before the in-memory BM25 index kept besides their records, all derived
/// data: one key per posting in `bm25`, and the counters meta/doc_count and meta/total_length.
caf::error clear_legacy_keys(const database& db) {
  auto& raw = detail::db_access::raw(db);
  rocksdb::WriteBatch batch;
  auto* bm25 = detail::db_access::cf(db, cf_bm25);
  std::unique_ptr<rocksdb::Iterator> it{raw.NewIterator(rocksdb::ReadOptions{}, bm25)};
  it->SeekToLast();
  if (!it->status().ok())
    return detail::db_access::fail(db, "cannot read the bm25 column family", it->status());
  if (it->Valid()) {
    auto last = it->key().ToString();
    batch.DeleteRange(bm25, rocksdb::Slice{}, last).PermitUncheckedError();
    batch.Delete(bm25, last).PermitUncheckedError();
  }
  auto* meta = detail::db_access::cf(db, cf_meta);
  for (std::string_view key : {"doc_count", "total_length"}) {
    std::string value;
    rocksdb::Slice k{key.data(), key.size()};
    if (raw.Get(rocksdb::ReadOptions{}, meta, k, &value).ok())
      batch.Delete(meta, k).PermitUncheckedError();
  }
  if (batch.Count() == 0)
    return {};
  return detail::db_access::write(db, batch, "cannot clear keys of the older layout");
}

/// An io_error met while opening a data directory: the directory cannot be used (locked, read
/// only, corrupt, not ours); the message stays. Others (storage_full) pass unchanged.
caf::error unusable(caf::error err) {
  if (!is(err, errc::io_error))
    return err;
  const auto& ctx = err.context();
  auto text = ctx.size() == 1 && ctx.match_element<std::string>(0) ? ctx.get_as<std::string>(0)
                                                                   : describe(err);
  return make_error(errc::data_dir_unusable, std::move(text));
}

} // namespace

caf::expected<std::shared_ptr<database>> database::open(const std::string& data_dir,
                                                        database_options options) {
  if (data_dir.empty())
    return make_error(errc::invalid_argument, "memory database: empty data directory path");
  auto path = (fs::path{data_dir} / subdirectory).string();
  std::error_code ec;
  auto dir_status = fs::status(data_dir, ec); // `ec` set for a missing path: fine
  if (fs::exists(dir_status) && !fs::is_directory(dir_status))
    return make_error(errc::data_dir_unusable,
                      "memory database: data directory " + data_dir + " is not a directory");
  ec.clear();
  auto status = fs::status(path, ec);
  if (ec && status.type() != fs::file_type::not_found)
    return make_error(errc::data_dir_unusable, "memory database " + path + ": " + ec.message());
  ec.clear();
  bool exists = fs::exists(status);
  if (exists && !fs::is_directory(status))
    return not_ours(path, "not a directory");
  bool fresh = !exists || fs::is_empty(path, ec);
  if (ec)
    return make_error(errc::data_dir_unusable, "memory database " + path + ": " + ec.message());
  if (fresh) {
    if (options.read_only)
      return make_error(errc::io_error, "memory database " + path + ": no store here");
    if (!options.create_if_missing)
      return make_error(errc::io_error,
                        "memory database " + path + ": no store here (create_if_missing is off)");
    // Created aside and renamed into place: a process killed while creating leaves no
    // half-made store (one without the schema marker would be refused as not ours forever).
    if (auto err = create_store(path, fs::exists(status)))
      return unusable(std::move(err));
  }
  std::vector<std::string> names;
  {
    auto st = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, path, &names);
    if (!st.ok()) {
      if (!fs::exists(fs::path{path} / "CURRENT", ec))
        return not_ours(path, "a non-empty directory without a RocksDB database");
      return unusable(detail::status_error(path, "cannot list column families", st));
    }
    if (auto err = probe(path, names))
      return unusable(std::move(err));
  }
  // Open every existing column family plus the ones this version adds.
  for (const auto& cf : column_families()) {
    if (std::find(names.begin(), names.end(), cf) != names.end())
      continue;
    if (options.read_only)
      return make_error(errc::io_error, "memory database " + path +
                                            ": an older store without the column family '" + cf +
                                            "'; open it read-write once to upgrade it");
    names.push_back(cf);
  }
  auto self = std::make_unique<impl>();
  self->data_dir = data_dir;
  self->path = path;
  self->opts = options;
  self->write_opts.sync = options.sync;
  self->names = names;
  rocksdb::DBOptions db_opts;
  db_opts.create_missing_column_families = true;
  // Replay the WAL into memory instead of writing level-0 files first: a database whose disk
  // filled up must still open.
  db_opts.avoid_flush_during_recovery = true;
  // No preallocation: on ext4 a failed fallocate keeps the blocks it got, so a new WAL (70 MiB
  // by default) or MANIFEST (4 MiB) would take the last free space, reserve included, and the
  // database could not open on a nearly full disk.
  db_opts.allow_fallocate = false;
  // Obsolete WAL files are deleted, not archived (both 0, RocksDB's default, said so).
  db_opts.WAL_ttl_seconds = 0;
  db_opts.WAL_size_limit_MB = 0;
  // Every flush takes every column family: then only WAL files written after it hold data that
  // is not in SST files, which is what the WAL ledger records.
  db_opts.atomic_flush = true;
  // A reader must not write into the writer's LOG.
  db_opts.info_log =
      options.read_only ? std::make_shared<detail::null_logger>() : detail::make_logger(path);
  if (!options.read_only) {
    self->keeper = std::make_shared<detail::ledger_keeper>(path);
    db_opts.listeners.push_back(self->keeper);
  }
  // Beside a running writer the WAL files and the ledger change under this reader: a WAL file
  // the ledger names may be retired between the two reads, and the newest one ends mid-write.
  auto holder = lock_holder(data_dir);
  bool writer_elsewhere = options.read_only && (!holder || holder->has_value());
  // WAL files that the last read-write open still needed when it ended without closing
  // cleanly, and that are gone now. (The ledger is rewritten when a flush completes, before
  // RocksDB deletes the WAL files the flush retired, so a kill between the two loses nothing here.)
  auto ledger = detail::read_wal_ledger(path);
  auto present = detail::wal_files(path);
  std::vector<uint64_t> missing;
  if (ledger.open && !writer_elsewhere)
    for (auto n : ledger.wals)
      if (!present.count(n))
        missing.push_back(n);
  if (!options.read_only)
    release_reserve(path);
  auto open_with = [&](rocksdb::WALRecoveryMode mode, detail::counting_wal_filter& filter) {
    db_opts.wal_recovery_mode = mode;
    db_opts.wal_filter = &filter;
    self->handles.clear();
    return options.read_only
               ? rocksdb::DB::OpenForReadOnly(db_opts, path, descriptors(names), &self->handles,
                                              &self->db)
               : rocksdb::DB::Open(db_opts, path, descriptors(names), &self->handles, &self->db);
  };
  // Strictly first: any damage in the WAL fails the open. Then point-in-time recovery keeps
  // every write before the first damage, and the report says what it had to drop.
  detail::counting_wal_filter strict;
  auto st = open_with(rocksdb::WALRecoveryMode::kAbsoluteConsistency, strict);
  std::optional<detail::counting_wal_filter> kept;
  if (st.IsCorruption()) {
    kept.emplace();
    st = open_with(rocksdb::WALRecoveryMode::kPointInTimeRecovery, *kept);
  }
  db_opts.wal_filter = nullptr;
  if (!st.ok())
    return unusable(detail::status_error(path, "cannot open", st));
  for (auto n : missing)
    self->damage.push_back(
        "WAL file " + detail::wal_file_name(n) +
        " is missing: the store was not closed cleanly and the writes that were only in that "
        "file are lost");
  if (kept) {
    for (auto& line : detail::describe_wal_damage(path, *kept, st, writer_elsewhere))
      self->damage.push_back(std::move(line));
  }
  std::shared_ptr<database> result{new database(std::move(self))};
  if (!options.read_only) {
    auto& raw = *result->impl_->db;
    if (!result->impl_->damage.empty()) {
      // Kept in meta/damage so that `swarm memory check` reports it after this open too, and
      // flushed so that the damaged WAL files are retired.
      static_cast<void>(detail::record_damage(*result, result->impl_->damage));
      rocksdb::FlushOptions flush;
      raw.Flush(flush, result->impl_->handles).PermitUncheckedError();
    }
    // Every WAL file left after opening is alive (opening deleted the obsolete ones).
    detail::wal_ledger now{true, {}};
    for (const auto& [number, name] : detail::wal_files(path))
      now.wals.push_back(number);
    {
      std::lock_guard guard{result->impl_->keeper->mtx}; // the flush listener writes it too
      detail::write_wal_ledger(path, now);
    }
    // Best effort: the keys are derived data, and a store whose disk is full must still open.
    static_cast<void>(clear_legacy_keys(*result));
    make_reserve(path);
  }
  return result;
}

database::wal_usage database::wal_files() const {
  wal_usage out;
  for (const auto& [number, name] : detail::wal_files(impl_->path)) {
    std::error_code ec;
    auto size = fs::file_size(fs::path{impl_->path} / name, ec);
    ++out.files;
    out.bytes += ec ? 0 : size;
  }
  return out;
}

const std::vector<std::string>& database::damage() const {
  return impl_->damage;
}

caf::expected<std::vector<std::string>> database::recorded_damage() const {
  std::string value;
  auto st =
      impl_->db->Get(rocksdb::ReadOptions{}, detail::db_access::cf(*this, cf_meta),
                     rocksdb::Slice{detail::damage_key.data(), detail::damage_key.size()}, &value);
  if (st.IsNotFound())
    return std::vector<std::string>{};
  if (!st.ok())
    return detail::status_error(impl_->path, "cannot read meta/damage", st);
  std::vector<std::string> lines;
  std::istringstream in{value};
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      lines.push_back(line);
  return lines;
}

caf::error database::clear_recorded_damage() {
  rocksdb::WriteBatch batch;
  batch
      .Delete(detail::db_access::cf(*this, cf_meta),
              rocksdb::Slice{detail::damage_key.data(), detail::damage_key.size()})
      .PermitUncheckedError();
  return detail::db_access::write(*this, batch, "cannot clear meta/damage");
}

caf::expected<std::optional<int64_t>> database::lock_holder(const std::string& data_dir) {
  return posix_lock_holder((fs::path{data_dir} / subdirectory / "LOCK").string());
}

// --- access -------------------------------------------------------------------------------------

namespace detail {

rocksdb::DB& db_access::raw(const database& db) {
  return *db.impl_->db;
}

rocksdb::ColumnFamilyHandle* db_access::cf(const database& db, std::string_view name) {
  const auto& names = db.impl_->names;
  auto i = std::find(names.begin(), names.end(), name);
  assert(i != names.end());
  return db.impl_->handles[static_cast<size_t>(i - names.begin())];
}

const rocksdb::WriteOptions& db_access::write_options(const database& db) {
  return db.impl_->write_opts;
}

caf::error db_access::fail(const database& db, const std::string& what, const rocksdb::Status& st) {
  return status_error(db.impl_->path, what, st);
}

caf::error db_access::write(const database& db, rocksdb::WriteBatch& batch,
                            const std::string& what) {
  auto st = db.impl_->db->Write(db.impl_->write_opts, &batch);
  if (!st.ok())
    return fail(db, what, st);
  return {};
}

} // namespace detail

} // namespace swarm::memory
