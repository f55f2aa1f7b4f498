// The sandbox with real bubblewrap and real processes: escape attempts (each must fail, and we
// check how), limits, and the seccomp filter. Needs a working bwrap: without one these FAIL.
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "actors/sandbox.hpp"
#include "actors/seccomp_filter.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/sandbox.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace swarm::actors;
using namespace std::chrono_literals;

namespace {

// A sandbox must work here; a machine without one fails these tests instead of skipping them.
using test::require_sandbox;

sandbox_request shell(const test::temp_dir& ws, std::string script) {
  return test::sandbox_run(ws, {"sh", "-c", std::move(script)});
}

sandbox_result run_ok(const sandbox_request& req) {
  auto res = run_sandboxed(req);
  INFO("sandbox error: " << (res ? std::string{} : describe(res.error())));
  REQUIRE(res);
  return std::move(*res);
}

// A TCP listener on 127.0.0.1 in the test process.
struct loopback_listener {
  int fd = -1;
  uint16_t port = 0;
  loopback_listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
  }
  ~loopback_listener() { ::close(fd); }
  bool accepted_any() {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0)
      return false;
    ::close(c);
    return true;
  }
};

// Processes whose command line contains `token` (sandboxed programs are visible from the host).
int processes_with(const std::string& token) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in{e.path() / "cmdline"};
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(token) != std::string::npos && std::stoi(name) != ::getpid())
      ++n;
  }
  return n;
}

long rss_kb() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

uint64_t tree_bytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      total += e.file_size();
  return total;
}

} // namespace

TEST_CASE("bubblewrap works on this machine") {
  require_sandbox();
}

TEST_CASE("a sandboxed shell echoes, reads stdin and writes the workspace") {
  require_sandbox();
  test::temp_dir ws;
  auto req = shell(ws, "echo hello; cat; pwd; echo kept > note.txt; echo oops >&2; exit 3");
  req.stdin_text = "from stdin\n";
  auto res = run_ok(req);
  CHECK(res.exit_code == 3);
  CHECK(res.out == "hello\nfrom stdin\n/workspace\n");
  CHECK(res.err == "oops\n");
  std::ifstream in{ws.path() / "note.txt"};
  std::string note;
  std::getline(in, note);
  CHECK(note == "kept");
}

TEST_CASE("the sandbox's environment is clean: nothing of the runtime's leaks in") {
  require_sandbox();
  ::setenv("SWARM_TEST_SECRET", "hunter2", 1);
  test::temp_dir ws;
  auto req = shell(ws, "env | sort");
  req.env = {{"EXTRA", "1"}};
  auto res = run_ok(req);
  CHECK(res.out.find("hunter2") == std::string::npos);
  CHECK(res.out.find("EXTRA=1\n") != std::string::npos);
  CHECK(res.out.find("HOME=/tmp\n") != std::string::npos);
  ::unsetenv("SWARM_TEST_SECRET");
}

TEST_CASE("a TCP connection to a loopback listener fails with network off, works with it on") {
  require_sandbox();
  test::temp_dir ws;
  loopback_listener listener;
  auto script = "import socket\n"
                "try:\n"
                "  s = socket.create_connection(('127.0.0.1', " +
                std::to_string(listener.port) +
                "), timeout=5)\n"
                "  print('connected')\n"
                "except OSError as e:\n"
                "  print('errno', e.errno)\n";
  sandbox_request req;
  req.argv = {"python3", "-c", script};
  req.workspace = ws.path();
  SECTION("network off: socket() is denied by seccomp (EPERM), nothing reaches the listener") {
    auto res = run_ok(req);
    CHECK(res.out == "errno 1\n");
    CHECK_FALSE(listener.accepted_any());
  }
  SECTION("network on: the same program connects (the test can tell the difference)") {
    req.limits.network = true;
    auto res = run_ok(req);
    CHECK(res.out == "connected\n");
    CHECK(test::eventually([&] { return listener.accepted_any(); }));
  }
}

