// Long-term memory store: records in the data directory's memory database, an in-memory BM25
// inverted index over them, ranked retrieval that mixes relevance, recency and importance, and
// forgetting by id, namespace or age. RocksDB stays behind the pimpl: nothing here includes its
// headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "memory/bm25.hpp"
#include "memory/database.hpp"
#include "memory/record.hpp"

namespace rocksdb {
class WriteBatch;
} // namespace rocksdb

namespace swarm::memory {

/// Per-store options (durability is the database's: see database_options).
struct long_term_options {
  /// BM25 parameters. Default: k1 = 1.2, b = 0.75.
  bm25_params bm25;
  /// Weights of relevance, recency and importance in a hit's score. Default: 0.7, 0.2, 0.1.
  ranking_weights weights;
  /// Age at which the recency score halves. Default: 7 days.
  std::chrono::milliseconds half_life = std::chrono::hours{24 * 7};
};

/// Per-query options.
struct search_options {
  /// Only records of exactly these namespaces. Default (empty): every namespace.
  std::set<std::string> namespaces;
  /// At most this many hits. Default: 10.
  size_t top_k = 10;
  /// "Now" for the recency score, Unix milliseconds. Default (0): the system clock.
  int64_t now = 0;
  /// The records ranked are this many best BM25 matches (at least top_k). Default: 50.
  size_t candidates = 50;
};

/// One retrieved record and why it ranks where it does.
struct search_hit {
  memory_record record;
  score_breakdown score;
};

/// Size of a store.
struct store_stats {
  uint64_t doc_count = 0;    ///< records in the store
  uint64_t total_length = 0; ///< sum of the records' token counts
};

/// The long-term memory of one data directory, in the column family `records` (id -> record)
/// of its memory database. Every write is one atomic WriteBatch through the WAL. The BM25 postings
/// are not stored: the store builds its in-memory index (bm25_index) from the records when first
/// asked to search (or by `open_index`) and keeps it in step with its own writes, so a database has
/// one store at a time. IDF and average document length are computed over the whole store, whatever
/// the namespace filter. Thread-safe: members serialise on an internal mutex.
class long_term_store {
public:
  /// A store in `db`, which it keeps open.
  explicit long_term_store(std::shared_ptr<database> db, long_term_options options = {});

  ~long_term_store();

  long_term_store(const long_term_store&) = delete;
  long_term_store& operator=(const long_term_store&) = delete;

  /// The database this store lives in.
  const database& db() const;

  /// Builds the in-memory BM25 index from the records now, if not built yet (searches build it
  /// on first use otherwise). `io_error` if a record cannot be read.
  [[nodiscard]] caf::error open_index();

  /// Writes `records` in one atomic batch, and with them whatever `also`
  /// holds (memory/ internal: the long-term actor's vectors). A record whose id exists replaces
  /// it; within one call a later duplicate id wins. `invalid_argument` for an empty id or
  /// namespace or an importance outside [0, 1] (nothing written); `storage_full` if the disk is
  /// full; `io_error` if RocksDB fails otherwise.
  [[nodiscard]] caf::error put(std::vector<memory_record> records,
                               rocksdb::WriteBatch* also = nullptr);

  /// The record with `id`, or none.
  [[nodiscard]] caf::expected<std::optional<memory_record>> get(const std::string& id) const;

  /// Removes the record with `id`, in one batch with whatever `also` holds (written even when
  /// the record does not exist); returns whether it existed.
  [[nodiscard]] caf::expected<bool> forget(const std::string& id,
                                           rocksdb::WriteBatch* also = nullptr);

  /// Removes every record of namespace `ns`; returns how many.
  [[nodiscard]] caf::expected<size_t> forget_namespace(const std::string& ns);

  /// Removes every record created strictly before `before` (Unix ms), only in namespace `ns`
  /// if given; returns how many.
  [[nodiscard]] caf::expected<size_t> forget_older_than(const std::optional<std::string>& ns,
                                                        int64_t before);

  /// The `opts.candidates` records with the best BM25 score for `query`, ranked (see `rank`) and
  /// cut to `opts.top_k`; only those are read from RocksDB. A query with no term left after
  /// tokenizing yields no hit.
  [[nodiscard]] caf::expected<std::vector<search_hit>> search(const std::string& query,
                                                              const search_options& opts = {});

  /// The `k` records with the best BM25 score for `query` (only `score.bm25` set), best first,
  /// only of the namespaces in `namespaces` (empty: all).
  [[nodiscard]] caf::expected<std::vector<search_hit>>
  bm25_top(const std::string& query, const std::set<std::string>& namespaces, size_t k);

  /// Record count and total token count (a scan of every record).
  [[nodiscard]] caf::expected<store_stats> stats() const;

  /// Every record (only those of namespace `ns` if given), in id order.
  [[nodiscard]] caf::expected<std::vector<memory_record>>
  all(const std::optional<std::string>& ns = std::nullopt) const;

  /// Number of records per namespace.
  [[nodiscard]] caf::expected<std::map<std::string, uint64_t>> namespaces() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::memory
