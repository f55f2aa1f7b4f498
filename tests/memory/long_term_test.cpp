// The long-term store in the memory database: writes, retrieval, forgetting, listing,
// persistence. (Opening, foreign and corrupt directories: database_test.cpp.)
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "memory/detail/db_access.hpp"
#include "memory/long_term.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm::memory;
namespace fs = std::filesystem;

namespace {

constexpr int64_t day_ms = 24 * 60 * 60 * 1000;
constexpr int64_t t0 = 1'700'000'000'000; // a fixed "now" keeps recency deterministic

memory_record rec(std::string id, std::string ns, std::string text, double importance = 0.5,
                  int64_t created = t0, std::vector<std::string> tags = {}) {
  return memory_record{std::move(id), std::move(ns), std::move(text),
                       importance,    created,       std::move(tags)};
}

std::unique_ptr<long_term_store> open_ok(const fs::path& data_dir, long_term_options opts = {},
                                         database_options db_opts = {}) {
  auto db = database::open(data_dir.string(), db_opts);
  if (!db)
    FAIL("open failed: " << swarm::describe(db.error()));
  return std::make_unique<long_term_store>(std::move(*db), opts);
}

std::vector<std::string> ids_of(const caf::expected<std::vector<search_hit>>& hits) {
  REQUIRE(hits);
  std::vector<std::string> ids;
  for (const auto& h : *hits)
    ids.push_back(h.record.id);
  return ids;
}

search_options in(std::optional<std::string> ns = std::nullopt) {
  search_options o;
  if (ns)
    o.namespaces = {*ns};
  o.now = t0;
  return o;
}

/// Number of keys in column family `cf` of a closed store; with `put_key`, writes that key
/// (value "x") into it first.
size_t key_count(const fs::path& data_dir, const std::string& cf, const std::string& put_key = "") {
  auto dir = data_dir / "memory";
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, dir.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names)
    cfs.emplace_back(n, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions{}, dir.string(), cfs, &handles, &db).ok());
  size_t count = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != cf)
      continue;
    if (!put_key.empty())
      REQUIRE(db->Put(rocksdb::WriteOptions{}, handles[i], put_key, "x").ok());
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(rocksdb::ReadOptions{}, handles[i])};
    for (it->SeekToFirst(); it->Valid(); it->Next())
      ++count;
  }
  for (auto* h : handles)
    REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
  REQUIRE(db->Close().ok());
  delete db;
  return count;
}

} // namespace

TEST_CASE("a stored record reads back field for field") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path() / "mem");
  auto r = rec("r1", "agent:team/a", "The build broke on Tuesday", 0.75, t0 - 5, {"ci", "build"});
  REQUIRE_FALSE(store->put({r}));
  auto got = store->get("r1");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == r);
  auto missing = store->get("nope");
  REQUIRE(missing);
  CHECK_FALSE(*missing);
}

TEST_CASE("search scores BM25 over the store as computed by hand") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path());
  REQUIRE_FALSE(
      store->put({rec("d1", "swarm:t", "The cat sat on the mat"), rec("d2", "swarm:t", "A dog sat"),
                  rec("d3", "swarm:t", "cat cat cat dog")}));
  auto stats = store->stats();
  REQUIRE(stats);
  CHECK(stats->doc_count == 3);
  CHECK(stats->total_length == 9);
  auto hits = store->search("Cat!", in());
  REQUIRE(ids_of(hits) == std::vector<std::string>{"d3", "d1"});
  auto idf = std::log(1.6);                                // N = 3, df = 2
  CHECK((*hits)[0].score.bm25 == Approx(idf * 6.6 / 4.5)); // tf 3, len 4, avg 3
  CHECK((*hits)[1].score.bm25 == Approx(idf));             // tf 1, len 3, avg 3
  CHECK((*hits)[0].score.relevance == Approx(1.0));
  CHECK((*hits)[1].score.relevance == Approx(4.5 / 6.6));
  CHECK((*hits)[0].score.recency == Approx(1.0));
  CHECK((*hits)[0].score.total == Approx(0.7 + 0.2 + 0.1 * 0.5));
  CHECK(ids_of(store->search("the of and", in())).empty());
  CHECK(ids_of(store->search("unicorn", in())).empty());
}

TEST_CASE("search ranks by relevance, recency and importance as configured") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path());
  // Same relevance: the fresher and more important record wins.
  REQUIRE_FALSE(store->put({rec("old", "swarm:t", "deploy the service", 0.1, t0 - 14 * day_ms),
                            rec("new", "swarm:t", "deploy the service", 0.9, t0)}));
  auto hits = store->search("deploy", in());
  REQUIRE(ids_of(hits) == std::vector<std::string>{"new", "old"});
  CHECK((*hits)[1].score.recency == Approx(0.25)); // two half-lives of 7 days
  CHECK((*hits)[1].score.total == Approx(0.7 + 0.2 * 0.25 + 0.1 * 0.1));

  swarm::test::temp_dir dir2;
  long_term_options opts;
  opts.weights = ranking_weights{1.0, 0.0, 0.0};
  opts.half_life = std::chrono::hours{1};
  auto relevance_only = open_ok(dir2.path(), opts);
  REQUIRE_FALSE(relevance_only->put({rec("a", "n", "deploy deploy deploy", 0.0, t0 - day_ms),
                                     rec("b", "n", "deploy service now", 1.0, t0)}));
  hits = relevance_only->search("deploy", search_options{{}, 1, t0});
  REQUIRE(ids_of(hits) == std::vector<std::string>{"a"});
  CHECK((*hits)[0].score.recency == Approx(std::exp2(-24.0)));
}

