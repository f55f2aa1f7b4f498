// The memory database over many opens and after damage: WAL and info log files are reclaimed,
// and a truncated, overwritten or deleted WAL is reported (which file, where, what was lost),
// never passed over in silence nor taken for a foreign directory.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "memory/database.hpp"
#include "memory/detail/db_access.hpp"
#include "memory/detail/info_log.hpp"
#include "memory/long_term.hpp"
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

/// Files in `dir` whose name ends with `suffix` (or, with `prefix`, starts with it).
size_t count_files(const fs::path& dir, const std::string& suffix, bool prefix = false) {
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto name = entry.path().filename().string();
    bool match = prefix ? name.rfind(suffix, 0) == 0
                        : name.size() >= suffix.size() &&
                              name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    n += match ? 1 : 0;
  }
  return n;
}

std::vector<fs::path> wal_paths(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".log")
      out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

memory_record rec(const std::string& id) {
  return {id, "swarm:team", "remembered text of " + id + " " + std::string(300, 'x'), 0.5, 1, {}};
}

/// Writes `n` records, one write each, into the store of `data_dir` and copies its directory to
/// `<image>/memory` while it is still open: what a process killed at that moment leaves behind
/// (the writes are in the WAL only).
void crash_image(const fs::path& data_dir, const fs::path& image, int n,
                 const std::string& prefix = "r") {
  auto db = open_ok(data_dir);
  long_term_store store{db};
  for (int i = 0; i < n; ++i)
    REQUIRE_FALSE(store.put({rec(prefix + std::to_string(i))}));
  fs::create_directories(image);
  fs::copy(data_dir / "memory", image / "memory", fs::copy_options::recursive);
}

size_t record_count(const std::shared_ptr<database>& db) {
  auto all = long_term_store{db}.all();
  REQUIRE(all);
  return all->size();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

} // namespace

TEST_CASE("WAL and info log files do not pile up over 200 opens") {
  swarm::test::temp_dir dir;
  for (int i = 0; i < 200; ++i) {
    auto db = open_ok(dir.path());
    REQUIRE_FALSE(long_term_store{db}.put({rec("r" + std::to_string(i))}));
  }
  auto path = dir.path() / "memory";
  INFO("WAL files: " << count_files(path, ".log")
                     << ", LOG files: " << count_files(path, "LOG", true));
  CHECK(count_files(path, ".log") <= 2);
  CHECK(count_files(path, "LOG", true) <= 2);
  auto db = open_ok(dir.path());
  CHECK(record_count(db) == 200);
  CHECK(db->damage().empty());
}

TEST_CASE("the info log of one long session is kept to LOG and LOG.old") {
  swarm::test::temp_dir dir;
  auto logger = detail::make_logger(dir.path().string());
  std::string line(1000, 'x');
  for (int i = 0; i < 3000; ++i) // ~3 MiB
    rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, logger, "%s", line.c_str());
  logger.reset();
  CHECK(count_files(dir.path(), "LOG", true) == 2);
  CHECK(fs::file_size(dir.path() / "LOG") <= detail::max_log_bytes + 2048);
  CHECK(fs::file_size(dir.path() / "LOG.old") <= detail::max_log_bytes + 2048);
}

TEST_CASE("a store killed without closing reopens with every write and no damage") {
  swarm::test::temp_dir dir;
  swarm::test::temp_dir image;
  crash_image(dir.path(), image.path(), 30);
  auto db = open_ok(image.path());
  CHECK(record_count(db) == 30);
  INFO(joined(db->damage()));
  CHECK(db->damage().empty());
}

TEST_CASE("a crash after a flush within the session is not taken for lost WAL files") {
  // The flush retires the WAL files the open started with; the ledger must follow, or the next
  // open would report them missing.
  swarm::test::temp_dir dir;
  swarm::test::temp_dir image;
  {
    auto db = open_ok(dir.path());
    long_term_store store{db};
    REQUIRE_FALSE(store.put({rec("before-flush")}));
    std::vector<rocksdb::ColumnFamilyHandle*> all;
    for (const auto& name : database::column_families())
      all.push_back(detail::db_access::cf(*db, name));
    REQUIRE(detail::db_access::raw(*db).Flush(rocksdb::FlushOptions{}, all).ok());
    REQUIRE_FALSE(store.put({rec("after-flush")}));
    fs::create_directories(image.path());
    fs::copy(dir.path() / "memory", image.path() / "memory", fs::copy_options::recursive);
  }
  auto db = open_ok(image.path());
  INFO(joined(db->damage()));
  CHECK(db->damage().empty());
  CHECK(record_count(db) == 2);
}

