// Long-term memory store: records in the data directory's memory database with a BM25 inverted
// index, ranked retrieval that mixes relevance, recency and importance, and forgetting by id,
// namespace or age. RocksDB stays behind the pimpl: nothing here includes its headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "memory/bm25.hpp"
#include "memory/database.hpp"
#include "memory/record.hpp"

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
  /// Only records of exactly this namespace. Default: every namespace.
  std::optional<std::string> ns;
  /// At most this many hits. Default: 10.
  size_t top_k = 10;
  /// "Now" for the recency score, Unix milliseconds. Default (0): the system clock.
  int64_t now = 0;
};

/// One retrieved record and why it ranks where it does.
struct search_hit {
  memory_record record;
  score_breakdown score;
};

/// Counters kept in the `meta` column family.
struct store_stats {
  uint64_t doc_count = 0;    ///< records in the store
  uint64_t total_length = 0; ///< sum of the records' token counts
};

/// The long-term memory of one data directory, in the column families `records` (id ->
/// record), `bm25` (term NUL id -> term frequency) and `meta` (document count, total length) of
/// its memory database. Every write is one atomic WriteBatch through the WAL.
/// IDF and average document length are computed over the whole store, whatever the namespace
/// filter. Thread-safe: members serialise on an internal mutex (one store per database).
class long_term_store {
public:
  /// A store in `db`, which it keeps open.
  explicit long_term_store(std::shared_ptr<database> db, long_term_options options = {});

  ~long_term_store();

  long_term_store(const long_term_store&) = delete;
  long_term_store& operator=(const long_term_store&) = delete;

  /// The database this store lives in.
  const database& db() const;

  /// Writes `records` in one atomic batch (record, postings, counters). A record whose id exists
  /// replaces it (old postings removed); within one call a later duplicate id wins.
  /// `invalid_argument` for an empty id or namespace or an importance outside [0, 1] (nothing
  /// written); `storage_full` if the disk is full; `io_error` if RocksDB fails otherwise.
  [[nodiscard]] caf::error put(const std::vector<memory_record>& records);

  /// The record with `id`, or none.
  [[nodiscard]] caf::expected<std::optional<memory_record>> get(const std::string& id) const;

  /// Removes the record with `id` and its postings; returns whether it existed.
  [[nodiscard]] caf::expected<bool> forget(const std::string& id);

  /// Removes every record of namespace `ns`; returns how many.
  [[nodiscard]] caf::expected<size_t> forget_namespace(const std::string& ns);

  /// Removes every record created strictly before `before` (Unix ms), only in namespace `ns`
  /// if given; returns how many.
  [[nodiscard]] caf::expected<size_t> forget_older_than(const std::optional<std::string>& ns,
                                                        int64_t before);

  /// The records matching at least one query term, best first (see `rank`). A query with no
  /// term left after tokenizing yields no hit.
  [[nodiscard]] caf::expected<std::vector<search_hit>>
  search(const std::string& query, const search_options& opts = {}) const;

  /// Document count and total length, as kept in `meta`.
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
