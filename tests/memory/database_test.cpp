// The memory database of a data directory: creation, reopening, column families added to older
// stores, foreign / corrupt / locked directories, RocksDB status -> swarm error.
#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "memory/database.hpp"
#include "memory/detail/db_access.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm::memory;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<database> open_ok(const fs::path& data_dir, database_options opts = {}) {
  auto db = database::open(data_dir.string(), opts);
  if (!db)
    FAIL("open failed: " << swarm::describe(db.error()));
  return std::move(*db);
}

std::vector<std::string> cf_names(const fs::path& path) {
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, path.string(), &names).ok());
  std::sort(names.begin(), names.end());
  return names;
}

/// Every file under `dir` with its bytes and modification time.
std::map<std::string, std::pair<std::string, fs::file_time_type>> snapshot(const fs::path& dir) {
  std::map<std::string, std::pair<std::string, fs::file_time_type>> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file())
      continue;
    std::ifstream in{entry.path(), std::ios::binary};
    std::stringstream bytes;
    bytes << in.rdbuf();
    out[entry.path().string()] = {bytes.str(), entry.last_write_time()};
  }
  return out;
}

/// Creates a plain RocksDB database with the given column families and, optionally, a value
/// under meta/schema (what the first long-term store wrote).
void make_db(const fs::path& dir, const std::vector<std::string>& cfs_names,
             std::optional<std::string> marker) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions{}}};
  for (const auto& name : cfs_names)
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  REQUIRE(rocksdb::DB::Open(opts, dir.string(), cfs, &handles, &db).ok());
  REQUIRE(db->Put(rocksdb::WriteOptions{}, "someone-elses-key", "precious").ok());
  if (marker) {
    auto meta = std::find(cfs_names.begin(), cfs_names.end(), "meta") - cfs_names.begin();
    REQUIRE(
        db->Put(rocksdb::WriteOptions{}, handles[static_cast<size_t>(meta) + 1], "schema", *marker)
            .ok());
  }
  for (auto* h : handles)
    REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
  REQUIRE(db->Close().ok());
  delete db;
}

const std::vector<std::string> all_cfs{"bm25",    "default", "events",  "journal", "meta",
                                       "records", "runs",    "vectors", "working"};

} // namespace

TEST_CASE("a fresh data directory gets a database with every column family") {
  swarm::test::temp_dir dir;
  auto data = dir.path() / "state";
  {
    auto db = open_ok(data);
    CHECK(db->data_dir() == data.string());
    CHECK(db->path() == (data / "memory").string());
    auto usage = db->disk_usage();
    REQUIRE(usage);
    CHECK(*usage > 0);
  }
  CHECK(cf_names(data / "memory") == all_cfs);
}

TEST_CASE("a database reopens with what was written to it") {
  swarm::test::temp_dir dir;
  {
    auto db = open_ok(dir.path());
    auto& raw = detail::db_access::raw(*db);
    rocksdb::WriteBatch batch;
    REQUIRE(batch.Put(detail::db_access::cf(*db, cf_runs), "r1", "header").ok());
    REQUIRE_FALSE(detail::db_access::write(*db, batch));
    std::string value;
    REQUIRE(
        raw.Get(rocksdb::ReadOptions{}, detail::db_access::cf(*db, cf_runs), "r1", &value).ok());
  }
  for (int round = 0; round < 2; ++round) {
    auto db = open_ok(dir.path());
    std::string value;
    REQUIRE(detail::db_access::raw(*db)
                .Get(rocksdb::ReadOptions{}, detail::db_access::cf(*db, cf_runs), "r1", &value)
                .ok());
    CHECK(value == "header");
  }
}

TEST_CASE("an older store gains the new column families and keeps its data") {
  swarm::test::temp_dir dir;
  auto path = dir.path() / "memory";
  make_db(path, {"records", "bm25", "meta"}, std::string{database::schema_marker});
  {
    auto db = open_ok(dir.path());
    std::string value;
    REQUIRE(
        detail::db_access::raw(*db).Get(rocksdb::ReadOptions{}, "someone-elses-key", &value).ok());
    CHECK(value == "precious");
    rocksdb::WriteBatch batch;
    REQUIRE(batch.Put(detail::db_access::cf(*db, cf_journal), "k", "v").ok());
    REQUIRE_FALSE(detail::db_access::write(*db, batch));
  }
  CHECK(cf_names(path) == all_cfs);
  auto db = open_ok(dir.path());
  std::string value;
  REQUIRE(detail::db_access::raw(*db)
              .Get(rocksdb::ReadOptions{}, detail::db_access::cf(*db, cf_journal), "k", &value)
              .ok());
  CHECK(value == "v");
}

