// The long-term memory actor (see long_term_actor.hpp): its state (group-committed writes,
// lexical and hybrid recall, forgetting, consolidation) and its message handlers. A write stores
// the record and its vector in one WriteBatch (one WAL write), and forgetting removes both in one;
// recall still skips a vector without a record (stores written before that). The `vectors`
// column family and the index opened from it: long_term_vectors.cpp.
#include "memory/long_term_actor.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "memory/detail/db_access.hpp"
#include "memory/detail/long_term_vectors.hpp"
#include "memory/working.hpp"
#include "runtime/core/call_ids.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"

namespace swarm::memory {

using detail::db_access;
using detail::generation_bytes;
using detail::generation_key;
using detail::read_vector;

namespace {

int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return sum;
}

/// State of the long-term memory actor.
struct long_term_state {
  std::shared_ptr<database> db;
  long_term_memory_options opts;
  std::unique_ptr<long_term_store> store;
  std::unique_ptr<vector_index> index;
  caf::error broken; ///< set when the index could not be opened: every request fails with it
  uint64_t generation = 0;
  bool dirty = false; ///< the index changed since it was loaded or saved
  std::string index_path;
  monitor_actor monitor;
  /// BM25-only writes received but not yet stored, with their promises (group commit).
  std::vector<memory_record> pending;
  std::vector<caf::response_promise> promises;
  std::mt19937_64 rng{std::random_device{}()};

  static inline const char* name = "swarm.long_term_memory";

  ~long_term_state() {
    // The index is a cache: failing to save it only costs a rebuild at the next start.
    if (index && dirty) {
      auto ignored = index->save(index_path, generation);
      static_cast<void>(ignored);
    }
  }

  bool hybrid() const { return opts.embeddings.has_value(); }

  /// Stores the pending writes in one batch, then answers them and reports the events.
  void flush() {
    if (pending.empty())
      return;
    auto records = std::move(pending);
    auto rps = std::move(promises);
    pending.clear();
    promises.clear();
    std::vector<std::string> ids;
    ids.reserve(records.size());
    for (const auto& r : records)
      ids.push_back(r.id);
    auto err = commit(std::move(records), {}, {});
    for (size_t i = 0; i < rps.size(); ++i) {
      if (err) {
        rps[i].deliver(err);
        continue;
      }
      report({}, ids[i]);
      rps[i].deliver(std::move(ids[i]));
    }
  }

  /// "ltm-" + 12 hex digits of the Unix time in ms + 8 random hex digits: ids sort by creation
  /// time, so new records go to the end of the `records` key space.
  std::string fresh_id() {
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = "ltm-";
    auto put_hex = [&](uint64_t x, int digits) {
      for (int i = digits - 1; i >= 0; --i)
        id.push_back(hex[(x >> (4 * i)) & 0xf]);
    };
    put_hex(static_cast<uint64_t>(system_now_ms()), 12);
    put_hex(rng(), 8);
    return id;
  }

  void report(const std::string& run_id, const std::string& id) {
    if (!events_wanted(monitor))
      return;
    event ev;
    ev.kind = event_kind::memory_written;
    ev.run_id = run_id;
    ev.text = id;
    emit_event(monitor, std::move(ev));
  }

  /// Stores records with their vectors (if any) in one batch, after forgetting `forget_ids`.
  /// `vectors[i]` belongs to `records[i]`.
  caf::error commit(std::vector<memory_record> records,
                    const std::vector<std::vector<float>>& vectors,
                    const std::vector<std::string>& forget_ids) {
    for (const auto& id : forget_ids)
      if (auto gone = forget(id); !gone)
        return gone.error();
    rocksdb::WriteBatch batch;
    if (!vectors.empty()) {
      auto* cf = db_access::cf(*db, cf_vectors);
      for (size_t i = 0; i < records.size(); ++i) {
        auto unit = normalized(vectors[i]);
        if (!unit)
          return make_error(errc::io_error, "embedding of memory '" + records[i].id +
                                                "': " + describe(unit.error()));
        if (index->dim() != 0 && unit->size() != index->dim())
          return make_error(errc::io_error,
                            "embedding of memory '" + records[i].id + "' has " +
                                std::to_string(unit->size()) + " dimensions, the index " +
                                std::to_string(index->dim()) + " (embedding model changed?)");
        batch.Put(cf, records[i].id, encode_vector(vectors[i])).PermitUncheckedError();
      }
      batch
          .Put(cf, rocksdb::Slice{generation_key.data(), generation_key.size()},
               generation_bytes(generation + 1))
          .PermitUncheckedError();
    }
    std::vector<std::string> vector_ids;
    if (!vectors.empty())
      for (const auto& r : records)
        vector_ids.push_back(r.id);
    if (auto err = store->put(std::move(records), &batch))
      return err;
    if (!vectors.empty()) {
      ++generation;
      dirty = true;
      for (size_t i = 0; i < vector_ids.size(); ++i)
        if (auto err = index->add(vector_ids[i], vectors[i]))
          return err;
    }
    return {};
  }

