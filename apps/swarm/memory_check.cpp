// `swarm memory check`: the state of a data directory's memory store (records, runs, WAL files)
// and whatever opening it found damaged or lost, now or at an earlier read-write open; exits 3
// when anything was.
#include <filesystem>
#include <iostream>

#include "apps/swarm/memory_cli.hpp"
#include "memory/long_term.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::cli {

void warn_damage(const memory::database& db, const std::string& data_dir) {
  for (const auto& line : db.damage())
    std::cerr << "swarm memory: warning: memory database " << db.path() << " is damaged: " << line
              << "\n";
  auto recorded = db.recorded_damage();
  size_t earlier = recorded ? recorded->size() : 0;
  if (!db.damage().empty() || earlier > 0)
    std::cerr << "swarm memory: warning: data was lost; `swarm memory check --data-dir " << data_dir
              << "` says what (" << earlier << " loss report" << (earlier == 1 ? "" : "s")
              << " recorded)\n";
}

int check_store(const memory_args& args) {
  memory::database_options opts;
  opts.read_only = !args.clear_damage; // a plain check works beside a running swarm
  opts.create_if_missing = false;
  auto db = memory::database::open(args.data_dir, opts);
  if (!db) {
    if (args.json) {
      json_line j;
      j.add("data_dir", args.data_dir).add("state", "unusable").add("error", describe(db.error()));
      std::cout << j.str() << "\n";
    } else {
      std::cout << "state: unusable\n";
    }
    return fail("check", db.error());
  }
  memory::long_term_store store{*db};
  memory::journal jnl{*db};
  auto totals = store.stats();
  if (!totals)
    return fail("check", totals.error());
  auto runs = jnl.runs();
  if (!runs)
    return fail("check", runs.error());
  auto recorded = (*db)->recorded_damage();
  if (!recorded)
    return fail("check", recorded.error());
  const auto& found = (*db)->damage();
  // A read-write open records its own damage: show it once, as found now.
  std::vector<std::string> earlier;
  for (const auto& line : *recorded) {
    bool now = false;
    for (const auto& f : found)
      now = now || line.find(f) != std::string::npos;
    if (!now)
      earlier.push_back(line);
  }
  bool damaged = !found.empty() || !earlier.empty();
  auto [wals, wal_bytes] = (*db)->wal_files();
  if (args.json) {
    json_line j;
    j.add("path", (*db)->path())
        .add("state", damaged ? "damaged" : "healthy")
        .add("records", totals->doc_count)
        .add("runs", static_cast<uint64_t>(runs->size()))
        .add("wal_files", wals)
        .add("wal_bytes", wal_bytes)
        .add("damage", found)
        .add("earlier_damage", earlier);
    std::cout << j.str() << "\n";
  } else {
    std::cout << "memory database " << (*db)->path() << "\n"
              << "records: " << totals->doc_count << "\n"
              << "runs: " << runs->size() << "\n"
              << "WAL files: " << wals << " (" << size_text(wal_bytes) << ")\n";
    for (const auto& line : found)
      std::cout << "damage: " << line << "\n";
    for (const auto& line : earlier)
      std::cout << "lost earlier: " << line << "\n";
    std::cout << "state: " << (damaged ? "damaged" : "healthy") << "\n";
  }
  if (args.clear_damage && !recorded->empty()) {
    if (auto err = (*db)->clear_recorded_damage())
      return fail("check", err);
    std::cerr << "swarm memory check: the recorded loss reports are forgotten\n";
  }
  if (damaged)
    std::cerr << "swarm memory check: memory database " << (*db)->path()
              << " is damaged or lost data (see above)\n";
  return damaged ? exit_data_dir : exit_ok;
}

} // namespace swarm::cli
