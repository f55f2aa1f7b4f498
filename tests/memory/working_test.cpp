// Tests of working memory without actors: validation, write order, idempotent keys, BM25
// ranking over a run's notes, forgetting a run, and notes surviving a reopened database.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "memory/database.hpp"
#include "memory/working.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace swarm::memory;

namespace {

std::shared_ptr<database> open_db(const test::temp_dir& dir) {
  auto db = database::open(dir.path().string());
  REQUIRE(db);
  return std::move(*db);
}

wm_write note(std::string run, std::string text, std::string kind = "note", std::string key = {},
              double importance = 0.5) {
  return wm_write{std::move(run), agent_id{"team", "a"}, std::move(kind), std::move(text),
                  importance,     std::move(key)};
}

std::vector<std::string> texts(const std::vector<wm_note>& notes) {
  std::vector<std::string> out;
  for (auto& n : notes)
    out.push_back(n.text);
  return out;
}

wm_note make(std::string text, int64_t time) {
  wm_note n;
  n.text = std::move(text);
  n.time_ms = time;
  return n;
}

} // namespace

TEST_CASE("rank_notes puts the best BM25 match first and leaves non-matching notes out") {
  std::vector<wm_note> notes{make("rocksdb compaction tuning", 1), make("the weather in paris", 2),
                             make("rocksdb rocksdb write ahead log", 3),
                             make("actor mailbox sizes", 4)};
  auto hits = rank_notes(notes, "rocksdb", 10);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].text == "rocksdb rocksdb write ahead log");
  CHECK(hits[1].text == "rocksdb compaction tuning");
  CHECK(rank_notes(notes, "rocksdb", 1).size() == 1);
  CHECK(rank_notes(notes, "kubernetes", 10).empty());
}

TEST_CASE("rank_notes breaks score ties newest first, by time then by write order") {
  std::vector<wm_note> notes{make("alpha beta", 5), make("alpha beta", 9), make("alpha beta", 9)};
  notes[0].id = "first";
  notes[1].id = "second";
  notes[2].id = "third";
  auto hits = rank_notes(notes, "alpha", 10);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].id == "third");
  CHECK(hits[1].id == "second");
  CHECK(hits[2].id == "first");
}

TEST_CASE("rank_notes without index terms returns the newest notes first") {
  std::vector<wm_note> notes{make("one", 1), make("two", 3), make("three", 2)};
  CHECK(texts(rank_notes(notes, "", 10)) == std::vector<std::string>{"two", "three", "one"});
  CHECK(texts(rank_notes(notes, "the of and", 2)) == std::vector<std::string>{"two", "three"});
}

