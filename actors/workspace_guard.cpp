// Workspace measurement, deletion of what a quota breach changed, and the per-workspace turns
// (see workspace_guard.hpp). Every walk works on directory descriptors with O_NOFOLLOW, so a
// program swapping a directory for a symbolic link cannot lead a walk outside the workspace.
#include "actors/workspace_guard.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "runtime/core/errc.hpp"

namespace swarm::actors {

namespace {

constexpr int max_depth = 128;

// Every entry of the directory open at `fd` (the descriptor stays open), "." and ".." left out.
std::vector<std::string> names_in(int fd) {
  std::vector<std::string> out;
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR* d = dup < 0 ? nullptr : ::fdopendir(dup);
  if (d == nullptr) {
    if (dup >= 0)
      ::close(dup);
    return out;
  }
  ::rewinddir(d);
  while (auto* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      out.emplace_back(e->d_name);
  ::closedir(d);
  return out;
}

void measure(int dir_fd, tree_usage& u, int depth, uint64_t entry_cap) {
  DIR* d = ::fdopendir(dir_fd);
  if (d == nullptr) {
    ::close(dir_fd);
    u.unreadable = true;
    return;
  }
  while (auto* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
      continue;
    if (++u.entries > entry_cap)
      break;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue; // deleted meanwhile
    u.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0 || depth >= max_depth) {
        if (sub >= 0)
          ::close(sub);
        u.unreadable = u.unreadable || errno != ENOENT || depth >= max_depth;
        continue;
      }
      measure(sub, u, depth + 1, entry_cap);
    }
  }
  ::closedir(d);
}

bool changed_since(const struct stat& st, const timespec& since) {
  return st.st_ctim.tv_sec > since.tv_sec ||
         (st.st_ctim.tv_sec == since.tv_sec && st.st_ctim.tv_nsec >= since.tv_nsec);
}

// Opens directory `name` under `dir_fd`; one the runtime may not read (a non-root runtime, a
// program made it 0000) is opened up first. Never follows a link. -1 on failure.
int open_dir_at(int dir_fd, const char* name) {
  constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(dir_fd, name, flags);
  if (fd < 0 && errno == EACCES && ::fchmodat(dir_fd, name, 0700, AT_SYMLINK_NOFOLLOW) == 0)
    fd = ::openat(dir_fd, name, flags);
  return fd;
}

// Deletes what changed since `since` under one workspace (remove_changed_since).
class remover {
public:
  remover(int root_fd, timespec since) : root_fd_(root_fd), since_(since) {}

  removed_entries run() {
    walk(root_fd_, 0);
    // Trees too deep to walk in place were moved up under the root: walk each from there.
    while (!deep_.empty()) {
      auto name = std::move(deep_.back());
      deep_.pop_back();
      if (int sub = open_dir_at(root_fd_, name.c_str()); sub >= 0) {
        walk(sub, 1);
        ::close(sub);
      }
      unlink_entry(root_fd_, name, AT_REMOVEDIR, 0);
    }
    return out_;
  }

private:
  void walk(int dir_fd, int depth) {
    for (const auto& name : names_in(dir_fd)) {
      struct stat st;
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      bool changed = changed_since(st, since_); // read before we change anything below it
      if (!S_ISDIR(st.st_mode)) {
        if (changed)
          unlink_entry(dir_fd, name, 0, static_cast<uint64_t>(st.st_blocks) * 512);
        continue;
      }
      if (depth + 1 >= max_depth) {
        if (changed)
          move_up(dir_fd, name);
        continue;
      }
      if (int sub = open_dir_at(dir_fd, name.c_str()); sub >= 0) {
        walk(sub, depth + 1);
        ::close(sub);
      }
      if (changed)
        unlink_entry(dir_fd, name, AT_REMOVEDIR, 0); // fails while it holds older entries
    }
  }