  /// Forgets the record and the vector of `id` (one batch); returns whether the record existed.
  caf::expected<bool> forget(const std::string& id) {
    auto vec = read_vector(*db, id);
    if (!vec)
      return vec.error();
    rocksdb::WriteBatch batch;
    if (*vec) {
      auto* cf = db_access::cf(*db, cf_vectors);
      batch.Delete(cf, id).PermitUncheckedError();
      batch
          .Put(cf, rocksdb::Slice{generation_key.data(), generation_key.size()},
               generation_bytes(generation + 1))
          .PermitUncheckedError();
    }
    auto existed = store->forget(id, &batch);
    if (!existed)
      return existed;
    if (*vec) {
      ++generation;
      dirty = true;
    }
    index->remove(id);
    return existed;
  }

  /// Recall with BM25 alone.
  caf::expected<std::vector<ltm_hit>> recall_lexical(const ltm_recall& r) {
    search_options so;
    so.namespaces = {r.namespaces.begin(), r.namespaces.end()};
    so.top_k = r.top_k;
    so.candidates = opts.candidates;
    auto hits = store->search(r.query, so);
    if (!hits)
      return hits.error();
    std::vector<ltm_hit> out;
    for (auto& h : *hits) {
      ltm_hit x;
      x.id = std::move(h.record.id);
      x.ns = std::move(h.record.ns);
      x.text = std::move(h.record.text);
      x.score = h.score.total;
      x.relevance = h.score.relevance;
      x.recency = h.score.recency;
      x.importance = h.score.importance;
      out.push_back(std::move(x));
    }
    return out;
  }

  /// Recall with BM25 and the query's embedding `qvec`.
  caf::expected<std::vector<ltm_hit>> recall_hybrid(const ltm_recall& r, std::vector<float> qvec) {
    std::set<std::string> namespaces(r.namespaces.begin(), r.namespaces.end());
    auto cap = std::max<size_t>(opts.candidates, r.top_k);
    auto hits = store->bm25_top(r.query, namespaces, cap);
    if (!hits)
      return hits.error();
    std::map<std::string, hybrid_candidate> by_id;
    for (auto& h : *hits) {
      auto id = h.record.id;
      by_id.emplace(id, hybrid_candidate{std::move(h.record), h.score.bm25, std::nullopt});
    }
    auto unit = normalized(std::move(qvec));
    if (!unit)
      return make_error(errc::io_error, "embedding of the query: " + describe(unit.error()));
    if (index->size() > 0 && unit->size() == index->dim()) {
      // Vector candidates whose record exists (a crash may leave a vector behind) in an
      // allowed namespace; records read here are kept for ranking.
      std::unordered_map<std::string, memory_record> seen;
      caf::error read_error;
      auto accept = [&](const std::string& id) {
        auto rec = store->get(id);
        if (!rec) {
          read_error = rec.error();
          return false;
        }
        if (!*rec || (!namespaces.empty() && namespaces.count((*rec)->ns) == 0))
          return false;
        seen.emplace(id, std::move(**rec));
        return true;
      };
      auto near = index->search(*unit, cap, accept);
      if (read_error)
        return read_error;
      if (!near)
        return near.error();
      for (auto& n : *near) {
        auto it = by_id.find(n.id);
        if (it != by_id.end())
          it->second.cosine = n.similarity;
        else
          by_id.emplace(n.id, hybrid_candidate{std::move(seen.at(n.id)), 0.0, n.similarity});
      }
    }
    // Lexical candidates the vector search did not reach: their exact cosine.
    for (auto& [id, c] : by_id) {
      if (c.cosine)
        continue;
      auto v = read_vector(*db, id);
      if (!v)
        return v.error();
      if (*v && (*v)->size() == unit->size())
        if (auto nv = normalized(std::move(**v)))
          c.cosine = dot(*unit, *nv);
    }
    std::vector<hybrid_candidate> candidates;
    for (auto& [id, c] : by_id)
      candidates.push_back(std::move(c));
    const auto& so = opts.store;
    return rank_hybrid(std::move(candidates), so.weights, opts.vector_share, system_now_ms(),
                       so.half_life.count(), r.top_k);
  }

