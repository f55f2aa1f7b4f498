// HNSW index of memory vectors on hnswlib (see vector_index.hpp). hnswlib stays in this file.
// Saved form: `PATH` is hnswlib's own file; `PATH.meta` holds
//   magic "smolswarms.vectors.v1\n", generation u64, dim u32, index file size u64,
//   label count u64, then per label: live u8, id (u32 length + bytes); all little endian.
#include "memory/vector_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unordered_map>

#include <hnswlib/hnswlib.h>

#include "memory/encoding.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::memory {

namespace {

namespace fs = std::filesystem;
using namespace encoding;

constexpr std::string_view meta_magic = "smolswarms.vectors.v1\n";

caf::error io_fail(const std::string& path, const std::string& what) {
  return make_error(errc::io_error, "vector index " + path + ": " + what);
}

} // namespace

caf::expected<std::vector<float>> normalized(std::vector<float> v) {
  if (v.empty())
    return make_error(errc::invalid_argument, "vector: empty");
  double norm = 0;
  for (auto x : v) {
    if (!std::isfinite(x))
      return make_error(errc::invalid_argument, "vector: a component is not finite");
    norm += static_cast<double>(x) * static_cast<double>(x);
  }
  if (norm == 0)
    return make_error(errc::invalid_argument, "vector: all components are zero");
  auto scale = 1.0 / std::sqrt(norm);
  for (auto& x : v)
    x = static_cast<float>(x * scale);
  return v;
}

std::string encode_vector(const std::vector<float>& v) {
  std::string out;
  out.reserve(4 + 4 * v.size());
  put_u32(out, static_cast<uint32_t>(v.size()));
  static_assert(sizeof(float) == sizeof(uint32_t));
  for (auto x : v) {
    uint32_t bits = 0;
    std::memcpy(&bits, &x, sizeof bits);
    put_u32(out, bits);
  }
  return out;
}

std::optional<std::vector<float>> decode_vector(std::string_view bytes) {
  reader r{bytes};
  auto dim = r.uint(4);
  if (!r.ok || r.in.size() != dim * 4)
    return std::nullopt;
  std::vector<float> v(dim);
  for (auto& x : v) {
    auto bits = static_cast<uint32_t>(r.uint(4));
    std::memcpy(&x, &bits, sizeof x);
  }
  return v;
}

// --- the index ----------------------------------------------------------------------------------

struct vector_index::impl {
  size_t dim = 0;
  vector_index_options opts;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  std::vector<std::string> ids;                   // label -> id
  std::vector<char> live;                         // label -> not deleted
  std::unordered_map<std::string, size_t> labels; // id -> label
  size_t live_count = 0;

  /// Creates the hnswlib structures for `d` dimensions, with room for `capacity` elements.
  void create(size_t d, size_t capacity) {
    dim = d;
    space = std::make_unique<hnswlib::InnerProductSpace>(dim);
    hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        space.get(), std::max<size_t>(capacity, 1), opts.m, opts.ef_construction);
    hnsw->setEf(opts.ef_search);
  }
};

vector_index::vector_index(size_t dim, vector_index_options opts)
    : impl_(std::make_unique<impl>()) {
  impl_->opts = opts;
  if (dim > 0)
    impl_->create(dim, opts.initial_capacity);
}

vector_index::~vector_index() = default;

size_t vector_index::dim() const {
  return impl_->dim;
}

size_t vector_index::size() const {
  return impl_->live_count;
}

bool vector_index::contains(const std::string& id) const {
  auto it = impl_->labels.find(id);
  return it != impl_->labels.end() && impl_->live[it->second];
}

