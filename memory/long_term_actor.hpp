// The long-term memory actor: writes, hybrid recall (BM25, plus cosine similarity over an
// hnswlib index when an embeddings endpoint is configured), forgetting, and consolidation of a
// run's working memory. Vectors live in the database's `vectors` column family; the index is
// saved next to the database on exit and rebuilt from the column family when its saved copy is
// missing or stale.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "memory/bm25.hpp"
#include "memory/consolidation.hpp"
#include "memory/database.hpp"
#include "memory/long_term.hpp"
#include "memory/vector_index.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/memory_messages.hpp"

namespace swarm::memory {

/// Where texts are embedded.
struct embedding_options {
  /// The LLM client actor that performs embedding_request.
  llm_actor llm;
  /// The OpenAI-compatible endpoint serving /v1/embeddings.
  llm_endpoint endpoint;
  /// The embedding model.
  std::string model;
  /// Deadline of one embedding call. Default: 30 s.
  caf::timespan timeout = std::chrono::seconds(30);
};

/// Options of the long-term memory actor.
struct long_term_memory_options {
  /// Set: hybrid retrieval, and every write is embedded first. None: BM25 alone (no endpoint,
  /// no key needed). Default: none.
  std::optional<embedding_options> embeddings;
  /// BM25 parameters, ranking weights (relevance 0.7, recency 0.2, importance 0.1) and the
  /// recency half-life (7 days).
  long_term_options store;
  /// Share of cosine similarity in a hybrid hit's relevance:
  /// relevance = (1 - share) * bm25 / best bm25 + share * max(0, cosine). Default: 0.5.
  double vector_share = 0.5;
  /// Candidates each retriever contributes to a hybrid recall (at least top_k). Default: 50.
  size_t candidates = 50;
  /// HNSW parameters.
  vector_index_options index;
  /// What consolidation keeps (see consolidation_rule).
  consolidation_rule consolidation;
  /// Where the vector index is saved; empty: `<data_dir>/memory-vectors.hnsw`. Default: empty.
  std::string index_path;
};

/// What hybrid ranking knows about one candidate.
struct hybrid_candidate {
  memory_record record;
  double bm25 = 0;              ///< raw BM25 (0 if only the vector retriever found it)
  std::optional<double> cosine; ///< similarity to the query, if it has a vector
};

/// Ranks hybrid candidates: relevance = (1 - vector_share) * bm25 / best bm25 among the
/// candidates + vector_share * max(0, cosine) (cosine 0 when unknown), then total =
/// weights.relevance * relevance + weights.recency * recency + weights.importance * importance.
/// Best first (ties: smaller id first), at most `top_k`.
std::vector<ltm_hit> rank_hybrid(std::vector<hybrid_candidate> candidates,
                                 const ranking_weights& weights, double vector_share,
                                 int64_t now_ms, int64_t half_life_ms, size_t top_k);

/// Spawns the long-term memory actor over `db`. It opens its vector index at once (loading the
/// saved copy or rebuilding it from the `vectors` column family); errors there make every request
/// fail with that error. Each durable write is reported to `monitor` (if valid) as
/// `event_kind::memory_written` with the record id as text.
long_term_memory_actor spawn_long_term_memory(caf::actor_system& sys, std::shared_ptr<database> db,
                                              long_term_memory_options opts = {},
                                              monitor_actor monitor = {});

/// A vector index as opened by `open_vector_index`.
struct opened_index {
  std::unique_ptr<vector_index> index;
  bool rebuilt = false; ///< true: rebuilt from the column family; false: the saved copy
};

/// Opens the vector index of `db`: the saved copy at `path` if its generation matches the
/// `vectors` column family's, else rebuilt from the column family. Exposed for tests and
/// benchmarks.
[[nodiscard]] caf::expected<opened_index>
open_vector_index(const database& db, const std::string& path, const vector_index_options& opts);

/// The generation of `db`'s `vectors` column family: bumped by every write to it.
[[nodiscard]] caf::expected<uint64_t> vector_generation(const database& db);

} // namespace swarm::memory
