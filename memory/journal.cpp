// The run journal on the memory database (see journal.hpp). Layout:
//   journal: 'c' <call key>                    -> version byte 3, CAF binary journaled_call
//                                                 (without its key; versions still read: 1, a
//                                                 reply without usage_estimated; 2, without
//                                                 fallback)
//            's' <run id> '\n' <u64 big endian> -> version byte, CAF binary journaled_step
//            't' <tool key>                    -> version byte, CAF binary journaled_tool_call
//                                                 (without its key; the reply's error as its
//                                                 errc code and message)
//   runs:    <run id>                          -> version byte 2, CAF binary run_record (version
//                                                 1, still read: the fields before spec_digest)
// A call key starts with `<run id> '\n'`, so a run's calls and steps are each one key range.
// The values' bytes, both ways: journal_values.cpp.
#include "memory/journal.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "memory/detail/db_access.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::memory {

namespace {

using detail::db_access;

constexpr char call_tag = 'c';
constexpr char step_tag = 's';
constexpr char tool_tag = 't';

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string call_key(const std::string& key) {
  std::string k;
  k.reserve(key.size() + 1);
  k.push_back(call_tag);
  k.append(key);
  return k;
}

std::string calls_prefix(const std::string& run_id) {
  return call_tag + run_id + '\n';
}

std::string tools_prefix(const std::string& run_id) {
  return tool_tag + run_id + '\n';
}

std::string steps_prefix(const std::string& run_id) {
  return step_tag + run_id + '\n';
}

std::string step_key(const std::string& run_id, uint64_t seq) {
  auto k = steps_prefix(run_id);
  for (int i = 7; i >= 0; --i)
    k.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  return k;
}

/// The run a call key belongs to: the text before its first newline.
std::string run_of(const std::string& key) {
  return key.substr(0, key.find('\n'));
}

caf::error check_run_id(const std::string& run_id) {
  if (run_id.empty())
    return make_error(errc::invalid_argument, "journal: empty run id");
  if (run_id.find('\n') != std::string::npos)
    return make_error(errc::invalid_argument,
                      "journal: run id '" + run_id + "' contains a newline");
  return {};
}

/// Calls `fn(key, value)` for every key of column family `cf` that starts with `prefix`.
template <class Fn>
caf::error scan_prefix(const database& db, rocksdb::ColumnFamilyHandle* cf,
                       const std::string& prefix, Fn fn) {
  std::unique_ptr<rocksdb::Iterator> it{db_access::raw(db).NewIterator(rocksdb::ReadOptions{}, cf)};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    if (auto err = fn(it->key(), it->value()))
      return err;
  if (!it->status().ok())
    return db_access::fail(db, "cannot read the journal", it->status());
  return {};
}

} // namespace

journal::journal(std::shared_ptr<database> db) : db_(std::move(db)) {}

const database& journal::db() const {
  return *db_;
}

std::string journal::describe() const {
  return "journal in " + db_->path();
}

// --- calls --------------------------------------------------------------------------------------

caf::expected<std::optional<chat_result>> journal::find(const std::string& key) {
  std::string value;
  auto st = db_access::raw(*db_).Get(rocksdb::ReadOptions{}, db_access::cf(*db_, cf_journal),
                                     call_key(key), &value);
  if (st.IsNotFound())
    return std::optional<chat_result>{};
  if (!st.ok())
    return db_access::fail(*db_, "cannot read journal entry of run '" + run_of(key) + "'", st);
  journaled_call call;
  if (!journal_values::decode_call(value, call))
    return make_error(errc::io_error, describe() + ": run '" + run_of(key) +
                                          "': undecodable journal entry under key '" + key + "'");
  return std::optional<chat_result>{std::move(call.reply)};
}

caf::error journal::put(const std::string& key, const chat_request& req, const chat_result& reply) {
  if (key.empty())
    return make_error(errc::invalid_argument, "journal put: empty key");
  journaled_call call{key, req.agent.str(), req.task_id, req.step, req.model, reply, now_ms()};
  rocksdb::WriteBatch batch;
  batch.Put(db_access::cf(*db_, cf_journal), call_key(key), journal_values::encode_call(call))
      .PermitUncheckedError();
  return db_access::write(*db_, batch,
                          "cannot journal a call of run '" + run_of(key) + "' (key '" + key + "')");
}

