// What guards a run's workspace while programs run against it: how much it holds (measured),
// how many programs may run against it at once, and the quota, enforced when each program ends:
// a program that leaves the workspace over its quota has what changed while it ran deleted.
// docs/tools.md ("Disk") states the bound this gives.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <caf/expected.hpp>

namespace swarm::actors {

/// Disk use (allocated blocks) and entries of a directory tree, symbolic links not followed.
struct tree_usage {
  uint64_t bytes = 0;
  uint64_t entries = 0;
  bool unreadable = false; ///< a directory could not be opened (or is nested deeper than 128)
};

/// Measures the tree under `dir`; stops counting past `entry_cap` entries (0: no cap).
tree_usage measure_tree(const std::filesystem::path& dir, uint64_t entry_cap = 0);

/// A workspace's quota; 0: no cap on that count.
struct workspace_cap {
  uint64_t bytes = 0;
  uint64_t entries = 0;
  bool active() const { return bytes > 0 || entries > 0; }
  /// True if `u` holds more than the cap, or a directory the measure cannot read.
  bool exceeded_by(const tree_usage& u) const;
};

/// What a removal deleted.
struct removed_entries {
  uint64_t entries = 0;
  uint64_t bytes = 0; ///< allocated blocks of the deleted files
};

/// Deletes every entry under `dir` (never `dir` itself) whose status changed at or after `since`
/// (ctime, which programs cannot set), and directories changed since then once they are empty.
/// Symbolic links are deleted, never followed; unreadable directories are opened up (0700)
/// first; trees nested deeper than 128 are moved up and deleted from there.
removed_entries remove_changed_since(const std::filesystem::path& dir, const timespec& since);

/// Deletes `dir` and everything under it, however the programs left it (unreadable or
/// read-only directories, deep trees). Retries a few times while a program still writes.
/// Returns false if something is left.
bool remove_tree(const std::filesystem::path& dir);

/// Why a program's end found the workspace over its quota.
struct quota_breach {
  tree_usage found;        ///< what the workspace held when the program ended
  removed_entries removed; ///< what changed while it ran, deleted
  tree_usage left;         ///< what the workspace holds after the deletion
};

struct workspace_guard;

/// One program's turn on a workspace, from before it starts until after it ended. Turns are
/// counted per directory (device and inode), across the whole process.
class workspace_turn {
public:
  /// Waits until fewer than `parallel` programs hold a turn on the workspace open at
  /// `workspace_fd` (0: no limit). errc::tool_timeout if none came before `deadline`. `cap`
  /// is the quota; a turn taken while no other is held measures the workspace, and the quota
  /// of every turn until the workspace is idle again is never below what it held then (so a
  /// program can still clean up a workspace already over its quota).
  static caf::expected<std::unique_ptr<workspace_turn>>
  take(int workspace_fd, std::filesystem::path dir, workspace_cap cap, size_t parallel,
       std::chrono::steady_clock::time_point deadline);

  ~workspace_turn();
  workspace_turn(const workspace_turn&) = delete;
  workspace_turn& operator=(const workspace_turn&) = delete;

  /// The quota this program is held to (see take).
  const workspace_cap& cap() const { return cap_; }

  /// True once another program's breach deleted what changed in the workspace while this one
  /// ran: it should be stopped, and its call fails.
  bool stopped_by_other() const { return stopped_->load(); }

  /// Called once the program ended (its processes gone): measures the workspace; over the
  /// quota, deletes every entry that changed since this turn was taken (but none that changed
  /// before a measure found the workspace within its quota) and stops the other programs
  /// running against it. None if the workspace is within its quota.
  std::optional<quota_breach> settle();

  /// Makes a turn; use take.
  workspace_turn(std::shared_ptr<workspace_guard> guard, std::filesystem::path dir,
                 workspace_cap cap, timespec since);

private:
  std::shared_ptr<workspace_guard> guard_;
  std::filesystem::path dir_;
  workspace_cap cap_;
  timespec since_;
  std::shared_ptr<std::atomic<bool>> stopped_;
};

/// The message of a breach, naming the workspace and its quota.
std::string describe_breach(const std::filesystem::path& dir, const workspace_cap& cap,
                            const quota_breach& b);

} // namespace swarm::actors
