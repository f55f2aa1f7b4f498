// In-memory BM25 index with max-score pruning (see bm25_index.hpp).
#include "memory/bm25_index.hpp"

#include <algorithm>
#include <functional>
#include <map>

namespace swarm::memory {

bm25_index::bm25_index(bm25_index_options opts) : opts_(opts), params_(opts.bm25) {}

uint32_t bm25_index::term_number(const std::string& term) {
  auto [it, fresh] = term_numbers_.emplace(term, static_cast<uint32_t>(terms_.size()));
  if (fresh)
    terms_.emplace_back();
  return it->second;
}

uint32_t bm25_index::ns_number(const std::string& ns) {
  return ns_numbers_.emplace(ns, static_cast<uint32_t>(ns_numbers_.size())).first->second;
}

void bm25_index::add(const memory_record& rec) {
  remove(rec.id);
  auto tokens = tokenize(rec.text);
  std::map<std::string, uint32_t> tf;
  for (auto& t : tokens)
    ++tf[t];
  auto number = static_cast<uint32_t>(docs_.size());
  doc d;
  d.id = rec.id;
  d.length = static_cast<uint32_t>(tokens.size());
  d.ns = ns_number(rec.ns);
  d.alive = true;
  for (const auto& [term, count] : tf) {
    auto t = term_number(term);
    terms_[t].postings.push_back(posting{number, count});
    ++terms_[t].df;
    d.terms.push_back(t);
  }
  total_length_ += d.length;
  ++live_;
  by_id_[rec.id] = number;
  docs_.push_back(std::move(d));
}

bool bm25_index::remove(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end())
    return false;
  auto& d = docs_[it->second];
  // Postings of dead docs stay (skipped by searches); only the counts change.
  for (auto t : d.terms)
    --terms_[t].df;
  d.alive = false;
  d.terms.clear();
  d.terms.shrink_to_fit();
  total_length_ -= d.length;
  --live_;
  by_id_.erase(it);
  return true;
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
  auto admits = [&](const doc& d) { return d.alive && (allowed.empty() || allowed[d.ns]); };
  // The query's known terms, each with its idf and an upper bound of its contribution.
  struct qterm {
    const term_entry* entry;
    double idf;
    double bound;
  };
  std::vector<qterm> qterms;
  auto tokens = tokenize(query);
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  for (const auto& t : tokens) {
    auto it = term_numbers_.find(t);
    if (it == term_numbers_.end() || terms_[it->second].df == 0)
      continue;
    const auto& e = terms_[it->second];
    auto idf = bm25_idf(live_, e.df);
    // tf * (k1 + 1) / (tf + norm) < k1 + 1 for every tf and length.
    qterms.push_back(qterm{&e, idf, idf * (params_.k1 + 1.0)});
  }
  if (qterms.empty())
    return hits;
  std::sort(qterms.begin(), qterms.end(),
            [](const qterm& a, const qterm& b) { return a.bound > b.bound; });
  std::vector<double> rest(qterms.size() + 1, 0.0); // rest[i]: bound of terms i..end
  for (size_t i = qterms.size(); i-- > 0;)
    rest[i] = rest[i + 1] + qterms[i].bound;
  auto avg = static_cast<double>(total_length_) / static_cast<double>(live_);
  if (acc_.size() < docs_.size())
    acc_.resize(docs_.size(), 0.0f);
  touched_.clear();
  auto score = [&](const qterm& q, const posting& p) {
    return static_cast<float>(bm25_term_score(q.idf, p.tf, docs_[p.doc].length, avg, params_));
  };
  // The k-th best score among the documents seen so far (0 while fewer than k).
  auto kth = [&] {
    if (touched_.size() < k)
      return 0.0f;
    std::vector<float> s;
    s.reserve(touched_.size());
    for (auto d : touched_)
      s.push_back(acc_[d]);
    std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k - 1), s.end(),
                     std::greater<>{});
    return s[k - 1];
  };
  bool closed = false; // no unseen document can still reach the top k (or may not: common)
  // In a store larger than common_scan, common terms bring in no candidates of their own; if
  // every term is common, the newest postings of the rarest one are the candidates.
  auto large = live_ > opts_.common_scan;
  auto common = static_cast<double>(live_) * opts_.common_share;
  auto is_common = [&](const qterm& q) {
    return large && static_cast<double>(q.entry->df) > common;
  };
  bool truncate = is_common(qterms.front());
  for (size_t i = 0; i < qterms.size(); ++i) {
    const auto& q = qterms[i];
    if (!closed && i > 0 && (is_common(q) || static_cast<double>(kth()) >= rest[i]))
      closed = true;
    if (!closed) {
      const auto& list = q.entry->postings;
      auto first = list.begin();
      if (truncate && list.size() > opts_.common_scan)
        first = list.end() - static_cast<std::ptrdiff_t>(opts_.common_scan);
      for (auto p = first; p != list.end(); ++p) {
        if (!admits(docs_[p->doc]))
          continue;
        if (acc_[p->doc] == 0.0f)
          touched_.push_back(p->doc);
        acc_[p->doc] += score(q, *p);
      }
    } else {
      // Complete the scores of the documents already seen: walk this postings list when it is
      // not much longer than that set (sequential), else binary-search it per document.
      const auto& list = q.entry->postings;
      if (list.size() < touched_.size() * 16) {
        for (const auto& p : list)
          if (acc_[p.doc] != 0.0f)
            acc_[p.doc] += score(q, p);
        continue;
      }
      for (auto d : touched_) {
        auto it = std::lower_bound(list.begin(), list.end(), d,
                                   [](const posting& p, uint32_t doc) { return p.doc < doc; });
        if (it != list.end() && it->doc == d)
          acc_[d] += score(q, *it);
      }
    }
  }
  // Select the top k as (score, doc) pairs; ids are copied for those k only.
  std::vector<std::pair<float, uint32_t>> scored;
  scored.reserve(touched_.size());
  for (auto d : touched_) {
    scored.emplace_back(acc_[d], d);
    acc_[d] = 0.0f;
  }
  auto better_doc = [this](const std::pair<float, uint32_t>& a,
                           const std::pair<float, uint32_t>& b) {
    if (a.first != b.first)
      return a.first > b.first;
    return docs_[a.second].id < docs_[b.second].id;
  };
  if (scored.size() > k) {
    std::nth_element(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(k - 1),
                     scored.end(), better_doc);
    scored.resize(k);
  }
  for (const auto& [score, d] : scored)
    hits.push_back(bm25_hit{docs_[d].id, score});
  auto better = [](const bm25_hit& a, const bm25_hit& b) {
    if (a.bm25 != b.bm25)
      return a.bm25 > b.bm25;
    return a.id < b.id;
  };
  std::sort(hits.begin(), hits.end(), better);
  return hits;
}

} // namespace swarm::memory
