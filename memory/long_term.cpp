// Long-term memory store in the memory database (see long_term.hpp). Layout:
//   records: id -> encoded record (format version, fields)
// The BM25 postings live in memory only (bm25_index), rebuilt from `records`: a write is one
// key per record and nothing else (no counters to read and rewrite). Once the index is built,
// written records wait in `unindexed` until the next search indexes them (deferred indexing, as a
// search engine's refresh), so a write costs no index update and a search still sees every write
// before it. (The `bm25` column family held postings before; it is left empty, see database.cpp.)
#include "memory/long_term.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <unordered_map>

#include "memory/bm25_index.hpp"
#include "memory/detail/db_access.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::memory {

namespace {

using detail::db_access;

/// Format 1 also held the token count after `created`; format 2 drops it (the BM25 index counts
/// tokens itself). Both are read.
constexpr uint8_t record_format = 2;

// --- encoding -----------------------------------------------------------------------------------

void put_u32(std::string& out, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

void put_u64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

/// Reads what the put_* functions wrote; `ok` turns false on a short or malformed input.
struct reader {
  std::string_view in;
  bool ok = true;

  uint64_t uint(int bytes) {
    if (in.size() < static_cast<size_t>(bytes)) {
      ok = false;
      return 0;
    }
    uint64_t x = 0;
    for (int i = 0; i < bytes; ++i)
      x |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    in.remove_prefix(static_cast<size_t>(bytes));
    return x;
  }

  std::string str() {
    auto n = uint(4);
    if (!ok || in.size() < n) {
      ok = false;
      return {};
    }
    std::string s{in.substr(0, n)};
    in.remove_prefix(n);
    return s;
  }
};

std::string encode(const memory_record& rec) {
  std::string out;
  out.push_back(static_cast<char>(record_format));
  put_str(out, rec.id);
  put_str(out, rec.ns);
  put_str(out, rec.text);
  uint64_t importance_bits = 0;
  static_assert(sizeof(double) == sizeof(uint64_t));
  std::memcpy(&importance_bits, &rec.importance, sizeof(double));
  put_u64(out, importance_bits);
  put_u64(out, static_cast<uint64_t>(rec.created));
  put_u32(out, static_cast<uint32_t>(rec.tags.size()));
  for (const auto& tag : rec.tags)
    put_str(out, tag);
  return out;
}

std::optional<memory_record> decode(std::string_view bytes) {
  reader r{bytes};
  auto format = r.uint(1);
  if (format != 1 && format != record_format)
    return std::nullopt;
  memory_record s;
  s.id = r.str();
  s.ns = r.str();
  s.text = r.str();
  auto importance_bits = r.uint(8);
  std::memcpy(&s.importance, &importance_bits, sizeof(double));
  s.created = static_cast<int64_t>(r.uint(8));
  if (format == 1)
    r.uint(4); // token count
  auto tags = r.uint(4);
  for (uint64_t i = 0; r.ok && i < tags; ++i)
    s.tags.push_back(r.str());
  if (!r.ok || !r.in.empty())
    return std::nullopt;
  return s;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace

// --- impl ---------------------------------------------------------------------------------------

struct long_term_store::impl {
  std::shared_ptr<database> owner;
  long_term_options opts;
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* records = nullptr;
  std::string path;
  std::unique_ptr<bm25_index> index; ///< null until built (open_index)
  /// Records written since the index last caught up (only while it is built), by id.
  std::unordered_map<std::string, memory_record> unindexed;
  /// More unindexed records than this are indexed by the write that adds them.
  static constexpr size_t max_unindexed = 50'000;
  mutable std::mutex mtx;

  caf::error fail(const std::string& what, const rocksdb::Status& st) const {
    return db_access::fail(*owner, what, st);
  }

  caf::error corrupt(const std::string& what) const {
    return make_error(errc::io_error, "memory database " + path + ": corrupt database: " + what);
  }

  caf::error write(rocksdb::WriteBatch& batch) const { return db_access::write(*owner, batch); }

  caf::expected<std::optional<memory_record>> read_record(const std::string& id) const {
    std::string value;
    auto st = db->Get(rocksdb::ReadOptions{}, records, id, &value);
    if (st.IsNotFound())
      return std::optional<memory_record>{};
    if (!st.ok())
      return fail("cannot read record '" + id + "'", st);
    auto rec = decode(value);
    if (!rec)
      return corrupt("undecodable record '" + id + "'");
    return rec;
  }

  /// The stored record `id`, if any; without a read when the index knows it is absent.
  caf::expected<std::optional<memory_record>> existing(const std::string& id) const {
    if (index && !index->contains(id) && unindexed.count(id) == 0)
      return std::optional<memory_record>{};
    return read_record(id);
  }

  /// Removes the records whose ids are in `ids`, in one batch with `also` (if any; written even
  /// if no record existed); returns how many existed.
  caf::expected<size_t> erase_ids(const std::vector<std::string>& ids,
                                  rocksdb::WriteBatch* also = nullptr) {
    rocksdb::WriteBatch own;
    auto& batch = also != nullptr ? *also : own;
    std::vector<memory_record> removed;
    for (const auto& id : ids) {
      auto old = existing(id);
      if (!old)
        return old.error();
      if (!*old)
        continue;
      batch.Delete(records, id).PermitUncheckedError();
      removed.push_back(std::move(**old));
    }
    if (batch.Count() == 0)
      return size_t{0};
    if (auto err = write(batch))
      return err;
    for (const auto& rec : removed)
      unindex(rec);
    return removed.size();
  }

  /// Takes the stored record `old` out of the index or the unindexed records.
  void unindex(const memory_record& old) {
    if (index && unindexed.erase(old.id) == 0)
      index->remove(old);
  }

  /// Indexes the unindexed records, oldest first (by creation time, then id).
  void catch_up() {
    std::vector<const memory_record*> order;
    order.reserve(unindexed.size());
    for (const auto& [id, rec] : unindexed)
      order.push_back(&rec);
    std::sort(order.begin(), order.end(), [](const memory_record* a, const memory_record* b) {
      return a->created != b->created ? a->created < b->created : a->id < b->id;
    });
    for (const auto* rec : order)
      index->add(*rec);
    unindexed.clear();
  }

  /// Builds the index from the records, if not built yet.
  caf::error build_index() {
    if (index)
      return {};
    auto fresh = std::make_unique<bm25_index>(bm25_index_options{opts.bm25});
    if (auto err = scan([&](memory_record&& rec) { fresh->add(rec); }))
      return err;
    fresh->prepare_bounds();
    index = std::move(fresh);
    return {};
  }

  /// Calls `fn(record)` for every record, in id order.
  template <class Fn>
  caf::error scan(Fn fn) const {
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(rocksdb::ReadOptions{}, records)};
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto rec = decode(std::string_view{it->value().data(), it->value().size()});
      if (!rec)
        return corrupt("undecodable record '" + it->key().ToString() + "'");
      fn(std::move(*rec));
    }
    if (!it->status().ok())
      return fail("cannot scan records", it->status());
    return {};
  }

  /// Ids of the records for which `pred(record)` holds.
  template <class Pred>
  caf::expected<std::vector<std::string>> select_ids(Pred pred) const {
    std::vector<std::string> ids;
    auto err = scan([&](memory_record&& rec) {
      if (pred(rec))
        ids.push_back(std::move(rec.id));
    });
    if (err)
      return err;
    return ids;
  }
};

// --- construction -----------------------------------------------------------------------------

long_term_store::long_term_store(std::shared_ptr<database> db, long_term_options options)
    : impl_(std::make_unique<impl>()) {
  impl_->db = &db_access::raw(*db);
  impl_->records = db_access::cf(*db, cf_records);
  impl_->path = db->path();
  impl_->opts = options;
  impl_->owner = std::move(db);
}

long_term_store::~long_term_store() = default;

const database& long_term_store::db() const {
  return *impl_->owner;
}

// --- writes -------------------------------------------------------------------------------------

caf::error long_term_store::open_index() {
  std::lock_guard guard{impl_->mtx};
  return impl_->build_index();
}

caf::error long_term_store::put(std::vector<memory_record> records, rocksdb::WriteBatch* also) {
  // Validate everything before writing anything; a later duplicate id wins.
  std::vector<memory_record*> latest;
  latest.reserve(records.size());
  for (auto& rec : records) {
    if (rec.id.empty())
      return make_error(errc::invalid_argument, "memory put: a record has an empty id");
    if (rec.ns.empty())
      return make_error(errc::invalid_argument,
                        "memory put: record '" + rec.id + "' has an empty namespace");
    if (!(rec.importance >= 0.0 && rec.importance <= 1.0))
      return make_error(errc::invalid_argument,
                        "memory put: record '" + rec.id + "' has importance " +
                            std::to_string(rec.importance) + " outside [0, 1]");
    latest.push_back(&rec);
  }
  // In id order (the batch's key order), keeping the last of each id.
  std::stable_sort(latest.begin(), latest.end(),
                   [](const memory_record* a, const memory_record* b) { return a->id < b->id; });
  size_t kept = 0;
  for (size_t i = 0; i < latest.size(); ++i)
    if (i + 1 == latest.size() || latest[i + 1]->id != latest[i]->id)
      latest[kept++] = latest[i];
  latest.resize(kept);
  if (latest.empty() && (also == nullptr || also->Count() == 0))
    return {};
  std::lock_guard guard{impl_->mtx};
  rocksdb::WriteBatch own;
  auto& batch = also != nullptr ? *also : own;
  std::vector<memory_record> replaced; // what the index must forget
  for (const auto* rec : latest) {
    auto old = impl_->existing(rec->id);
    if (!old)
      return old.error();
    if (*old)
      replaced.push_back(std::move(**old));
    batch.Put(impl_->records, rec->id, encode(*rec)).PermitUncheckedError();
  }
  if (auto err = impl_->write(batch))
    return err;
  for (const auto& old : replaced)
    impl_->unindex(old);
  if (impl_->index) {
    for (auto* rec : latest) {
      auto id = rec->id;
      impl_->unindexed.insert_or_assign(std::move(id), std::move(*rec));
    }
    if (impl_->unindexed.size() > impl::max_unindexed)
      impl_->catch_up();
  }
  return {};
}

caf::expected<bool> long_term_store::forget(const std::string& id, rocksdb::WriteBatch* also) {
  std::lock_guard guard{impl_->mtx};
  auto n = impl_->erase_ids({id}, also);
  if (!n)
    return n.error();
  return *n > 0;
}

caf::expected<size_t> long_term_store::forget_namespace(const std::string& ns) {
  std::lock_guard guard{impl_->mtx};
  auto ids = impl_->select_ids([&](const memory_record& r) { return r.ns == ns; });
  if (!ids)
    return ids.error();
  return impl_->erase_ids(*ids);
}

caf::expected<size_t> long_term_store::forget_older_than(const std::optional<std::string>& ns,
                                                         int64_t before) {
  std::lock_guard guard{impl_->mtx};
  auto ids = impl_->select_ids(
      [&](const memory_record& r) { return r.created < before && (!ns || r.ns == *ns); });
  if (!ids)
    return ids.error();
  return impl_->erase_ids(*ids);
}

// --- reads --------------------------------------------------------------------------------------

caf::expected<std::optional<memory_record>> long_term_store::get(const std::string& id) const {
  auto rec = impl_->read_record(id);
  if (!rec)
    return rec.error();
  if (!*rec)
    return std::optional<memory_record>{};
  return rec;
}

caf::expected<store_stats> long_term_store::stats() const {
  store_stats s;
  std::lock_guard guard{impl_->mtx};
  auto err = impl_->scan([&](memory_record&& rec) {
    ++s.doc_count;
    s.total_length += token_count(rec.text);
  });
  if (err)
    return err;
  return s;
}

caf::expected<std::vector<memory_record>>
long_term_store::all(const std::optional<std::string>& ns) const {
  std::vector<memory_record> result;
  std::lock_guard guard{impl_->mtx};
  auto err = impl_->scan([&](memory_record&& rec) {
    if (!ns || rec.ns == *ns)
      result.push_back(std::move(rec));
  });
  if (err)
    return err;
  return result;
}

caf::expected<std::map<std::string, uint64_t>> long_term_store::namespaces() const {
  std::map<std::string, uint64_t> result;
  std::lock_guard guard{impl_->mtx};
  auto err = impl_->scan([&](memory_record&& rec) { ++result[rec.ns]; });
  if (err)
    return err;
  return result;
}

caf::expected<std::vector<search_hit>>
long_term_store::bm25_top(const std::string& query, const std::set<std::string>& namespaces,
                          size_t k) {
  std::vector<search_hit> out;
  std::lock_guard guard{impl_->mtx};
  if (auto err = impl_->build_index())
    return err;
  impl_->catch_up();
  for (auto& h : impl_->index->search(query, k, namespaces)) {
    auto rec = impl_->read_record(h.id);
    if (!rec)
      return rec.error();
    if (!*rec)
      return impl_->corrupt("indexed record '" + h.id + "' is missing");
    search_hit hit;
    hit.record = std::move(**rec);
    hit.score.bm25 = h.bm25;
    out.push_back(std::move(hit));
  }
  return out;
}

caf::expected<std::vector<search_hit>> long_term_store::search(const std::string& query,
                                                               const search_options& opts) {
  std::vector<search_hit> hits;
  if (opts.top_k == 0)
    return hits;
  std::lock_guard guard{impl_->mtx};
  if (auto err = impl_->build_index())
    return err;
  impl_->catch_up();
  std::vector<ranking_candidate> candidates;
  auto k = std::max(opts.candidates, opts.top_k);
  for (auto& h : impl_->index->search(query, k, opts.namespaces))
    candidates.push_back(ranking_candidate{std::move(h.id), h.bm25, h.created, h.importance});
  auto now = opts.now != 0 ? opts.now : now_ms();
  auto ranked =
      rank(candidates, impl_->opts.weights, now, impl_->opts.half_life.count(), opts.top_k);
  // The hits' records, in one MultiGet.
  std::vector<rocksdb::Slice> keys;
  for (const auto& r : ranked)
    keys.emplace_back(r.id);
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet(rocksdb::ReadOptions{}, impl_->records, keys.size(), keys.data(),
                      values.data(), statuses.data());
  for (size_t i = 0; i < ranked.size(); ++i) {
    const auto& id = ranked[i].id;
    if (statuses[i].IsNotFound())
      return impl_->corrupt("indexed record '" + id + "' is missing");
    if (!statuses[i].ok())
      return impl_->fail("cannot read record '" + id + "'", statuses[i]);
    auto rec = decode(std::string_view{values[i].data(), values[i].size()});
    if (!rec)
      return impl_->corrupt("undecodable record '" + id + "'");
    hits.push_back(search_hit{std::move(*rec), ranked[i].score});
  }
  return hits;
}

} // namespace swarm::memory
