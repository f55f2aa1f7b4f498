// Uses the memory database on a small file system for many runs (open, write, close), then fills
// it until a write reports storage_full, and checks that the database reopens (before and after
// space is freed) with every acknowledged write. Run by disk_full_test.sh inside a private mount
// namespace on a small tmpfs or loop file system: `disk_full_probe DIR` where DIR is that file
// system's mount point.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "memory/long_term.hpp"
#include "runtime/core/errc.hpp"

using namespace swarm::memory;
namespace fs = std::filesystem;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAILED: %s\n", what.c_str());
  }
}

/// A text of `words` pseudo-random words, so that every record adds postings too.
std::string text_of(std::mt19937& rng, size_t words) {
  static const char* vocabulary[] = {"actor",  "swarm", "memory", "journal", "tmpfs",  "rocks",
                                     "ballot", "judge", "critic", "planner", "resume", "quota"};
  std::string text;
  for (size_t i = 0; i < words; ++i) {
    text += vocabulary[rng() % std::size(vocabulary)];
    text += std::to_string(rng() % 1000);
    text += ' ';
  }
  return text;
}

/// Every acknowledged record and call must read back.
void check_acknowledged(const std::shared_ptr<database>& db, const std::vector<std::string>& ids,
                        const std::vector<std::string>& keys, const std::string& when) {
  long_term_store store{db};
  size_t missing = 0;
  for (const auto& id : ids) {
    auto rec = store.get(id);
    if (!rec || !*rec)
      ++missing;
  }
  check(missing == 0, when + ": " + std::to_string(missing) + " of " + std::to_string(ids.size()) +
                          " acknowledged records missing");
  journal jnl{db};
  size_t missing_calls = 0;
  for (const auto& key : keys) {
    auto reply = jnl.find(key);
    if (!reply || !*reply)
      ++missing_calls;
  }
  check(missing_calls == 0, when + ": " + std::to_string(missing_calls) + " of " +
                                std::to_string(keys.size()) + " acknowledged calls missing");
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::printf("usage: disk_full_probe MOUNT_POINT\n");
    return 2;
  }
  fs::path mount{argv[1]};
  auto data_dir = (mount / "state").string();
  auto ballast = mount / "ballast";
  // Space to free later: 512 KiB the database cannot use.
  {
    std::ofstream f{ballast, std::ios::binary};
    f << std::string(512 * 1024, 'b');
    f.flush();
    if (!f) {
      std::printf("FAILED: cannot write the ballast file %s\n", ballast.c_str());
      return 1;
    }
  }
  std::vector<std::string> ids;
  std::vector<std::string> keys;
  std::mt19937 rng{42};
  // Many runs first, as a data directory sees them: every open leaves nothing behind that the
  // next ones must carry (WAL files, logs), or the full disk below could no longer be opened.
  constexpr int runs = 40;
  for (int run = 1; run <= runs; ++run) {
    auto db = database::open(data_dir);
    if (!db) {
      std::printf("FAILED: run %d: open: %s\n", run, swarm::describe(db.error()).c_str());
      return 1;
    }
    long_term_store store{*db};
    journal jnl{*db};
    for (int i = 0; i < 3; ++i) {
      auto id = "run" + std::to_string(run) + "-" + std::to_string(i);
      auto err = store.put({memory_record{id, "swarm:team", text_of(rng, 100), 0.5, 1, {}}});
      check(!err, "run " + std::to_string(run) + ": write: " + swarm::describe(err));
      if (!err)
        ids.push_back(id);
    }
    auto key = "run-" + std::to_string(run) + "\nteam/a\nt1\n0\n0";
    swarm::chat_request req;
    req.agent = swarm::agent_id{"team", "a"};
    swarm::chat_result reply;
    reply.content = text_of(rng, 50);
    auto err = jnl.put(key, req, reply);
    check(!err, "run " + std::to_string(run) + ": journal: " + swarm::describe(err));
    if (!err)
      keys.push_back(key);
  }
  size_t wal_files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path{data_dir} / "memory"))
    wal_files += entry.path().extension() == ".log" ? 1 : 0;
  std::printf("after %d runs: %zu WAL files\n", runs, wal_files);
  check(wal_files <= 2, "WAL files pile up: " + std::to_string(wal_files) + " after " +
                            std::to_string(runs) + " runs");
  caf::error full;
  {
    auto db = database::open(data_dir);
    if (!db) {
      std::printf("FAILED: first open: %s\n", swarm::describe(db.error()).c_str());
      return 1;
    }
    long_term_store store{*db};
    journal jnl{*db};
    for (int i = 0; i < 100000 && !full; ++i) {
      if (i % 4 == 3) {
        auto key = "run-1\nteam/a\nt1\n" + std::to_string(i) + "\n0";
        swarm::chat_request req;
        req.agent = swarm::agent_id{"team", "a"};
        swarm::chat_result reply;
        reply.content = text_of(rng, 300);
        full = jnl.put(key, req, reply);
        if (!full)
          keys.push_back(key);
        continue;
      }
      auto id = "rec-" + std::to_string(i);
      full = store.put({memory_record{id, "swarm:team", text_of(rng, 300), 0.5, 1, {}}});
      if (!full)
        ids.push_back(id);
    }
    check(static_cast<bool>(full), "the disk never filled up");
    check(swarm::is(full, swarm::errc::storage_full),
          "the failed write is storage_full, got: " + swarm::describe(full));
    check(swarm::describe(full).find((fs::path{data_dir} / "memory").string()) != std::string::npos,
          "the error names the directory: " + swarm::describe(full));
    std::printf("disk full after %zu records and %zu calls: %s\n", ids.size(), keys.size(),
                swarm::describe(full).c_str());
    // Still full: another write fails the same clear way, and reads still work.
    auto again = store.put({memory_record{"one-more", "swarm:team", "x", 0.5, 1, {}}});
    check(swarm::is(again, swarm::errc::storage_full) || !again,
          "a write on a full disk is storage_full, got: " + swarm::describe(again));
    if (!again)
      ids.push_back("one-more");
    check_acknowledged(*db, ids, keys, "before closing");
  }
  // Opening needs a little room (a new MANIFEST): the reserve gives it, again and again.
  // Many times: each open must leave the next one as much room as it found.
  for (int round = 1; round <= 20; ++round) {
    auto db = database::open(data_dir);
    auto when = "reopen " + std::to_string(round) + " without freeing space";
    check(static_cast<bool>(db), when + ": " + (db ? "ok" : swarm::describe(db.error())));
    if (db)
      check_acknowledged(*db, ids, keys, when);
  }
  fs::remove(ballast);
  {
    auto db = database::open(data_dir);
    check(static_cast<bool>(db),
          "reopen after freeing space: " + (db ? std::string{"ok"} : swarm::describe(db.error())));
    if (db) {
      check_acknowledged(*db, ids, keys, "reopened after freeing space");
      long_term_store store{*db};
      auto err = store.put({memory_record{"after", "swarm:team", "space again", 0.5, 1, {}}});
      check(!err, "a write after freeing space: " + swarm::describe(err));
    }
  }
  {
    auto db = database::open(data_dir);
    check(db && (*long_term_store{*db}.get("after")).has_value(),
          "the write after freeing space survives reopening");
  }
  std::printf(failures == 0 ? "disk full: all checks passed\n" : "disk full: %d check(s) failed\n",
              failures);
  return failures == 0 ? 0 : 1;
}
