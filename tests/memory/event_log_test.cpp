// The event log: per-run numbering that goes on across reopening, pages after a sequence number,
// retention by age and by number of runs, forgetting a run.
#include <catch2/catch.hpp>

#include "memory/event_log.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace swarm::memory;

namespace {

std::shared_ptr<database> open_db(const test::temp_dir& dir) {
  auto db = database::open(dir.path().string());
  if (!db)
    FAIL("open failed: " << describe(db.error()));
  return std::move(*db);
}

// Appends one event of `run` at `time_ms`; returns its run_seq.
uint64_t append(event_log& log, const std::string& run, int64_t time_ms,
                event_kind kind = event_kind::member_started) {
  event e;
  e.kind = kind;
  e.run_id = run;
  e.time_us = time_ms * 1000;
  auto seq = log.next_seq(run);
  REQUIRE(seq);
  e.run_seq = *seq;
  REQUIRE_FALSE(log.append(e, R"({"run_seq":)" + std::to_string(*seq) + "}"));
  return *seq;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

TEST_CASE("a run's events are numbered from 1, and on from the last kept after reopening") {
  test::temp_dir dir;
  {
    event_log log{open_db(dir)};
    CHECK(append(log, "r1", now_ms()) == 1);
    CHECK(append(log, "r1", now_ms()) == 2);
    CHECK(append(log, "r2", now_ms()) == 1);
    CHECK(append(log, "r1", now_ms(), event_kind::run_finished) == 3);
  }
  event_log log{open_db(dir)};
  CHECK(append(log, "r1", now_ms()) == 4);
  auto all = log.read("r1", 0, 100);
  REQUIRE(all);
  REQUIRE(all->size() == 4);
  CHECK((*all)[2].kind == event_kind::run_finished);
  CHECK((*all)[2].json == R"({"run_seq":3})");
  CHECK((*all)[3].run_seq == 4);
  auto page = log.read("r1", 1, 2);
  REQUIRE(page);
  REQUIRE(page->size() == 2);
  CHECK(page->front().run_seq == 2);
  CHECK(page->back().run_seq == 3);
  auto none = log.read("r1", 4, 10);
  REQUIRE(none);
  CHECK(none->empty());
  auto other = log.read("r", 0, 10); // a prefix of another run's id is another run
  REQUIRE(other);
  CHECK(other->empty());
}

TEST_CASE("pruning drops runs past the retention and the oldest beyond the number kept") {
  test::temp_dir dir;
  event_log log{open_db(dir), event_log_options{std::chrono::hours(1), 2}};
  auto now = now_ms();
  append(log, "old", now - 2 * 3600 * 1000);
  append(log, "a", now - 30 * 60 * 1000);
  append(log, "b", now - 20 * 60 * 1000);
  append(log, "c", now - 10 * 60 * 1000);
  append(log, "c", now);
  auto dropped = log.prune();
  REQUIRE(dropped);
  CHECK(*dropped == 2); // "old" by age, "a" as the oldest beyond two runs
  CHECK(log.read("old", 0, 10)->empty());
  CHECK(log.read("a", 0, 10)->empty());
  CHECK(log.read("b", 0, 10)->size() == 1);
  CHECK(log.read("c", 0, 10)->size() == 2);
  CHECK(append(log, "a", now) == 1); // a dropped run starts over
}

TEST_CASE("forgetting a run drops its events and its numbering") {
  test::temp_dir dir;
  event_log log{open_db(dir)};
  append(log, "r1", now_ms());
  append(log, "r1", now_ms());
  append(log, "r10", now_ms());
  auto gone = log.forget("r1");
  REQUIRE(gone);
  CHECK(*gone == 2);
  CHECK(log.read("r1", 0, 10)->empty());
  CHECK(log.read("r10", 0, 10)->size() == 1);
  CHECK(append(log, "r1", now_ms()) == 1);
}
