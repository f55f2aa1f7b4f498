// Long-term memory store in the memory database (see long_term.hpp). Layout:
//   records: id -> encoded record (format version, fields, token count)
//   bm25:    term NUL id -> term frequency (u32 little endian); one key per posting, so a write
//            never has to read-modify-write a postings list
//   meta:    "schema" -> schema marker, "doc_count" / "total_length" -> u64 little endian
#include "memory/long_term.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string_view>

#include "memory/detail/db_access.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::memory {

namespace {

using detail::db_access;

constexpr std::string_view key_doc_count = "doc_count";
constexpr std::string_view key_total_length = "total_length";
constexpr uint8_t record_format = 1;

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

std::string u64_bytes(uint64_t x) {
  std::string out;
  put_u64(out, x);
  return out;
}

std::string u32_bytes(uint32_t x) {
  std::string out;
  put_u32(out, x);
  return out;
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

struct stored_record {
  memory_record rec;
  uint32_t length = 0; // token count
};

std::string encode(const memory_record& rec, uint32_t length) {
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
  put_u32(out, length);
  put_u32(out, static_cast<uint32_t>(rec.tags.size()));
  for (const auto& tag : rec.tags)
    put_str(out, tag);
  return out;
}

std::optional<stored_record> decode(std::string_view bytes) {
  reader r{bytes};
  if (r.uint(1) != record_format)
    return std::nullopt;
  stored_record s;
  s.rec.id = r.str();
  s.rec.ns = r.str();
  s.rec.text = r.str();
  auto importance_bits = r.uint(8);
  std::memcpy(&s.rec.importance, &importance_bits, sizeof(double));
  s.rec.created = static_cast<int64_t>(r.uint(8));
  s.length = static_cast<uint32_t>(r.uint(4));
  auto tags = r.uint(4);
  for (uint64_t i = 0; r.ok && i < tags; ++i)
    s.rec.tags.push_back(r.str());
  if (!r.ok || !r.in.empty())
    return std::nullopt;
  return s;
}

std::string posting_prefix(std::string_view term) {
  std::string key{term};
  key.push_back('\0');
  return key;
}

std::string posting_key(std::string_view term, std::string_view id) {
  auto key = posting_prefix(term);
  key.append(id);
  return key;
}

/// Term -> frequency of a tokenized text.
std::map<std::string, uint32_t> term_frequencies(const std::vector<std::string>& tokens) {
  std::map<std::string, uint32_t> tf;
  for (const auto& t : tokens)
    ++tf[t];
  return tf;
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
  rocksdb::ColumnFamilyHandle* bm25 = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  std::string path;
  mutable std::mutex mtx;

  caf::error fail(const std::string& what, const rocksdb::Status& st) const {
    return db_access::fail(*owner, what, st);
  }

  caf::error corrupt(const std::string& what) const {
    return make_error(errc::io_error, "memory database " + path + ": corrupt database: " + what);
  }

  caf::error write(rocksdb::WriteBatch& batch) const { return db_access::write(*owner, batch); }

  caf::expected<std::optional<stored_record>> read_record(const std::string& id) const {
    std::string value;
    auto st = db->Get(rocksdb::ReadOptions{}, records, id, &value);
    if (st.IsNotFound())
      return std::optional<stored_record>{};
    if (!st.ok())
      return fail("cannot read record '" + id + "'", st);
    auto rec = decode(value);
    if (!rec)
      return corrupt("undecodable record '" + id + "'");
    return std::optional<stored_record>{std::move(*rec)};
  }

  caf::expected<uint64_t> read_counter(std::string_view key) const {
    std::string value;
    auto st = db->Get(rocksdb::ReadOptions{}, meta, rocksdb::Slice{key.data(), key.size()}, &value);
    if (st.IsNotFound())
      return uint64_t{0};
    if (!st.ok())
      return fail("cannot read meta/" + std::string{key}, st);
    reader r{value};
    auto x = r.uint(8);
    if (!r.ok || !r.in.empty())
      return corrupt("meta/" + std::string{key} + " is not a counter");
    return x;
  }

  caf::expected<store_stats> read_stats() const {
    auto count = read_counter(key_doc_count);
    if (!count)
      return count.error();
    auto total = read_counter(key_total_length);
    if (!total)
      return total.error();
    return store_stats{*count, *total};
  }

  void write_stats(rocksdb::WriteBatch& batch, const store_stats& s) const {
    batch
        .Put(meta, rocksdb::Slice{key_doc_count.data(), key_doc_count.size()},
             u64_bytes(s.doc_count))
        .PermitUncheckedError();
    batch
        .Put(meta, rocksdb::Slice{key_total_length.data(), key_total_length.size()},
             u64_bytes(s.total_length))
        .PermitUncheckedError();
  }

  /// Adds to `batch` the deletion of `old` and its postings; adjusts `s`.
  void erase(rocksdb::WriteBatch& batch, const stored_record& old, store_stats& s) const {
    for (const auto& [term, tf] : term_frequencies(tokenize(old.rec.text)))
      batch.Delete(bm25, posting_key(term, old.rec.id)).PermitUncheckedError();
    batch.Delete(records, old.rec.id).PermitUncheckedError();
    s.doc_count -= std::min<uint64_t>(s.doc_count, 1);
    s.total_length -= std::min<uint64_t>(s.total_length, old.length);
  }

  /// Removes the records whose ids are in `ids`, in one batch; returns how many existed.
  caf::expected<size_t> erase_ids(const std::vector<std::string>& ids) {
    auto s = read_stats();
    if (!s)
      return s.error();
    rocksdb::WriteBatch batch;
    size_t removed = 0;
    for (const auto& id : ids) {
      auto old = read_record(id);
      if (!old)
        return old.error();
      if (!*old)
        continue;
      erase(batch, **old, *s);
      ++removed;
    }
    if (removed == 0)
      return size_t{0};
    write_stats(batch, *s);
    if (auto err = write(batch))
      return err;
    return removed;
  }

  /// Calls `fn(record)` for every record, in id order.
  template <class Fn>
  caf::error scan(Fn fn) const {
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(rocksdb::ReadOptions{}, records)};
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto rec = decode(std::string_view{it->value().data(), it->value().size()});
      if (!rec)
        return corrupt("undecodable record '" + it->key().ToString() + "'");
      fn(std::move(rec->rec));
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
  impl_->bm25 = db_access::cf(*db, cf_bm25);
  impl_->meta = db_access::cf(*db, cf_meta);
  impl_->path = db->path();
  impl_->opts = options;
  impl_->owner = std::move(db);
}

long_term_store::~long_term_store() = default;

const database& long_term_store::db() const {
  return *impl_->owner;
}

// --- writes -------------------------------------------------------------------------------------

caf::error long_term_store::put(const std::vector<memory_record>& records) {
  // Validate everything before writing anything; a later duplicate id wins.
  std::map<std::string, const memory_record*> latest;
  for (const auto& rec : records) {
    if (rec.id.empty())
      return make_error(errc::invalid_argument, "memory put: a record has an empty id");
    if (rec.ns.empty())
      return make_error(errc::invalid_argument,
                        "memory put: record '" + rec.id + "' has an empty namespace");
    if (!(rec.importance >= 0.0 && rec.importance <= 1.0))
      return make_error(errc::invalid_argument,
                        "memory put: record '" + rec.id + "' has importance " +
                            std::to_string(rec.importance) + " outside [0, 1]");
    latest[rec.id] = &rec;
  }
  if (latest.empty())
    return {};
  std::lock_guard guard{impl_->mtx};
  auto s = impl_->read_stats();
  if (!s)
    return s.error();
  rocksdb::WriteBatch batch;
  for (const auto& [id, rec] : latest) {
    auto old = impl_->read_record(id);
    if (!old)
      return old.error();
    if (*old)
      impl_->erase(batch, **old, *s);
    auto tokens = tokenize(rec->text);
    for (const auto& [term, tf] : term_frequencies(tokens))
      batch.Put(impl_->bm25, posting_key(term, id), u32_bytes(tf)).PermitUncheckedError();
    auto length = static_cast<uint32_t>(tokens.size());
    batch.Put(impl_->records, id, encode(*rec, length)).PermitUncheckedError();
    s->doc_count += 1;
    s->total_length += length;
  }
  impl_->write_stats(batch, *s);
  return impl_->write(batch);
}

caf::expected<bool> long_term_store::forget(const std::string& id) {
  std::lock_guard guard{impl_->mtx};
  auto n = impl_->erase_ids({id});
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
  return std::optional<memory_record>{std::move((*rec)->rec)};
}

caf::expected<store_stats> long_term_store::stats() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->read_stats();
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

caf::expected<std::vector<search_hit>> long_term_store::search(const std::string& query,
                                                               const search_options& opts) const {
  auto tokens = tokenize(query);
  std::set<std::string> terms(tokens.begin(), tokens.end());
  std::vector<search_hit> hits;
  if (terms.empty() || opts.top_k == 0)
    return hits;
  std::lock_guard guard{impl_->mtx};
  auto s = impl_->read_stats();
  if (!s)
    return s.error();
  // Postings of every query term: term -> [(id, tf)].
  std::map<std::string, std::vector<std::pair<std::string, uint32_t>>> postings;
  std::set<std::string> ids;
  std::unique_ptr<rocksdb::Iterator> it{
      impl_->db->NewIterator(rocksdb::ReadOptions{}, impl_->bm25)};
  for (const auto& term : terms) {
    auto prefix = posting_prefix(term);
    auto& list = postings[term];
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      reader r{std::string_view{it->value().data(), it->value().size()}};
      auto tf = static_cast<uint32_t>(r.uint(4));
      if (!r.ok)
        return impl_->corrupt("bad posting for '" + term + "'");
      auto id = it->key().ToString().substr(prefix.size());
      ids.insert(id);
      list.emplace_back(std::move(id), tf);
    }
    if (!it->status().ok())
      return impl_->fail("cannot read postings", it->status());
  }
  // The candidates' records (namespace filter, length, recency, importance).
  std::map<std::string, stored_record> docs;
  for (const auto& id : ids) {
    auto rec = impl_->read_record(id);
    if (!rec)
      return rec.error();
    if (*rec && (!opts.ns || (*rec)->rec.ns == *opts.ns))
      docs.emplace(id, std::move(**rec));
  }
  auto avg_len = s->doc_count > 0
                     ? static_cast<double>(s->total_length) / static_cast<double>(s->doc_count)
                     : 0.0;
  std::map<std::string, double> bm25;
  for (const auto& [term, list] : postings) {
    auto idf = bm25_idf(s->doc_count, list.size());
    for (const auto& [id, tf] : list)
      if (auto doc = docs.find(id); doc != docs.end())
        bm25[id] += bm25_term_score(idf, tf, doc->second.length, avg_len, impl_->opts.bm25);
  }
  std::vector<ranking_candidate> candidates;
  for (const auto& [id, score] : bm25) {
    const auto& rec = docs.at(id).rec;
    candidates.push_back(ranking_candidate{id, score, rec.created, rec.importance});
  }
  auto now = opts.now != 0 ? opts.now : now_ms();
  auto ranked_ids =
      rank(candidates, impl_->opts.weights, now, impl_->opts.half_life.count(), opts.top_k);
  for (auto& r : ranked_ids)
    hits.push_back(search_hit{std::move(docs.at(r.id).rec), r.score});
  return hits;
}

} // namespace swarm::memory