TEST_CASE("writes outside the workspace fail, and the host is untouched") {
  require_sandbox();
  test::temp_dir ws;
  test::temp_dir data; // stands for the runtime's data directory
  auto host_tmp =
      std::filesystem::temp_directory_path() / ("swarm-escape-" + std::to_string(::getpid()));
  auto res = run_ok(shell(ws, "echo x > /usr/evil; echo x > /evil; echo x > /etc/evil; "
                              "echo x > /dev/evil; echo x > /proc/evil; "
                              "echo x > " +
                                  (data.path() / "evil").string() + "; echo x > " +
                                  host_tmp.string() + " && echo tmp-ok"));
  CHECK(res.err.find("/usr/evil: Read-only file system") != std::string::npos);
  CHECK(res.err.find("/evil: Read-only file system") != std::string::npos);
  CHECK(res.err.find("/etc/evil: Read-only file system") != std::string::npos);
  CHECK(res.err.find((data.path() / "evil").string() + ": Directory nonexistent") !=
        std::string::npos);
  CHECK(res.err.find("/dev/evil: Read-only file system") != std::string::npos);
  CHECK(res.err.find("/proc/evil: Directory nonexistent") != std::string::npos);
  CHECK(res.out == "tmp-ok\n");                   // the sandbox's own /tmp ...
  CHECK_FALSE(std::filesystem::exists(host_tmp)); // ... is not the host's
  CHECK_FALSE(std::filesystem::exists(data.path() / "evil"));
  CHECK_FALSE(std::filesystem::exists("/usr/evil"));
}

TEST_CASE("a data directory outside the workspace is invisible in the sandbox") {
  require_sandbox();
  test::temp_dir ws;
  test::temp_dir data;
  auto secret = data.write("secret.txt", "the-data-dir-secret");
  auto res = run_ok(shell(ws, "cat " + secret + "; ls " + data.path().string()));
  CHECK(res.out.find("the-data-dir-secret") == std::string::npos);
  CHECK(res.err.find(secret + ": No such file or directory") != std::string::npos);
  CHECK(res.exit_code != 0);
}

TEST_CASE("/etc/shadow and the host's users are not in the sandbox") {
  require_sandbox();
  test::temp_dir ws;
  auto res = run_ok(shell(ws, "cat /etc/shadow; ls /etc; id -u"));
  CHECK(res.err.find("/etc/shadow: No such file or directory") != std::string::npos);
  CHECK(res.out.find("shadow") == std::string::npos);
  CHECK(res.out.find("passwd") == std::string::npos);
  CHECK(res.out.find("ld.so.cache") != std::string::npos);
  // Never root inside: root is exempt from RLIMIT_NPROC.
  CHECK(res.out.substr(res.out.rfind('\n', res.out.size() - 2) + 1) != "0\n");
}

TEST_CASE("a fork bomb is bounded by RLIMIT_NPROC and leaves nothing behind") {
  require_sandbox();
  test::temp_dir ws;
  const std::string token = "forkbomb-" + std::to_string(::getpid());
  SECTION("forks fail with EAGAIN below max_processes") {
    sandbox_request req;
    req.argv = {"python3", "-c",
                "import os, time\n# " + token +
                    "\nn = 0\n"
                    "try:\n"
                    "  while True:\n"
                    "    if os.fork() == 0:\n"
                    "      time.sleep(60)\n"
                    "      os._exit(0)\n"
                    "    n += 1\n"
                    "except OSError as e:\n"
                    "  print(n, e.errno)\n"};
    req.workspace = ws.path();
    req.limits.max_processes = 16;
    auto res = run_ok(req);
    int forked = -1;
    int err = 0;
    std::istringstream{res.out} >> forked >> err;
    CHECK(err == EAGAIN);
    CHECK(forked >= 1);
    CHECK(forked < 16);
    // The sleeping children die with the sandbox.
    CHECK(test::eventually([&] { return processes_with(token) == 0; }));
  }
  SECTION("the classic shell bomb runs into the timeout and is killed entirely") {
    auto req = shell(ws, "# " + token + "\nb() { b | b & }; b; sleep 60");
    req.limits.max_processes = 32;
    req.limits.timeout = 2s;
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::tool_timeout));
    CHECK(describe(res.error()).find("Cannot fork") != std::string::npos);
    CHECK(test::eventually([&] { return processes_with(token) == 0; }));
  }
}

