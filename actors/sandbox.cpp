// The sandbox: fork, set rlimits and drop root in the child, exec bubblewrap with a fixed mount
// plan and our seccomp filter; the parent feeds stdin, drains and caps stdout/stderr, enforces
// the wall-clock timeout and the workspace quota, and kills the whole sandbox when needed.
#include "actors/sandbox.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <optional>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

#include "actors/seccomp_filter.hpp"
#include "actors/workspace_guard.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::actors {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uid_t unprivileged_id = 65534; // "nobody" on Debian; need not exist in /etc/passwd
constexpr size_t max_stdin = size_t{1} << 20;
constexpr auto quota_interval = milliseconds(20);
constexpr auto drain_after_kill = milliseconds(2000);

// Host paths bound read-only. /etc is never bound wholesale: /etc/shadow, keys and
// credentials stay out; only what the dynamic loader, locales, TLS and (with network) name
// resolution need.
const char* const system_dirs[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
const char* const etc_always[] = {
    "/etc/alternatives", "/etc/ld.so.cache",     "/etc/ld.so.conf",
    "/etc/ld.so.conf.d", "/etc/localtime",       "/etc/mime.types",
    "/etc/ssl/certs",    "/etc/ssl/openssl.cnf", "/etc/ca-certificates"};
const char* const etc_network[] = {"/etc/resolv.conf", "/etc/hosts",    "/etc/nsswitch.conf",
                                   "/etc/host.conf",   "/etc/gai.conf", "/etc/services",
                                   "/etc/protocols"};

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

// Owns one file descriptor.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& x) noexcept : fd_(std::exchange(x.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& x) noexcept {
    reset(std::exchange(x.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

struct pipe_pair {
  unique_fd read;
  unique_fd write;
};

caf::expected<pipe_pair> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return make_error(errc::tool_failed, "sandbox: pipe: " + errno_text(errno));
  return pipe_pair{unique_fd{fds[0]}, unique_fd{fds[1]}};
}

void add_env(std::vector<std::string>& a, const std::string& name, const std::string& value) {
  a.insert(a.end(), {"--setenv", name, value});
}

caf::expected<std::vector<std::string>> bwrap_args(const sandbox_request& req, int seccomp_fd,
                                                   int workspace_fd) {
  const auto& lim = req.limits;
  std::vector<std::string> a{req.bwrap, "--unshare-all"};
  if (lim.network)
    a.emplace_back("--share-net");
  a.insert(a.end(), {"--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                     "--hostname", "sandbox", "--clearenv"});
  add_env(a, "PATH", "/usr/local/bin:/usr/bin:/bin");
  add_env(a, "HOME", "/tmp");
  add_env(a, "TMPDIR", "/tmp");
  add_env(a, "LANG", "C.UTF-8");
  for (const auto& [name, value] : req.env) {
    if (name.empty() || name.find('=') != std::string::npos)
      return make_error(errc::invalid_argument,
                        "sandbox: environment variable name '" + name + "' is empty or has '='");
    add_env(a, name, value);
  }
  a.insert(a.end(), {"--ro-bind", "/usr", "/usr"});
  for (const char* dir : system_dirs) {
    struct stat st;
    if (::lstat(dir, &st) != 0)
      continue;
    if (S_ISLNK(st.st_mode)) { // merged /usr: /bin -> usr/bin
      std::array<char, 256> target{};
      auto n = ::readlink(dir, target.data(), target.size() - 1);
      if (n > 0)
        a.insert(a.end(), {"--symlink", std::string(target.data(), static_cast<size_t>(n)), dir});
    } else if (S_ISDIR(st.st_mode)) {
      a.insert(a.end(), {"--ro-bind", dir, dir});
    }
  }
  auto bind_etc = [&](const char* path) {
    if (::access(path, F_OK) == 0)
      a.insert(a.end(), {"--ro-bind", path, path});
  };
  for (const char* path : etc_always)
    bind_etc(path);
  if (lim.network)
    for (const char* path : etc_network)
      bind_etc(path);
  auto tmp_bytes = std::to_string(std::max<uint64_t>(req.tmp_mb, 1) << 20);
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev"});
  a.insert(a.end(), {"--size", tmp_bytes, "--tmpfs", "/dev/shm"});
  a.insert(a.end(), {"--size", tmp_bytes, "--tmpfs", "/tmp"});
  a.insert(a.end(),
           {"--bind-fd", std::to_string(workspace_fd), "/workspace", "--chdir", "/workspace"});
  // bwrap's root and /dev are tmpfs owned by the sandbox user, without a size: read-only, so
  // only /workspace, /tmp and /dev/shm (both sized) are writable.
  a.insert(a.end(), {"--remount-ro", "/dev", "--remount-ro", "/"});
  a.insert(a.end(), {"--seccomp", std::to_string(seccomp_fd), "--"});
  // RLIMIT_NPROC is set inside, once bwrap made the user namespace: the kernel then counts
  // only this sandbox's processes against it (set before, it would also count every other
  // process of the same user on the host).
  a.insert(a.end(), {"/usr/bin/prlimit",
                     "--nproc=" + std::to_string(lim.max_processes) + ":" +
                         std::to_string(lim.max_processes),
                     "--"});
  a.insert(a.end(), req.argv.begin(), req.argv.end());
  return a;
}

// execve refuses (E2BIG) one string longer than MAX_ARG_STRLEN (32 pages, NUL included) and
// strings plus pointers beyond sysconf(_SC_ARG_MAX) (a quarter of the stack limit, at most
// 6 MiB). Checked before the fork, so the error names the command instead of "cannot execute
// bubblewrap".
caf::error check_exec_size(const std::vector<std::string>& args, size_t command_args,
                           size_t env_bytes) {
  const auto max_arg = size_t{32} * static_cast<size_t>(::sysconf(_SC_PAGESIZE)) - 1;
  size_t total = env_bytes;
  for (size_t i = 0; i < args.size(); ++i) {
    total += args[i].size() + 1 + sizeof(char*);
    if (args[i].size() <= max_arg)
      continue;
    auto first = args.size() - command_args; // the command's argv starts here
    auto what = i >= first ? "argument " + std::to_string(i - first) + " of the command"
                           : std::string{"an environment value"};
    return make_error(errc::invalid_argument, "sandbox: " + what + " is " +
                                                  std::to_string(args[i].size()) +
                                                  " bytes, too long to execute (E2BIG: at most " +
                                                  std::to_string(max_arg) + " bytes per argument)");
  }
  // The kernel caps it at 3/4 of _STK_LIM (8 MiB), whatever the stack limit.
  auto limit = std::min<long>(::sysconf(_SC_ARG_MAX), long{6} << 20);
  if (limit > 0 && total > static_cast<size_t>(limit))
    return make_error(errc::invalid_argument,
                      "sandbox: the command is too long to execute: " + std::to_string(total) +
                          " bytes of arguments and environment (E2BIG: at most " +
                          std::to_string(limit) + " bytes)");
  return {};
}

void set_limit(int resource, uint64_t soft, uint64_t hard) {
  struct rlimit rl;
  rl.rlim_cur = soft;
  rl.rlim_max = hard;
  ::setrlimit(resource, &rl);
}

void write_all(int fd, const char* text) {
  auto n = std::strlen(text);
  while (n > 0) {
    auto w = ::write(fd, text, n);
    if (w <= 0)
      return;
    text += w;
    n -= static_cast<size_t>(w);
  }
}

// In the forked child: only async-signal-safe calls until execve.
[[noreturn]] void exec_bwrap(const std::array<int, 5>& fds, const sandbox_spec& lim,
                             char* const* argv, char* const* envp) {
  ::setsid(); // own process group: the parent kills the whole group
  // Move every descriptor above the targets first, so dup2 never clobbers a source.
  std::array<int, 5> high{};
  for (size_t i = 0; i < fds.size(); ++i)
    high[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 16);
  for (int i = 0; i < 5; ++i)
    if (high[static_cast<size_t>(i)] < 0 || ::dup2(high[static_cast<size_t>(i)], i) < 0)
      ::_exit(127);
  ::syscall(SYS_close_range, 5u, ~0u, 0u);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    ::sigaction(sig, &dfl, nullptr); // SIGPIPE ignored by a server must not leak in
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  constexpr uint64_t mib = uint64_t{1} << 20;
  if (lim.cpu_seconds > 0)
    set_limit(RLIMIT_CPU, lim.cpu_seconds, lim.cpu_seconds + 1);
  if (lim.memory_mb > 0)
    set_limit(RLIMIT_AS, lim.memory_mb * mib, lim.memory_mb * mib);
  if (lim.max_file_mb > 0)
    set_limit(RLIMIT_FSIZE, lim.max_file_mb * mib, lim.max_file_mb * mib);
  set_limit(RLIMIT_CORE, 0, 0);
  if (::geteuid() == 0) {
    // Raw syscalls: only this (the only) thread changes identity.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 ||
        ::syscall(SYS_setresgid, unprivileged_id, unprivileged_id, unprivileged_id) != 0 ||
        ::syscall(SYS_setresuid, unprivileged_id, unprivileged_id, unprivileged_id) != 0) {
      write_all(2, "sandbox: cannot drop root privileges\n");
      ::_exit(126);
    }
  }
  ::execve(argv[0], argv, envp);
  write_all(2, errno == E2BIG ? "sandbox: cannot execute bubblewrap: argument list too long\n"
                              : "sandbox: cannot execute bubblewrap\n");
  ::_exit(127);
}

// One output stream of the program.
struct capture {
  unique_fd fd;
  std::string text;
  uint64_t total = 0;

  void take(const char* data, size_t n, size_t cap) {
    if (text.size() < cap)
      text.append(data, std::min(n, cap - text.size()));
    total += n;
  }
};

std::string excerpt(const std::string& s, size_t n = 2048) {
  return s.size() <= n ? s : s.substr(0, n) + "...";
}

caf::expected<sandbox_result> run_unchecked(const sandbox_request& req) {
  const auto& lim = req.limits;
  if (req.argv.empty())
    return make_error(errc::invalid_argument, "sandbox: empty argv");
  if (req.stdin_text.size() > max_stdin)
    return make_error(errc::invalid_argument, "sandbox: stdin is " +
                                                  std::to_string(req.stdin_text.size()) +
                                                  " bytes, at most 1 MiB is allowed");
  unique_fd workspace{
      ::open(req.workspace.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!workspace)
    return make_error(errc::invalid_argument, "sandbox: workspace " + req.workspace.string() +
                                                  " is not a directory: " + errno_text(errno));
  hand_to_sandbox(workspace.get());
  auto filter = build_seccomp_filter(lim.network);
  if (!filter)
    return std::move(filter.error());
  auto filter_pipe = make_pipe();
  auto in = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  if (!filter_pipe || !in || !out || !err)
    return make_error(errc::tool_failed, "sandbox: cannot create pipes: " + errno_text(errno));
  // The filter (a few hundred bytes) and stdin (<= 1 MiB, pipe enlarged) are written before
  // the fork, so the parent never writes to a pipe whose reader may be gone (no SIGPIPE).
  auto filter_bytes = filter->size() * sizeof(sock_filter);
  if (::write(filter_pipe->write.get(), filter->data(), filter_bytes) !=
      static_cast<ssize_t>(filter_bytes))
    return make_error(errc::tool_failed, "sandbox: cannot pass the seccomp filter");
  filter_pipe->write.reset();
  if (!req.stdin_text.empty()) {
    if (req.stdin_text.size() > 65536)
      ::fcntl(in->write.get(), F_SETPIPE_SZ, static_cast<int>(max_stdin));
    ::fcntl(in->write.get(), F_SETFL, O_NONBLOCK);
    if (::write(in->write.get(), req.stdin_text.data(), req.stdin_text.size()) !=
        static_cast<ssize_t>(req.stdin_text.size()))
      return make_error(errc::tool_failed, "sandbox: stdin does not fit the pipe (" +
                                               std::to_string(req.stdin_text.size()) + " bytes)");
  }
  in->write.reset();
  auto args = bwrap_args(req, 3, 4);
  if (!args)
    return std::move(args.error());
  std::vector<char*> argv;
  for (auto& s : *args)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string path_env = "PATH=/usr/bin:/bin";
  char* envp[] = {path_env.data(), nullptr};
  if (auto e2big = check_exec_size(*args, req.argv.size(), path_env.size() + 1 + 2 * sizeof(char*)))
    return e2big;
  std::array<int, 5> child_fds{in->read.get(), out->write.get(), err->write.get(),
                               filter_pipe->read.get(), workspace.get()};
  // At most workspace_parallel programs run against one workspace; the quota is checked while
  // this one runs and once more when it ended (docs/tools.md, "Disk").
  auto turn = workspace_turn::take(workspace.get(), req.workspace,
                                   {req.workspace_mb << 20, req.workspace_entries},
                                   req.workspace_parallel, clock::now() + lim.timeout);
  if (!turn)
    return std::move(turn.error());
  const auto& q = (*turn)->cap();
  auto started = clock::now();
  pid_t pid = ::fork();
  if (pid < 0)
    return make_error(errc::tool_failed, "sandbox: fork: " + errno_text(errno));
  if (pid == 0)
    exec_bwrap(child_fds, lim, argv.data(), envp);
  in->read.reset();
  filter_pipe->read.reset();
  workspace.reset();
  std::array<capture, 2> streams;
  streams[0].fd = std::move(out->read);
  streams[1].fd = std::move(err->read);
  out->write.reset();
  err->write.reset();
  const size_t cap = static_cast<size_t>(lim.max_output_kb) * 1024;
  const uint64_t overflow_at = std::max<uint64_t>(uint64_t{1} << 20, uint64_t{16} * cap);
  const auto deadline = started + lim.timeout;
  bool timed_out = false;
  bool over_quota = false;
  bool stopped = false; // another program's breach deleted what changed meanwhile
  bool overflow = false;
  tree_usage last_usage;
  std::optional<clock::time_point> killed_at;
  auto kill_all = [&] {
    if (!killed_at) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      killed_at = clock::now();
    }
  };
  auto next_quota_check = started + quota_interval;
  std::vector<char> buf(65536);
  while (streams[0].fd || streams[1].fd) {
    auto now = clock::now();
    if (killed_at && now - *killed_at > drain_after_kill)
      break;
    if (!killed_at && now >= deadline) {
      timed_out = true;
      kill_all();
    }
    if (!killed_at && q.active() && now >= next_quota_check) {
      last_usage = measure_tree(req.workspace, q.entries);
      if (q.exceeded_by(last_usage)) {
        over_quota = true;
        kill_all();
      }
      next_quota_check = clock::now() + quota_interval;
    }
    if (!killed_at && (*turn)->stopped_by_other()) {
      stopped = true;
      kill_all();
    }
    auto until = killed_at ? *killed_at + drain_after_kill : deadline;
    if (!killed_at && q.active())
      until = std::min(until, next_quota_check);
    auto wait_ms = std::chrono::duration_cast<milliseconds>(until - clock::now()).count();
    std::array<pollfd, 2> pfds{};
    nfds_t n = 0;
    std::array<capture*, 2> which{};
    for (auto& s : streams)
      if (s.fd) {
        pfds[n] = pollfd{s.fd.get(), POLLIN, 0};
        which[n++] = &s;
      }
    int ready = ::poll(pfds.data(), n, static_cast<int>(std::clamp<long long>(wait_ms, 0, 1000)));
    if (ready < 0 && errno != EINTR)
      break;
    for (nfds_t i = 0; ready > 0 && i < n; ++i) {
      if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
        continue;
      auto got = ::read(pfds[i].fd, buf.data(), buf.size());
      if (got > 0) {
        which[i]->take(buf.data(), static_cast<size_t>(got), cap);
        if (which[i]->total > overflow_at && !killed_at) {
          overflow = true;
          kill_all();
        }
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        which[i]->fd.reset();
      }
    }
  }
  if (!killed_at && (streams[0].fd || streams[1].fd))
    kill_all(); // poll failed: do not leave the sandbox running
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  sandbox_result res;
  // Within its quota or not, the program leaves the workspace as the quota allows.
  auto breach = (*turn)->settle();
  stopped = stopped || (!breach && (*turn)->stopped_by_other()); // even after it exited
  res.elapsed = std::chrono::duration_cast<milliseconds>(clock::now() - started);
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    res.signal = WTERMSIG(status);
    res.exit_code = 128 + res.signal;
  }
  res.out_truncated = streams[0].total > streams[0].text.size();
  res.err_truncated = streams[1].total > streams[1].text.size();
  res.out = std::move(streams[0].text);
  res.err = std::move(streams[1].text);
  res.output_overflow = overflow;
  res.output_limit = overflow_at;
  if (breach)
    return make_error(errc::tool_failed, describe_breach(req.workspace, q, *breach));
  if (timed_out)
    return make_error(errc::tool_timeout,
                      "killed after " + std::to_string(res.elapsed.count()) + " ms (timeout " +
                          std::to_string(lim.timeout.count()) +
                          " ms); output so far: " + excerpt(res.out) + excerpt(res.err));
  if (over_quota || stopped)
    return make_error(
        errc::tool_failed,
        "workspace quota: workspace " + req.workspace.string() +
            (stopped ? " passed its quota through another program running against it at the "
                       "same time; what changed meanwhile was deleted, so this one was stopped "
                       "(what it wrote may be gone)"
                     : " grew past its quota while this program ran (" +
                           std::to_string(last_usage.bytes >> 20) + " MiB in " +
                           std::to_string(last_usage.entries) + " entries" +
                           (last_usage.unreadable ? ", or a directory the check cannot read" : "") +
                           "), so it was killed") +
            "; at most " + std::to_string(q.bytes >> 20) + " MiB and " + std::to_string(q.entries) +
            " entries");
  return res;
}

} // namespace

caf::error probe_sandbox(const std::string& bwrap) {
  static std::mutex mtx;
  static std::map<std::string, caf::error> known;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto i = known.find(bwrap); i != known.end())
    return i->second;
  auto check = [&]() -> caf::error {
    if (::access(bwrap.c_str(), X_OK) != 0)
      return make_error(errc::tool_unavailable,
                        "no sandbox: bubblewrap not found at " + bwrap +
                            " (install the Debian package bubblewrap); sandboxed tools "
                            "never run unsandboxed");
    if (::access("/usr/bin/prlimit", X_OK) != 0)
      return make_error(errc::tool_unavailable,
                        "no sandbox: /usr/bin/prlimit (util-linux) is missing");
    auto dir = std::filesystem::temp_directory_path() / "swarm-sandbox-probe-XXXXXX";
    std::string tmpl = dir.string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      return make_error(errc::tool_unavailable,
                        "no sandbox: cannot create a probe directory: " + errno_text(errno));
    sandbox_request req;
    req.argv = {"true"};
    req.workspace = tmpl;
    req.bwrap = bwrap;
    req.limits.timeout = std::chrono::seconds(20);
    auto res = run_unchecked(req);
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);
    if (!res)
      return make_error(errc::tool_unavailable,
                        "no sandbox: probe failed: " + describe(res.error()));
    if (res->exit_code != 0)
      return make_error(errc::tool_unavailable,
                        "no sandbox: bubblewrap cannot create its namespaces here (exit " +
                            std::to_string(res->exit_code) + "): " + excerpt(res->err, 512));
    return caf::error{};
  };
  auto result = check();
  known.emplace(bwrap, result);
  return result;
}

caf::expected<sandbox_result> run_sandboxed(const sandbox_request& req) {
  if (auto err = probe_sandbox(req.bwrap))
    return err;
  return run_unchecked(req);
}

workspace_usage measure_workspace(const std::filesystem::path& dir) {
  auto u = measure_tree(dir, 0);
  return {u.bytes, u.entries};
}

sandbox_identity sandbox_user() {
  if (::geteuid() == 0)
    return {unprivileged_id, unprivileged_id};
  return {::geteuid(), ::getegid()};
}

void hand_to_sandbox(int fd) {
  if (::geteuid() == 0 && fd >= 0 && ::fchown(fd, unprivileged_id, unprivileged_id) != 0) {
    // The sandbox then sees the entry read-only; the program's write fails with EACCES.
  }
}

} // namespace swarm::actors
