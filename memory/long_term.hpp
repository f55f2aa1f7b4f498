// Long-term memory store: records in RocksDB with a BM25 inverted index, ranked retrieval that
// mixes relevance, recency and importance, and forgetting by id, namespace or age.
// RocksDB stays behind the pimpl: nothing here includes its headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "memory/bm25.hpp"
#include "memory/record.hpp"

namespace swarm::memory {

/// Per-store options.
struct long_term_options {
  /// Sync the write-ahead log to disk before a write returns (RocksDB WriteOptions::sync).
  /// Without it a write survives a process crash, not a machine crash. Default: false.
  bool sync = false;
  /// Create the directory and the database when the directory is missing or empty. Default: true.
  bool create_if_missing = true;
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

/// The long-term memory of one data directory: one RocksDB database with the column families
/// `records` (id -> record), `bm25` (term NUL id -> term frequency) and `meta` (schema marker,
/// document count, total length). Every write is one atomic WriteBatch through the WAL.
/// IDF and average document length are computed over the whole store, whatever the namespace
/// filter. Thread-safe: members serialise on an internal mutex.
class long_term_store {
public:
  /// The schema marker stored under `meta/schema`.
  static constexpr std::string_view schema_marker = "smolswarms.memory.v1";

  /// Opens (or, if the directory is missing or empty, creates) the store in `path`.
  /// Errors (`io_error`, message naming the path): the directory holds something other than a
  /// SmolSwarms memory store (a foreign RocksDB database, other files) -- left untouched; the
  /// database is corrupt; the database is locked by another process.
  [[nodiscard]] static caf::expected<std::unique_ptr<long_term_store>>
  open(const std::string& path, long_term_options options = {});

  /// Closes the database (flushes nothing beyond what the WAL already holds).
  ~long_term_store();

  long_term_store(const long_term_store&) = delete;
  long_term_store& operator=(const long_term_store&) = delete;

  /// The directory this store lives in.
  const std::string& path() const;

  /// Writes `records` in one atomic batch (record, postings, counters). A record whose id exists
  /// replaces it (old postings removed); within one call a later duplicate id wins.
  /// `invalid_argument` for an empty id or namespace or an importance outside [0, 1] (nothing
  /// written); `io_error` if RocksDB fails.
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

private:
  struct impl;
  explicit long_term_store(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::memory
