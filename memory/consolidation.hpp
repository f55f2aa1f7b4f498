// Consolidation of long-term memory: folding near-duplicate records into one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "memory/record.hpp"

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

} // namespace swarm::memory