caf::expected<std::vector<journaled_call>> journal::calls(const std::string& run_id) const {
  if (auto err = check_run_id(run_id))
    return err;
  std::vector<journaled_call> result;
  auto err = scan_prefix(*db_, db_access::cf(*db_, cf_journal), calls_prefix(run_id),
                         [&](const rocksdb::Slice& k, const rocksdb::Slice& v) -> caf::error {
                           journaled_call call;
                           call.key = std::string{k.data() + 1, k.size() - 1};
                           if (!journal_values::decode_call(v.ToStringView(), call))
                             return make_error(errc::io_error,
                                               describe() + ": run '" + run_id +
                                                   "': undecodable journal entry under key '" +
                                                   call.key + "'");
                           result.push_back(std::move(call));
                           return {};
                         });
  if (err)
    return err;
  return result;
}

// --- tool calls ---------------------------------------------------------------------------------

caf::expected<std::optional<tool_reply>> journal::find_tool(const std::string& key) {
  std::string value;
  auto st = db_access::raw(*db_).Get(rocksdb::ReadOptions{}, db_access::cf(*db_, cf_journal),
                                     tool_tag + key, &value);
  if (st.IsNotFound())
    return std::optional<tool_reply>{};
  if (!st.ok())
    return db_access::fail(*db_, "cannot read a tool call of run '" + run_of(key) + "'", st);
  journaled_tool_call call;
  if (!journal_values::decode_tool_call(value, call))
    return make_error(errc::io_error, describe() + ": run '" + run_of(key) +
                                          "': undecodable tool call under key '" + key + "'");
  return std::optional<tool_reply>{std::move(call.reply)};
}

caf::error journal::put_tool(const std::string& key, const tool_request& req,
                             const tool_reply& reply, const std::string& decision) {
  if (key.empty())
    return make_error(errc::invalid_argument, "journal put_tool: empty key");
  journaled_tool_call call{key,      req.agent.str(), req.task_id,
                           req.step, req.call.name,   req.call.arguments,
                           decision, reply,           now_ms()};
  rocksdb::WriteBatch batch;
  batch.Put(db_access::cf(*db_, cf_journal), tool_tag + key, journal_values::encode_tool_call(call))
      .PermitUncheckedError();
  return db_access::write(
      *db_, batch, "cannot journal a tool call of run '" + run_of(key) + "' (key '" + key + "')");
}

caf::expected<std::vector<journaled_tool_call>>
journal::tool_calls(const std::string& run_id) const {
  if (auto err = check_run_id(run_id))
    return err;
  std::vector<journaled_tool_call> result;
  auto err =
      scan_prefix(*db_, db_access::cf(*db_, cf_journal), tools_prefix(run_id),
                  [&](const rocksdb::Slice& k, const rocksdb::Slice& v) -> caf::error {
                    journaled_tool_call call;
                    call.key = std::string{k.data() + 1, k.size() - 1};
                    if (!journal_values::decode_tool_call(v.ToStringView(), call))
                      return make_error(errc::io_error, describe() + ": run '" + run_id +
                                                            "': undecodable tool call under key '" +
                                                            call.key + "'");
                    result.push_back(std::move(call));
                    return {};
                  });
  if (err)
    return err;
  return result;
}

// --- steps --------------------------------------------------------------------------------------

caf::error journal::put_step(const std::string& run_id, const journaled_step& step) {
  if (auto err = check_run_id(run_id))
    return err;
  std::lock_guard guard{mtx_};
  auto next = next_step_seq_.find(run_id);
  if (next == next_step_seq_.end()) {
    // First step of this run since opening: continue after the last one on disk.
    uint64_t seq = 0;
    auto prefix = steps_prefix(run_id);
    std::unique_ptr<rocksdb::Iterator> it{
        db_access::raw(*db_).NewIterator(rocksdb::ReadOptions{}, db_access::cf(*db_, cf_journal))};
    it->SeekForPrev(step_key(run_id, UINT64_MAX));
    if (it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 8) {
      for (size_t i = prefix.size(); i < it->key().size(); ++i)
        seq = (seq << 8) | static_cast<unsigned char>(it->key()[i]);
      ++seq;
    }
    if (!it->status().ok())
      return db_access::fail(*db_, "cannot read the journal of run '" + run_id + "'", it->status());
    next = next_step_seq_.emplace(run_id, seq).first;
  }
  auto copy = step;
  if (copy.time_ms == 0)
    copy.time_ms = now_ms();
  rocksdb::WriteBatch batch;
  batch
      .Put(db_access::cf(*db_, cf_journal), step_key(run_id, next->second),
           journal_values::encode_step(copy))
      .PermitUncheckedError();
  if (auto err = db_access::write(*db_, batch, "cannot journal a step of run '" + run_id + "'"))
    return err;
  ++next->second;
  return {};
}

