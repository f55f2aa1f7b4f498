// One long-term memory: the unit the store writes, indexes, retrieves and forgets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace swarm::memory {

/// A remembered fact. Records are addressed by `id`, grouped by namespace.
struct memory_record {
  /// Unique key within the store; non-empty. Writing an existing id replaces the record.
  std::string id;
  /// Owner, e.g. "agent:team/a" (one agent) or "swarm:team" (shared); non-empty.
  std::string ns;
  /// The remembered text; indexed for BM25 retrieval.
  std::string text;
  /// How much the writer cares about this record, in [0, 1].
  double importance = 0.5;
  /// Creation time, Unix milliseconds.
  int64_t created = 0;
  /// Free-form labels.
  std::vector<std::string> tags;

  friend bool operator==(const memory_record&, const memory_record&) = default;
};

} // namespace swarm::memory
