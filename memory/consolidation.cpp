// Near-duplicate merging of long-term memories (see consolidation.hpp).
#include "memory/consolidation.hpp"

#include <algorithm>
#include <set>

#include "memory/bm25.hpp"

namespace swarm::memory {

namespace {

using token_set = std::set<std::string>;

token_set token_set_of(std::string_view text) {
  auto tokens = tokenize(text);
  return token_set(tokens.begin(), tokens.end());
}

double jaccard(const token_set& a, const token_set& b) {
  if (a.empty() && b.empty())
    return 1.0;
  size_t common = 0;
  for (const auto& t : a)
    common += b.count(t);
  auto all = a.size() + b.size() - common;
  return static_cast<double>(common) / static_cast<double>(all);
}

} // namespace

double jaccard_similarity(std::string_view a, std::string_view b) {
  return jaccard(token_set_of(a), token_set_of(b));
}

merge_result merge_near_duplicates(std::vector<memory_record> records, double threshold) {
  std::stable_sort(
      records.begin(), records.end(),
      [](const memory_record& x, const memory_record& y) { return x.created < y.created; });
  merge_result result;
  std::vector<token_set> kept_tokens;
  for (auto& rec : records) {
    auto tokens = token_set_of(rec.text);
    size_t idx = 0;
    while (idx < result.records.size() &&
           !(result.records[idx].ns == rec.ns && jaccard(kept_tokens[idx], tokens) >= threshold))
      ++idx;
    if (idx == result.records.size()) {
      result.records.push_back(std::move(rec));
      kept_tokens.push_back(std::move(tokens));
      continue;
    }
    // Visiting oldest first, `rec` is never older than the survivor: it supplies id and text.
    auto& kept = result.records[idx];
    if (kept.id != rec.id)
      result.merged_ids.push_back(kept.id);
    std::set<std::string> tags(kept.tags.begin(), kept.tags.end());
    tags.insert(rec.tags.begin(), rec.tags.end());
    rec.importance = std::max(kept.importance, rec.importance);
    rec.tags.assign(tags.begin(), tags.end());
    kept = std::move(rec);
    kept_tokens[idx] = std::move(tokens);
  }
  return result;
}

} // namespace swarm::memory
