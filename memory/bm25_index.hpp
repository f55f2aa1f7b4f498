// The BM25 inverted index of the long-term records, in memory: the long-term store builds it
// from its `records` column family on first use and keeps it in step with every write (no
// postings are stored in RocksDB). Top-k is document-at-a-time with MaxScore and
// block-max pruning (Ding & Suel, SIGIR 2011): postings are in document order, cut into blocks of
// 64, each block with an upper bound of its term scores; query terms whose bounds together
// cannot reach the current k-th best score only complete the scores of candidates from the
// other terms, and ranges of documents whose block bounds cannot reach it are skipped whole.
// Exact, but for very common terms in large stores (bm25_index_options).
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

/// One document's BM25 score, with what ranking needs besides it.
struct bm25_hit {
  std::string id;
  double bm25 = 0;
  int64_t created = 0;   ///< the record's creation time
  double importance = 0; ///< the record's importance
};

/// Limits of the BM25 search for very common terms, which carry little information (idf near 0)
/// and whose postings cover most of the store. They apply only to stores of more than
/// `common_scan` records; smaller ones are always searched exactly.
struct bm25_index_options {
  /// BM25 parameters. Default: k1 = 1.2, b = 0.75.
  bm25_params bm25;
  /// A term in more than this share of the records is "common": it adds to the scores of the
  /// records that rarer query terms bring in, and brings in none itself (as Lucene's
  /// CommonTermsQuery). Default: 0.1.
  double common_share = 0.1;
  /// When every query term is common, the candidates are the records of the rarest of them among
  /// its last this many postings: the most recently indexed records (the long-term store indexes
  /// in id order at start, which is time order for the actor's ids, then in write order;
  /// postings of removed records count until compaction). Default: 20,000.
  size_t common_scan = 20'000;
};

/// In-memory BM25 index of memory records (id, namespace, text). Not thread-safe: one owner.
class bm25_index {
public:
  explicit bm25_index(bm25_index_options opts = {});

  /// Indexes `rec`; returns its token count. A record with the same id must have been removed
  /// first (see `contains`); indexing an id twice is a programming error (asserted).
  uint32_t add(const memory_record& rec);

  /// Removes the record indexed under `rec.id`, whose text must be `rec.text` as it was added;
  /// returns whether it was indexed.
  bool remove(const memory_record& rec);

  /// True if a record with `id` is indexed.
  bool contains(const std::string& id) const { return by_id_.count(id) > 0; }

  /// Live records.
  size_t size() const { return live_; }

  /// Computes every term's score bounds for the current average length now (after a bulk
  /// load); otherwise a search computes a term's on first use, which costs a pass over its
  /// postings. Later adds keep them in step.
  void prepare_bounds();

  /// The `k` records with the highest BM25 score for `query` (ties: smaller id first), only of
  /// the namespaces in `namespaces` (empty: all). IDF and average length are over all records.
  /// Exact (the same hits as scoring every record) for stores up to `common_scan` records and
  /// for queries without common terms; see bm25_index_options for those.
  std::vector<bm25_hit> search(std::string_view query, size_t k,
                               const std::set<std::string>& namespaces = {});

private:
  struct posting {
    uint32_t doc;
    uint16_t tf;  ///< term frequency, at most 65,535 (BM25 saturates long before)
    uint16_t len; ///< the document's token count; 65,535: look it up in docs_
  };
  struct term_entry {
    std::vector<posting> postings;    ///< by doc, ascending; may hold removed docs
    std::vector<uint32_t> block_last; ///< per block of postings: its last document
    /// Per block of postings: the largest tf * (k1 + 1) / (tf + norm) in it with the average
    /// length `ref_avg` (an upper bound while the true average is at most `ref_avg`).
    std::vector<float> block_max;
    float max = 0;      ///< the largest block_max
    double ref_avg = 0; ///< 0: block_max not computed yet
    uint64_t df = 0;    ///< live documents containing the term
  };
  struct doc_info {
    uint32_t length = 0;
    uint32_t ns = 0;
    bool alive = false;
    int64_t created = 0;
    double importance = 0;
  };

  uint32_t length_of(const posting& p) const;
  uint32_t term_number(const std::string& term);
  uint32_t ns_number(const std::string& ns);
  /// Makes `e.block_max` a valid bound for the average length `avg`.
  void refresh_bounds(term_entry& e, double avg);
  /// Renumbers the live documents, dropping the postings of removed ones.
  void compact();

  bm25_index_options opts_;
  bm25_params params_;
  std::unordered_map<std::string, uint32_t> term_numbers_;
  std::vector<term_entry> terms_;
  std::unordered_map<std::string, uint32_t> ns_numbers_;
  std::vector<doc_info> docs_;
  std::vector<std::string> ids_;
  std::unordered_map<std::string, uint32_t> by_id_;
  uint64_t live_ = 0;
  uint64_t total_length_ = 0;
};

} // namespace swarm::memory
