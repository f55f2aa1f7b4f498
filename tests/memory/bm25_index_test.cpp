// Tests of the in-memory BM25 index: the pruned top k equals scoring every record (Zipfian
// corpus, namespace filters, removals and compaction); replacement, removal and filters.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "memory/bm25_index.hpp"

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

/// The index's reference: keeps every live record's term counts and scores each one for a query
/// with the bm25.hpp formulas (ties: smaller id first).
struct exhaustive {
  struct doc {
    std::string ns;
    std::map<std::string, uint32_t> tf;
    uint32_t length = 0;
  };
  std::map<std::string, doc> docs;
  std::map<std::string, uint64_t> df;
  uint64_t total = 0;

  void add(const memory_record& r) {
    doc d{r.ns, {}, 0};
    for (const auto& t : tokenize(r.text)) {
      ++d.tf[t];
      ++d.length;
    }
    for (const auto& [t, n] : d.tf)
      ++df[t];
    total += d.length;
    docs[r.id] = std::move(d);
  }

  void remove(const std::string& id) {
    auto& d = docs.at(id);
    for (const auto& [t, n] : d.tf)
      --df[t];
    total -= d.length;
    docs.erase(id);
  }

  std::vector<bm25_hit> search(const std::string& query, size_t k,
                               const std::set<std::string>& namespaces) {
    auto avg = static_cast<double>(total) / static_cast<double>(docs.size());
    auto terms = tokenize(query);
    std::set<std::string> unique(terms.begin(), terms.end());
    std::vector<std::pair<std::string, double>> idf;
    for (const auto& t : unique)
      if (df[t] > 0)
        idf.emplace_back(t, bm25_idf(docs.size(), df[t]));
    std::vector<bm25_hit> hits;
    for (const auto& [id, d] : docs) {
      if (!namespaces.empty() && namespaces.count(d.ns) == 0)
        continue;
      double score = 0;
      bool match = false;
      for (const auto& [t, w] : idf)
        if (auto it = d.tf.find(t); it != d.tf.end()) {
          match = true;
          score += bm25_term_score(w, it->second, d.length, avg);
        }
      if (match)
        hits.push_back(bm25_hit{id, score});
    }
    std::sort(hits.begin(), hits.end(), [](const bm25_hit& a, const bm25_hit& b) {
      return a.bm25 != b.bm25 ? a.bm25 > b.bm25 : a.id < b.id;
    });
    if (hits.size() > k)
      hits.resize(k);
    return hits;
  }
};

/// Checks that `got` and `want` are the same ranking: equal scores, and equal ids except where
/// two scores tie within rounding.
void same_ranking(const std::vector<bm25_hit>& got, const std::vector<bm25_hit>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].bm25 == Approx(want[i].bm25).epsilon(1e-9));
    bool near_tie = (i > 0 && std::abs(want[i - 1].bm25 - want[i].bm25) < 1e-9) ||
                    (i + 1 < want.size() && std::abs(want[i + 1].bm25 - want[i].bm25) < 1e-9);
    if (!near_tie)
      CHECK(got[i].id == want[i].id);
  }
}

} // namespace

TEST_CASE("the pruned BM25 top k equals scoring every record") {
  zipf_texts gen;
  bm25_index index;
  exhaustive ref;
  std::map<std::string, memory_record> live;
  // 6,000 records over three namespaces: postings of common terms span many blocks.
  for (int i = 0; i < 6000; ++i) {
    auto r =
        rec("d" + std::to_string(i), i % 3 == 0 ? "a" : (i % 3 == 1 ? "b" : "c"), gen.text(5, 30));
    index.add(r);
    ref.add(r);
    live[r.id] = r;
  }
  auto check_queries = [&](int count) {
    for (int q = 0; q < count; ++q) {
      auto query = gen.text(1, 5);
      std::set<std::string> namespaces;
      if (q % 4 == 1)
        namespaces = {"a"};
      else if (q % 4 == 2)
        namespaces = {"b", "c"};
      auto k = q % 5 == 0 ? size_t{1} : size_t{10};
      INFO("query '" << query << "', k " << k << ", " << namespaces.size() << " namespaces");
      same_ranking(index.search(query, k, namespaces), ref.search(query, k, namespaces));
    }
  };
  check_queries(100);
  // Remove a third and replace a third (new texts): dead postings are skipped.
  for (int i = 0; i < 6000; ++i) {
    auto id = "d" + std::to_string(i);
    if (i % 3 == 2)
      continue;
    REQUIRE(index.remove(live.at(id)));
    ref.remove(id);
    if (i % 3 == 0) {
      live.erase(id);
      continue;
    }
    auto r = rec(id, live.at(id).ns, gen.text(5, 30));
    index.add(r);
    ref.add(r);
    live[id] = r;
  }
  CHECK(index.size() == live.size());
  check_queries(60);
}

