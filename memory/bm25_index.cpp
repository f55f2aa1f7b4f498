// In-memory BM25 index, document-at-a-time top k with MaxScore and block-max pruning (see
// bm25_index.hpp).
#include "memory/bm25_index.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace swarm::memory {

namespace {

/// Postings per block of block_max.
constexpr size_t block_size = 64;

/// Bounds are inflated by this factor so that rounding in sums never makes them too small.
constexpr double slack = 1.0 + 1e-9;

/// The bounds of a term are computed for an average length this much above the current one, so
/// that they stay valid while the average grows by up to 5 %.
constexpr double ref_headroom = 1.05;

constexpr uint32_t no_doc = std::numeric_limits<uint32_t>::max();

/// tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg)): bm25_term_score without the idf; it
/// grows with `avg`.
double saturation(uint32_t tf, uint32_t len, double avg, const bm25_params& p) {
  auto f = static_cast<double>(tf);
  auto ratio = avg > 0 ? static_cast<double>(len) / avg : 1.0;
  return f * (p.k1 + 1.0) / (f + p.k1 * (1.0 - p.b + p.b * ratio));
}

uint16_t saturate16(uint32_t x) {
  return static_cast<uint16_t>(std::min<uint32_t>(x, 0xffff));
}

float round_up(double x) {
  return std::nextafter(static_cast<float>(x), std::numeric_limits<float>::infinity());
}

} // namespace

bm25_index::bm25_index(bm25_index_options opts) : opts_(opts), params_(opts.bm25) {}

uint32_t bm25_index::term_number(const std::string& term) {
  if (auto it = term_numbers_.find(term); it != term_numbers_.end())
    return it->second;
  term_numbers_.emplace(term, static_cast<uint32_t>(terms_.size()));
  terms_.emplace_back();
  return static_cast<uint32_t>(terms_.size() - 1);
}

uint32_t bm25_index::ns_number(const std::string& ns) {
  if (auto it = ns_numbers_.find(ns); it != ns_numbers_.end())
    return it->second;
  return ns_numbers_.emplace(ns, static_cast<uint32_t>(ns_numbers_.size())).first->second;
}

uint32_t bm25_index::length_of(const posting& p) const {
  return p.len < 0xffff ? p.len : docs_[p.doc].length;
}

uint32_t bm25_index::add(const memory_record& rec) {
  auto number = static_cast<uint32_t>(docs_.size());
  [[maybe_unused]] auto fresh = by_id_.emplace(rec.id, number).second;
  assert(fresh && "bm25_index::add: id already indexed");
  auto tokens = tokenize(rec.text);
  auto length = static_cast<uint32_t>(tokens.size());
  std::sort(tokens.begin(), tokens.end());
  for (size_t i = 0, next = 0; i < tokens.size(); i = next) {
    for (next = i + 1; next < tokens.size() && tokens[next] == tokens[i];)
      ++next;
    auto count = static_cast<uint32_t>(next - i);
    auto& e = terms_[term_number(tokens[i])];
    e.postings.push_back(posting{number, saturate16(count), saturate16(length)});
    if ((e.postings.size() - 1) % block_size == 0)
      e.block_last.push_back(number);
    else
      e.block_last.back() = number;
    ++e.df;
    if (e.ref_avg > 0) { // keep computed bounds in step
      auto g = round_up(saturation(count, length, e.ref_avg, params_));
      auto block = (e.postings.size() - 1) / block_size;
      if (block == e.block_max.size())
        e.block_max.push_back(g);
      else
        e.block_max[block] = std::max(e.block_max[block], g);
      e.max = std::max(e.max, g);
    }
  }
  docs_.push_back(doc_info{length, ns_number(rec.ns), true, rec.created, rec.importance});
  ids_.push_back(rec.id);
  total_length_ += length;
  ++live_;
  return length;
}

bool bm25_index::remove(const memory_record& rec) {
  auto it = by_id_.find(rec.id);
  if (it == by_id_.end())
    return false;
  auto& d = docs_[it->second];
  // Postings of removed docs stay (searches skip them) until compaction; the counts change now.
  auto tokens = tokenize(rec.text);
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  for (const auto& t : tokens)
    if (auto n = term_numbers_.find(t); n != term_numbers_.end() && terms_[n->second].df > 0)
      --terms_[n->second].df;
  d.alive = false;
  total_length_ -= std::min<uint64_t>(total_length_, d.length);
  --live_;
  by_id_.erase(it);
  auto dead = docs_.size() - live_;
  if (dead > 4096 && dead > live_)
    compact();
  return true;
}