caf::error vector_index::add(const std::string& id, std::vector<float> vec) {
  if (id.empty())
    return make_error(errc::invalid_argument, "vector index: empty id");
  if (impl_->dim != 0 && vec.size() != impl_->dim)
    return make_error(errc::invalid_argument,
                      "vector index: vector of '" + id + "' has " + std::to_string(vec.size()) +
                          " dimensions, the index " + std::to_string(impl_->dim));
  auto unit = normalized(std::move(vec));
  if (!unit)
    return make_error(errc::invalid_argument,
                      "vector index: vector of '" + id + "': " + describe(unit.error()));
  if (impl_->dim == 0)
    impl_->create(unit->size(), impl_->opts.initial_capacity);
  auto& self = *impl_;
  try {
    auto found = self.labels.find(id);
    if (found != self.labels.end()) {
      // hnswlib updates an existing label in place and clears its deleted mark.
      self.hnsw->addPoint(unit->data(), found->second);
      if (!self.live[found->second]) {
        self.live[found->second] = 1;
        ++self.live_count;
      }
      return {};
    }
    if (self.hnsw->cur_element_count >= self.hnsw->max_elements_)
      self.hnsw->resizeIndex(self.hnsw->max_elements_ * 2);
    auto label = self.ids.size();
    self.hnsw->addPoint(unit->data(), label);
    self.ids.push_back(id);
    self.live.push_back(1);
    self.labels.emplace(id, label);
    ++self.live_count;
  } catch (const std::exception& e) {
    return make_error(errc::io_error, "vector index: cannot add '" + id + "': " + e.what());
  }
  return {};
}

bool vector_index::remove(const std::string& id) {
  auto it = impl_->labels.find(id);
  if (it == impl_->labels.end() || !impl_->live[it->second])
    return false;
  impl_->hnsw->markDelete(it->second);
  impl_->live[it->second] = 0;
  --impl_->live_count;
  return true;
}

caf::expected<std::vector<vector_hit>>
vector_index::search(std::vector<float> query, size_t k,
                     const std::function<bool(const std::string&)>& accept) const {
  std::vector<vector_hit> hits;
  if (impl_->dim != 0 && query.size() != impl_->dim)
    return make_error(errc::invalid_argument,
                      "vector index: query has " + std::to_string(query.size()) +
                          " dimensions, the index " + std::to_string(impl_->dim));
  auto unit = normalized(std::move(query));
  if (!unit)
    return make_error(errc::invalid_argument, "vector index: query: " + describe(unit.error()));
  if (k == 0 || impl_->live_count == 0)
    return hits;
  auto& self = *impl_;
  // Ask for k; when the predicate rejects some, ask again for twice as many, until enough are
  // accepted or the whole index was returned.
  for (size_t want = k;; want = std::min(want * 2, self.live_count)) {
    hits.clear();
    self.hnsw->setEf(std::max(self.opts.ef_search, want));
    auto found = self.hnsw->searchKnn(unit->data(), want);
    std::vector<std::pair<float, size_t>> ordered;
    ordered.reserve(found.size());
    while (!found.empty()) {
      ordered.emplace_back(found.top().first, found.top().second);
      found.pop();
    }
    // The queue pops the largest distance first: walk it backwards, nearest first.
    for (auto it = ordered.rbegin(); it != ordered.rend() && hits.size() < k; ++it) {
      const auto& id = self.ids[it->second];
      if (accept && !accept(id))
        continue;
      hits.push_back(vector_hit{id, 1.0 - static_cast<double>(it->first)});
    }
    if (hits.size() >= k || want >= self.live_count || !accept)
      break;
  }
  self.hnsw->setEf(self.opts.ef_search);
  return hits;
}

// --- save and load ------------------------------------------------------------------------------