TEST_CASE("the BM25 index stays exact through compaction") {
  zipf_texts gen;
  bm25_index index;
  exhaustive ref;
  std::map<std::string, memory_record> live;
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 5000; ++i) {
      auto id = "r" + std::to_string(i);
      if (auto it = live.find(id); it != live.end()) {
        REQUIRE(index.remove(it->second));
        ref.remove(id);
      }
      auto r = rec(id, "n", gen.text(5, 30));
      index.add(r);
      ref.add(r);
      live[id] = r;
    }
  // 10,000 replaced records: more dead than live, so the index compacted at least once.
  CHECK(index.size() == 5000);
  for (int q = 0; q < 50; ++q) {
    auto query = gen.text(1, 4);
    INFO("query '" << query << "'");
    same_ranking(index.search(query, 10), ref.search(query, 10, {}));
  }
}

TEST_CASE("the BM25 index replaces, removes, and filters by namespace") {
  bm25_index index;
  index.add(rec("x", "a", "red apple"));
  index.add(rec("y", "b", "red red car"));
  index.add(rec("z", "a", "green tree"));
  CHECK(index.size() == 3);
  CHECK(index.contains("y"));
  auto hits = index.search("red", 10);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].id == "y");
  auto only_a = index.search("red", 10, {"a"});
  REQUIRE(only_a.size() == 1);
  CHECK(only_a[0].id == "x");
  CHECK(index.search("red", 10, {"unknown"}).empty());
  REQUIRE(index.remove(rec("y", "b", "red red car")));
  CHECK(index.add(rec("y", "b", "blue car")) == 2); // replaced: no longer red
  hits = index.search("red", 10);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].id == "x");
  CHECK(index.remove(rec("x", "a", "red apple")));
  CHECK_FALSE(index.remove(rec("x", "a", "red apple")));
  CHECK_FALSE(index.contains("x"));
  CHECK(index.search("red", 10).empty());
  CHECK(index.size() == 2);
  CHECK(index.search("the of", 10).empty());
  CHECK(index.search("car", 0).empty());
}

TEST_CASE("ties in BM25 score go to the smaller id") {
  bm25_index index;
  for (auto id : {"m3", "m1", "m2", "m0"})
    index.add(rec(id, "n", "same words here"));
  auto hits = index.search("words", 2);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].id == "m0");
  CHECK(hits[1].id == "m1");
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
  // Below common_scan records, every term brings in candidates.
  bm25_index small{bm25_index_options{{}, 0.5, 100}};
  for (int i = 0; i < 6; ++i)
    small.add(rec("c" + std::to_string(i), "n", "common words"));
  small.add(rec("r", "n", "rare common"));
  CHECK(small.search("rare common", 10).size() == 7);
}

TEST_CASE("when every query term is common, the newest records with the rarest are scored") {
  bm25_index index{bm25_index_options{{}, 0.5, 3}};
  for (int i = 0; i < 10; ++i)
    index.add(rec("d" + std::to_string(i), "n", i == 0 ? "x x x x y" : "x y filler"));
  // "x" and "y" are in every record: the scan covers d7..d9 only, so d0 (the best) is missed.
  auto hits = index.search("x y", 10);
  REQUIRE(hits.size() == 3);
  for (auto& h : hits)
    CHECK((h.id == "d7" || h.id == "d8" || h.id == "d9"));
}

TEST_CASE("records with the same terms score the same, so the smaller ids win the ties") {
  bm25_index index;
  zipf_texts gen;
  // Identical four-term records among others: they are scored while the top k fills and after
  // pruning set in, with the terms found in different orders.
  int same = 0;
  for (int i = 0; i < 3000; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "r%05d", i);
    if (i % 10 == 3) {
      index.add(rec(id, "n", "alpha beta gamma delta"));
      ++same;
    } else {
      index.add(rec(id, "n", gen.text(5, 30) + (i % 7 == 0 ? " alpha gamma" : "")));
    }
  }
  REQUIRE(same == 300);
  auto hits = index.search("alpha beta gamma delta", 20);
  REQUIRE(hits.size() == 20);
  for (size_t i = 0; i < hits.size(); ++i) {
    char want[16];
    std::snprintf(want, sizeof want, "r%05d", static_cast<int>(10 * i + 3));
    CHECK(hits[i].id == want);
    CHECK(hits[i].bm25 == hits[0].bm25);
  }
}

TEST_CASE("a k beyond the store's size returns every match") {
  bm25_index index;
  index.add(rec("x", "a", "red apple"));
  index.add(rec("y", "b", "red car"));
  CHECK(index.search("red", std::numeric_limits<size_t>::max() - 1).size() == 2);
}
