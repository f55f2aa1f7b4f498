// Tests of the memory actors in a real actor system over a real RocksDB database: the
// working-memory blackboard, long-term writes/recall/forget with BM25 alone and hybrid with the
// mock LLM's embeddings (in-process, loopback), the vector index rebuilt after its saved file
// is gone or stale, consolidation counts and merges, events, and restarts.
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "memory/database.hpp"
#include "memory/long_term_actor.hpp"
#include "memory/working.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/mock_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace swarm;
using namespace swarm::memory;

namespace {

/// Events a test monitor received.
struct event_log {
  std::mutex mtx;
  std::vector<event> events;

  std::vector<event> snapshot() {
    std::lock_guard guard{mtx};
    return events;
  }
};

monitor_actor::behavior_type recording_monitor(monitor_actor::pointer,
                                               std::shared_ptr<event_log> log) {
  return {
      [log](event& ev) {
        std::lock_guard guard{log->mtx};
        log->events.push_back(std::move(ev));
      },
      [](subscribe_events&) {},
      [](follow_events&) {},
      [](flush_events) { return true; },
  };
}

/// An actor system, a database in a temp dir, and helpers to ask the memory actors.
struct fixture {
  test::temp_dir dir;
  caf::actor_system sys{test::actor_test_config()};
  std::shared_ptr<database> db;
  std::shared_ptr<event_log> log = std::make_shared<event_log>();
  monitor_actor monitor = sys.spawn(recording_monitor, log);
  std::vector<caf::actor> spawned;

  fixture() { open(); }

  ~fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
  }

  void open() {
    auto opened = database::open(dir.path().string());
    REQUIRE(opened);
    db = std::move(*opened);
  }

  /// Stops `a` and waits until it is gone (its state, and so its database handle, released).
  template <class Handle>
  void stop(Handle& a) {
    caf::scoped_actor self{sys};
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {});
    a = Handle{};
  }

  /// Closes and reopens the database; every actor using it must be stopped first.
  void reopen() {
    std::weak_ptr<database> weak = db;
    db.reset();
    REQUIRE(weak.expired());
    open();
  }

  /// Waits (bounded, 10 s) until the monitor has received at least `n` events.
  bool eventually_events(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (log->snapshot().size() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    return log->snapshot().size() >= n;
  }

  template <class Handle>
  Handle keep(Handle a) {
    spawned.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  /// Sends `msg` to `who` and waits (bounded) for the reply of type R, or the error.
  template <class R, class Handle, class Msg>
  caf::expected<R> ask(const Handle& who, Msg msg) {
    caf::scoped_actor self{sys};
    caf::expected<R> out{caf::make_error(caf::sec::unexpected_response)};
    self->request(who, 20s, std::move(msg))
        .receive([&](R& r) { out = std::move(r); }, [&](caf::error& err) { out = std::move(err); });
    return out;
  }
};

wm_write fact(std::string run, std::string text, double importance, std::string kind = "fact",
              std::string key = {}) {
  return wm_write{std::move(run), agent_id{"team", "w"}, std::move(kind), std::move(text),
                  importance,     std::move(key)};
}

ltm_write memory_in(std::string ns, std::string text, double importance = 0.5,
                    std::string id = {}) {
  return ltm_write{std::move(ns), std::move(text), importance, "test", std::move(id)};
}

std::vector<std::string> ids(const std::vector<ltm_hit>& hits) {
  std::vector<std::string> out;
  for (auto& h : hits)
    out.push_back(h.id);
  return out;
}

/// A mock LLM (embeddings: 32 dimensions) and an LLM actor talking to it.
struct embedding_server {
  test::temp_dir dir;
  std::unique_ptr<mock_llm::server> mock;
  std::shared_ptr<net::llm_client> client;
  llm_actor llm;

  explicit embedding_server(caf::actor_system& sys) {
    mock = test::start_mock(dir, "embeddings: {dimensions: 32}\n");
    llm_client_options copts;
    copts.max_retries = 0;
    client = std::make_shared<net::llm_client>(copts);
    llm = net::spawn_llm_actor(sys, client);
  }

  ~embedding_server() {
    client->stop();
    caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
  }

  long_term_memory_options options(const std::string& url = {}) const {
    long_term_memory_options o;
    o.embeddings = embedding_options{llm, llm_endpoint{url.empty() ? mock->url() : url, ""},
                                     "embed-mock", std::chrono::seconds(5)};
    return o;
  }
};

} // namespace