TEST_CASE("a foreign RocksDB database is refused and left byte-for-byte untouched") {
  swarm::test::temp_dir dir;
  auto path = dir.path() / "memory";
  make_db(path, {}, std::nullopt);
  auto before = snapshot(path);
  auto db = database::open(dir.path().string());
  REQUIRE_FALSE(db);
  CHECK(swarm::is(db.error(), swarm::errc::data_dir_unusable));
  auto msg = swarm::describe(db.error());
  CHECK_THAT(msg, Catch::Contains(path.string()));
  CHECK_THAT(msg, Catch::Contains("not a SmolSwarms memory store"));
  CHECK(snapshot(path) == before);
}

TEST_CASE("a RocksDB database with our column families but no schema marker is refused") {
  swarm::test::temp_dir dir;
  auto path = dir.path() / "memory";
  make_db(path, {"records", "bm25", "meta"}, std::nullopt);
  auto before = snapshot(path);
  auto db = database::open(dir.path().string());
  REQUIRE_FALSE(db);
  auto msg = swarm::describe(db.error());
  CHECK_THAT(msg, Catch::Contains(path.string()));
  CHECK_THAT(msg, Catch::Contains("schema marker"));
  CHECK(snapshot(path) == before);
}

TEST_CASE("a RocksDB database with our column families but another schema is refused") {
  swarm::test::temp_dir dir;
  auto path = dir.path() / "memory";
  make_db(path, {"records", "bm25", "meta"}, std::string{"someone.else.v3"});
  auto before = snapshot(path);
  auto db = database::open(dir.path().string());
  REQUIRE_FALSE(db);
  auto msg = swarm::describe(db.error());
  CHECK_THAT(msg, Catch::Contains(path.string()));
  CHECK_THAT(msg, Catch::Contains("unsupported schema 'someone.else.v3'"));
  CHECK(snapshot(path) == before);
}

TEST_CASE("a memory directory of other files is refused and left untouched") {
  swarm::test::temp_dir dir;
  fs::create_directories(dir.path() / "memory");
  dir.write("memory/notes.txt", "my notes");
  auto before = snapshot(dir.path());
  auto db = database::open(dir.path().string());
  REQUIRE_FALSE(db);
  auto msg = swarm::describe(db.error());
  CHECK_THAT(msg, Catch::Contains((dir.path() / "memory").string()));
  CHECK_THAT(msg, Catch::Contains("without a RocksDB database"));
  CHECK(snapshot(dir.path()) == before);
}

TEST_CASE("a file where the memory directory or the data directory belongs is refused") {
  swarm::test::temp_dir dir;
  dir.write("memory", "not a directory");
  auto db = database::open(dir.path().string());
  REQUIRE_FALSE(db);
  CHECK_THAT(swarm::describe(db.error()), Catch::Contains("not a directory"));
  auto file = dir.write("plain", "x");
  auto db2 = database::open(file);
  REQUIRE_FALSE(db2);
  CHECK_THAT(swarm::describe(db2.error()), Catch::Contains(file + " is not a directory"));
  auto empty = database::open("");
  REQUIRE_FALSE(empty);
  CHECK(swarm::is(empty.error(), swarm::errc::invalid_argument));
}

TEST_CASE("a database with a damaged manifest is reported as corrupt and left untouched") {
  swarm::test::temp_dir dir;
  { open_ok(dir.path()); }
  auto path = dir.path() / "memory";
  for (const auto& entry : fs::directory_iterator(path))
    if (entry.path().filename().string().rfind("MANIFEST-", 0) == 0)
      std::ofstream{entry.path(), std::ios::binary | std::ios::trunc} << "this is not a manifest";
  auto before = snapshot(path);
  auto db = database::open(dir.path().string());
  REQUIRE_FALSE(db);
  CHECK(swarm::is(db.error(), swarm::errc::data_dir_unusable));
  auto msg = swarm::describe(db.error());
  CHECK_THAT(msg, Catch::Contains(path.string()));
  CHECK_THAT(msg, Catch::Contains("orrupt"));
  CHECK(snapshot(path) == before);
}

TEST_CASE("a database open twice in one process is reported as locked by it") {
  swarm::test::temp_dir dir;
  auto first = open_ok(dir.path());
  auto second = database::open(dir.path().string());
  REQUIRE_FALSE(second);
  CHECK(swarm::is(second.error(), swarm::errc::data_dir_unusable));
  auto msg = swarm::describe(second.error());
  CHECK_THAT(msg, Catch::Contains((dir.path() / "memory").string()));
  CHECK_THAT(msg, Catch::Contains("locked by this process"));
  auto holder = database::lock_holder(dir.path().string()); // its own lock does not count
  REQUIRE(holder);
  CHECK_FALSE(*holder);
}

