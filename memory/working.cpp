// Working memory store and actor (see working.hpp). Value of a note in the `working` column
// family: format u8, id, author swarm, author name, kind, text, importance f64, time_ms u64,
// idempotency key (strings length-prefixed, see memory/encoding.hpp).
#include "memory/working.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "memory/detail/db_access.hpp"
#include "memory/encoding.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"

namespace swarm::memory {

using namespace encoding;
using detail::db_access;

namespace {

constexpr uint8_t note_format = 1;

std::string run_prefix(const std::string& run_id) {
  std::string key = run_id;
  key.push_back('\0');
  return key;
}

std::string note_key(const std::string& run_id, uint64_t seq) {
  auto key = run_prefix(run_id);
  put_u64_be(key, seq);
  return key;
}

std::string encode_note(const wm_note& n, const std::string& key) {
  std::string out;
  out.push_back(static_cast<char>(note_format));
  put_str(out, n.id);
  put_str(out, n.author.swarm);
  put_str(out, n.author.name);
  put_str(out, n.kind);
  put_str(out, n.text);
  put_f64(out, n.importance);
  put_u64(out, static_cast<uint64_t>(n.time_ms));
  put_str(out, key);
  return out;
}

/// A decoded note, its idempotency key and its sequence number.
struct stored_note {
  wm_note note;
  std::string key;
  uint64_t seq = 0;
};

std::optional<stored_note> decode_note(std::string_view run_id, std::string_view key,
                                       std::string_view value) {
  stored_note s;
  reader k{key.substr(std::min(key.size(), run_id.size() + 1))};
  s.seq = k.u64_be();
  reader r{value};
  if (!k.ok || !k.in.empty() || r.uint(1) != note_format)
    return std::nullopt;
  s.note.run_id = std::string{run_id};
  s.note.id = r.str();
  s.note.author.swarm = r.str();
  s.note.author.name = r.str();
  s.note.kind = r.str();
  s.note.text = r.str();
  s.note.importance = r.f64();
  s.note.time_ms = static_cast<int64_t>(r.uint(8));
  s.key = r.str();
  if (!r.ok || !r.in.empty())
    return std::nullopt;
  return s;
}

/// Scans the run's notes in write order, calling `fn(stored_note&&)` for each.
template <class Fn>
caf::error scan_run(const database& db, const std::string& run_id, Fn fn) {
  auto prefix = run_prefix(run_id);
  auto& raw = db_access::raw(db);
  std::unique_ptr<rocksdb::Iterator> it{
      raw.NewIterator(rocksdb::ReadOptions{}, db_access::cf(db, cf_working))};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto note = decode_note(run_id, std::string_view{it->key().data(), it->key().size()},
                            std::string_view{it->value().data(), it->value().size()});
    if (!note)
      return make_error(errc::io_error, "memory database " + db.path() +
                                            ": corrupt database: undecodable working-memory "
                                            "note of run '" +
                                            run_id + "'");
    fn(std::move(*note));
  }
  if (!it->status().ok())
    return db_access::fail(db, "cannot read working memory of run '" + run_id + "'", it->status());
  return {};
}

int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Newer first: later time, then later in write order (larger index).
bool newer(const wm_note& a, size_t ia, const wm_note& b, size_t ib) {
  if (a.time_ms != b.time_ms)
    return a.time_ms > b.time_ms;
  return ia > ib;
}

} // namespace

caf::error validate(const wm_write& w) {
  if (w.run_id.empty())
    return make_error(errc::invalid_argument, "working memory write: empty run_id");
  if (w.run_id.find('\0') != std::string::npos)
    return make_error(errc::invalid_argument, "working memory write: run_id contains NUL");
  if (w.kind != "note" && w.kind != "fact" && w.kind != "result")
    return make_error(errc::invalid_argument, "working memory write to run '" + w.run_id +
                                                  "': kind '" + w.kind +
                                                  "' is not one of note, fact, result");
  if (!(w.importance >= 0.0 && w.importance <= 1.0))
    return make_error(errc::invalid_argument, "working memory write to run '" + w.run_id +
                                                  "': importance " + std::to_string(w.importance) +
                                                  " outside [0, 1]");
  return {};
}

std::string note_id(const std::string& run_id, const std::string& key, uint64_t seq) {
  return key.empty() ? run_id + "#" + std::to_string(seq) : run_id + ":" + key;
}