  /// Consolidates run `run_id` into `ns` with the embeddings `vectors` of the salient notes'
  /// texts (in order; empty without embeddings).
  caf::expected<consolidation_report> consolidate(const std::string& run_id, const std::string& ns,
                                                  const std::vector<memory_record>& salient,
                                                  const std::vector<std::vector<float>>& vectors) {
    consolidation_report out;
    out.considered = salient.size();
    const auto& rule = opts.consolidation;
    for (size_t i = 0; i < salient.size(); ++i) {
      auto rec = salient[i];
      auto existing = store->get(rec.id);
      if (!existing)
        return existing.error();
      if (*existing)
        continue; // consolidated before: idempotent
      // Near-duplicates among the namespace's best lexical matches. The note counts as the
      // newest member of its group, so the merged record keeps its id and text.
      auto similar = store->bm25_top(rec.text, {ns}, 5);
      if (!similar)
        return similar.error();
      std::vector<memory_record> group;
      for (auto& h : *similar) {
        if (jaccard_similarity(h.record.text, rec.text) < rule.merge_threshold)
          continue;
        rec.created = std::max(rec.created, h.record.created);
        group.push_back(std::move(h.record));
      }
      std::map<std::string, memory_record> before;
      for (const auto& g : group)
        before.emplace(g.id, g);
      group.push_back(rec);
      auto merged = merge_near_duplicates(std::move(group), rule.merge_threshold);
      // The note's record gets its vector; other survivors changed at most in importance and
      // tags and keep theirs.
      std::vector<memory_record> own;
      std::vector<memory_record> others;
      for (auto& r : merged.records) {
        auto old = before.find(r.id);
        if (old != before.end() && old->second == r)
          continue; // untouched
        (r.id == rec.id ? own : others).push_back(std::move(r));
      }
      std::vector<std::vector<float>> own_vectors;
      if (!vectors.empty() && !own.empty())
        own_vectors.push_back(vectors[i]);
      if (auto err = commit(std::move(own), own_vectors, merged.merged_ids))
        return err;
      if (!others.empty())
        if (auto err = store->put(std::move(others)))
          return err;
      if (merged.merged_ids.empty())
        ++out.added;
      else
        ++out.merged;
      report(run_id, rec.id);
    }
    return out;
  }
};

using long_term_pointer = long_term_memory_actor::stateful_pointer<long_term_state>;

/// Embeds `texts` and calls `then(expected<vectors>)` with one vector per text.
template <class Then>
void embed(long_term_pointer self, std::vector<std::string> texts, Then then) {
  const auto& e = *self->state.opts.embeddings;
  embedding_request req;
  req.call_id = new_call_id(self->system());
  req.endpoint = e.endpoint;
  req.model = e.model;
  auto count = texts.size();
  req.input = std::move(texts);
  req.timeout = e.timeout;
  self->request(e.llm, e.timeout + std::chrono::seconds(1), std::move(req))
      .then(
          [then, count](embedding_result& res) mutable {
            if (res.vectors.size() != count) {
              then(caf::expected<std::vector<std::vector<float>>>{
                  make_error(errc::io_error,
                             "embeddings endpoint returned " + std::to_string(res.vectors.size()) +
                                 " vectors for " + std::to_string(count) + " texts")});
              return;
            }
            then(caf::expected<std::vector<std::vector<float>>>{std::move(res.vectors)});
          },
          [then](caf::error& err) mutable {
            then(caf::expected<std::vector<std::vector<float>>>{
                make_error(errc::io_error, "cannot embed: " + describe(err))});
          });
}

caf::error validate(const ltm_write& w) {
  if (w.ns.empty())
    return make_error(errc::invalid_argument, "long-term memory write: empty namespace");
  if (!(w.importance >= 0.0 && w.importance <= 1.0))
    return make_error(errc::invalid_argument, "long-term memory write to '" + w.ns +
                                                  "': importance " + std::to_string(w.importance) +
                                                  " outside [0, 1]");
  return {};
}

long_term_memory_actor::behavior_type long_term_behavior(long_term_pointer self,
                                                         std::shared_ptr<database> db,
                                                         long_term_memory_options opts,
                                                         monitor_actor monitor) {
  auto& st = self->state;
  st.db = std::move(db);
  st.opts = std::move(opts);
  st.monitor = std::move(monitor);
  st.store = std::make_unique<long_term_store>(st.db, st.opts.store);
  st.broken = st.store->open_index();
  st.index_path =
      st.opts.index_path.empty() ? st.db->data_dir() + "/memory-vectors.hnsw" : st.opts.index_path;
  if (!st.broken) {
    if (auto gen = vector_generation(*st.db); !gen) {
      st.broken = gen.error();
    } else if (auto opened = open_vector_index(*st.db, st.index_path, st.opts.index); !opened) {
      st.broken = opened.error();
    } else {
      st.generation = *gen;
      st.index = std::move(opened->index);
      st.dirty = opened->rebuilt; // save the rebuilt index at exit
    }
  }
  return {
      [self](ltm_write& w) -> caf::result<std::string> {
        auto& st = self->state;
        if (st.broken)
          return st.broken;
        if (auto err = validate(w))
          return err;
        memory_record rec;
        rec.id = w.id.empty() ? st.fresh_id() : w.id;
        rec.ns = std::move(w.ns);
        rec.text = std::move(w.text);
        rec.importance = w.importance;
        rec.created = system_now_ms();
        if (!w.source.empty())
          rec.tags.push_back("source=" + w.source);
        if (!st.hybrid()) {
          // Group commit, as in working memory: stored with the writes queued behind it.
          st.pending.push_back(std::move(rec));
          st.promises.push_back(self->make_response_promise());
          if (self->mailbox().empty())
            st.flush();
          return caf::delegated<std::string>{};
        }
        auto rp = self->make_response_promise<std::string>();
        embed(self, {rec.text}, [self, rp, rec](auto vectors) mutable {
          if (!vectors) {
            rp.deliver(vectors.error());
            return;
          }
          if (auto err = self->state.commit({rec}, *vectors, {})) {
            rp.deliver(err);
            return;
          }
          self->state.report({}, rec.id);
          rp.deliver(rec.id);
        });
        return rp;
      },
      [self](ltm_recall& r) -> caf::result<std::vector<ltm_hit>> {
        auto& st = self->state;
        st.flush();
        if (st.broken)
          return st.broken;
        if (r.top_k == 0)
          return std::vector<ltm_hit>{};
        if (!st.hybrid() || r.query.empty()) {
          auto hits = st.recall_lexical(r);
          if (!hits)
            return hits.error();
          return std::move(*hits);
        }
        auto rp = self->make_response_promise<std::vector<ltm_hit>>();
        embed(self, {r.query}, [self, rp, r](auto vectors) mutable {
          if (!vectors) {
            rp.deliver(vectors.error());
            return;
          }
          auto hits = self->state.recall_hybrid(r, std::move((*vectors)[0]));
          if (!hits)
            rp.deliver(hits.error());
          else
            rp.deliver(std::move(*hits));
        });
        return rp;
      },
      [self](ltm_forget& f) -> caf::result<bool> {
        auto& st = self->state;
        st.flush();
        if (st.broken)
          return st.broken;
        auto existed = st.forget(f.id);
        if (!existed)
          return existed.error();
        return *existed;
      },
      [self](ltm_consolidate& c) -> caf::result<consolidation_report> {
        auto& st = self->state;
        st.flush();
        if (st.broken)
          return st.broken;
        if (c.ns.empty())
          return make_error(errc::invalid_argument,
                            "consolidation of run '" + c.run_id + "': empty namespace");
        auto notes = read_run_notes(*st.db, c.run_id);
        if (!notes)
          return notes.error();
        std::vector<memory_record> salient;
        for (const auto& n : *notes)
          if (is_salient(n, st.opts.consolidation))
            salient.push_back(record_of(n, c.ns, st.opts.consolidation));
        if (!st.hybrid() || salient.empty()) {
          auto report = st.consolidate(c.run_id, c.ns, salient, {});
          if (!report)
            return report.error();
          return *report;
        }
        std::vector<std::string> texts;
        for (const auto& s : salient)
          texts.push_back(s.text);
        auto rp = self->make_response_promise<consolidation_report>();
        embed(self, std::move(texts),
              [self, rp, c, salient = std::move(salient)](auto vectors) mutable {
                if (!vectors) {
                  rp.deliver(vectors.error());
                  return;
                }
                auto report = self->state.consolidate(c.run_id, c.ns, salient, *vectors);
                if (!report)
                  rp.deliver(report.error());
                else
                  rp.deliver(*report);
              });
        return rp;
      },
  };
}

} // namespace

long_term_memory_actor spawn_long_term_memory(caf::actor_system& sys, std::shared_ptr<database> db,
                                              long_term_memory_options opts,
                                              monitor_actor monitor) {
  return sys.spawn(long_term_behavior, std::move(db), std::move(opts), std::move(monitor));
}

} // namespace swarm::memory
