// A runtime's tool workspaces (see workspaces.hpp): one directory per run, lent to its tool
// calls while the run goes on, removed when it ends unless kept.
#include "runtime/workspaces.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include "actors/sandbox.hpp"
#include "actors/workspace_guard.hpp"
#include "runtime/core/errc.hpp"

namespace swarm {

namespace fs = std::filesystem;

namespace {

// Runs `fn` when the last copy of the hold is gone.
class on_release {
public:
  explicit on_release(std::function<void()> fn) : fn_(std::move(fn)) {}
  ~on_release() { fn_(); }
  on_release(const on_release&) = delete;
  on_release& operator=(const on_release&) = delete;

private:
  std::function<void()> fn_;
};

// When the runtime runs as root, programs run as the sandbox user, and bubblewrap (running as
// that user) must search every directory on the way to the workspace: the first one on the way
// to `dir` (itself included) that it may not search; empty if none.
fs::path unreachable_part(const fs::path& dir) {
  if (::geteuid() != 0)
    return {};
  auto who = actors::sandbox_user();
  std::error_code ec;
  fs::path blocked;
  for (auto p = fs::absolute(dir, ec); !ec && !p.empty(); p = p.parent_path()) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0) {
      auto bit = st.st_uid == who.uid ? S_IXUSR : st.st_gid == who.gid ? S_IXGRP : S_IXOTH;
      if ((st.st_mode & bit) == 0)
        blocked = p; // keeps the outermost
    }
    if (p == p.root_path())
      break;
  }
  return blocked;
}

std::string hex_digest(const std::string& text) {
  uint64_t h = 14695981039346656037ull; // FNV-1a
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 15; i >= 0; --i)
    out.push_back(hex[(h >> (4 * i)) & 0xf]);
  return out;
}