TEST_CASE("filling the disk fails: per-file size, workspace quota and /tmp size") {
  require_sandbox();
  test::temp_dir ws;
  SECTION("one file stops at max_file_mb with EFBIG") {
    sandbox_request req;
    req.argv = {"python3", "-c",
                "f = open('big', 'wb')\n"
                "try:\n"
                "  while True: f.write(b'x' * 65536)\n"
                "except OSError as e:\n"
                "  print('errno', e.errno)\n"};
    req.workspace = ws.path();
    req.limits.max_file_mb = 4;
    auto res = run_ok(req);
    CHECK(res.out == "errno 27\n");
    CHECK(std::filesystem::file_size(ws.path() / "big") == 4u << 20);
  }
  SECTION("many files: the run is killed once the workspace passes workspace_mb") {
    auto started = std::chrono::steady_clock::now();
    sandbox_request req;
    req.argv = {"python3", "-c",
                "i = 0\n"
                "while True:\n"
                "  with open('f%d' % i, 'wb') as f: f.write(b'x' * (1 << 20))\n"
                "  i += 1\n"};
    req.workspace = ws.path();
    req.workspace_mb = 16;
    req.limits.timeout = 60s;
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::tool_failed));
    CHECK(describe(res.error()).find("quota") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < 30s); // stopped soon, not at the timeout
    CHECK(tree_bytes(ws.path()) <= 16u << 20);               // what it wrote is deleted
  }
  SECTION("many empty files: the run is killed once the workspace passes workspace_entries") {
    auto req = shell(ws, "i=0; while true; do : > e$i; i=$((i+1)); done");
    req.workspace_entries = 500;
    req.limits.timeout = 60s;
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::tool_failed));
    CHECK(describe(res.error()).find("entries") != std::string::npos);
  }
  SECTION("/tmp and /dev/shm are small tmpfs: ENOSPC") {
    auto req = shell(ws, "head -c 20000000 /dev/zero > /tmp/fill || echo tmp-full; "
                         "head -c 20000000 /dev/zero > /dev/shm/fill || echo shm-full; "
                         "stat -c %s /tmp/fill /dev/shm/fill");
    req.tmp_mb = 8;
    auto res = run_ok(req);
    CHECK(res.err.find("No space left on device") != std::string::npos);
    std::istringstream lines{res.out};
    std::string tmp_full, shm_full;
    uint64_t tmp_size = 0, shm_size = 0;
    lines >> tmp_full >> shm_full >> tmp_size >> shm_size;
    CHECK(tmp_full == "tmp-full");
    CHECK(shm_full == "shm-full");
    CHECK(tmp_size <= 8u << 20);
    CHECK(shm_size <= 8u << 20);
  }
}

TEST_CASE("a program running past the timeout is killed and reported as tool_timeout") {
  require_sandbox();
  test::temp_dir ws;
  auto req = shell(ws, "echo started; sleep 120");
  req.limits.timeout = 1s;
  auto t0 = std::chrono::steady_clock::now();
  auto res = run_sandboxed(req);
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::tool_timeout));
  CHECK(describe(res.error()).find("started") != std::string::npos);
  CHECK(took >= 1s);
  CHECK(took < 30s); // generous slack: it must not wait for sleep 120
}

TEST_CASE("printing 1 GB: output is capped, the program is killed, the runtime stays small") {
  require_sandbox();
  test::temp_dir ws;
  auto req = shell(ws, "head -c 1000000000 /dev/zero; echo done >&2");
  req.limits.max_output_kb = 64;
  req.limits.timeout = 60s;
  auto before = rss_kb();
  auto res = run_ok(req);
  auto after = rss_kb();
  CHECK(res.out.size() == 64u * 1024);
  CHECK(res.out_truncated);
  CHECK(res.output_overflow);
  CHECK(res.signal == SIGKILL);
  CHECK(res.err.empty()); // killed before `echo done`
  CHECK(after - before < 32 * 1024);
}