caf::expected<std::vector<journaled_step>> journal::steps(const std::string& run_id) const {
  if (auto err = check_run_id(run_id))
    return err;
  std::vector<journaled_step> result;
  auto err =
      scan_prefix(*db_, db_access::cf(*db_, cf_journal), steps_prefix(run_id),
                  [&](const rocksdb::Slice& k, const rocksdb::Slice& v) -> caf::error {
                    journaled_step step;
                    if (!journal_values::decode_step(v.ToStringView(), step))
                      return make_error(errc::io_error, describe() + ": run '" + run_id +
                                                            "': undecodable step under key '" +
                                                            rocksdb::Slice{k}.ToString(true) + "'");
                    result.push_back(std::move(step));
                    return {};
                  });
  if (err)
    return err;
  return result;
}

// --- runs ---------------------------------------------------------------------------------------

caf::error journal::put_run(const run_record& run) {
  if (auto err = check_run_id(run.run_id))
    return err;
  rocksdb::WriteBatch batch;
  batch.Put(db_access::cf(*db_, cf_runs), run.run_id, journal_values::encode_run(run))
      .PermitUncheckedError();
  return db_access::write(*db_, batch, "cannot journal the header of run '" + run.run_id + "'");
}

caf::expected<std::optional<run_record>> journal::get_run(const std::string& run_id) const {
  if (auto err = check_run_id(run_id))
    return err;
  std::string value;
  auto st = db_access::raw(*db_).Get(rocksdb::ReadOptions{}, db_access::cf(*db_, cf_runs), run_id,
                                     &value);
  if (st.IsNotFound())
    return std::optional<run_record>{};
  if (!st.ok())
    return db_access::fail(*db_, "cannot read the header of run '" + run_id + "'", st);
  run_record run;
  if (!journal_values::decode_run(value, run))
    return make_error(errc::io_error,
                      describe() + ": run '" + run_id + "': undecodable run header");
  return std::optional<run_record>{std::move(run)};
}

caf::expected<std::vector<run_record>> journal::runs() const {
  std::vector<run_record> result;
  auto err =
      scan_prefix(*db_, db_access::cf(*db_, cf_runs), std::string{},
                  [&](const rocksdb::Slice& k, const rocksdb::Slice& v) -> caf::error {
                    run_record run;
                    if (!journal_values::decode_run(v.ToStringView(), run))
                      return make_error(errc::io_error, describe() + ": run '" + k.ToString() +
                                                            "': undecodable run header");
                    result.push_back(std::move(run));
                    return {};
                  });
  if (err)
    return err;
  std::stable_sort(result.begin(), result.end(), [](const run_record& a, const run_record& b) {
    return a.started_ms != b.started_ms ? a.started_ms > b.started_ms : a.run_id > b.run_id;
  });
  return result;
}

caf::expected<size_t> journal::forget_run(const std::string& run_id) {
  if (auto err = check_run_id(run_id))
    return err;
  std::lock_guard guard{mtx_};
  rocksdb::WriteBatch batch;
  size_t removed = 0;
  auto* journal_cf = db_access::cf(*db_, cf_journal);
  for (const auto& prefix : {calls_prefix(run_id), steps_prefix(run_id), tools_prefix(run_id)}) {
    auto err = scan_prefix(*db_, journal_cf, prefix,
                           [&](const rocksdb::Slice& k, const rocksdb::Slice&) -> caf::error {
                             batch.Delete(journal_cf, k).PermitUncheckedError();
                             ++removed;
                             return {};
                           });
    if (err)
      return err;
  }
  // A header that no longer decodes is removed all the same.
  std::string value;
  auto* runs_cf = db_access::cf(*db_, cf_runs);
  auto st = db_access::raw(*db_).Get(rocksdb::ReadOptions{}, runs_cf, run_id, &value);
  if (!st.ok() && !st.IsNotFound())
    return db_access::fail(*db_, "cannot read the header of run '" + run_id + "'", st);
  if (st.ok()) {
    batch.Delete(runs_cf, run_id).PermitUncheckedError();
    ++removed;
  }
  if (removed == 0)
    return size_t{0};
  if (auto err = db_access::write(*db_, batch, "cannot forget run '" + run_id + "'"))
    return err;
  next_step_seq_.erase(run_id);
  return removed;
}

} // namespace swarm::memory
