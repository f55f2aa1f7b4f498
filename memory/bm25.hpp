// Pure retrieval math of long-term memory: tokenizer, BM25, recency decay, score combination.
// No storage here: the store feeds these functions counts and reads back scores.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::memory {

/// Splits `text` into index terms: ASCII letters are lowercased; every byte that is neither an
/// ASCII letter or digit nor part of a multi-byte UTF-8 sequence (>= 0x80) separates terms;
/// stop words (see `is_stop_word`) are dropped. Duplicates are kept, in order.
std::vector<std::string> tokenize(std::string_view text);

/// The number of terms `tokenize(text)` yields (without building them).
uint32_t token_count(std::string_view text);

/// True for the Lucene English stop set: a an and are as at be but by for if in into is it no
/// not of on or such that the their then there these they this to was will with.
bool is_stop_word(std::string_view term);

/// BM25 parameters.
struct bm25_params {
  /// Term-frequency saturation. Default: 1.2.
  double k1 = 1.2;
  /// Length normalisation, 0 (none) to 1 (full). Default: 0.75.
  double b = 0.75;
};

/// Inverse document frequency, the non-negative Lucene/Okapi form:
/// ln(1 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5)).
double bm25_idf(uint64_t doc_count, uint64_t doc_freq);

/// One term's BM25 contribution to one document:
/// idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avg_doc_len)).
/// An `avg_doc_len` of 0 is treated as `doc_len` (no length normalisation).
double bm25_term_score(double idf, uint32_t tf, uint32_t doc_len, double avg_doc_len,
                       const bm25_params& params = {});

/// Exponential decay by age: 0.5 ^ ((now_ms - created_ms) / half_life_ms), in (0, 1].
/// Records from the future count as brand new (1). A non-positive half-life yields 1.
double recency_score(int64_t created_ms, int64_t now_ms, int64_t half_life_ms);

/// Weights of the combined score (they need not sum to 1; the defaults do).
struct ranking_weights {
  /// Weight of relevance, the BM25 score divided by the best BM25 score among the candidates.
  /// Default: 0.7.
  double relevance = 0.7;
  /// Weight of `recency_score`. Default: 0.2.
  double recency = 0.2;
  /// Weight of the record's importance. Default: 0.1.
  double importance = 0.1;
};

/// What the ranker needs to know about one candidate document.
struct ranking_candidate {
  std::string id;
  double bm25 = 0;
  int64_t created = 0;
  double importance = 0;
};

/// Why a hit ranks where it does.
struct score_breakdown {
  double bm25 = 0;       ///< raw BM25 sum over the query terms
  double relevance = 0;  ///< bm25 / best bm25 among the candidates, in [0, 1]
  double recency = 0;    ///< recency_score of the record, in (0, 1]
  double importance = 0; ///< the record's importance, clamped to [0, 1]
  double total = 0;      ///< weighted sum of relevance, recency and importance
};

/// A ranked candidate.
struct ranked {
  std::string id;
  score_breakdown score;
};

/// Scores every candidate as
/// `w.relevance * bm25 / max_bm25 + w.recency * recency + w.importance * importance`
/// and returns them best first (ties: smaller id first), at most `top_k` of them.
std::vector<ranked> rank(const std::vector<ranking_candidate>& candidates,
                         const ranking_weights& weights, int64_t now_ms, int64_t half_life_ms,
                         size_t top_k);

} // namespace swarm::memory