TEST_CASE("a database open in another process names that process") {
  swarm::test::temp_dir dir;
  { open_ok(dir.path()); }
  auto lock = (dir.path() / "memory" / "LOCK").string();
  // The child takes RocksDB's lock (a POSIX write lock on LOCK) as another swarm would, then
  // waits for the parent; only async-signal-safe calls after fork.
  int to_parent[2], to_child[2];
  REQUIRE(::pipe(to_parent) == 0);
  REQUIRE(::pipe(to_child) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int fd = ::open(lock.c_str(), O_RDWR);
    struct flock lk {};
    lk.l_type = F_WRLCK;
    lk.l_whence = SEEK_SET;
    char ok = fd >= 0 && ::fcntl(fd, F_SETLK, &lk) == 0 ? 'y' : 'n';
    (void)!::write(to_parent[1], &ok, 1);
    char done;
    (void)!::read(to_child[0], &done, 1);
    ::_exit(0);
  }
  char ok = 'n';
  REQUIRE(::read(to_parent[0], &ok, 1) == 1);
  REQUIRE(ok == 'y');
  auto db = database::open(dir.path().string());
  auto holder = database::lock_holder(dir.path().string());
  char done = 'x';
  REQUIRE(::write(to_child[1], &done, 1) == 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]})
    ::close(fd);
  REQUIRE_FALSE(db);
  CHECK(swarm::is(db.error(), swarm::errc::data_dir_unusable));
  auto msg = swarm::describe(db.error());
  CHECK_THAT(msg, Catch::Contains((dir.path() / "memory").string()));
  CHECK_THAT(msg, Catch::Contains("locked by process " + std::to_string(child)));
  CHECK_THAT(msg, Catch::Contains("use another data directory"));
  REQUIRE(holder);
  CHECK(*holder == std::optional<int64_t>{child});
  // The child is gone, and its lock with it.
  auto after = database::lock_holder(dir.path().string());
  REQUIRE(after);
  CHECK_FALSE(*after);
  open_ok(dir.path());
}

TEST_CASE("a missing database is not created when create_if_missing is off") {
  swarm::test::temp_dir dir;
  database_options opts;
  opts.create_if_missing = false;
  auto db = database::open((dir.path() / "absent").string(), opts);
  REQUIRE_FALSE(db);
  CHECK_THAT(swarm::describe(db.error()), Catch::Contains("create_if_missing is off"));
  CHECK_FALSE(fs::exists(dir.path() / "absent"));
}

TEST_CASE("a no-space status becomes storage_full naming the directory") {
  auto full = detail::status_error("state/memory", "cannot write",
                                   rocksdb::Status::NoSpace("write failed"));
  CHECK(swarm::is(full, swarm::errc::storage_full));
  CHECK_THAT(swarm::describe(full), Catch::Contains("state/memory"));
  auto enospc = detail::status_error(
      "state/memory", "cannot write",
      rocksdb::Status::IOError("While appending to file: 000004.log: No space left on device"));
  CHECK(swarm::is(enospc, swarm::errc::storage_full));
  auto other = detail::status_error("state/memory", "cannot write",
                                    rocksdb::Status::IOError("Input/output error"));
  CHECK(swarm::is(other, swarm::errc::io_error));
  auto corrupt =
      detail::status_error("state/memory", "cannot read", rocksdb::Status::Corruption("bad block"));
  CHECK_THAT(swarm::describe(corrupt), Catch::Contains("corrupt database"));
}

TEST_CASE("a read-only database reads beside a writer and refuses writes") {
  swarm::test::temp_dir dir;
  auto writer = open_ok(dir.path());
  rocksdb::WriteBatch batch;
  REQUIRE(batch.Put(detail::db_access::cf(*writer, cf_runs), "r1", "header").ok());
  REQUIRE_FALSE(detail::db_access::write(*writer, batch));
  auto before = snapshot(dir.path() / "memory");
  database_options ro;
  ro.read_only = true;
  {
    auto reader = open_ok(dir.path(), ro); // the writer holds the lock
    std::string value;
    REQUIRE(detail::db_access::raw(*reader)
                .Get(rocksdb::ReadOptions{}, detail::db_access::cf(*reader, cf_runs), "r1", &value)
                .ok());
    CHECK(value == "header");
    rocksdb::WriteBatch more;
    REQUIRE(more.Put(detail::db_access::cf(*reader, cf_runs), "r2", "x").ok());
    auto err = detail::db_access::write(*reader, more);
    CHECK(swarm::is(err, swarm::errc::io_error));
  }
  CHECK(snapshot(dir.path() / "memory") == before);
  auto absent = database::open((dir.path() / "absent").string(), ro);
  REQUIRE_FALSE(absent);
  CHECK_THAT(swarm::describe(absent.error()), Catch::Contains("no store here"));
  CHECK_FALSE(fs::exists(dir.path() / "absent"));
}

TEST_CASE("an older store opened read-only says how to upgrade it") {
  swarm::test::temp_dir dir;
  make_db(dir.path() / "memory", {"records", "bm25", "meta"}, std::string{database::schema_marker});
  database_options ro;
  ro.read_only = true;
  auto db = database::open(dir.path().string(), ro);
  REQUIRE_FALSE(db);
  CHECK_THAT(swarm::describe(db.error()), Catch::Contains("open it read-write once"));
}
