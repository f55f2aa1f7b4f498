// Tests of the in-memory BM25 index: the pruned top k equals the exhaustive BM25 ranking of the
// RocksDB store on a Zipfian corpus; replacement, removal and namespace filters.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "memory/bm25_index.hpp"
#include "memory/database.hpp"
#include "memory/long_term.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace swarm::memory;

namespace {

/// Texts of 5-30 words from a Zipfian vocabulary of 300 words.
struct zipf_texts {
  std::mt19937 rng{7};
  std::discrete_distribution<int> word;
  zipf_texts() {
    std::vector<double> w;
    for (int r = 1; r <= 300; ++r)
      w.push_back(1.0 / std::pow(r, 1.07));
    word = std::discrete_distribution<int>(w.begin(), w.end());
  }
  std::string text(int lo, int hi) {
    std::uniform_int_distribution<int> len(lo, hi);
    std::string out;
    for (int i = 0, n = len(rng); i < n; ++i)
      out += "w" + std::to_string(word(rng)) + " ";
    return out;
  }
};

memory_record rec(std::string id, std::string ns, std::string text) {
  return memory_record{std::move(id), std::move(ns), std::move(text), 0.5, 0, {}};
}

} // namespace

TEST_CASE("the pruned BM25 top k equals the store's exhaustive BM25 ranking") {
  test::temp_dir dir;
  auto db = database::open(dir.path().string());
  REQUIRE(db);
  long_term_options opts;
  opts.weights = ranking_weights{1.0, 0.0, 0.0}; // rank by BM25 alone
  long_term_store store{*db, opts};
  bm25_index index;
  zipf_texts gen;
  std::vector<memory_record> records;
  for (int i = 0; i < 2000; ++i)
    records.push_back(rec("d" + std::to_string(i), i % 3 == 0 ? "a" : "b", gen.text(5, 30)));
  REQUIRE_FALSE(store.put(records));
  for (auto& r : records)
    index.add(r);
  for (int q = 0; q < 200; ++q) {
    auto query = gen.text(2, 5);
    auto expected = store.search(query, search_options{std::nullopt, 10, 1});
    REQUIRE(expected);
    auto got = index.search(query, 10);
    REQUIRE(got.size() == expected->size());
    for (size_t i = 0; i < got.size(); ++i) {
      // Scores agree (float accumulation); ids agree unless two scores nearly tie.
      CHECK(got[i].bm25 == Approx((*expected)[i].score.bm25).epsilon(1e-4));
      if (i + 1 < got.size() && std::abs(got[i].bm25 - got[i + 1].bm25) > 1e-3)
        CHECK(got[i].id == (*expected)[i].record.id);
    }
  }
}

TEST_CASE("the BM25 index replaces, removes, and filters by namespace") {
  bm25_index index;
  index.add(rec("x", "a", "red apple"));
  index.add(rec("y", "b", "red red car"));
  index.add(rec("z", "a", "green tree"));
  CHECK(index.size() == 3);
  auto hits = index.search("red", 10);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].id == "y");
  auto only_a = index.search("red", 10, {"a"});
  REQUIRE(only_a.size() == 1);
  CHECK(only_a[0].id == "x");
  CHECK(index.search("red", 10, {"unknown"}).empty());
  index.add(rec("y", "b", "blue car")); // replaced: no longer red
  hits = index.search("red", 10);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].id == "x");
  CHECK(index.remove("x"));
  CHECK_FALSE(index.remove("x"));
  CHECK(index.search("red", 10).empty());
  CHECK(index.size() == 2);
  CHECK(index.search("the of", 10).empty());
  CHECK(index.search("car", 0).empty());
}

TEST_CASE("in a large store common terms bring in no candidates of their own") {
  bm25_index index{bm25_index_options{{}, 0.5, 3}};
  for (int i = 0; i < 6; ++i)
    index.add(rec("c" + std::to_string(i), "n", "common words"));
  index.add(rec("r", "n", "rare common"));
  // "common" is in 7 of 7 records (> 50 %), "rare" in one: only "r" is a candidate.
  auto hits = index.search("rare common", 10);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].id == "r");
}

TEST_CASE("when every query term is common, only the newest records with the rarest are scored") {
  bm25_index index{bm25_index_options{{}, 0.5, 3}};
  for (int i = 0; i < 10; ++i)
    index.add(rec("d" + std::to_string(i), "n", i == 0 ? "x x x x y" : "x y filler"));
  // "x" and "y" are in every record: the scan covers d7..d9 only, so d0 (the best) is missed.
  auto hits = index.search("x y", 10);
  REQUIRE(hits.size() == 3);
  for (auto& h : hits)
    CHECK((h.id == "d7" || h.id == "d8" || h.id == "d9"));
}

TEST_CASE("a store no larger than common_scan is searched exactly, common terms included") {
  bm25_index index{bm25_index_options{{}, 0.5, 100}};
  for (int i = 0; i < 10; ++i)
    index.add(rec("d" + std::to_string(i), "n", "x y filler"));
  index.add(rec("r", "n", "x rare"));
  auto exact = index.search("x rare", 20);
  REQUIRE(exact.size() == 11);
  CHECK(exact[0].id == "r");
}