void bm25_index::compact() {
  std::vector<uint32_t> renumbered(docs_.size(), no_doc);
  std::vector<doc_info> docs;
  std::vector<std::string> ids;
  docs.reserve(live_);
  ids.reserve(live_);
  for (size_t d = 0; d < docs_.size(); ++d) {
    if (!docs_[d].alive)
      continue;
    renumbered[d] = static_cast<uint32_t>(docs.size());
    docs.push_back(docs_[d]);
    ids.push_back(std::move(ids_[d]));
  }
  for (auto& e : terms_) {
    std::vector<posting> kept;
    kept.reserve(e.df);
    for (const auto& p : e.postings)
      if (renumbered[p.doc] != no_doc)
        kept.push_back(posting{renumbered[p.doc], p.tf, p.len});
    e.postings = std::move(kept);
    e.block_last.clear();
    for (size_t i = block_size - 1; i < e.postings.size(); i += block_size)
      e.block_last.push_back(e.postings[i].doc);
    if (e.postings.size() % block_size != 0)
      e.block_last.push_back(e.postings.back().doc);
    e.block_max.clear();
    e.max = 0;
    e.ref_avg = 0;
  }
  for (auto& [id, number] : by_id_)
    number = renumbered[number];
  docs_ = std::move(docs);
  ids_ = std::move(ids);
}

void bm25_index::prepare_bounds() {
  if (live_ == 0)
    return;
  auto avg = static_cast<double>(total_length_) / static_cast<double>(live_);
  for (auto& e : terms_)
    refresh_bounds(e, avg);
}

void bm25_index::refresh_bounds(term_entry& e, double avg) {
  if (e.ref_avg > 0 && avg <= e.ref_avg && avg * ref_headroom * 1.05 >= e.ref_avg)
    return; // valid, and not much looser than it would be if recomputed
  e.ref_avg = avg * ref_headroom;
  e.block_max.assign((e.postings.size() + block_size - 1) / block_size, 0.0f);
  e.max = 0;
  for (size_t i = 0; i < e.postings.size(); ++i) {
    const auto& p = e.postings[i];
    auto g = round_up(saturation(p.tf, length_of(p), e.ref_avg, params_));
    auto& m = e.block_max[i / block_size];
    m = std::max(m, g);
    e.max = std::max(e.max, g);
  }
}