TEST_CASE("a truncated WAL is reported naming the file and the byte, and kept up to there") {
  swarm::test::temp_dir dir;
  swarm::test::temp_dir image;
  crash_image(dir.path(), image.path(), 40);
  auto wals = wal_paths(image.path() / "memory");
  REQUIRE_FALSE(wals.empty());
  std::swap(wals[0], wals.back()); // the newest, where the writes went
  auto size = fs::file_size(wals[0]);
  fs::resize_file(wals[0], size / 2 + 3); // inside a record
  {
    auto ro = open_ok(image.path(), {.read_only = true});
    auto text = joined(ro->damage());
    CHECK_THAT(text, Catch::Contains("WAL file " + wals[0].filename().string()));
    CHECK_THAT(text, Catch::Contains("the file ends inside a record"));
  }
  size_t kept = 0;
  {
    auto db = open_ok(image.path());
    auto text = joined(db->damage());
    CHECK_THAT(text, Catch::Contains(wals[0].filename().string()));
    CHECK_THAT(text, Catch::Contains("damaged at byte"));
    kept = record_count(db);
    CHECK(kept > 5);
    CHECK(kept < 40);
  }
  // The read-write open recovered (the damaged WAL retired): the store is healthy again, but
  // what was lost stays recorded.
  auto db = open_ok(image.path());
  CHECK(db->damage().empty());
  CHECK(record_count(db) == kept);
  auto recorded = db->recorded_damage();
  REQUIRE(recorded);
  CHECK_THAT(joined(*recorded), Catch::Contains(wals[0].filename().string()));
  REQUIRE_FALSE(db->clear_recorded_damage());
  CHECK(db->recorded_damage()->empty());
}

TEST_CASE("an overwritten WAL is reported with the intact writes recovery had to drop") {
  swarm::test::temp_dir dir;
  swarm::test::temp_dir image;
  crash_image(dir.path(), image.path(), 200); // ~70 KiB: more than two 32 KiB blocks
  auto wals = wal_paths(image.path() / "memory");
  REQUIRE_FALSE(wals.empty());
  std::swap(wals[0], wals.back()); // the newest, where the writes went
  REQUIRE(fs::file_size(wals[0]) > 70000);
  {
    std::fstream f{wals[0], std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(10000);
    f << std::string(500, '\x5a');
  }
  auto db = open_ok(image.path());
  auto text = joined(db->damage());
  INFO(text);
  CHECK_THAT(text, Catch::Contains("WAL file " + wals[0].filename().string()));
  CHECK_THAT(text, Catch::Contains("checksum mismatch"));
  auto kept = record_count(db);
  CHECK(kept > 10);
  CHECK(kept < 100);
  // The blocks after the damaged one hold intact writes that point-in-time recovery dropped:
  // they are counted.
  CHECK_THAT(text, Catch::Contains("dropped"));
  CHECK_THAT(text, !Catch::Contains("dropped 0 intact"));
}

TEST_CASE("deleted WAL files after a crash are reported, the flushed writes kept") {
  swarm::test::temp_dir dir;
  {
    auto db = open_ok(dir.path());
    REQUIRE_FALSE(long_term_store{db}.put({rec("flushed")}));
  } // closed cleanly: in an SST file
  swarm::test::temp_dir image;
  crash_image(dir.path(), image.path(), 10);
  auto wals = wal_paths(image.path() / "memory");
  REQUIRE_FALSE(wals.empty());
  for (const auto& w : wals)
    fs::remove(w);
  {
    auto ro = open_ok(image.path(), {.read_only = true});
    CHECK_THAT(joined(ro->damage()), Catch::Contains("is missing"));
  }
  auto db = open_ok(image.path());
  auto text = joined(db->damage());
  CHECK_THAT(text, Catch::Contains("WAL file " + wals.back().filename().string() + " is missing"));
  CHECK(record_count(db) == 1);
  CHECK((*long_term_store{db}.get("flushed")).has_value());
}

TEST_CASE("deleted WAL files of a store with no flushed records are reported, not foreign") {
  swarm::test::temp_dir dir;
  swarm::test::temp_dir image;
  crash_image(dir.path(), image.path(), 5);
  for (const auto& w : wal_paths(image.path() / "memory"))
    fs::remove(w);
  auto db = database::open(image.path().string());
  REQUIRE(db);
  CHECK_THAT(joined((*db)->damage()), Catch::Contains("is missing"));
  CHECK(record_count(*db) == 0);
}

TEST_CASE("a store whose WAL held the schema marker and is gone is damaged, not foreign") {
  // Stores created before the marker was flushed kept it in the WAL only.
  swarm::test::temp_dir dir;
  auto path = dir.path() / "memory";
  {
    rocksdb::Options opts;
    opts.create_if_missing = true;
    opts.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{{rocksdb::kDefaultColumnFamilyName, {}}};
    for (const auto& name : database::column_families())
      cfs.emplace_back(name, rocksdb::ColumnFamilyOptions{});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(opts, path.string(), cfs, &handles, &db).ok());
    REQUIRE(db->Put({}, handles[3], "schema", std::string{database::schema_marker}).ok());
    for (auto* h : handles)
      REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
    REQUIRE(db->Close().ok());
    delete db;
  }
  for (const auto& w : wal_paths(path))
    fs::remove(w);
  auto db = database::open(dir.path().string());
  REQUIRE_FALSE(db);
  CHECK(swarm::is(db.error(), swarm::errc::data_dir_unusable));
  auto msg = swarm::describe(db.error());
  CHECK_THAT(msg, Catch::Contains("a damaged SmolSwarms memory store"));
  CHECK_THAT(msg, Catch::Contains("*.log"));
  CHECK_THAT(msg, !Catch::Contains("not a SmolSwarms memory store"));
}