std::vector<wm_note> rank_notes(const std::vector<wm_note>& notes, const std::string& text,
                                size_t top_k, const bm25_params& params) {
  auto query_tokens = tokenize(text);
  std::set<std::string> terms(query_tokens.begin(), query_tokens.end());
  std::vector<std::pair<double, size_t>> scored; // (score, index)
  if (terms.empty()) {
    for (size_t i = 0; i < notes.size(); ++i)
      scored.emplace_back(0.0, i);
  } else {
    // Statistics over this run's notes only.
    std::vector<std::map<std::string, uint32_t>> tfs(notes.size());
    std::vector<uint32_t> lengths(notes.size());
    std::map<std::string, uint64_t> df;
    uint64_t total = 0;
    for (size_t i = 0; i < notes.size(); ++i) {
      auto tokens = tokenize(notes[i].text);
      lengths[i] = static_cast<uint32_t>(tokens.size());
      total += tokens.size();
      for (auto& t : tokens)
        if (terms.count(t) > 0 && tfs[i][t]++ == 0)
          ++df[t];
    }
    auto avg = notes.empty() ? 0.0 : static_cast<double>(total) / static_cast<double>(notes.size());
    for (size_t i = 0; i < notes.size(); ++i) {
      double score = 0;
      for (const auto& [term, tf] : tfs[i])
        score += bm25_term_score(bm25_idf(notes.size(), df[term]), tf, lengths[i], avg, params);
      if (score > 0)
        scored.emplace_back(score, i);
    }
  }
  std::sort(scored.begin(), scored.end(), [&](const auto& x, const auto& y) {
    if (x.first != y.first)
      return x.first > y.first;
    return newer(notes[x.second], x.second, notes[y.second], y.second);
  });
  std::vector<wm_note> result;
  for (size_t i = 0; i < scored.size() && i < top_k; ++i)
    result.push_back(notes[scored[i].second]);
  return result;
}

caf::expected<std::vector<wm_note>> read_run_notes(const database& db, const std::string& run_id) {
  std::vector<wm_note> notes;
  if (auto err = scan_run(db, run_id, [&](stored_note&& s) { notes.push_back(std::move(s.note)); }))
    return err;
  return notes;
}

// --- store --------------------------------------------------------------------------------------

working_store::working_store(std::shared_ptr<database> db, working_options opts)
    : db_(std::move(db)), opts_(opts) {
  opts_.cached_runs = std::max<size_t>(opts_.cached_runs, 1);
}

caf::expected<working_store::run_notes*> working_store::load(const std::string& run_id) {
  if (auto it = runs_.find(run_id); it != runs_.end()) {
    lru_.remove(run_id);
    lru_.push_front(run_id);
    return &it->second;
  }
  run_notes run;
  auto err = scan_run(*db_, run_id, [&](stored_note&& s) {
    if (!s.key.empty())
      run.by_key[s.key] = run.notes.size();
    run.next_seq = s.seq + 1;
    run.seqs.push_back(s.seq);
    run.notes.push_back(std::move(s.note));
  });
  if (err)
    return err;
  // Evict the least recently used runs, never one pinned by the batch being built.
  for (auto it = lru_.end(); runs_.size() >= opts_.cached_runs && it != lru_.begin();) {
    --it;
    if (pinned_.count(*it) > 0)
      continue;
    runs_.erase(*it);
    it = lru_.erase(it);
  }
  lru_.push_front(run_id);
  return &runs_.emplace(run_id, std::move(run)).first->second;
}

caf::expected<wm_note> working_store::write(const wm_write& w, int64_t now_ms) {
  auto notes = write_all({w}, now_ms);
  if (!notes)
    return notes.error();
  return std::move(notes->front());
}

caf::expected<std::vector<wm_note>> working_store::write_all(const std::vector<wm_write>& writes,
                                                             int64_t now_ms) {
  for (const auto& w : writes)
    if (auto err = validate(w))
      return err;
  // The cache is updated as the batch is built (so that notes of one run in one batch number
  // on), with the batch's runs pinned in the cache; if the write fails, those runs are dropped
  // from the cache and read again from RocksDB when next used.
  std::vector<wm_note> out;
  rocksdb::WriteBatch batch;
  auto* cf = db_access::cf(*db_, cf_working);
  pinned_.clear();
  for (const auto& w : writes) {
    auto run = load(w.run_id);
    if (!run) {
      drop(pinned_);
      return run.error();
    }
    pinned_.insert(w.run_id);
    auto& notes = **run;
    std::optional<size_t> existing;
    if (!w.key.empty())
      if (auto it = notes.by_key.find(w.key); it != notes.by_key.end())
        existing = it->second;
    auto seq = existing ? notes.seqs[*existing] : notes.next_seq;
    wm_note note{
        note_id(w.run_id, w.key, seq), w.run_id, w.author, w.kind, w.text, w.importance, now_ms};
    batch.Put(cf, note_key(w.run_id, seq), encode_note(note, w.key)).PermitUncheckedError();
    if (existing) {
      notes.notes[*existing] = note;
    } else {
      if (!w.key.empty())
        notes.by_key[w.key] = notes.notes.size();
      notes.notes.push_back(note);
      notes.seqs.push_back(seq);
      notes.next_seq = seq + 1;
    }
    out.push_back(std::move(note));
  }
  auto what = writes.size() == 1 ? "cannot write working memory of run '" + writes[0].run_id + "'"
                                 : "cannot write working memory";
  if (auto err = db_access::write(*db_, batch, what)) {
    drop(pinned_);
    pinned_.clear();
    return err;
  }
  pinned_.clear();
  return out;
}