// -- pure ranking ------------------------------------------------------------------------------

TEST_CASE("rank_hybrid mixes normalised BM25 and cosine by the vector share") {
  std::vector<hybrid_candidate> c{
      {memory_record{"lexical", "n", "a", 0.5, 1000, {}}, 4.0, 0.0},
      {memory_record{"semantic", "n", "b", 0.5, 1000, {}}, 0.0, 0.9},
      {memory_record{"both", "n", "c", 0.5, 1000, {}}, 2.0, 0.8},
  };
  ranking_weights only_relevance{1.0, 0.0, 0.0};
  auto hits = rank_hybrid(c, only_relevance, 0.5, 1000, 1000, 10);
  REQUIRE(hits.size() == 3);
  CHECK(ids(hits) == std::vector<std::string>{"both", "lexical", "semantic"});
  CHECK(hits[0].relevance == Approx(0.5 * 0.5 + 0.5 * 0.8));
  CHECK(hits[1].relevance == Approx(0.5));
  CHECK(hits[2].relevance == Approx(0.45));
  auto lexical_only = rank_hybrid(c, only_relevance, 0.0, 1000, 1000, 1);
  CHECK(ids(lexical_only) == std::vector<std::string>{"lexical"});
  auto semantic_only = rank_hybrid(c, only_relevance, 1.0, 1000, 1000, 1);
  CHECK(ids(semantic_only) == std::vector<std::string>{"semantic"});
}

TEST_CASE("rank_hybrid weighs recency and importance and ignores negative cosine") {
  std::vector<hybrid_candidate> c{
      {memory_record{"old", "n", "a", 0.5, 0, {}}, 1.0, -0.7},
      {memory_record{"new", "n", "b", 0.5, 1000, {}}, 1.0, std::nullopt},
  };
  auto hits = rank_hybrid(c, ranking_weights{}, 0.5, 1000, 1000, 10);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].id == "new");
  CHECK(hits[0].recency == Approx(1.0));
  CHECK(hits[1].recency == Approx(0.5));
  CHECK(hits[1].relevance == Approx(0.5)); // the negative cosine counts as 0
  CHECK(hits[0].score == Approx(0.7 * 0.5 + 0.2 * 1.0 + 0.1 * 0.5));
}

// -- working memory actor ----------------------------------------------------------------------

TEST_CASE("the working-memory actor stores notes, answers queries and reports durable writes") {
  fixture f;
  auto wm = f.keep(spawn_working_memory(f.sys, f.db, f.monitor));
  auto a = f.ask<wm_note>(wm, fact("r1", "the api limit is 500 requests per minute", 0.9));
  REQUIRE(a);
  CHECK(a->id == "r1#0");
  REQUIRE(f.ask<wm_note>(wm, fact("r1", "lunch is at noon", 0.1, "note")));
  REQUIRE(f.ask<wm_note>(wm, fact("r2", "api keys rotate weekly", 0.5)));
  auto hits = f.ask<std::vector<wm_note>>(wm, wm_query{"r1", "api limit", 5});
  REQUIRE(hits);
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].text == "the api limit is 500 requests per minute");
  auto all = f.ask<std::vector<wm_note>>(wm, wm_list{"r1"});
  REQUIRE(all);
  CHECK(all->size() == 2);
  REQUIRE(f.eventually_events(3));
  auto events = f.log->snapshot();
  CHECK(events[0].kind == event_kind::memory_written);
  CHECK(events[0].run_id == "r1");
  CHECK(events[0].agent == agent_id{"team", "w"});
  CHECK(events[0].text == "r1#0");
}