caf::error vector_index::save(const std::string& path, uint64_t generation) const {
  const auto& self = *impl_;
  auto tmp = path + ".tmp";
  auto meta_tmp = path + ".meta.tmp";
  std::error_code ec;
  if (self.hnsw) {
    try {
      self.hnsw->saveIndex(tmp);
    } catch (const std::exception& e) {
      return io_fail(path, std::string{"cannot write: "} + e.what());
    }
  } else {
    std::ofstream{tmp, std::ios::binary | std::ios::trunc}; // no vectors yet: an empty file
  }
  auto size = fs::file_size(tmp, ec);
  if (ec)
    return io_fail(path, "cannot write: " + ec.message());
  std::string meta{meta_magic};
  put_u64(meta, generation);
  put_u32(meta, static_cast<uint32_t>(self.dim));
  put_u64(meta, size);
  put_u64(meta, self.ids.size());
  for (size_t label = 0; label < self.ids.size(); ++label) {
    meta.push_back(self.live[label] ? 1 : 0);
    put_u32(meta, static_cast<uint32_t>(self.ids[label].size()));
    meta.append(self.ids[label]);
  }
  {
    std::ofstream out{meta_tmp, std::ios::binary | std::ios::trunc};
    out.write(meta.data(), static_cast<std::streamsize>(meta.size()));
    if (!out.flush())
      return io_fail(path, "cannot write " + meta_tmp);
  }
  // The index first, the table last: a table always names an index written before it.
  fs::rename(tmp, path, ec);
  if (!ec)
    fs::rename(meta_tmp, path + ".meta", ec);
  if (ec)
    return io_fail(path, "cannot rename into place: " + ec.message());
  return {};
}

caf::expected<std::unique_ptr<vector_index>>
vector_index::load(const std::string& path, uint64_t generation, vector_index_options opts) {
  using result_type = std::unique_ptr<vector_index>;
  std::error_code ec;
  auto meta_path = path + ".meta";
  if (!fs::exists(path, ec) || !fs::exists(meta_path, ec))
    return result_type{};
  std::string meta;
  {
    std::ifstream in{meta_path, std::ios::binary};
    if (!in)
      return io_fail(path, "cannot read " + meta_path);
    meta.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
  }
  if (meta.compare(0, meta_magic.size(), meta_magic) != 0)
    return result_type{};
  reader r{std::string_view{meta}.substr(meta_magic.size())};
  auto saved_generation = r.uint(8);
  auto dim = static_cast<size_t>(r.uint(4));
  auto size = r.uint(8);
  auto count = r.uint(8);
  if (!r.ok || saved_generation != generation || fs::file_size(path, ec) != size || ec)
    return result_type{};
  auto index = std::make_unique<vector_index>(0, opts);
  auto& self = *index->impl_;
  for (uint64_t label = 0; r.ok && label < count; ++label) {
    bool live = r.uint(1) != 0;
    auto id = r.str();
    self.labels.emplace(id, self.ids.size());
    self.ids.push_back(std::move(id));
    self.live.push_back(live ? 1 : 0);
    self.live_count += live ? 1 : 0;
  }
  if (!r.ok || !r.in.empty())
    return result_type{};
  if (dim == 0)
    return count == 0 ? result_type{std::move(index)} : result_type{};
  self.dim = dim;
  self.space = std::make_unique<hnswlib::InnerProductSpace>(dim);
  // hnswlib 0.6.2's loading constructor leaves these uninitialised (and loadIndex counts deleted
  // elements into num_deleted_): set them, so that a load that throws half-way destroys cleanly.
  self.hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(self.space.get());
  self.hnsw->num_deleted_ = 0;
  self.hnsw->cur_element_count = 0;
  self.hnsw->data_level0_memory_ = nullptr;
  self.hnsw->linkLists_ = nullptr;
  self.hnsw->visited_list_pool_ = nullptr;
  try {
    self.hnsw->loadIndex(path, self.space.get(), std::max<size_t>(count, opts.initial_capacity));
    self.hnsw->setEf(opts.ef_search);
  } catch (const std::exception&) {
    self.hnsw->cur_element_count = 0; // may leak what was read so far, never frees garbage
    return result_type{};             // unreadable or from another build: rebuild
  }
  if (self.hnsw->cur_element_count != count)
    return result_type{};
  return result_type{std::move(index)};
}

} // namespace swarm::memory