TEST_CASE("the seccomp filter denies dangerous syscalls with EPERM inside the sandbox") {
  require_sandbox();
  test::temp_dir ws;
  sandbox_request req;
  req.argv = {"python3", "-c",
              "import ctypes\n"
              "libc = ctypes.CDLL(None, use_errno=True)\n"
              "calls = {'getpid': 39, 'ptrace': 101, 'mount': 165, 'umount2': 166,\n"
              "  'pivot_root': 155, 'unshare': 272, 'setns': 308, 'bpf': 321, 'keyctl': 250,\n"
              "  'perf_event_open': 298, 'userfaultfd': 323, 'process_vm_readv': 310,\n"
              "  'kexec_load': 246, 'init_module': 175, 'add_key': 248, 'fsopen': 430}\n"
              "for name, nr in calls.items():\n"
              "  ctypes.set_errno(0)\n"
              "  r = libc.syscall(nr, 0, 0, 0, 0, 0)\n"
              "  print(name, 'ok' if r >= 0 else ctypes.get_errno())\n"
              "print('personality-query', libc.personality(0xffffffff) >= 0)\n"
              "print('personality-change', libc.personality(0x0040000), ctypes.get_errno())\n"
              "print('clone-newuser', libc.syscall(56, 0x10000000, 0, 0, 0, 0), "
              "ctypes.get_errno())\n"};
  req.workspace = ws.path();
  auto res = run_ok(req);
  INFO(res.out << res.err);
  CHECK(res.out.find("getpid ok\n") != std::string::npos);
  for (auto name : {"ptrace", "mount", "umount2", "pivot_root", "unshare", "setns", "bpf", "keyctl",
                    "perf_event_open", "userfaultfd", "process_vm_readv", "kexec_load",
                    "init_module", "add_key", "fsopen"})
    CHECK(res.out.find(std::string{name} + " 1\n") != std::string::npos);
  CHECK(res.out.find("personality-query True\n") != std::string::npos);
  CHECK(res.out.find("personality-change -1 1\n") != std::string::npos);
  CHECK(res.out.find("clone-newuser -1 1\n") != std::string::npos);
}

TEST_CASE("unshare(1) cannot make a new namespace in the sandbox") {
  require_sandbox();
  test::temp_dir ws;
  auto res = run_ok(shell(ws, "unshare -U -r true"));
  CHECK(res.exit_code != 0);
  CHECK(res.err.find("Operation not permitted") != std::string::npos);
}

TEST_CASE("the seccomp filter kills a process that makes a foreign-architecture syscall") {
  auto prog = build_seccomp_filter(false);
  REQUIRE(prog);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    sock_fprog fprog{static_cast<unsigned short>(prog->size()), prog->data()};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0)
      ::_exit(2);
    long ret = 20; // i386 getpid through the 32-bit entry point
    asm volatile("int $0x80" : "+a"(ret) : : "memory");
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSYS);
}

TEST_CASE("a missing bubblewrap makes the sandbox unavailable, never unsandboxed") {
  test::temp_dir ws;
  auto req = shell(ws, "touch ran");
  req.bwrap = "/nonexistent/bwrap";
  auto res = run_sandboxed(req);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::tool_unavailable));
  CHECK(describe(res.error()).find("bubblewrap not found at /nonexistent/bwrap") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(ws.path() / "ran"));
}

TEST_CASE("bad sandbox requests are refused with a clear error") {
  require_sandbox();
  test::temp_dir ws;
  SECTION("empty argv") {
    sandbox_request req;
    req.workspace = ws.path();
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::invalid_argument));
    CHECK(describe(res.error()).find("empty argv") != std::string::npos);
  }
  SECTION("missing workspace") {
    auto req = shell(ws, "true");
    req.workspace = ws.path() / "nope";
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::invalid_argument));
    CHECK(describe(res.error()).find("nope is not a directory") != std::string::npos);
  }
  SECTION("stdin over 1 MiB") {
    auto req = shell(ws, "true");
    req.stdin_text.assign((1u << 20) + 1, 'x');
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::invalid_argument));
    CHECK(describe(res.error()).find("stdin") != std::string::npos);
  }
  SECTION("a bad environment variable name") {
    auto req = shell(ws, "true");
    req.env = {{"A=B", "1"}};
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::invalid_argument));
    CHECK(describe(res.error()).find("'A=B'") != std::string::npos);
  }
  SECTION("an argument longer than execve takes is named, not 'cannot execute bubblewrap'") {
    auto req = shell(ws, "echo " + std::string(200'000, 'x'));
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::invalid_argument));
    CHECK_THAT(describe(res.error()),
               Catch::Contains("argument 2 of the command is 200005 bytes") &&
                   Catch::Contains("E2BIG: at most 131071 bytes"));
  }
  SECTION("a command line longer than execve takes in all") {
    sandbox_request req;
    req.workspace = ws.path();
    req.argv = {"true"};
    for (int i = 0; i < 100; ++i) // 10 MB: past ARG_MAX with any usual stack limit
      req.argv.push_back(std::string(100'000, 'y'));
    auto res = run_sandboxed(req);
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::invalid_argument));
    CHECK_THAT(describe(res.error()), Catch::Contains("the command is too long to execute") &&
                                          Catch::Contains("E2BIG: at most"));
  }
}