TEST_CASE("the working-memory actor answers a bad write with an error and stores nothing") {
  fixture f;
  auto wm = f.keep(spawn_working_memory(f.sys, f.db, f.monitor));
  auto bad = f.ask<wm_note>(wm, fact("r1", "x", 0.5, "rumour"));
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_argument));
  CHECK_THAT(describe(bad.error()), Catch::Contains("kind 'rumour'"));
  CHECK(f.ask<std::vector<wm_note>>(wm, wm_list{"r1"})->empty());
  CHECK(f.log->snapshot().empty());
}

TEST_CASE("a resumed run repeating a keyed write does not duplicate its note") {
  fixture f;
  auto wm = f.keep(spawn_working_memory(f.sys, f.db, f.monitor));
  REQUIRE(f.ask<wm_note>(wm, fact("r1", "step one done", 0.5, "result", "t1")));
  REQUIRE(f.ask<wm_note>(wm, fact("r1", "step one done", 0.5, "result", "t1")));
  auto all = f.ask<std::vector<wm_note>>(wm, wm_list{"r1"});
  REQUIRE(all);
  CHECK(all->size() == 1);
  CHECK((*all)[0].id == "r1:t1");
  CHECK(*f.ask<uint64_t>(wm, wm_forget_run{"r1"}) == 1);
  CHECK(f.ask<std::vector<wm_note>>(wm, wm_list{"r1"})->empty());
}

TEST_CASE("pipelined writes are group-committed, each acknowledged with its own note") {
  fixture f;
  auto wm = f.keep(spawn_working_memory(f.sys, f.db, f.monitor, working_options{.cached_runs = 1}));
  caf::scoped_actor self{f.sys};
  constexpr size_t n = 500;
  for (size_t i = 0; i < n; ++i)
    self->send(wm, fact(i % 2 == 0 ? "even" : "odd", "note " + std::to_string(i), 0.5));
  std::vector<std::string> acked;
  size_t got = 0;
  self->receive_for(got, n)([&](wm_note& note) { acked.push_back(note.id); },
                            [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(acked.size() == n);
  CHECK(acked[0] == "even#0");
  CHECK(acked[1] == "odd#0");
  CHECK(acked[n - 1] == "odd#" + std::to_string(n / 2 - 1));
  auto even = f.ask<std::vector<wm_note>>(wm, wm_list{"even"});
  REQUIRE(even);
  REQUIRE(even->size() == n / 2);
  CHECK((*even)[10].text == "note 20");
  CHECK(f.eventually_events(n));
}

TEST_CASE("acknowledged notes survive stopping the actor and reopening the database") {
  fixture f;
  auto wm = spawn_working_memory(f.sys, f.db);
  REQUIRE(f.ask<wm_note>(wm, fact("r1", "kept across restarts", 0.8)));
  f.stop(wm);
  f.reopen();
  auto again = f.keep(spawn_working_memory(f.sys, f.db));
  auto all = f.ask<std::vector<wm_note>>(again, wm_list{"r1"});
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].text == "kept across restarts");
}

// -- long-term memory actor, BM25 alone ----------------------------------------------------------

TEST_CASE("long-term recall without embeddings ranks by BM25, recency and importance") {
  fixture f;
  auto ltm = f.keep(spawn_long_term_memory(f.sys, f.db, {}, f.monitor));
  auto a =
      f.ask<std::string>(ltm, memory_in("swarm:team", "rocksdb compaction settings", 0.5, "a"));
  REQUIRE(a);
  CHECK(*a == "a");
  REQUIRE(f.ask<std::string>(ltm, memory_in("swarm:team", "rocksdb rocksdb wal sync", 0.5, "b")));
  REQUIRE(f.ask<std::string>(ltm, memory_in("swarm:other", "rocksdb block cache", 0.5, "c")));
  auto fresh = f.ask<std::string>(ltm, memory_in("swarm:team", "unrelated lunch plans"));
  REQUIRE(fresh);
  CHECK(fresh->rfind("ltm-", 0) == 0);
  auto hits = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"rocksdb", {}, 10});
  REQUIRE(hits);
  REQUIRE(hits->size() == 3);
  CHECK((*hits)[0].id == "b"); // two occurrences beat one
  CHECK((*hits)[0].relevance == Approx(1.0));
  CHECK((*hits)[0].score > (*hits)[1].score);
  auto team = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"rocksdb", {"swarm:team"}, 10});
  REQUIRE(team);
  CHECK(ids(*team) == std::vector<std::string>{"b", "a"});
  auto two = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"rocksdb", {"swarm:other", "nope"}, 10});
  REQUIRE(two);
  CHECK(ids(*two) == std::vector<std::string>{"c"});
  REQUIRE(f.eventually_events(4));
  CHECK(f.log->snapshot()[0].text == "a");
}

