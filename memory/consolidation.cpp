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

bool is_salient(const wm_note& note, const consolidation_rule& rule) {
  if (note.importance < rule.min_importance ||
      note.text.find_first_not_of(" \t\r\n") == std::string::npos)
    return false;
  return std::find(rule.kinds.begin(), rule.kinds.end(), note.kind) != rule.kinds.end();
}

std::string shorten(std::string_view text, size_t max_chars) {
  constexpr std::string_view blanks = " \t\r\n";
  auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos)
    return {};
  text = text.substr(first, text.find_last_not_of(blanks) - first + 1);
  if (text.size() <= max_chars)
    return std::string{text};
  constexpr std::string_view ellipsis = "...";
  if (max_chars <= ellipsis.size())
    return std::string{ellipsis.substr(0, max_chars)};
  auto limit = max_chars - ellipsis.size();
  auto cut = text.rfind(' ', limit);
  if (cut == std::string_view::npos || cut == 0) {
    cut = limit;
    // Never split a UTF-8 sequence: back up over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut;
  }
  auto kept = text.substr(0, cut);
  kept = kept.substr(0, kept.find_last_not_of(blanks) + 1);
  return std::string{kept} + std::string{ellipsis};
}

memory_record record_of(const wm_note& note, const std::string& ns,
                        const consolidation_rule& rule) {
  memory_record rec;
  rec.id = "wm:" + note.id;
  rec.ns = ns;
  rec.text = shorten(note.text, rule.max_chars);
  rec.importance = note.importance;
  rec.created = note.time_ms;
  rec.tags = {"author=" + note.author.str(), "kind=" + note.kind, "source=run:" + note.run_id};
  return rec;
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
