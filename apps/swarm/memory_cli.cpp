// What the `swarm memory` subcommands share (memory_cli.hpp).
#include "apps/swarm/memory_cli.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "runtime/core/errc.hpp"

namespace swarm::cli {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Prints "swarm memory SUB: MESSAGE" to stderr and returns `code`.
int fail(const std::string& sub, const std::string& message, exit_code code) {
  std::cerr << "swarm memory " << sub << ": " << message << "\n";
  return static_cast<int>(code);
}

int fail(const std::string& sub, const caf::error& err) {
  auto code = is(err, errc::invalid_argument)    ? exit_usage
              : is(err, errc::data_dir_unusable) ? exit_data_dir
                                                 : exit_failed;
  return fail(sub, describe(err), code);
}

/// Opens the data directory's database; commands that only read open it read-only, so that
/// they work beside a running swarm and never create a store.
caf::expected<std::shared_ptr<memory::database>> open_db(const memory_args& args, bool write) {
  memory::database_options opts;
  opts.read_only = !write;
  opts.create_if_missing = write;
  auto db = memory::database::open(args.data_dir, opts);
  if (db && !args.damage_warned) {
    warn_damage(**db, args.data_dir);
    args.damage_warned = true;
  }
  return db;
}

/// True if a process has the database of `data_dir` open read-write now (holds its lock), or
/// if that cannot be told.
bool database_in_use(const std::string& data_dir) {
  auto holder = memory::database::lock_holder(data_dir);
  return !holder || holder->has_value();
}

/// Runs still "running" in the journal whose process is gone were interrupted: they show so.
/// The lock is checked before the headers were read (`in_use_before`) and after; a run that
/// started or ended in between keeps what its header says.
void mark_interrupted(std::vector<memory::run_record>& runs, const std::string& data_dir,
                      bool in_use_before) {
  bool any = std::any_of(runs.begin(), runs.end(),
                         [](const memory::run_record& r) { return r.status == "running"; });
  if (!any || in_use_before || database_in_use(data_dir))
    return;
  for (auto& r : runs)
    if (r.status == "running")
      r.status = "interrupted";
}

// --- formatting ---------------------------------------------------------------------------------

/// Shortest text that reads back as `x` ("0.5", not Boost.JSON's "5E-1").
std::string number(double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string{buf, res.ptr};
}

/// "2024-05-01T12:00:00Z" for Unix milliseconds; "-" for 0.
std::string iso_time(int64_t ms) {
  if (ms == 0)
    return "-";
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// "1.4 MiB (1468006 bytes)".
std::string size_text(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = static_cast<double>(bytes);
  size_t u = 0;
  while (x >= 1024 && u + 1 < std::size(units)) {
    x /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f %s (%llu bytes)", x, units[u],
                static_cast<unsigned long long>(bytes));
  return buf;
}

/// The first line of `text`, at most `n` characters, with "..." if cut.
std::string excerpt(const std::string& text, size_t n) {
  auto line = text.substr(0, text.find('\n'));
  if (line.size() > n || line.size() < text.size())
    return line.substr(0, n) + "...";
  return line;
}

json_line usage_json(const usage& u) {
  json_line j;
  j.add("prompt_tokens", u.prompt_tokens)
      .add("completion_tokens", u.completion_tokens)
      .add("total_tokens", u.total_tokens())
      .add("calls", u.calls);
  return j;
}

json_line record_json(const memory::memory_record& r) {
  json_line j;
  j.add("id", r.id)
      .add("ns", r.ns)
      .add("text", r.text)
      .add("importance", r.importance)
      .add("created", r.created)
      .add("tags", r.tags);
  return j;
}

json_line run_json(const memory::run_record& r) {
  json_line j;
  j.add("run_id", r.run_id)
      .add("swarm", r.swarm)
      .add("status", r.status)
      .add("spec_source", r.spec_source)
      .add("task_id", r.task_id)
      .add("task_text", r.task_text)
      .add("llm_url", r.llm_url)
      .add("model", r.model)
      .add("started_ms", r.started_ms)
      .add("finished_ms", r.finished_ms)
      .add("result_text", r.result_text)
      .add("error", r.error)
      .add("spec_digest", r.spec_digest)
      .add("spec_text", r.spec_text);
  return j;
}

} // namespace swarm::cli
