// Approximate nearest-neighbour search over memory vectors: an HNSW graph (hnswlib, kept inside
// vector_index.cpp) on normalised vectors, so inner product is cosine similarity. The index is a
// cache: the vectors themselves live in RocksDB's `vectors` column family (see the long-term
// memory actor), and a saved index is used only if its generation matches the database's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace swarm::memory {

/// HNSW parameters.
struct vector_index_options {
  /// Graph degree (hnswlib M). Default: 16.
  size_t m = 16;
  /// Candidate list size while inserting. Default: 100.
  size_t ef_construction = 100;
  /// Candidate list size while searching (raised to k when k is larger); higher finds more of
  /// the true nearest neighbours at some latency (bench/RESULTS.md). Default: 128.
  size_t ef_search = 128;
  /// Elements allocated up front; the index doubles when full. Default: 1024.
  size_t initial_capacity = 1024;
};

/// One neighbour: the memory id and its cosine similarity to the query, in [-1, 1].
struct vector_hit {
  std::string id;
  double similarity = 0;
};

/// `v` scaled to unit length; `invalid_argument` for an empty, all-zero or non-finite vector.
caf::expected<std::vector<float>> normalized(std::vector<float> v);

/// The stored form of a vector in the `vectors` column family: dimension (u32 little endian)
/// followed by the float32 components (little endian).
std::string encode_vector(const std::vector<float>& v);

/// Reads what `encode_vector` wrote; none for a malformed value.
std::optional<std::vector<float>> decode_vector(std::string_view bytes);

/// An HNSW index of unit vectors addressed by memory id, all of one dimension (fixed by the
/// first vector added). Forgotten ids are marked deleted (hnswlib markDelete) and skipped by
/// searches; adding an id again reuses its slot. Not thread-safe: one owner (an actor) uses it.
class vector_index {
public:
  /// An empty index; `dim` 0 means "the dimension of the first vector added".
  explicit vector_index(size_t dim = 0, vector_index_options opts = {});
  ~vector_index();

  vector_index(const vector_index&) = delete;
  vector_index& operator=(const vector_index&) = delete;

  /// The vectors' dimension (0 until the first add when constructed without one).
  size_t dim() const;

  /// Live (not deleted) vectors.
  size_t size() const;

  /// Whether `id` has a live vector.
  bool contains(const std::string& id) const;

  /// Adds (or replaces) the vector of `id`, normalised. `invalid_argument` for an empty id, a
  /// dimension other than `dim()`, or a vector `normalized` refuses.
  [[nodiscard]] caf::error add(const std::string& id, std::vector<float> vec);

  /// Marks `id` deleted; returns whether it was live.
  bool remove(const std::string& id);

  /// The `k` live vectors most similar to `query` (normalised here) for which `accept(id)` holds
  /// (no predicate: all), most similar first. Searches wider until `k` are accepted or every
  /// live vector was seen. `invalid_argument` for a query `normalized` refuses or of another
  /// dimension; an empty index yields no hit.
  [[nodiscard]] caf::expected<std::vector<vector_hit>>
  search(std::vector<float> query, size_t k,
         const std::function<bool(const std::string&)>& accept = {}) const;

  /// Writes the index to `path` and its id table, `generation` and the index file's size to
  /// `path + ".meta"` (each through a temporary file renamed into place, the table last).
  /// `io_error` naming the path on failure.
  [[nodiscard]] caf::error save(const std::string& path, uint64_t generation) const;

  /// Reads an index saved with `save`. None when the files are missing, do not belong together,
  /// or were saved at another generation than `generation` (the caller rebuilds); `io_error` only
  /// for files that exist but cannot be read.
  [[nodiscard]] static caf::expected<std::unique_ptr<vector_index>>
  load(const std::string& path, uint64_t generation, vector_index_options opts = {});

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::memory
