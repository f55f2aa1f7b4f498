// Consolidation: the rule that picks the salient working-memory notes of a run and turns them
// into long-term records, and folding near-duplicate records into one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "memory/record.hpp"
#include "runtime/core/memory_messages.hpp"

namespace swarm::memory {

/// Jaccard similarity |a ∩ b| / |a ∪ b| of the token sets (see `tokenize`) of two texts.
/// Two texts without any token are identical (1).
double jaccard_similarity(std::string_view a, std::string_view b);

/// The outcome of `merge_near_duplicates`.
struct merge_result {
  /// The surviving records, ordered by the creation time of the oldest member of their group
  /// (stable for equal times).
  std::vector<memory_record> records;
  /// Ids of input records folded into another one (gone from `records`).
  std::vector<std::string> merged_ids;
};

/// Merges records of the same namespace whose token sets have a Jaccard similarity >=
/// `threshold`. Records are visited oldest first; each is compared with the surviving records
/// of its namespace and folded into the first similar one. The merged record keeps the id, text
/// and creation time of the newer record, the higher importance and the union of the tags
/// (sorted, without duplicates).
merge_result merge_near_duplicates(std::vector<memory_record> records, double threshold = 0.9);

/// Which working-memory notes become long-term records at the end of a run, and how.
/// The rule (docs/memory.md, "Consolidation"): a note is salient when its kind is one of
/// `kinds` and its importance is at least `min_importance`; its text is shortened to
/// `max_chars`; a salient note whose token set has a Jaccard similarity of at least
/// `merge_threshold` with an existing record of the namespace is merged into that record.
struct consolidation_rule {
  /// Kinds that may become long-term. Default: fact, result.
  std::vector<std::string> kinds = {"fact", "result"};
  /// Least importance of a salient note. Default: 0.5.
  double min_importance = 0.5;
  /// Longest text kept, in bytes (cut at a word boundary, "..." appended). Default: 500.
  size_t max_chars = 500;
  /// Jaccard similarity from which a note merges with an existing record. Default: 0.8.
  double merge_threshold = 0.8;
};

/// Whether `note` passes the salience rule (kind and importance; empty texts never do).
bool is_salient(const wm_note& note, const consolidation_rule& rule);

/// `text` cut to at most `max_chars` bytes: at the last space before the limit if there is
/// one (else at the limit, never inside a UTF-8 sequence), with "..." appended (within the
/// limit). Texts that fit are returned unchanged, trimmed of surrounding white space.
std::string shorten(std::string_view text, size_t max_chars);

/// The long-term record a salient note becomes in namespace `ns`: id "wm:" + note id (so that
/// consolidating a run twice writes the same ids), the shortened text, the note's importance
/// and time, tags "source=run:RUN", "kind=KIND" and "author=SWARM/NAME".
memory_record record_of(const wm_note& note, const std::string& ns, const consolidation_rule& rule);

} // namespace swarm::memory