TEST_CASE("pipelined long-term writes are group-committed, each acknowledged with its id") {
  fixture f;
  auto ltm = f.keep(spawn_long_term_memory(f.sys, f.db, {}, f.monitor));
  caf::scoped_actor self{f.sys};
  constexpr size_t n = 300;
  for (size_t i = 0; i < n; ++i)
    self->send(
        ltm, memory_in("n", "pipelined memory " + std::to_string(i), 0.5, "p" + std::to_string(i)));
  std::vector<std::string> acked;
  size_t got = 0;
  self->receive_for(got, n)([&](std::string& id) { acked.push_back(id); },
                            [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(acked.size() == n);
  CHECK(acked.front() == "p0");
  CHECK(acked.back() == "p" + std::to_string(n - 1));
  auto hits = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"pipelined 117", {}, 1});
  REQUIRE(hits);
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].id == "p117");
  CHECK(f.eventually_events(n));
}

TEST_CASE("long-term memory refuses bad writes, forgets by id, and survives a restart") {
  fixture f;
  auto ltm = spawn_long_term_memory(f.sys, f.db);
  auto no_ns = f.ask<std::string>(ltm, memory_in("", "x"));
  REQUIRE_FALSE(no_ns);
  CHECK_THAT(describe(no_ns.error()), Catch::Contains("empty namespace"));
  auto heavy = f.ask<std::string>(ltm, memory_in("n", "x", 2.0));
  REQUIRE_FALSE(heavy);
  CHECK_THAT(describe(heavy.error()), Catch::Contains("importance 2"));
  REQUIRE(f.ask<std::string>(ltm, memory_in("n", "keep this thought", 0.5, "k")));
  REQUIRE(f.ask<std::string>(ltm, memory_in("n", "drop this thought", 0.5, "d")));
  CHECK(*f.ask<bool>(ltm, ltm_forget{"d"}));
  CHECK_FALSE(*f.ask<bool>(ltm, ltm_forget{"d"}));
  f.stop(ltm);
  f.reopen();
  auto again = f.keep(spawn_long_term_memory(f.sys, f.db));
  auto hits = f.ask<std::vector<ltm_hit>>(again, ltm_recall{"thought", {}, 10});
  REQUIRE(hits);
  CHECK(ids(*hits) == std::vector<std::string>{"k"});
}

// -- hybrid retrieval with the mock's embeddings
// ---------------------------------------------------

