// Tokenizer, BM25, recency decay and score combination (see bm25.hpp).
#include "memory/bm25.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace swarm::memory {

namespace {

constexpr std::array<std::string_view, 33> stop_words = {
    "a",   "an",    "and",  "are",   "as",    "at",   "be",   "but", "by",  "for",  "if",
    "in",  "into",  "is",   "it",    "no",    "not",  "of",   "on",  "or",  "such", "that",
    "the", "their", "then", "there", "these", "they", "this", "to",  "was", "will", "with",
};
static_assert(std::is_sorted(stop_words.begin(), stop_words.end()));

bool is_term_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

char lower(unsigned char c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

} // namespace

bool is_stop_word(std::string_view term) {
  // stop_words is sorted; none is longer than 5 bytes.
  return term.size() <= 5 && std::binary_search(stop_words.begin(), stop_words.end(), term);
}

namespace {

/// Calls `fn(term)` for every term of `text`, as tokenize defines them.
template <class Fn>
void for_each_term(std::string_view text, Fn fn) {
  std::string current;
  auto flush = [&] {
    if (!current.empty() && !is_stop_word(current))
      fn(std::string_view{current});
    current.clear();
  };
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_term_byte(c))
      current.push_back(lower(c));
    else
      flush();
  }
  flush();
}

} // namespace

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> result;
  for_each_term(text, [&](std::string_view t) { result.emplace_back(t); });
  return result;
}

uint32_t token_count(std::string_view text) {
  // As for_each_term, without building terms: only runs short enough to be stop words are
  // lowercased and looked up.
  uint32_t n = 0;
  for (size_t i = 0; i < text.size();) {
    if (!is_term_byte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    auto start = i;
    while (i < text.size() && is_term_byte(static_cast<unsigned char>(text[i])))
      ++i;
    auto length = i - start;
    char folded[5];
    if (length <= sizeof folded) {
      for (size_t k = 0; k < length; ++k)
        folded[k] = lower(static_cast<unsigned char>(text[start + k]));
      if (is_stop_word(std::string_view{folded, length}))
        continue;
    }
    ++n;
  }
  return n;
}

double bm25_idf(uint64_t doc_count, uint64_t doc_freq) {
  auto n = static_cast<double>(doc_count);
  auto df = static_cast<double>(std::min(doc_freq, doc_count));
  return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
}

double bm25_term_score(double idf, uint32_t tf, uint32_t doc_len, double avg_doc_len,
                       const bm25_params& params) {
  if (tf == 0)
    return 0;
  auto f = static_cast<double>(tf);
  auto len_ratio = avg_doc_len > 0 ? static_cast<double>(doc_len) / avg_doc_len : 1.0;
  auto norm = params.k1 * (1.0 - params.b + params.b * len_ratio);
  return idf * f * (params.k1 + 1.0) / (f + norm);
}

double recency_score(int64_t created_ms, int64_t now_ms, int64_t half_life_ms) {
  if (half_life_ms <= 0 || created_ms >= now_ms)
    return 1.0;
  auto age = static_cast<double>(now_ms - created_ms);
  return std::exp2(-age / static_cast<double>(half_life_ms));
}

std::vector<ranked> rank(const std::vector<ranking_candidate>& candidates,
                         const ranking_weights& weights, int64_t now_ms, int64_t half_life_ms,
                         size_t top_k) {
  double best = 0;
  for (const auto& c : candidates)
    best = std::max(best, c.bm25);
  std::vector<ranked> result;
  result.reserve(candidates.size());
  for (const auto& c : candidates) {
    score_breakdown s;
    s.bm25 = c.bm25;
    s.relevance = best > 0 ? c.bm25 / best : 0.0;
    s.recency = recency_score(c.created, now_ms, half_life_ms);
    s.importance = std::clamp(c.importance, 0.0, 1.0);
    s.total = weights.relevance * s.relevance + weights.recency * s.recency +
              weights.importance * s.importance;
    result.push_back(ranked{c.id, s});
  }
  std::sort(result.begin(), result.end(), [](const ranked& x, const ranked& y) {
    if (x.score.total != y.score.total)
      return x.score.total > y.score.total;
    return x.id < y.id;
  });
  if (result.size() > top_k)
    result.resize(top_k);
  return result;
}

} // namespace swarm::memory