void working_store::drop(const std::set<std::string>& run_ids) {
  for (const auto& id : run_ids) {
    runs_.erase(id);
    lru_.remove(id);
  }
}

caf::expected<std::vector<wm_note>> working_store::query(const wm_query& q) {
  auto run = load(q.run_id);
  if (!run)
    return run.error();
  return rank_notes((*run)->notes, q.text, q.top_k, opts_.bm25);
}

caf::expected<std::vector<wm_note>> working_store::list(const std::string& run_id) {
  auto run = load(run_id);
  if (!run)
    return run.error();
  return (*run)->notes;
}

caf::expected<uint64_t> working_store::forget_run(const std::string& run_id) {
  auto run = load(run_id);
  if (!run)
    return run.error();
  uint64_t count = (*run)->notes.size();
  if (count > 0) {
    rocksdb::WriteBatch batch;
    auto* cf = db_access::cf(*db_, cf_working);
    for (auto seq : (*run)->seqs)
      batch.Delete(cf, note_key(run_id, seq)).PermitUncheckedError();
    if (auto err =
            db_access::write(*db_, batch, "cannot forget working memory of run '" + run_id + "'"))
      return err;
  }
  runs_.erase(run_id);
  lru_.remove(run_id);
  return count;
}

// --- actor --------------------------------------------------------------------------------------

namespace {

/// State of the working-memory actor.
struct working_memory_state {
  std::unique_ptr<working_store> store;
  monitor_actor monitor;
  /// Writes received but not yet stored, with their promises (group commit).
  std::vector<wm_write> pending;
  std::vector<caf::response_promise> promises;

  static inline const char* name = "swarm.working_memory";
};

using working_pointer = working_memory_actor::stateful_pointer<working_memory_state>;

/// Stores the pending writes in one RocksDB write, then answers them and reports the events.
void flush(working_pointer self) {
  auto& st = self->state;
  if (st.pending.empty())
    return;
  auto writes = std::move(st.pending);
  auto promises = std::move(st.promises);
  st.pending.clear();
  st.promises.clear();
  auto notes = st.store->write_all(writes, system_now_ms());
  for (size_t i = 0; i < promises.size(); ++i) {
    if (!notes) {
      promises[i].deliver(notes.error());
      continue;
    }
    auto& note = (*notes)[i];
    if (events_wanted(st.monitor)) {
      event ev;
      ev.kind = event_kind::memory_written;
      ev.run_id = note.run_id;
      ev.agent = note.author;
      ev.text = note.id;
      emit_event(st.monitor, std::move(ev));
    }
    promises[i].deliver(std::move(note));
  }
}

working_memory_actor::behavior_type working_memory_behavior(working_pointer self,
                                                            std::shared_ptr<database> db,
                                                            monitor_actor monitor,
                                                            working_options opts) {
  self->state.store = std::make_unique<working_store>(std::move(db), opts);
  self->state.monitor = std::move(monitor);
  // Group commit: writes that arrive while more messages wait in the mailbox are collected and
  // stored in one RocksDB write when the mailbox runs dry or another kind of request arrives
  // (so reads always see earlier writes). No write is answered before it is durable.
  return {
      [self](wm_write& w) -> caf::result<wm_note> {
        if (auto err = validate(w))
          return err;
        auto& st = self->state;
        st.pending.push_back(std::move(w));
        st.promises.push_back(self->make_response_promise());
        if (self->mailbox().empty())
          flush(self);
        return caf::delegated<wm_note>{};
      },
      [self](wm_query& q) -> caf::result<std::vector<wm_note>> {
        flush(self);
        auto notes = self->state.store->query(q);
        if (!notes)
          return notes.error();
        return std::move(*notes);
      },
      [self](wm_list& l) -> caf::result<std::vector<wm_note>> {
        flush(self);
        auto notes = self->state.store->list(l.run_id);
        if (!notes)
          return notes.error();
        return std::move(*notes);
      },
      [self](wm_forget_run& f) -> caf::result<uint64_t> {
        flush(self);
        auto n = self->state.store->forget_run(f.run_id);
        if (!n)
          return n.error();
        return *n;
      },
  };
}

} // namespace

working_memory_actor spawn_working_memory(caf::actor_system& sys, std::shared_ptr<database> db,
                                          monitor_actor monitor, working_options opts) {
  return sys.spawn(working_memory_behavior, std::move(db), std::move(monitor), opts);
}

} // namespace swarm::memory