std::vector<bm25_hit> bm25_index::search(std::string_view query, size_t k,
                                         const std::set<std::string>& namespaces) {
  std::vector<bm25_hit> hits;
  if (k == 0 || live_ == 0)
    return hits;
  // Allowed namespaces, as numbers; none known: nothing can match.
  std::vector<char> allowed;
  if (!namespaces.empty()) {
    allowed.assign(ns_numbers_.size(), 0);
    bool any = false;
    for (const auto& ns : namespaces)
      if (auto it = ns_numbers_.find(ns); it != ns_numbers_.end()) {
        allowed[it->second] = 1;
        any = true;
      }
    if (!any)
      return hits;
  }
  auto admits = [&](uint32_t d) {
    return docs_[d].alive && (allowed.empty() || allowed[docs_[d].ns] != 0);
  };
  auto avg = static_cast<double>(total_length_) / static_cast<double>(live_);

  // One cursor per known query term, in ascending order of its score bound.
  struct cursor {
    const term_entry* e;
    double idf;
    double bound;
    const posting* p;     ///< e->postings
    size_t size;          ///< of e->postings
    const uint32_t* last; ///< e->block_last
    const float* max;     ///< e->block_max
    size_t pos = 0;
    uint32_t doc() const { return pos < size ? p[pos].doc : no_doc; }
    double block_bound() const { return idf * max[pos / block_size] * slack; }
    /// Moves to the first posting with a document >= d. Whole blocks are skipped by their last
    /// documents (a compact array), so only the block holding d is read.
    void seek(uint32_t d) {
      if (pos >= size)
        return;
      auto block = pos / block_size;
      if (last[block] < d) {
        auto blocks = (size + block_size - 1) / block_size;
        do
          ++block;
        while (block < blocks && last[block] < d);
        if (block == blocks) {
          pos = size;
          return;
        }
        pos = block * block_size;
      }
      // d is in this block (its last document is >= d): a forward scan reads the block in
      // order, which the hardware prefetches, where a binary search would wait on each read.
      while (p[pos].doc < d)
        ++pos;
    }
  };
  std::vector<cursor> cur;
  auto tokens = tokenize(query);
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  for (const auto& t : tokens) {
    auto it = term_numbers_.find(t);
    if (it == term_numbers_.end() || terms_[it->second].df == 0)
      continue;
    auto& e = terms_[it->second];
    refresh_bounds(e, avg);
    auto idf = bm25_idf(live_, e.df);
    cur.push_back(cursor{&e, idf, idf * e.max * slack, e.postings.data(), e.postings.size(),
                         e.block_last.data(), e.block_max.data()});
  }
  if (cur.empty())
    return hits;
  // In a store of more than common_scan records, a term in more than common_share of them is
  // common: it scores the records rarer terms bring in but brings in none itself, so common
  // terms go first, among the terms that cannot bring a record in. If every term is common, the
  // rarest brings in the newest common_scan records containing it.
  auto common = [&](const cursor& c) {
    return live_ > opts_.common_scan &&
           static_cast<double>(c.e->df) > opts_.common_share * static_cast<double>(live_);
  };
  size_t n_common = 0;
  for (auto& c : cur)
    n_common += common(c) ? 1 : 0;
  auto n = cur.size();
  if (n_common == n) {
    auto rarest = std::min_element(
        cur.begin(), cur.end(), [](const cursor& a, const cursor& b) { return a.e->df < b.e->df; });
    std::iter_swap(rarest, cur.end() - 1);
    auto& last = cur.back();
    last.pos = last.size - std::min(last.size, opts_.common_scan);
    std::sort(cur.begin(), cur.end() - 1,
              [](const cursor& a, const cursor& b) { return a.bound < b.bound; });
    n_common = n - 1;
  } else {
    std::stable_partition(cur.begin(), cur.end(), common);
    auto by_bound = [](const cursor& a, const cursor& b) { return a.bound < b.bound; };
    auto split = cur.begin() + static_cast<std::ptrdiff_t>(n_common);
    std::sort(cur.begin(), split, by_bound);
    std::sort(split, cur.end(), by_bound);
  }
  std::vector<double> prefix(n + 1, 0.0); // prefix[i]: bound of terms 0..i-1
  for (size_t i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + cur[i].bound;

  // The best k so far, worst on top; ties go to the smaller id.
  struct entry {
    double score;
    uint32_t doc;
  };
  auto better = [this](const entry& a, const entry& b) {
    if (a.score != b.score)
      return a.score > b.score;
    return ids_[a.doc] < ids_[b.doc];
  };
  std::vector<entry> heap;
  heap.reserve(std::min<size_t>(k, live_) + 1);
  bool full = false;
  double theta = -1;     // the k-th best score once full
  size_t ess = n_common; // terms [0, ess) bring no document into the top k on their own
  auto offer = [&](entry x) {
    if (!full) {
      heap.push_back(x);
      std::push_heap(heap.begin(), heap.end(), better);
      full = heap.size() == k;
    } else if (better(x, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = x;
      std::push_heap(heap.begin(), heap.end(), better);
    } else {
      return;
    }
    if (!full)
      return;
    theta = heap.front().score;
    while (ess < n && prefix[ess + 1] < theta)
      ++ess;
  };
  // bm25_term_score, inlined: idf * tf * (k1 + 1) / (tf + k1 * (1 - b) + k1 * b * len / avg).
  auto k1 = params_.k1;
  auto norm_base = k1 * (1.0 - params_.b);
  auto norm_per_len = avg > 0 ? k1 * params_.b / avg : 0.0;
  if (avg <= 0)
    norm_base = k1; // bm25_term_score: no length normalisation
  auto term_score = [&](const cursor& c) {
    const auto& p = c.p[c.pos];
    auto tf = static_cast<double>(p.tf);
    return c.idf * tf * (k1 + 1.0) /
           (tf + norm_base + norm_per_len * static_cast<double>(length_of(p)));
  };

  std::vector<double> part(n, 0.0); // per term: its part of the current document's score
  while (ess < n) {
    // The next document d; every essential term's postings in [d, last] lie in its current
    // block, whose bound is known without reading postings.
    auto d = no_doc;
    auto last = no_doc;
    auto range_bound = prefix[ess];
    for (size_t i = ess; i < n; ++i) {
      auto doc = cur[i].doc();
      if (doc == no_doc)
        continue;
      d = std::min(d, doc);
      last = std::min(last, cur[i].last[cur[i].pos / block_size]);
      range_bound += cur[i].block_bound();
    }
    if (d == no_doc)
      break;
    if (full) {
      if (range_bound < theta) { // nothing in [d, last] can reach theta: skip the range
        for (size_t i = ess; i < n; ++i)
          cur[i].seek(last + 1);
        continue;
      }
      auto doc_bound = prefix[ess];
      for (size_t i = ess; i < n; ++i)
        if (cur[i].doc() == d)
          doc_bound += cur[i].block_bound();
      if (doc_bound < theta) { // d cannot reach theta: skip it
        for (size_t i = ess; i < n; ++i)
          if (cur[i].doc() == d)
            ++cur[i].pos;
        continue;
      }
    }
    // Scores come from the postings alone (they carry the length); the document itself (alive,
    // namespace) is looked at only when it would enter the top k.
    double score = 0;
    std::fill(part.begin(), part.end(), 0.0);
    for (size_t i = ess; i < n; ++i)
      if (cur[i].doc() == d) {
        part[i] = term_score(cur[i]);
        score += part[i];
        ++cur[i].pos;
      }
    bool pruned = false;
    for (size_t j = ess; j-- > 0;) {
      if (full && score + prefix[j + 1] < theta) {
        pruned = true;
        break;
      }
      cur[j].seek(d);
      if (cur[j].doc() == d) {
        part[j] = term_score(cur[j]);
        score += part[j];
      }
    }
    if (pruned)
      continue;
    // The score proper: the terms' parts summed in one fixed order, whatever the order they
    // were found in, so that records with equal terms get equal scores (ties go by id).
    double exact = 0;
    for (auto x : part)
      exact += x;
    if ((!full || exact >= theta) && admits(d))
      offer(entry{exact, d});
  }
  std::sort(heap.begin(), heap.end(), better);
  hits.reserve(heap.size());
  for (const auto& x : heap)
    hits.push_back(bm25_hit{ids_[x.doc], x.score, docs_[x.doc].created, docs_[x.doc].importance});
  return hits;
}

} // namespace swarm::memory