  void unlink_entry(int dir_fd, const std::string& name, int flags, uint64_t bytes) {
    int rc = ::unlinkat(dir_fd, name.c_str(), flags);
    if (rc != 0 && (errno == EACCES || errno == EPERM) && ::fchmod(dir_fd, 0700) == 0)
      rc = ::unlinkat(dir_fd, name.c_str(), flags); // a read-only directory (non-root runtime)
    if (rc == 0) {
      ++out_.entries;
      out_.bytes += bytes;
    }
  }

  void move_up(int dir_fd, const std::string& name) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto target = ".swarm-deep-" + std::to_string(++moved_);
      if (::renameat2(dir_fd, name.c_str(), root_fd_, target.c_str(), RENAME_NOREPLACE) == 0) {
        deep_.push_back(std::move(target));
        return;
      }
      if (errno != EEXIST)
        return;
    }
  }

  int root_fd_;
  timespec since_;
  removed_entries out_;
  uint64_t moved_ = 0;
  std::vector<std::string> deep_;
};

timespec coarse_now() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &t);
  return t;
}

bool before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// The kernel stamps ctime from the coarse clock (or a finer one, never behind it, never ahead
// of the real time). Waiting until the coarse clock passes the real time of now (one or two of
// its ticks, 1-10 ms each) gives a time before which everything done so far was stamped, and
// at or after which everything done from now on will be.
timespec fresh_tick() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  for (int i = 0; i < 200; ++i) {
    if (auto coarse = coarse_now(); before(now, coarse))
      return coarse;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return coarse_now(); // the clock stood still (it never does): merely conservative
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

} // namespace

// The programs running against one workspace (one per directory, shared by their turns).
struct workspace_guard {
  std::mutex mtx;
  std::condition_variable turn_free;
  size_t running = 0;
  tree_usage idle_usage; // when the first of the running turns was taken
  // A time before which every entry was seen within the quota (a measure starting then found
  // it so): a breach never deletes what changed before it.
  timespec accepted{0, 0};
  std::vector<std::shared_ptr<std::atomic<bool>>> stops; // of the running turns
  std::mutex settling; // one breach check (and deletion) at a time
};

namespace {

std::shared_ptr<workspace_guard> guard_for(dev_t dev, ino_t ino) {
  static std::mutex mtx;
  static std::map<std::pair<dev_t, ino_t>, std::weak_ptr<workspace_guard>> guards;
  std::lock_guard<std::mutex> lock{mtx};
  for (auto i = guards.begin(); i != guards.end();)
    i = i->second.expired() ? guards.erase(i) : std::next(i);
  auto& slot = guards[{dev, ino}];
  auto g = slot.lock();
  if (!g) {
    g = std::make_shared<workspace_guard>();
    slot = g;
  }
  return g;
}

} // namespace

tree_usage measure_tree(const std::filesystem::path& dir, uint64_t entry_cap) {
  tree_usage u;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    u.unreadable = true;
    return u;
  }
  measure(fd, u, 0, entry_cap == 0 ? UINT64_MAX : entry_cap);
  return u;
}

bool workspace_cap::exceeded_by(const tree_usage& u) const {
  return u.unreadable || (bytes > 0 && u.bytes > bytes) || (entries > 0 && u.entries > entries);
}

removed_entries remove_changed_since(const std::filesystem::path& dir, const timespec& since) {
  constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(dir.c_str(), flags);
  if (fd < 0 && errno == EACCES &&
      ::fchmodat(AT_FDCWD, dir.c_str(), 0700, AT_SYMLINK_NOFOLLOW) == 0)
    fd = ::open(dir.c_str(), flags);
  if (fd < 0)
    return {};
  auto out = remover{fd, since}.run();
  ::close(fd);
  return out;
}

bool remove_tree(const std::filesystem::path& dir) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0)
      return errno == ENOENT;
    if (!S_ISDIR(st.st_mode))
      return ::unlink(dir.c_str()) == 0 || errno == ENOENT;
    remove_changed_since(dir, timespec{0, 0});
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT)
      return true;
    // A program still running in it (a run that ended while a tool call went on) added more.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

