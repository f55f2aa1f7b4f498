// Tokenizer, BM25, recency and the combined ranking, against hand-computed values.
#include <cmath>

#include <catch2/catch.hpp>

#include "memory/bm25.hpp"

using namespace swarm::memory;

namespace {
constexpr int64_t day_ms = 24 * 60 * 60 * 1000;
constexpr int64_t week_ms = 7 * day_ms;
} // namespace

TEST_CASE("the tokenizer lowercases, splits on non-alphanumerics and drops stop words") {
  using v = std::vector<std::string>;
  CHECK(tokenize("The cat sat on the MAT.") == v{"cat", "sat", "mat"});
  CHECK(tokenize("Hello,WORLD!  it's 2024; x-ray_v2") ==
        v{"hello", "world", "s", "2024", "x", "ray", "v2"});
  CHECK(tokenize("caf\xc3\xa9 CR\xc3\xa8ME") == v{"caf\xc3\xa9", "cr\xc3\xa8me"});
  CHECK(tokenize("a an and the of to").empty());
  CHECK(tokenize("").empty());
  CHECK(tokenize("cat cat dog") == v{"cat", "cat", "dog"});
  for (auto text :
       {"The cat sat on the MAT.", "Hello,WORLD!  it's 2024; x-ray_v2", "THEIR These",
        "caf\xc3\xa9 CR\xc3\xa8ME", "a an and the of to", "", "cat cat dog", "Thereafter"})
    CHECK(token_count(text) == tokenize(text).size());
}

TEST_CASE("stop words are the Lucene English set") {
  CHECK(is_stop_word("the"));
  CHECK(is_stop_word("with"));
  CHECK_FALSE(is_stop_word("cat"));
  CHECK_FALSE(is_stop_word("The")); // callers pass lowercased terms
}

TEST_CASE("bm25 idf matches the Okapi formula") {
  // ln(1 + (N - n + 0.5) / (n + 0.5))
  CHECK(bm25_idf(3, 2) == Approx(std::log(1.6)));
  CHECK(bm25_idf(3, 1) == Approx(std::log(1.0 + 2.5 / 1.5)));
  CHECK(bm25_idf(10, 10) == Approx(std::log(1.0 + 0.5 / 10.5)));
  CHECK(bm25_idf(10, 10) > 0);
}

TEST_CASE("bm25 term scores saturate with frequency and normalise by length") {
  auto idf = std::log(1.6);
  // tf 1 in a document of average length: idf * 1 * 2.2 / (1 + 1.2) = idf
  CHECK(bm25_term_score(idf, 1, 3, 3.0) == Approx(idf));
  // tf 3, length 4, average 3: norm = 1.2 * (0.25 + 0.75 * 4 / 3) = 1.5; idf * 6.6 / 4.5
  CHECK(bm25_term_score(idf, 3, 4, 3.0) == Approx(0.689338656));
  // longer documents score lower for the same tf
  CHECK(bm25_term_score(idf, 1, 10, 3.0) < bm25_term_score(idf, 1, 2, 3.0));
  // b = 0: no length normalisation
  CHECK(bm25_term_score(idf, 1, 10, 3.0, {1.2, 0.0}) == Approx(idf));
  CHECK(bm25_term_score(idf, 0, 3, 3.0) == 0.0);
}

TEST_CASE("recency halves every half-life and treats future records as new") {
  CHECK(recency_score(0, week_ms, week_ms) == Approx(0.5));
  CHECK(recency_score(0, 2 * week_ms, week_ms) == Approx(0.25));
  CHECK(recency_score(week_ms, week_ms, week_ms) == 1.0);
  CHECK(recency_score(2 * week_ms, week_ms, week_ms) == 1.0);
  CHECK(recency_score(0, week_ms, 0) == 1.0);
}

TEST_CASE("ranking combines relevance, recency and importance with the documented weights") {
  auto now = 2 * week_ms;
  std::vector<ranking_candidate> cands{
      {"old-relevant", 2.0, 0, 0.0},    // relevance 1, recency 0.25, importance 0
      {"new-important", 1.0, now, 1.0}, // relevance 0.5, recency 1, importance 1
  };
  auto by_default = rank(cands, ranking_weights{}, now, week_ms, 10);
  REQUIRE(by_default.size() == 2);
  CHECK(by_default[0].id == "old-relevant");
  CHECK(by_default[0].score.bm25 == 2.0);
  CHECK(by_default[0].score.relevance == Approx(1.0));
  CHECK(by_default[0].score.recency == Approx(0.25));
  CHECK(by_default[0].score.total == Approx(0.7 * 1.0 + 0.2 * 0.25 + 0.1 * 0.0));
  CHECK(by_default[1].score.relevance == Approx(0.5));
  CHECK(by_default[1].score.total == Approx(0.7 * 0.5 + 0.2 * 1.0 + 0.1 * 1.0));

  auto by_recency = rank(cands, ranking_weights{0.2, 0.5, 0.3}, now, week_ms, 10);
  CHECK(by_recency[0].id == "new-important");
  CHECK(by_recency[0].score.total == Approx(0.2 * 0.5 + 0.5 * 1.0 + 0.3 * 1.0));
}

TEST_CASE("ranking breaks ties by id and keeps at most top_k") {
  std::vector<ranking_candidate> cands{{"b", 1.0, 0, 0.5}, {"a", 1.0, 0, 0.5}, {"c", 0.5, 0, 0.5}};
  auto top = rank(cands, ranking_weights{}, 0, week_ms, 2);
  REQUIRE(top.size() == 2);
  CHECK(top[0].id == "a");
  CHECK(top[1].id == "b");
  CHECK(rank({}, ranking_weights{}, 0, week_ms, 5).empty());
}