TEST_CASE("namespaces isolate search and forgetting") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path());
  REQUIRE_FALSE(store->put({rec("a1", "agent:team/a", "the api key rotates weekly"),
                            rec("b1", "agent:team/b", "the api key rotates daily"),
                            rec("s1", "swarm:team", "api limits apply")}));
  CHECK(ids_of(store->search("api", in("agent:team/a"))) == std::vector<std::string>{"a1"});
  CHECK(ids_of(store->search("api", in("agent:team"))).empty()); // exact match, not a prefix
  CHECK(ids_of(store->search("api", in())).size() == 3);
  auto n = store->forget_namespace("agent:team/a");
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(ids_of(store->search("api key", in())) == std::vector<std::string>{"b1", "s1"});
  CHECK(store->stats()->doc_count == 2);
}

TEST_CASE("a forgotten record is never returned, before and after a restart") {
  swarm::test::temp_dir dir;
  auto path = dir.path() / "mem";
  {
    auto store = open_ok(path);
    REQUIRE_FALSE(store->put({rec("x", "n", "apple pie recipe"), rec("y", "n", "apple cider")}));
    auto gone = store->forget("x");
    REQUIRE(gone);
    CHECK(*gone);
    CHECK(ids_of(store->search("apple pie recipe", in())) == std::vector<std::string>{"y"});
    CHECK(ids_of(store->search("recipe", in())).empty());
    CHECK_FALSE(*store->get("x"));
    auto again = store->forget("x");
    REQUIRE(again);
    CHECK_FALSE(*again);
    auto stats = store->stats();
    CHECK(stats->doc_count == 1);
    CHECK(stats->total_length == 2);
  }
  CHECK(key_count(path, "records") == 1);
  {
    auto store = open_ok(path); // the index is rebuilt from the records
    CHECK(ids_of(store->search("apple pie recipe", in())) == std::vector<std::string>{"y"});
    REQUIRE(store->forget("y"));
    CHECK(store->stats()->total_length == 0);
    CHECK(ids_of(store->search("apple", in())).empty());
  }
  CHECK(key_count(path, "records") == 0);
  CHECK(key_count(path, "bm25") == 0); // postings are never stored
}

TEST_CASE("postings and counters an older store kept are deleted on open") {
  swarm::test::temp_dir dir;
  auto path = dir.path() / "mem";
  {
    auto store = open_ok(path);
    REQUIRE_FALSE(store->put({rec("x", "n", "apple pie")}));
  }
  CHECK(key_count(path, "bm25", std::string{"apple\0x", 7}) == 1);
  CHECK(key_count(path, "meta", "doc_count") == 2); // with the schema marker
  {
    auto store = open_ok(path);
    CHECK(ids_of(store->search("apple", in())) == std::vector<std::string>{"x"});
  }
  CHECK(key_count(path, "bm25") == 0);
  CHECK(key_count(path, "meta") == 1);
  CHECK(key_count(path, "records") == 1);
}

TEST_CASE("forgetting by age removes only older records of the chosen namespace") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path());
  REQUIRE_FALSE(store->put(
      {rec("a-old", "a", "note one", 0.5, 1000), rec("a-mid", "a", "note two", 0.5, 2000),
       rec("a-new", "a", "note three", 0.5, 3000), rec("b-old", "b", "note four", 0.5, 1000)}));
  auto n = store->forget_older_than("a", 2500);
  REQUIRE(n);
  CHECK(*n == 2);
  CHECK(ids_of(store->search("note", in())) == std::vector<std::string>{"a-new", "b-old"});
  n = store->forget_older_than(std::nullopt, 2500);
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(ids_of(store->search("note", in())) == std::vector<std::string>{"a-new"});
  CHECK(store->stats()->doc_count == 1);
}

TEST_CASE("rewriting an id replaces its text in the index") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path());
  REQUIRE_FALSE(store->put({rec("k", "n", "apple")}));
  REQUIRE_FALSE(store->put({rec("k", "n", "banana split")}));
  CHECK(ids_of(store->search("apple", in())).empty());
  CHECK(ids_of(store->search("banana", in())) == std::vector<std::string>{"k"});
  // Within one batch the later duplicate wins.
  REQUIRE_FALSE(store->put({rec("k", "n", "cherry"), rec("k", "n", "damson")}));
  CHECK(ids_of(store->search("cherry banana", in())).empty());
  CHECK((*store->get("k"))->text == "damson");
  auto stats = store->stats();
  CHECK(stats->doc_count == 1);
  CHECK(stats->total_length == 1);
}