TEST_CASE("hybrid recall finds by vector what BM25 cannot, and mixes both scores") {
  fixture f;
  embedding_server emb{f.sys};
  auto ltm = f.keep(spawn_long_term_memory(f.sys, f.db, emb.options()));
  auto bm25_only = f.keep(spawn_long_term_memory(f.sys, f.db, {}, {}));
  // The mock's vectors come from a hash of the text: equal texts have cosine 1, others ~0.
  // "the of and" has no index term (stop words only): only the vector retriever can find it.
  REQUIRE(f.ask<std::string>(ltm, memory_in("n", "the of and", 0.5, "stop-words")));
  REQUIRE(f.ask<std::string>(ltm, memory_in("n", "deploy on friday", 0.5, "deploy")));
  REQUIRE(
      f.ask<std::string>(ltm, memory_in("n", "friday deploy freeze was lifted", 0.5, "freeze")));
  CHECK(emb.mock->stats().embedding_requests == 3);
  auto by_vector = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"the of and", {}, 3});
  REQUIRE(by_vector);
  REQUIRE_FALSE(by_vector->empty());
  CHECK((*by_vector)[0].id == "stop-words");
  CHECK((*by_vector)[0].relevance == Approx(0.5).margin(1e-3)); // 0.5 * 0 + 0.5 * cosine 1
  auto lexical = f.ask<std::vector<ltm_hit>>(bm25_only, ltm_recall{"the of and", {}, 3});
  REQUIRE(lexical);
  CHECK(lexical->empty());
  // A query equal to one text: BM25 and cosine agree on it.
  auto both = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"deploy on friday", {}, 3});
  REQUIRE(both);
  REQUIRE(both->size() >= 2);
  CHECK((*both)[0].id == "deploy");
  CHECK((*both)[0].relevance == Approx(1.0).margin(1e-3));
  CHECK((*both)[1].id == "freeze");
  CHECK((*both)[1].relevance < 0.6);
  // A namespace filter applies to vector candidates too.
  auto elsewhere = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"the of and", {"other"}, 3});
  REQUIRE(elsewhere);
  CHECK(elsewhere->empty());
}

TEST_CASE("a hybrid write fails with a clear error when the embeddings endpoint is down") {
  fixture f;
  embedding_server emb{f.sys};
  auto ltm = f.keep(spawn_long_term_memory(f.sys, f.db, emb.options("http://127.0.0.1:1/v1")));
  auto written = f.ask<std::string>(ltm, memory_in("n", "never stored", 0.5, "x"));
  REQUIRE_FALSE(written);
  CHECK(is(written.error(), errc::io_error));
  CHECK_THAT(describe(written.error()), Catch::Contains("cannot embed"));
  auto plain = f.keep(spawn_long_term_memory(f.sys, f.db));
  CHECK(f.ask<std::vector<ltm_hit>>(plain, ltm_recall{"stored", {}, 5})->empty());
}

TEST_CASE("forgetting a hybrid memory removes its vector from recall") {
  fixture f;
  embedding_server emb{f.sys};
  auto ltm = f.keep(spawn_long_term_memory(f.sys, f.db, emb.options()));
  REQUIRE(f.ask<std::string>(ltm, memory_in("n", "the of and", 0.5, "v")));
  CHECK(*f.ask<bool>(ltm, ltm_forget{"v"}));
  auto hits = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"the of and", {}, 3});
  REQUIRE(hits);
  CHECK(hits->empty());
}

TEST_CASE("the vector index is saved on exit, and rebuilt when its file is gone or stale") {
  fixture f;
  embedding_server emb{f.sys};
  auto index_path = f.dir.path().string() + "/memory-vectors.hnsw";
  auto ltm = spawn_long_term_memory(f.sys, f.db, emb.options());
  for (int i = 0; i < 20; ++i)
    REQUIRE(f.ask<std::string>(
        ltm, memory_in("n", "memory number " + std::to_string(i), 0.5, "m" + std::to_string(i))));
  f.stop(ltm);
  REQUIRE(std::filesystem::exists(index_path));
  {
    auto saved = open_vector_index(*f.db, index_path, {});
    REQUIRE(saved);
    CHECK_FALSE(saved->rebuilt);
    CHECK(saved->index->size() == 20);
  }
  std::filesystem::remove(index_path);
  {
    auto rebuilt = open_vector_index(*f.db, index_path, {});
    REQUIRE(rebuilt);
    CHECK(rebuilt->rebuilt);
    CHECK(rebuilt->index->size() == 20);
  }
  // Restarted without the file: recall by vector still works (rebuilt on start).
  f.reopen();
  auto again = spawn_long_term_memory(f.sys, f.db, emb.options());
  auto hits = f.ask<std::vector<ltm_hit>>(again, ltm_recall{"memory number 7", {}, 1});
  REQUIRE(hits);
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].id == "m7");
  f.stop(again); // saves the rebuilt index
  REQUIRE(std::filesystem::exists(index_path));
  // A write made while the saved file is not updated (an actor saving elsewhere, as after a
  // crash) makes the saved index stale.
  auto other = emb.options();
  other.index_path = f.dir.path().string() + "/elsewhere.hnsw";
  auto writer = spawn_long_term_memory(f.sys, f.db, other);
  REQUIRE(f.ask<std::string>(writer, memory_in("n", "one more", 0.5, "extra")));
  f.stop(writer);
  auto stale = open_vector_index(*f.db, index_path, {});
  REQUIRE(stale);
  CHECK(stale->rebuilt);
  CHECK(stale->index->size() == 21);
}

