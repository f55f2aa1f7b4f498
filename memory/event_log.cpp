// The event log in the `events` column family. Keys: `e` RUN '\n' SEQ (8 bytes, big endian, so a
// run's events sort by sequence) for an event: a format byte, its kind, its JSON; `r` RUN for a
// run's last event: its time (Unix ms) and sequence number.
#include "memory/event_log.hpp"

#include <algorithm>
#include <utility>

#include "memory/detail/db_access.hpp"
#include "memory/encoding.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::memory {

namespace {

using detail::db_access;

constexpr char event_tag = 'e';
constexpr char run_tag = 'r';
constexpr char format = 1;

std::string events_prefix(const std::string& run_id) {
  return event_tag + run_id + '\n';
}

std::string event_key(const std::string& run_id, uint64_t seq) {
  auto k = events_prefix(run_id);
  encoding::put_u64_be(k, seq);
  return k;
}

std::string run_key(const std::string& run_id) {
  return run_tag + run_id;
}

struct run_mark {
  uint64_t last_ms = 0;
  uint64_t last_seq = 0;
};

std::string encode(const run_mark& m) {
  std::string out;
  encoding::put_u64(out, m.last_ms);
  encoding::put_u64(out, m.last_seq);
  return out;
}

bool decode(std::string_view in, run_mark& m) {
  encoding::reader r{in};
  m.last_ms = r.uint(8);
  m.last_seq = r.uint(8);
  return r.ok && r.in.empty();
}

} // namespace

event_log::event_log(std::shared_ptr<database> db, event_log_options opts)
    : db_(std::move(db)), opts_(opts) {}

std::string event_log::describe() const {
  return "event log in " + db_->path();
}

caf::expected<uint64_t> event_log::next_seq(const std::string& run_id) {
  std::lock_guard guard{mtx_};
  if (auto i = last_.find(run_id); i != last_.end())
    return i->second + 1;
  std::string value;
  auto st = db_access::raw(*db_).Get(rocksdb::ReadOptions{}, db_access::cf(*db_, cf_events),
                                     run_key(run_id), &value);
  run_mark mark;
  if (st.ok() && !decode(value, mark))
    return make_error(errc::io_error, describe() + ": run '" + run_id + "': undecodable mark");
  if (!st.ok() && !st.IsNotFound())
    return db_access::fail(*db_, "cannot read the event log of run '" + run_id + "'", st);
  last_[run_id] = mark.last_seq;
  return mark.last_seq + 1;
}

caf::error event_log::append(const event& e, std::string_view json) {
  std::string value;
  value.reserve(json.size() + 2);
  value.push_back(format);
  value.push_back(static_cast<char>(e.kind));
  value.append(json);
  auto* cf = db_access::cf(*db_, cf_events);
  rocksdb::WriteBatch batch;
  batch.Put(cf, event_key(e.run_id, e.run_seq), value).PermitUncheckedError();
  batch.Put(cf, run_key(e.run_id), encode({static_cast<uint64_t>(e.time_us / 1000), e.run_seq}))
      .PermitUncheckedError();
  std::lock_guard guard{mtx_};
  if (auto err = db_access::write(*db_, batch, "cannot log an event of run '" + e.run_id + "'"))
    return err;
  auto& last = last_[e.run_id];
  last = std::max(last, e.run_seq);
  return {};
}

caf::expected<std::vector<logged_event>> event_log::read(const std::string& run_id, uint64_t after,
                                                         size_t limit) const {
  std::vector<logged_event> out;
  auto prefix = events_prefix(run_id);
  std::unique_ptr<rocksdb::Iterator> it{
      db_access::raw(*db_).NewIterator(rocksdb::ReadOptions{}, db_access::cf(*db_, cf_events))};
  for (it->Seek(event_key(run_id, after + 1));
       it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    auto v = it->value().ToStringView();
    encoding::reader key{it->key().ToStringView().substr(prefix.size())};
    auto seq = key.u64_be();
    if (!key.ok || !key.in.empty() || v.size() < 2 || v[0] != format)
      return make_error(errc::io_error,
                        describe() + ": run '" + run_id + "': undecodable event after seq " +
                            std::to_string(out.empty() ? after : out.back().run_seq));
    logged_event le;
    le.run_seq = seq;
    le.kind = static_cast<event_kind>(static_cast<unsigned char>(v[1]));
    le.run_id = run_id;
    le.json = std::string{v.substr(2)};
    out.push_back(std::move(le));
  }
  if (!it->status().ok())
    return db_access::fail(*db_, "cannot read the event log of run '" + run_id + "'", it->status());
  return out;
}

caf::error event_log::drop_run(const std::string& run_id, size_t* dropped) {
  auto* cf = db_access::cf(*db_, cf_events);
  rocksdb::WriteBatch batch;
  auto prefix = events_prefix(run_id);
  auto end = prefix;
  end.back() = '\n' + 1; // every key of the run sorts below it
  batch.DeleteRange(cf, prefix, end).PermitUncheckedError();
  batch.Delete(cf, run_key(run_id)).PermitUncheckedError();
  if (dropped) {
    std::unique_ptr<rocksdb::Iterator> it{
        db_access::raw(*db_).NewIterator(rocksdb::ReadOptions{}, cf)};
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
      ++*dropped;
  }
  if (auto err = db_access::write(*db_, batch, "cannot drop the events of run '" + run_id + "'"))
    return err;
  last_.erase(run_id);
  return {};
}

caf::expected<size_t> event_log::forget(const std::string& run_id) {
  std::lock_guard guard{mtx_};
  size_t dropped = 0;
  if (auto err = drop_run(run_id, &dropped))
    return err;
  return dropped;
}

caf::expected<size_t> event_log::prune(std::chrono::system_clock::time_point now) {
  std::lock_guard guard{mtx_};
  std::vector<std::pair<uint64_t, std::string>> runs; // last_ms, run id
  std::string prefix(1, run_tag);
  std::unique_ptr<rocksdb::Iterator> it{
      db_access::raw(*db_).NewIterator(rocksdb::ReadOptions{}, db_access::cf(*db_, cf_events))};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    run_mark mark;
    // An undecodable mark counts as oldest: its run goes first.
    if (!decode(it->value().ToStringView(), mark))
      mark.last_ms = 0;
    runs.emplace_back(mark.last_ms, it->key().ToString().substr(1));
  }
  if (!it->status().ok())
    return db_access::fail(*db_, "cannot read the event log", it->status());
  std::sort(runs.begin(), runs.end(), std::greater<>{});
  auto cutoff = std::chrono::duration_cast<std::chrono::milliseconds>(
                    (now - opts_.retention).time_since_epoch())
                    .count();
  size_t dropped = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (i < opts_.max_runs && static_cast<int64_t>(runs[i].first) >= cutoff)
      continue;
    if (auto err = drop_run(runs[i].second, nullptr))
      return err;
    ++dropped;
  }
  return dropped;
}

} // namespace swarm::memory
