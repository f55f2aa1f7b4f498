// The `vectors` column family of the long-term memory: its generation, its stored vectors, and
// the vector index opened from it. Layout:
//   "" (the empty key, never a record id) -> generation, u64 little endian, bumped by each write
//   id -> encode_vector(embedding as returned by the endpoint)
// The saved index is trusted only at the generation it was saved at; anything written after it
// makes it stale and the next start rebuilds it.
#include "memory/detail/long_term_vectors.hpp"

#include <memory>

#include "memory/detail/db_access.hpp"
#include "memory/encoding.hpp"
#include "memory/long_term_actor.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::memory {

namespace detail {

std::string generation_bytes(uint64_t g) {
  std::string out;
  encoding::put_u64(out, g);
  return out;
}

caf::expected<std::optional<std::vector<float>>> read_vector(const database& db,
                                                             const std::string& id) {
  std::string value;
  auto st =
      db_access::raw(db).Get(rocksdb::ReadOptions{}, db_access::cf(db, cf_vectors), id, &value);
  if (st.IsNotFound())
    return std::optional<std::vector<float>>{};
  if (!st.ok())
    return db_access::fail(db, "cannot read vector '" + id + "'", st);
  auto v = decode_vector(value);
  if (!v)
    return make_error(errc::io_error, "memory database " + db.path() +
                                          ": corrupt database: undecodable vector '" + id + "'");
  return std::optional<std::vector<float>>{std::move(*v)};
}

} // namespace detail

using detail::db_access;
using detail::generation_key;

caf::expected<uint64_t> vector_generation(const database& db) {
  std::string value;
  auto st =
      db_access::raw(db).Get(rocksdb::ReadOptions{}, db_access::cf(db, cf_vectors),
                             rocksdb::Slice{generation_key.data(), generation_key.size()}, &value);
  if (st.IsNotFound())
    return uint64_t{0};
  if (!st.ok())
    return db_access::fail(db, "cannot read the vector generation", st);
  encoding::reader r{value};
  auto g = r.uint(8);
  if (!r.ok || !r.in.empty())
    return make_error(errc::io_error,
                      "memory database " + db.path() + ": corrupt database: bad vector generation");
  return g;
}

caf::expected<opened_index> open_vector_index(const database& db, const std::string& path,
                                              const vector_index_options& opts) {
  auto generation = vector_generation(db);
  if (!generation)
    return generation.error();
  auto saved = vector_index::load(path, *generation, opts);
  if (!saved)
    return saved.error();
  if (*saved)
    return opened_index{std::move(*saved), false};
  opened_index result{std::make_unique<vector_index>(0, opts), true};
  std::unique_ptr<rocksdb::Iterator> it{
      db_access::raw(db).NewIterator(rocksdb::ReadOptions{}, db_access::cf(db, cf_vectors))};
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().empty())
      continue; // the generation
    auto id = it->key().ToString();
    auto v = decode_vector(std::string_view{it->value().data(), it->value().size()});
    if (!v)
      return make_error(errc::io_error, "memory database " + db.path() +
                                            ": corrupt database: undecodable vector '" + id + "'");
    if (auto err = result.index->add(id, std::move(*v)))
      return make_error(errc::io_error, "memory database " + db.path() +
                                            ": cannot rebuild the vector index: " + describe(err));
  }
  if (!it->status().ok())
    return db_access::fail(db, "cannot scan vectors", it->status());
  return result;
}

} // namespace swarm::memory
