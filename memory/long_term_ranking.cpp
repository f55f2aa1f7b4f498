// Hybrid ranking of long-term memory candidates: BM25 and cosine similarity blended into
// relevance, then weighted with recency and importance (see rank_hybrid in long_term_actor.hpp).
#include <algorithm>

#include "memory/long_term_actor.hpp"

namespace swarm::memory {

std::vector<ltm_hit> rank_hybrid(std::vector<hybrid_candidate> candidates,
                                 const ranking_weights& weights, double vector_share,
                                 int64_t now_ms, int64_t half_life_ms, size_t top_k) {
  double best = 0;
  for (const auto& c : candidates)
    best = std::max(best, c.bm25);
  std::vector<ltm_hit> hits;
  hits.reserve(candidates.size());
  for (auto& c : candidates) {
    ltm_hit h;
    auto lexical = best > 0 ? c.bm25 / best : 0.0;
    auto semantic = std::max(0.0, c.cosine.value_or(0.0));
    h.relevance = (1.0 - vector_share) * lexical + vector_share * semantic;
    h.recency = recency_score(c.record.created, now_ms, half_life_ms);
    h.importance = std::clamp(c.record.importance, 0.0, 1.0);
    h.score = weights.relevance * h.relevance + weights.recency * h.recency +
              weights.importance * h.importance;
    h.id = std::move(c.record.id);
    h.ns = std::move(c.record.ns);
    h.text = std::move(c.record.text);
    hits.push_back(std::move(h));
  }
  std::sort(hits.begin(), hits.end(), [](const ltm_hit& x, const ltm_hit& y) {
    if (x.score != y.score)
      return x.score > y.score;
    return x.id < y.id;
  });
  if (hits.size() > top_k)
    hits.resize(top_k);
  return hits;
}

} // namespace swarm::memory