caf::expected<std::unique_ptr<workspace_turn>>
workspace_turn::take(int workspace_fd, std::filesystem::path dir, workspace_cap cap,
                     size_t parallel, std::chrono::steady_clock::time_point deadline) {
  struct stat st;
  if (::fstat(workspace_fd, &st) != 0)
    return make_error(errc::tool_failed, "sandbox: cannot stat workspace " + dir.string() + ": " +
                                             std::strerror(errno));
  auto guard = guard_for(st.st_dev, st.st_ino);
  std::unique_lock<std::mutex> lock{guard->mtx};
  if (parallel > 0 &&
      !guard->turn_free.wait_until(lock, deadline, [&] { return guard->running < parallel; }))
    return make_error(errc::tool_timeout,
                      "no turn on workspace " + dir.string() +
                          " before the timeout: " + std::to_string(parallel) +
                          " programs (its limit) were running against it all along");
  if (guard->running == 0 && cap.active()) {
    guard->accepted = coarse_now();
    guard->idle_usage = measure_tree(dir); // the quota is never below it: accepted as it is
  }
  ++guard->running;
  if (cap.bytes > 0)
    cap.bytes = std::max(cap.bytes, guard->idle_usage.bytes);
  if (cap.entries > 0)
    cap.entries = std::max(cap.entries, guard->idle_usage.entries);
  auto turn = std::make_unique<workspace_turn>(guard, std::move(dir), cap, timespec{0, 0});
  guard->stops.push_back(turn->stopped_);
  lock.unlock();
  // What changes from now on is this program's (or a program's running with it), what changed
  // before is not.
  if (turn->cap_.active())
    turn->since_ = fresh_tick();
  return turn;
}

workspace_turn::workspace_turn(std::shared_ptr<workspace_guard> guard, std::filesystem::path dir,
                               workspace_cap cap, timespec since)
    : guard_(std::move(guard)), dir_(std::move(dir)), cap_(cap), since_(since),
      stopped_(std::make_shared<std::atomic<bool>>(false)) {}

workspace_turn::~workspace_turn() {
  std::lock_guard<std::mutex> lock{guard_->mtx};
  --guard_->running;
  auto& stops = guard_->stops;
  stops.erase(std::remove(stops.begin(), stops.end(), stopped_), stops.end());
  guard_->turn_free.notify_all();
}

std::optional<quota_breach> workspace_turn::settle() {
  if (!cap_.active())
    return std::nullopt;
  std::lock_guard<std::mutex> one_at_a_time{guard_->settling};
  quota_breach b;
  auto measured_at = fresh_tick(); // everything the program did is stamped before it
  b.found = measure_tree(dir_);
  std::unique_lock<std::mutex> lock{guard_->mtx};
  if (!cap_.exceeded_by(b.found)) {
    if (before(guard_->accepted, measured_at))
      guard_->accepted = measured_at;
    return std::nullopt;
  }
  // What changed while this program ran and since the workspace was last seen within quota.
  auto since = before(since_, guard_->accepted) ? guard_->accepted : since_;
  for (const auto& s : guard_->stops)
    if (s != stopped_)
      s->store(true);
  lock.unlock();
  b.removed = remove_changed_since(dir_, since);
  b.left = measure_tree(dir_);
  return b;
}

std::string describe_breach(const std::filesystem::path& dir, const workspace_cap& cap,
                            const quota_breach& b) {
  auto quota =
      (cap.bytes > 0 ? mib(cap.bytes) + " MiB" : std::string{"no size cap"}) + " and " +
      (cap.entries > 0 ? std::to_string(cap.entries) + " entries" : std::string{"no entry cap"});
  return "workspace quota: workspace " + dir.string() + " passed its quota of " + quota +
         ": it held " + mib(b.found.bytes) + " MiB in " + std::to_string(b.found.entries) +
         " entries" + (b.found.unreadable ? ", and a directory the check cannot read" : "") +
         "; the " + std::to_string(b.removed.entries) +
         " entries changed while this program ran (" + mib(b.removed.bytes) +
         " MiB) were deleted, and the programs running with it stopped; " + "it now holds " +
         mib(b.left.bytes) + " MiB in " + std::to_string(b.left.entries) + " entries";
}

} // namespace swarm::actors