// -- consolidation
// -----------------------------------------------------------------------------------

TEST_CASE("consolidation turns salient notes into records, merges near-duplicates, and is "
          "idempotent") {
  fixture f;
  auto wm = f.keep(spawn_working_memory(f.sys, f.db));
  auto ltm = f.keep(spawn_long_term_memory(f.sys, f.db, {}, f.monitor));
  // An existing record the run's fact nearly repeats (Jaccard 5/6 >= 0.8).
  REQUIRE(f.ask<std::string>(
      ltm, memory_in("swarm:team", "launch window opens march tenth utc", 0.3, "old")));
  std::string long_result(800, 'x');
  for (size_t i = 0; i < long_result.size(); i += 10)
    long_result[i] = ' ';
  REQUIRE(f.ask<wm_note>(wm, fact("r1", "launch window opens march tenth utc confirmed", 0.9)));
  REQUIRE(f.ask<wm_note>(wm, fact("r1", long_result, 0.7, "result", "t2")));
  REQUIRE(f.ask<wm_note>(wm, fact("r1", "an unimportant fact", 0.2)));
  REQUIRE(f.ask<wm_note>(wm, fact("r1", "a plain note", 0.9, "note")));
  auto report = f.ask<consolidation_report>(ltm, ltm_consolidate{"r1", "swarm:team"});
  REQUIRE(report);
  CHECK(report->considered == 2);
  CHECK(report->added == 1);
  CHECK(report->merged == 1);
  auto launch = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"launch window", {"swarm:team"}, 5});
  REQUIRE(launch);
  REQUIRE(launch->size() == 1);
  CHECK((*launch)[0].id == "wm:r1#0");
  CHECK((*launch)[0].text == "launch window opens march tenth utc confirmed");
  CHECK((*launch)[0].importance == Approx(0.9));
  auto results = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"xxxxxxxxx", {"swarm:team"}, 5});
  REQUIRE(results);
  REQUIRE(results->size() == 1);
  CHECK((*results)[0].id == "wm:r1:t2");
  CHECK((*results)[0].text.size() <= 500);
  CHECK((*results)[0].text.substr((*results)[0].text.size() - 3) == "...");
  auto again = f.ask<consolidation_report>(ltm, ltm_consolidate{"r1", "swarm:team"});
  REQUIRE(again);
  CHECK(again->considered == 2);
  CHECK(again->added == 0);
  CHECK(again->merged == 0);
  CHECK(f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"launch", {}, 10})->size() == 1);
}

TEST_CASE("consolidation with embeddings gives the new records vectors") {
  fixture f;
  embedding_server emb{f.sys};
  auto wm = f.keep(spawn_working_memory(f.sys, f.db));
  auto ltm = f.keep(spawn_long_term_memory(f.sys, f.db, emb.options()));
  REQUIRE(f.ask<wm_note>(wm, fact("r9", "the of and", 0.9)));
  auto report = f.ask<consolidation_report>(ltm, ltm_consolidate{"r9", "ns"});
  REQUIRE(report);
  CHECK(report->added == 1);
  auto hits = f.ask<std::vector<ltm_hit>>(ltm, ltm_recall{"the of and", {}, 1});
  REQUIRE(hits);
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].id == "wm:r9#0");
}

TEST_CASE("consolidation into an empty namespace is refused") {
  fixture f;
  auto ltm = f.keep(spawn_long_term_memory(f.sys, f.db));
  auto report = f.ask<consolidation_report>(ltm, ltm_consolidate{"r1", ""});
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::invalid_argument));
  CHECK_THAT(describe(report.error()), Catch::Contains("empty namespace"));
}