TEST_CASE("working memory keeps a run's notes in write order with ids and authors") {
  test::temp_dir dir;
  working_store store{open_db(dir)};
  auto a = store.write(note("r1", "first"), 100);
  auto b = store.write(note("r1", "second", "fact"), 101);
  auto other = store.write(note("r2", "elsewhere"), 102);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(other);
  CHECK(a->id == "r1#0");
  CHECK(b->id == "r1#1");
  CHECK(other->id == "r2#0");
  CHECK(b->kind == "fact");
  CHECK(b->time_ms == 101);
  CHECK(b->author == agent_id{"team", "a"});
  auto list = store.list("r1");
  REQUIRE(list);
  CHECK(texts(*list) == std::vector<std::string>{"first", "second"});
  auto none = store.list("unknown-run");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("a keyed write is idempotent: the same run and key replace the note in place") {
  test::temp_dir dir;
  working_store store{open_db(dir)};
  REQUIRE(store.write(note("r1", "before"), 1));
  auto first = store.write(note("r1", "draft answer", "result", "t1"), 2);
  REQUIRE(store.write(note("r1", "after"), 3));
  auto again = store.write(note("r1", "final answer", "result", "t1"), 4);
  REQUIRE(first);
  REQUIRE(again);
  CHECK(first->id == "r1:t1");
  CHECK(again->id == "r1:t1");
  auto list = store.list("r1");
  REQUIRE(list);
  CHECK(texts(*list) == std::vector<std::string>{"before", "final answer", "after"});
  // The same key in another run is another note.
  auto elsewhere = store.write(note("r2", "x", "note", "t1"), 5);
  REQUIRE(elsewhere);
  CHECK(elsewhere->id == "r2:t1");
  CHECK(store.list("r1")->size() == 3);
}

TEST_CASE("working memory refuses bad writes with errors naming the field") {
  test::temp_dir dir;
  working_store store{open_db(dir)};
  auto empty_run = store.write(note("", "x"), 1);
  REQUIRE_FALSE(empty_run);
  CHECK(is(empty_run.error(), errc::invalid_argument));
  CHECK_THAT(describe(empty_run.error()), Catch::Contains("empty run_id"));
  auto nul = store.write(note(std::string{"r\0x", 3}, "x"), 1);
  REQUIRE_FALSE(nul);
  CHECK_THAT(describe(nul.error()), Catch::Contains("run_id contains NUL"));
  auto kind = store.write(note("r1", "x", "gossip"), 1);
  REQUIRE_FALSE(kind);
  CHECK_THAT(describe(kind.error()),
             Catch::Contains("kind 'gossip' is not one of note, fact, result"));
  auto importance = store.write(note("r1", "x", "fact", "", 1.5), 1);
  REQUIRE_FALSE(importance);
  CHECK_THAT(describe(importance.error()), Catch::Contains("importance 1.5"));
  CHECK(store.list("r1")->empty());
}

TEST_CASE("a working-memory query ranks a run's notes by BM25 and ignores other runs") {
  test::temp_dir dir;
  working_store store{open_db(dir)};
  REQUIRE(store.write(note("r1", "the budget for compute is 300 dollars"), 1));
  REQUIRE(store.write(note("r1", "team meeting moved to friday"), 2));
  REQUIRE(store.write(note("r1", "compute budget approved, compute ordered"), 3));
  REQUIRE(store.write(note("r2", "compute compute compute"), 4));
  auto hits = store.query(wm_query{"r1", "compute budget", 5});
  REQUIRE(hits);
  REQUIRE(hits->size() == 2);
  CHECK((*hits)[0].text == "compute budget approved, compute ordered");
  CHECK((*hits)[1].text == "the budget for compute is 300 dollars");
  auto newest = store.query(wm_query{"r1", "", 2});
  REQUIRE(newest);
  CHECK(texts(*newest) == std::vector<std::string>{"compute budget approved, compute ordered",
                                                   "team meeting moved to friday"});
}

TEST_CASE("forgetting a run deletes its notes only and reports how many") {
  test::temp_dir dir;
  working_store store{open_db(dir)};
  REQUIRE(store.write(note("r1", "a"), 1));
  REQUIRE(store.write(note("r1", "b"), 2));
  REQUIRE(store.write(note("r10", "c"), 3)); // shares a prefix with r1, not the key prefix
  auto n = store.forget_run("r1");
  REQUIRE(n);
  CHECK(*n == 2);
  CHECK(store.list("r1")->empty());
  CHECK(store.list("r10")->size() == 1);
  CHECK(*store.forget_run("r1") == 0);
}

TEST_CASE("notes survive closing and reopening the database, keys and numbering included") {
  test::temp_dir dir;
  {
    working_store store{open_db(dir)};
    REQUIRE(store.write(note("r1", "one"), 1));
    REQUIRE(store.write(note("r1", "two", "result", "t7"), 2));
  } // store and database closed
  working_store store{open_db(dir)};
  auto list = store.list("r1");
  REQUIRE(list);
  CHECK(texts(*list) == std::vector<std::string>{"one", "two"});
  CHECK((*list)[1].id == "r1:t7");
  CHECK((*list)[1].kind == "result");
  CHECK((*list)[1].time_ms == 2);
  // The key still replaces, and numbering continues after the last note.
  REQUIRE(store.write(note("r1", "two, redone", "result", "t7"), 3));
  auto three = store.write(note("r1", "three"), 4);
  REQUIRE(three);
  CHECK(three->id == "r1#2");
  CHECK(texts(*store.list("r1")) == std::vector<std::string>{"one", "two, redone", "three"});
}

TEST_CASE("read_run_notes sees what the store wrote, in write order") {
  test::temp_dir dir;
  auto db = open_db(dir);
  working_store store{db};
  REQUIRE(store.write(note("r1", "one"), 1));
  REQUIRE(store.write(note("r1", "two", "fact", "k"), 2));
  REQUIRE(store.write(note("r1", "two again", "fact", "k"), 3));
  auto notes = read_run_notes(*db, "r1");
  REQUIRE(notes);
  CHECK(texts(*notes) == std::vector<std::string>{"one", "two again"});
  CHECK((*notes)[1].id == "r1:k");
}

TEST_CASE("a store caching one run at a time still serves every run correctly") {
  test::temp_dir dir;
  working_store store{open_db(dir), working_options{.cached_runs = 1}};
  for (int i = 0; i < 3; ++i) {
    REQUIRE(store.write(note("a", "a" + std::to_string(i), "note", i == 2 ? "k" : ""), i));
    REQUIRE(store.write(note("b", "b" + std::to_string(i), "note", "k"), i));
  }
  CHECK(texts(*store.list("a")) == std::vector<std::string>{"a0", "a1", "a2"});
  CHECK(texts(*store.list("b")) == std::vector<std::string>{"b2"});
  REQUIRE(store.write(note("a", "a2 again", "note", "k"), 9));
  CHECK(texts(*store.list("a")) == std::vector<std::string>{"a0", "a1", "a2 again"});
}

TEST_CASE("write_all stores a batch in order across runs, even with a one-run cache") {
  test::temp_dir dir;
  working_store store{open_db(dir), working_options{.cached_runs = 1}};
  auto notes = store.write_all({note("a", "a0"), note("b", "b0"), note("a", "a1", "note", "k"),
                                note("a", "a1 again", "note", "k"), note("b", "b1")},
                               7);
  REQUIRE(notes);
  REQUIRE(notes->size() == 5);
  CHECK((*notes)[0].id == "a#0");
  CHECK((*notes)[1].id == "b#0");
  CHECK((*notes)[2].id == "a:k");
  CHECK((*notes)[3].id == "a:k");
  CHECK((*notes)[4].id == "b#1");
  CHECK(texts(*store.list("a")) == std::vector<std::string>{"a0", "a1 again"});
  CHECK(texts(*store.list("b")) == std::vector<std::string>{"b0", "b1"});
  auto bad = store.write_all({note("a", "fine"), note("a", "bad", "gossip")}, 8);
  REQUIRE_FALSE(bad);
  CHECK(store.list("a")->size() == 2); // all or nothing
}