// The workspaces of a data directory the sandbox's user cannot reach (one under /root, or in
// a 0700 directory): a directory of the runtime's user in the system's temp directory, named
// after the data directory, so a later runtime on it finds them again; `link`
// (<data_dir>/workspaces) is made a symbolic link to it.
caf::expected<fs::path> aside_root(const fs::path& link) {
  std::error_code ec;
  auto data = fs::weakly_canonical(fs::absolute(link.parent_path(), ec), ec);
  auto alt = fs::temp_directory_path() / ("smolswarms-workspaces-" + hex_digest(data.string()));
  if (::mkdir(alt.c_str(), 0711) != 0 && errno != EEXIST)
    return make_error(errc::io_error, "cannot create " + alt.string() +
                                          " for the tool workspaces of " + data.string() + ": " +
                                          std::strerror(errno));
  struct stat st;
  if (::lstat(alt.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
    return make_error(errc::io_error, alt.string() + " (for the tool workspaces of " +
                                          data.string() +
                                          ") is not a directory of the runtime's user");
  struct stat old;
  bool replace =
      ::lstat(link.c_str(), &old) != 0 ||
      (S_ISLNK(old.st_mode) && fs::read_symlink(link, ec) != alt && ::unlink(link.c_str()) == 0) ||
      (S_ISDIR(old.st_mode) && ::rmdir(link.c_str()) == 0); // an empty one
  if (replace)
    ::symlink(alt.c_str(), link.c_str());
  return alt;
}

} // namespace

run_workspaces::run_workspaces(const std::string& data_dir, bool keep)
    : temporary_(data_dir.empty()), keep_(keep) {
  if (!temporary_)
    root_ = std::filesystem::path{data_dir} / "workspaces";
}

run_workspaces::~run_workspaces() {
  close();
}

actors::workspace_provider run_workspaces::provider() {
  std::weak_ptr<run_workspaces> weak = weak_from_this();
  return [weak](const std::string& run_id) -> caf::expected<actors::workspace_lease> {
    if (auto self = weak.lock())
      return self->lend(run_id);
    return make_error(errc::runtime_stopped,
                      "the runtime was stopped: no workspace for run '" + run_id + "'");
  };
}

caf::error run_workspaces::make_root() {
  if (root_ready_)
    return {};
  if (root_.empty()) {
    auto pattern = (fs::temp_directory_path() / "smolswarms-workspaces-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return make_error(errc::io_error, "cannot create a directory for tool workspaces (" +
                                            pattern + "): " + std::strerror(errno));
    root_ = pattern;
  } else if (!unreachable_part(root_.parent_path()).empty()) {
    auto alt = aside_root(root_);
    if (!alt)
      return std::move(alt.error());
    link_ = root_;
    root_ = std::move(*alt);
  } else if (std::error_code ec; !fs::create_directories(root_, ec) && ec) {
    return make_error(errc::io_error, "cannot create the tool workspaces' directory " +
                                          root_.string() + ": " + ec.message());
  }
  // Sandboxed programs reach their workspace through it (bubblewrap searches the path): they
  // may pass, not list the other runs.
  ::chmod(root_.c_str(), 0711);
  if (auto blocked = unreachable_part(root_); !blocked.empty())
    return make_error(errc::io_error, "tool workspaces under " + root_.string() +
                                          " cannot be reached by the sandbox's user: " +
                                          blocked.string() + " is not searchable by it");
  root_ready_ = true;
  return {};
}

caf::expected<actors::workspace_lease> run_workspaces::lend(const std::string& run_id) {
  std::lock_guard<std::mutex> lock{mtx_};
  if (closed_)
    return make_error(errc::runtime_stopped,
                      "the runtime was stopped: no workspace for run '" + run_id + "'");
  auto i = runs_.find(run_id);
  if (i == runs_.end() || i->second.runs == 0)
    return make_error(errc::invalid_argument,
                      "run '" + run_id +
                          "' is not running (it ended): its tool calls no longer run");
  if (auto err = make_root())
    return err;
  auto dir = actors::run_workspace(root_, run_id);
  if (!dir)
    return std::move(dir.error());
  ++i->second.calls;
  auto self = shared_from_this();
  auto hold = std::make_shared<const on_release>([self, run_id] { self->release(run_id); });
  return actors::workspace_lease{std::move(*dir), std::move(hold)};
}

void run_workspaces::release(const std::string& run_id) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto i = runs_.find(run_id);
  if (i == runs_.end())
    return;
  if (--i->second.calls > 0 || i->second.runs > 0)
    return;
  if (i->second.remove)
    remove_now(run_id);
  runs_.erase(i);
}

caf::error run_workspaces::begin(const std::string& run_id, bool fresh) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto& st = runs_[run_id];
  if (fresh && st.runs == 0 && st.calls == 0 && !root_.empty()) {
    auto dir = root_ / run_id;
    if (!actors::remove_tree(dir)) {
      runs_.erase(run_id);
      return make_error(errc::io_error, "cannot remove the workspace " + dir.string() +
                                            " of the earlier run '" + run_id + "'");
    }
  }
  ++st.runs;
  return {};
}

void run_workspaces::end(const std::string& run_id, bool keep) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto i = runs_.find(run_id);
  if (i == runs_.end() || i->second.runs == 0)
    return;
  if (--i->second.runs > 0)
    return;
  i->second.remove = !keep && !keep_;
  if (i->second.calls > 0)
    return; // the last call done with it removes it (release)
  if (i->second.remove)
    remove_now(run_id);
  runs_.erase(i);
}

void run_workspaces::remove_now(const std::string& run_id) {
  if (root_.empty() || (temporary_ && closed_))
    return; // never made; or removed with the temporary root
  actors::remove_tree(root_ / run_id);
}

void run_workspaces::close() {
  std::lock_guard<std::mutex> lock{mtx_};
  if (closed_)
    return;
  closed_ = true;
  if (temporary_ && !root_.empty())
    actors::remove_tree(root_);
  else if (!link_.empty() && ::rmdir(root_.c_str()) == 0)
    ::unlink(link_.c_str()); // workspaces aside, none kept: nothing left behind
}

workspace_run::workspace_run(std::shared_ptr<run_workspaces> store, std::string run_id, bool fresh)
    : store_(std::move(store)), run_id_(std::move(run_id)) {
  error_ = store_->begin(run_id_, fresh);
  open_ = !error_;
}

workspace_run::~workspace_run() {
  if (open_)
    store_->end(run_id_, true);
}

void workspace_run::end(bool keep) {
  if (open_)
    store_->end(run_id_, keep);
  open_ = false;
}

} // namespace swarm
