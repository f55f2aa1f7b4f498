// An in-memory BM25 inverted index over the long-term records, for fast top-k retrieval: the
// postings in RocksDB (`bm25` column family) are the durable copy, this is the long-term memory
// actor's working copy, built from the records at start and kept in step with every write.
// Top-k uses term-at-a-time scoring with max-score pruning: terms are scored rarest first,
// and once no document outside the current top k could still overtake it, the remaining
// terms only complete the scores of documents already seen. Same formulas as
// long_term_store::search (bm25.hpp); exact but for very common terms in large stores
// (bm25_index_options).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "memory/bm25.hpp"
#include "memory/record.hpp"

namespace swarm::memory {

/// One document's BM25 score.
struct bm25_hit {
  std::string id;
  double bm25 = 0;
};

/// Limits of the in-memory BM25 search. They apply only to stores of more than `common_scan`
/// records; smaller ones are always searched exactly.
struct bm25_index_options {
  /// BM25 parameters. Default: k1 = 1.2, b = 0.75.
  bm25_params bm25;
  /// A term in more than this share of the records is "common": it adds to the scores of
  /// records that match a rarer query term but brings in no candidates of its own. Default: 0.1.
  double common_share = 0.1;
  /// When every query term is common, only this many of the newest records containing the
  /// rarest of them are candidates. Default: 20,000.
  size_t common_scan = 20'000;
};

/// In-memory BM25 index of memory records (id, namespace, text). Not thread-safe: one owner.
class bm25_index {
public:
  explicit bm25_index(bm25_index_options opts = {});

  /// Indexes `rec` (replacing the record with the same id, if any).
  void add(const memory_record& rec);

  /// Removes the record `id`; returns whether it was indexed.
  bool remove(const std::string& id);

  /// Live records.
  size_t size() const { return live_; }

  /// The `k` records with the highest BM25 score for `query` (ties: smaller id first), only of
  /// the namespaces in `namespaces` (empty: all). IDF and average length are over all records.
  /// Exact for stores up to `common_scan` records and for queries without common terms (see
  /// bm25_index_options).
  std::vector<bm25_hit> search(std::string_view query, size_t k,
                               const std::set<std::string>& namespaces = {});

private:
  struct posting {
    uint32_t doc;
    uint32_t tf;
  };
  struct term_entry {
    std::vector<posting> postings; ///< by doc, ascending; may hold dead docs
    uint64_t df = 0;               ///< live documents containing the term
  };
  struct doc {
    std::string id;
    std::vector<uint32_t> terms; ///< term numbers, for removal
    uint32_t length = 0;
    uint32_t ns = 0;
    bool alive = false;
  };

  uint32_t term_number(const std::string& term);
  uint32_t ns_number(const std::string& ns);

  bm25_index_options opts_;
  bm25_params params_;
  std::unordered_map<std::string, uint32_t> term_numbers_;
  std::vector<term_entry> terms_;
  std::unordered_map<std::string, uint32_t> ns_numbers_;
  std::vector<doc> docs_;
  std::unordered_map<std::string, uint32_t> by_id_;
  uint64_t live_ = 0;
  uint64_t total_length_ = 0;
  std::vector<float> acc_;        ///< scratch: score per doc during a search
  std::vector<uint32_t> touched_; ///< scratch: docs with a score
};

} // namespace swarm::memory