TEST_CASE("invalid records are refused and nothing of the batch is written") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path());
  auto err = store->put({rec("ok", "n", "fine"), rec("bad", "n", "too important", 1.5)});
  CHECK(swarm::is(err, swarm::errc::invalid_argument));
  CHECK_THAT(swarm::describe(err), Catch::Contains("bad"));
  CHECK(swarm::is(store->put({rec("", "n", "x")}), swarm::errc::invalid_argument));
  CHECK(swarm::is(store->put({rec("id", "", "x")}), swarm::errc::invalid_argument));
  CHECK_FALSE(*store->get("ok"));
  CHECK(store->stats()->doc_count == 0);
}

TEST_CASE("records survive close and reopen with every column family listed") {
  swarm::test::temp_dir dir;
  auto path = dir.path() / "data";
  database_options opts;
  opts.sync = true;
  {
    auto store = open_ok(path, {}, opts);
    REQUIRE_FALSE(store->put({rec("p1", "swarm:t", "persistent memory works", 0.6, t0, {"t"})}));
  }
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, (path / "memory").string(), &names)
              .ok());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"bm25", "default", "events", "journal", "meta", "records",
                                          "runs", "vectors", "working"});
  for (int round = 0; round < 2; ++round) {
    auto store = open_ok(path);
    CHECK((*store->get("p1"))->tags == std::vector<std::string>{"t"});
    CHECK(ids_of(store->search("memory", in())) == std::vector<std::string>{"p1"});
    CHECK(store->stats()->doc_count == 1);
  }
}

TEST_CASE("all lists every record or one namespace's, in id order") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path());
  REQUIRE_FALSE(store->put({rec("b", "n2", "beta", 0.2, t0 + 1, {"x", "y"}),
                            rec("a", "n1", "alpha"), rec("c", "n1", "gamma")}));
  auto every = store->all();
  REQUIRE(every);
  REQUIRE(every->size() == 3);
  CHECK((*every)[0] == rec("a", "n1", "alpha"));
  CHECK((*every)[1] == rec("b", "n2", "beta", 0.2, t0 + 1, {"x", "y"}));
  CHECK((*every)[2].id == "c");
  auto n1 = store->all(std::string{"n1"});
  REQUIRE(n1);
  REQUIRE(n1->size() == 2);
  CHECK(((*n1)[0].id == "a" && (*n1)[1].id == "c"));
  auto none = store->all(std::string{"absent"});
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("namespaces counts the records of each namespace") {
  swarm::test::temp_dir dir;
  auto store = open_ok(dir.path());
  CHECK(store->namespaces()->empty());
  REQUIRE_FALSE(store->put({rec("a", "n1", "alpha"), rec("b", "n2", "beta"), rec("c", "n1", "c")}));
  REQUIRE(store->forget("b"));
  auto counts = store->namespaces();
  REQUIRE(counts);
  CHECK(*counts == std::map<std::string, uint64_t>{{"n1", 2}});
}

TEST_CASE("a store shares its database with other users") {
  swarm::test::temp_dir dir;
  auto db = database::open(dir.path().string());
  REQUIRE(db);
  {
    long_term_store store{*db};
    CHECK(&store.db() == db->get());
    REQUIRE_FALSE(store.put({rec("a", "n", "shared")}));
  }
  long_term_store again{*db}; // the database outlived the first store
  CHECK((*again.get("a"))->text == "shared");
}

TEST_CASE("a record deleted or damaged behind the store's index is a named corruption error") {
  swarm::test::temp_dir dir;
  auto db = database::open(dir.path().string());
  REQUIRE(db);
  long_term_store store{*db};
  REQUIRE_FALSE(store.put({rec("gone", "n", "apple pie"), rec("bad", "n", "apple tart")}));
  REQUIRE_FALSE(store.open_index());
  auto& raw = detail::db_access::raw(**db);
  auto* records = detail::db_access::cf(**db, cf_records);
  REQUIRE(raw.Delete(rocksdb::WriteOptions{}, records, "gone").ok());
  REQUIRE(raw.Put(rocksdb::WriteOptions{}, records, "bad", "\x07garbage").ok());
  for (auto query : {"pie", "tart"}) {
    auto hits = store.search(query, in());
    REQUIRE_FALSE(hits);
    CHECK(swarm::is(hits.error(), swarm::errc::io_error));
    CHECK_THAT(swarm::describe(hits.error()), Catch::Contains("corrupt database"));
    CHECK_THAT(swarm::describe(hits.error()),
               Catch::Contains(std::string{query} == "pie" ? "'gone' is missing" : "'bad'"));
    auto top = store.bm25_top(query, {}, 10);
    REQUIRE_FALSE(top);
    CHECK_THAT(swarm::describe(top.error()), Catch::Contains("corrupt database"));
  }
}
