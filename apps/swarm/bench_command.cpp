// `swarm bench [SCENARIO...] [--quick] [--peers] [--json FILE] [--markdown FILE] [--plots DIR]`:
// runs the named scenarios' benchmark programs (bench/, each in its own process, so its CPU
// and peak RSS are its own), each several times, pinned apart from the mock LLM; gathers their
// figures and the floors measured beside them; with --peers runs the JS frameworks' versions
// of fanout and sequential against the same kind of mock; prints the report. See
// docs/benchmarks.md.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sched.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "apps/swarm/bench_report.hpp"
#include "apps/swarm/commands.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/run_records.hpp"

extern char** environ;

namespace swarm::cli {

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

/// One program run of a scenario, with its arguments in each mode.
struct step {
  const char* program;
  std::vector<std::string> full, quick;
  int timeout_s; // for one run, in either mode
};

/// A named scenario: the program runs that measure it. Quick arguments keep a scenario's runs
/// to seconds, so that `swarm bench --quick` takes about two minutes (three with the peers).
struct scenario {
  const char* name;
  std::vector<step> steps;
  const char* what;
};

const std::vector<scenario>& scenarios() {
  static const std::vector<scenario> all{
      {"fanout",
       {{"bench_fanout",
         {"--only", "fanout", "--sizes", "10,100,1000,10000", "--latencies", "0,20", "--rounds",
          "5"},
         {"--only", "fanout", "--sizes", "100,1000", "--latencies", "20", "--rounds", "5"},
         300}},
       "one coordinator, N agents, one chat completion each (bare Beast and libcurl floors)"},
      {"sequential",
       {{"bench_fanout",
         {"--only", "sequential", "--added-calls", "2000"},
         {"--only", "sequential", "--added-calls", "1000"},
         120},
        {"bench_scheduler",
         {"--only", "sequential", "--calls", "200", "--rounds", "3"},
         {"--only", "sequential", "--calls", "100", "--rounds", "2"},
         180}},
       "one agent, one call at a time: latency added against an instant mock, CPU per call at "
       "20 ms"},
      {"idle-wait",
       {{"bench_scheduler",
         {"--only", "wait", "--waiting", "1,1000", "--rounds", "3"},
         {"--only", "wait", "--waiting", "1000", "--rounds", "2"},
         180}},
       "CPU burnt while agents wait on a 2 s endpoint (bare Beast floor)"},
      {"messaging",
       {{"bench_messaging",
         {"--only", "dm", "--rounds", "3"},
         {"--only", "dm", "--messages", "500000", "--rounds", "3"},
         180}},
       "direct messages between agents (bare CAF floor)"},
      {"spawn",
       {{"bench_messaging",
         {"--only", "spawn", "--rounds", "3"}, // N = 100,000 and 1,000,000
         {"--only", "spawn", "--spawn", "100000", "--rounds", "3"},
         300}},
       "agents spawned: rate and memory per agent (bare CAF floor)"},
      {"broadcast",
       {{"bench_messaging",
         {"--only", "broadcast", "--rounds", "3"},
         {"--only", "broadcast", "--broadcast", "20000", "--rounds", "3"},
         180}},
       "one message to every agent (bare CAF group floor)"},
      {"hierarchical",
       {{"bench_hierarchical",
         {"--workers", "1000", "--pools", "1024,256", "--runs", "10"},
         {"--workers", "1000", "--pools", "1024", "--runs", "5"},
         300}},
       "plan, 1,000 workers, aggregate (bare Beast floor, same call shape)"},
      {"memory-write",
       {{"bench_memory",
         {"--only", "write", "--writes", "20000", "--rounds", "9"},
         {"--only", "write", "--writes", "20000", "--rounds", "3"},
         180}},
       "writes through the memory actors (raw RocksDB floor)"},
      {"recall",
       {{"bench_memory",
         {"--only", "recall", "--sizes", "10000,100000,1000000", "--vector-sizes", "10000,100000",
          "--queries", "5000", "--exact", "50"},
         {"--only", "recall", "--sizes", "10000,100000", "--vector-sizes", "10000", "--queries",
          "1000", "--exact", "50"},
         600}},
       "recall latency, BM25 and vectors (brute-force floor for vectors)"},
      {"resume",
       {{"bench_resume",
         {"--calls", "1000", "--rounds", "9"},
         {"--calls", "1000", "--rounds", "3"},
         120}},
       "resuming a 1,000-call run from its journal (raw RocksDB floor)"},
      {"grant",
       {{"bench_grant", {}, {"--calls", "20000", "--rounds", "3"}, 120}},
       "what the resource pool adds to an LLM call (LLM actor alone floor)"},
      {"mock-llm",
       {{"bench_mock_llm_throughput",
         {"--seconds", "5", "--connections", "32"},
         {"--seconds", "2", "--connections", "32"},
         60}},
       "requests a second `swarm mock-llm` serves on loopback (client and server in one process)"},
      {"remote",
       {{"bench_cluster",
         {"--only", "messaging", "--rounds", "5"},
         {"--rounds", "3", "--dms", "20000", "--requests", "5000", "--pings", "500", "--agents",
          "1000", "--fanout-rounds", "3", "--latencies", "20", "--fanout-links", "tcp"},
         300},
        {"bench_cluster",
         {"--only", "fanout", "--agents", "10000", "--fanout-rounds", "5", "--latencies", "0,20",
          "--fanout-links", "tcp,tls"},
         {},
         300}},
       "agent messages to another node over TCP and TLS (bare CAF remoting floor); a fan-out "
       "over three nodes (one node floor)"},
      {"api",
       {{"bench_api",
         {"--runs", "1000", "--rounds", "5", "--event-rounds", "5"},
         {"--runs", "200", "--rounds", "2", "--event-rounds", "2"},
         300}},
       "runs and chat completions through `swarm serve`'s HTTP API, events to 100 SSE "
       "subscribers (embedding API floor)"},
  };
  return all;
}

/// The value after `flag` in `args` ("" if absent).
std::string arg_value(const std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag)
      return args[i + 1];
  return {};
}

const scenario* find_scenario(const std::string& name) {
  for (const auto& s : scenarios())
    if (name == s.name)
      return &s;
  return nullptr;
}

struct bench_args {
  std::vector<std::string> names;
  bool quick = false;
  bool peers = false;
  bool no_pin = false;
  int repeats = 0;   // 0: 3, or 2 with --quick
  int timeout_s = 0; // 0: each program's own limit
  std::string json_path, markdown_path, plots_dir, bench_dir, peers_dir, from_path;
};

/// The CPUs this process may run on.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set))
        out.push_back(c);
  return out;
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus)
    out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

/// Client on every allowed CPU but the last, the mock on the last (when there are two or more).
struct pinning {
  std::vector<int> client, mock;
  std::string describe() const {
    if (mock.empty())
      return "not pinned";
    return "client on CPU " + cpu_list(client) + ", mock on CPU " + cpu_list(mock);
  }
};

/// A child process: its own process group, SIGINT/SIGTERM unblocked, on `cpus`, output to
/// `log`, `extra_env` added to ours. Stopped (its whole group) when destroyed, whatever the way
/// out of the scope that owns it.
struct child {
  pid_t pid = -1;

  child() = default;
  child(child&& other) noexcept : pid(std::exchange(other.pid, -1)) {}
  child& operator=(child&& other) noexcept {
    if (this != &other) {
      stop();
      pid = std::exchange(other.pid, -1);
    }
    return *this;
  }
  ~child() { stop(); }

  static child start(const std::vector<std::string>& argv, const std::string& dir,
                     const std::string& log, const std::vector<int>& cpus,
                     const std::vector<std::string>& extra_env) {
    std::vector<std::string> env_store = extra_env;
    for (char** e = environ; *e != nullptr; ++e)
      env_store.emplace_back(*e);
    std::vector<char*> envp, args;
    for (auto& e : env_store)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_store = argv;
    for (auto& a : argv_store)
      args.push_back(a.data());
    args.push_back(nullptr);
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus)
      CPU_SET(c, &set);
    child out;
    out.pid = fork();
    if (out.pid == 0) { // only async-signal-safe calls until exec
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL); // swarm killed (SIGKILL, SIGHUP): its programs go too
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      if (!cpus.empty())
        sched_setaffinity(0, sizeof set, &set);
      int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (in >= 0)
        dup2(in, 0);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      if (!dir.empty() && chdir(dir.c_str()) != 0)
        _exit(126);
      execvpe(args[0], args.data(), envp.data());
      _exit(127);
    }
    if (out.pid > 0)
      setpgid(out.pid, out.pid); // also here, so that stop() never signals a group not yet made
    return out;
  }

  /// SIGTERM to the group, SIGKILL after 3 s; reaps the child.
  void stop() {
    if (pid <= 0)
      return;
    kill(-pid, SIGTERM);
    for (int i = 0; i < 30; ++i) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) {
        reaped();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }

  /// After the child is reaped: whatever it left in its group (a mock it started and did not
  /// stop because it crashed) is killed.
  void reaped() {
    kill(-pid, SIGKILL);
    pid = -1;
  }
};

struct interrupted {};

/// Waits for `c` to exit, at most `timeout_s`, calling `tick(elapsed_s)` about 5 times a
/// second. Returns the exit status (-1: timed out, the child killed); throws `interrupted` on
/// SIGINT or SIGTERM (the child killed).
int wait_child(child& c, int timeout_s, const std::function<void(double)>& tick) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (c.pid <= 0)
    return 127; // fork failed: nothing ran
  auto t0 = clock_type::now();
  for (;;) {
    int status = 0;
    if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
      c.reaped();
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    double elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (elapsed > timeout_s) {
      c.stop();
      return -1;
    }
    tick(elapsed);
    timespec wait{0, 200'000'000};
    if (sigtimedwait(&stop_signals, nullptr, &wait) > 0) {
      c.stop();
      throw interrupted{};
    }
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// `text` without the white space at its end.
std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.pop_back();
  return text;
}

std::string tail_lines(const std::string& path, size_t n) {
  std::vector<std::string> lines;
  std::ifstream in{path};
  for (std::string l; std::getline(in, l);)
    lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += "  | " + lines[i] + "\n";
  return out;
}

size_t count_lines(const std::string& path) {
  std::ifstream in{path};
  return static_cast<size_t>(
      std::count(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}, '\n'));
}

/// The progress line: rewritten in place on a terminal, one line per step otherwise.
class progress {
public:
  progress() : tty_(isatty(2) != 0) {}

  void update(const std::string& line) {
    if (tty_)
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
  }

  void done(const std::string& line) {
    if (tty_)
      std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", line.c_str());
  }

private:
  bool tty_;
};

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{"swarm"} : p.string();
}

std::string command_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p) != nullptr)
      out += buf;
    pclose(p);
  }
  return trimmed(out);
}

bench::machine_info describe_machine(const pinning& pins, const std::string& command) {
  bench::machine_info m;
  std::ifstream cpuinfo{"/proc/cpuinfo"};
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      m.cpu = line.substr(line.find(':') + 2);
      break;
    }
  m.cores = static_cast<unsigned>(allowed_cpus().size());
  std::ifstream meminfo{"/proc/meminfo"};
  std::string key;
  double kb = 0;
  meminfo >> key >> kb;
  m.memory_gib = kb / (1024.0 * 1024.0);
  std::ifstream os{"/etc/os-release"};
  for (std::string line; std::getline(os, line);)
    if (line.rfind("PRETTY_NAME=", 0) == 0)
      m.os = line.substr(13, line.size() - 14);
#ifdef __clang__
  m.compiler = std::string{"clang "} + __clang_version__;
#else
  m.compiler = std::string{"g++ "} + __VERSION__;
#endif
#ifdef NDEBUG
  m.compiler += " (optimized)";
#else
  m.compiler += " (debug build: figures not representative)";
#endif
  // The commit of the source tree these programs were built from, when it is still there.
  std::string git = "git -C '" + std::string{SWARM_SOURCE_DIR} + "' ";
  m.commit = command_output(git + "rev-parse --short=12 HEAD 2>/dev/null");
  if (m.commit.empty())
    m.commit = version_text();
  else if (!command_output(git + "status --porcelain --untracked-files=no 2>/dev/null").empty())
    m.commit += "-dirty";
  char date[32];
  auto now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  m.date = date;
  m.command = command;
  m.pinning = pins.describe();
  return m;
}

/// The bench programs' directory: --bench-dir, else the build tree's (apps/swarm/../../bench).
std::string find_bench_dir(const std::string& given) {
  if (!given.empty())
    return given;
  return (fs::path{self_path()}.parent_path() / ".." / ".." / "bench").lexically_normal();
}

/// True if `program` is an executable file in one of $PATH's directories.
bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs{path != nullptr ? path : ""};
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0)
      return true;
  return false;
}

std::string find_peers_dir(const std::string& given) {
  if (!given.empty())
    return given;
  if (fs::exists("bench/peers/peers.mjs"))
    return fs::absolute("bench/peers").string();
  return std::string{SWARM_SOURCE_DIR} + "/bench/peers";
}

/// Everything one `swarm bench` invocation runs, and what it gathered.
class bench_session {
public:
  bench_session(const bench_args& a, std::string work) : args_(a), work_(std::move(work)) {
    auto cpus = allowed_cpus();
    if (!a.no_pin && cpus.size() >= 2) {
      pins_.mock = {cpus.back()};
      pins_.client.assign(cpus.begin(), cpus.end() - 1);
    }
    repeats_ = a.repeats > 0 ? a.repeats : (a.quick ? 2 : 3);
  }

  const pinning& pins() const { return pins_; }
  std::vector<bench::record>& records() { return records_; }
  const std::vector<std::string>& failures() const { return failures_; }

  /// Runs each step of scenario `s` `repeats_` times; the records join records().
  void run_scenario(const scenario& s, size_t index, size_t count, const std::string& bench_dir) {
    for (size_t k = 0; k < s.steps.size(); ++k) {
      const auto& st = s.steps[k];
      const auto& extra = args_.quick ? st.quick : st.full;
      if (args_.quick && extra.empty() && k > 0)
        continue; // a step the quick pass leaves to the first one
      std::vector<std::string> argv{bench_dir + "/" + st.program};
      argv.insert(argv.end(), extra.begin(), extra.end());
      for (int run = 1; run <= repeats_; ++run) {
        auto tag = std::string{s.name} + (k > 0 ? "-" + std::to_string(k + 1) : "") + "-" +
                   std::to_string(run);
        if (!run_program(argv, tag, st, s.name, index, count, run))
          return;
      }
    }
  }

  /// One run of a program; false (a failure noted) if it failed or wrote no figures.
  bool run_program(const std::vector<std::string>& argv, const std::string& tag, const step& st,
                   const std::string& name, size_t index, size_t count, int run) {
    auto records_path = work_ + "/" + tag + ".jsonl";
    auto log = work_ + "/" + tag + ".log";
    auto label = "[" + std::to_string(index) + "/" + std::to_string(count) + "] " + name + " (" +
                 st.program + ") run " + std::to_string(run) + "/" + std::to_string(repeats_);
    auto c = child::start(
        argv, "", log, pins_.client,
        {"SWARM_BENCH_RECORDS=" + records_path, "SWARM_BENCH_MOCK_CPUS=" + cpu_list(pins_.mock)});
    int limit = args_.timeout_s > 0 ? args_.timeout_s : st.timeout_s;
    auto rc = wait_child(c, limit, [&](double t) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "  %.0f s, %zu figures", t, count_lines(records_path));
      progress_.update(label + buf);
    });
    auto got = bench::parse_records(read_file(records_path), records_path);
    std::string outcome;
    if (rc != 0)
      outcome = rc == -1 ? "timed out after " + std::to_string(limit) + " s"
                         : st.program + std::string{" exited with "} + std::to_string(rc);
    else if (!got)
      outcome = describe(got.error());
    else if (got->empty())
      outcome = std::string{st.program} + " wrote no figures";
    else
      for (const auto& r : *got) // a figure of failed requests or calls fails the run
        if (r.metric == "failed" && r.value > 0)
          outcome = std::to_string(static_cast<long long>(r.value)) + " " + r.unit + " failed (" +
                    r.scenario + " " + bench::params_text(r.params) + ")";
    if (!outcome.empty()) {
      failures_.push_back(name + ": " + outcome + " (log " + log + ")");
      progress_.done(label + ": FAILED: " + outcome + "; last lines of " + log + ":\n" +
                     tail_lines(log, 8));
      return false;
    }
    progress_.done(label + ": " + std::to_string(got->size()) + " figures");
    records_.insert(records_.end(), got->begin(), got->end());
    return true;
  }

  /// The peers: fanout and sequential with LangGraph.js, the Agents SDK and fetch.
  void run_peers(const std::string& peers_dir, bool fanout, bool sequential) {
    if (!ensure_npm_packages(peers_dir))
      return;
    // Two mocks: the fan-out's at 20 ms (peers/mock.yaml, whose replies fix the vote), the
    // sequential calls' answering at once (the whole call is what the runtime adds).
    auto instant = work_ + "/instant.yaml";
    std::ofstream{instant} << "default: {reply: ok}\n";
    std::vector<std::string> frameworks{"fetch", "langgraph", "agents"};
    // The sizes, rounds and calls of our own runs, so that each peer row has ours beside it;
    // fan-outs past 1,000 are left out (LangGraph.js takes minutes a round there).
    auto mode_args = [&](const char* name) -> const std::vector<std::string>& {
      const auto& st = find_scenario(name)->steps.front();
      return args_.quick ? st.quick : st.full;
    };
    std::vector<int> sizes;
    std::stringstream size_list{arg_value(mode_args("fanout"), "--sizes")};
    for (std::string x; std::getline(size_list, x, ',');)
      if (auto n = std::atoi(x.c_str()); n > 0 && n <= 1000)
        sizes.push_back(n);
    int fanout_rounds = std::max(1, std::atoi(arg_value(mode_args("fanout"), "--rounds").c_str()));
    int seq_calls = std::atoi(arg_value(mode_args("sequential"), "--added-calls").c_str());
    int seq_rounds = args_.quick ? 1 : 3;
    if (fanout) {
      auto mock = start_mock(peers_dir + "/mock.yaml", "peers-fanout");
      if (mock.port.empty())
        return;
      for (const auto& fw : frameworks)
        for (int n : sizes)
          run_peer(peers_dir, mock, fw, "fanout", n, fanout_rounds, 20);
      mock.proc.stop();
    }
    if (sequential) {
      auto mock = start_mock(instant, "peers-sequential");
      if (mock.port.empty())
        return;
      for (const auto& fw : frameworks)
        run_peer(peers_dir, mock, fw, "sequential", seq_calls, seq_rounds, 0);
      mock.proc.stop();
    }
  }

private:
  struct mock {
    child proc;
    std::string port, request_log;
  };

  mock start_mock(const std::string& script, const std::string& tag) {
    mock m;
    auto port_file = work_ + "/" + tag + ".port";
    m.request_log = work_ + "/" + tag + ".requests.jsonl";
    m.proc = child::start({self_path(), "mock-llm", "--port", "0", "--port-file", port_file,
                           "--script", script, "--request-log", m.request_log},
                          "", work_ + "/" + tag + ".log", pins_.mock, {});
    for (int i = 0; i < 100 && m.port.empty(); ++i) {
      m.port = trimmed(read_file(port_file));
      if (m.port.empty())
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (m.port.empty()) {
      m.proc.stop();
      failures_.push_back("peers: the mock (" + script + ") did not start (log " + work_ + "/" +
                          tag + ".log)");
      progress_.done("peers: FAILED: the mock did not start");
    }
    return m;
  }

  /// `npm ci` in peers_dir when node_modules is missing or came from another package-lock.
  bool ensure_npm_packages(const std::string& peers_dir) {
    auto lock = read_file(peers_dir + "/package-lock.json");
    if (lock.empty()) {
      failures_.push_back("peers: no " + peers_dir + "/package-lock.json (--peers-dir)");
      progress_.done("peers: FAILED: no package-lock.json in " + peers_dir);
      return false;
    }
    auto stamp_path = peers_dir + "/node_modules/.installed-from-lock";
    auto want = spec_digest(lock).substr(7); // the lock's SHA-256, as sha256sum prints it
    if (trimmed(read_file(stamp_path)) == want)
      return true;
    progress_.done("peers: npm ci in " + peers_dir + " (the versions pinned in package-lock.json)");
    auto log = work_ + "/npm-ci.log";
    auto c = child::start({"npm", "ci", "--no-audit", "--no-fund"}, peers_dir, log, {}, {});
    auto rc = wait_child(c, 900, [&](double t) {
      progress_.update("peers: npm ci " + std::to_string(static_cast<int>(t)) + " s");
    });
    if (rc != 0) {
      failures_.push_back("peers: npm ci failed (" + std::to_string(rc) + "; log " + log + ")");
      progress_.done("peers: FAILED: npm ci; last lines of " + log + ":\n" + tail_lines(log, 8));
      return false;
    }
    std::ofstream{stamp_path} << want;
    return true;
  }

  void run_peer(const std::string& peers_dir, const mock& m, const std::string& framework,
                const std::string& scenario_name, int n, int rounds, int latency_ms) {
    auto tag = "peer-" + framework + "-" + scenario_name + "-" + std::to_string(n);
    auto out_path = work_ + "/" + tag + ".json";
    auto label = "peers: " + framework + " " + scenario_name + " n=" + std::to_string(n);
    auto before = count_lines(m.request_log);
    // peers.mjs prints its one JSON object on stdout and its errors on stderr.
    auto c =
        child::start({"node", "peers.mjs", "--framework", framework, "--scenario", scenario_name,
                      "--n", std::to_string(n), "--rounds", std::to_string(rounds), "--base-url",
                      "http://127.0.0.1:" + m.port + "/v1", "--model", "mock", "--latency-ms",
                      std::to_string(latency_ms), "--out", out_path},
                     peers_dir, work_ + "/" + tag + ".log", pins_.client,
                     {"OPENAI_API_KEY=mock", "OPENAI_AGENTS_DISABLE_TRACING=1",
                      "LANGSMITH_TRACING=false", "LANGCHAIN_TRACING_V2=false"});
    auto rc = wait_child(c, 600, [&](double t) {
      progress_.update(label + "  " + std::to_string(static_cast<int>(t)) + " s");
    });
    auto got = bench::peer_records(read_file(out_path), out_path);
    auto sent = count_lines(m.request_log) - before;
    auto expected = static_cast<size_t>(n) * static_cast<size_t>(rounds + 1);
    std::string outcome;
    if (rc != 0)
      outcome = rc == -1 ? "timed out after 600 s" : "exited with " + std::to_string(rc);
    else if (!got)
      outcome = describe(got.error());
    else if (sent != expected)
      outcome = "the mock logged " + std::to_string(sent) + " requests, expected " +
                std::to_string(expected) + " (one per call)";
    if (!outcome.empty()) {
      auto log = work_ + "/" + tag + ".log";
      failures_.push_back(label + ": " + outcome + " (log " + log + ")");
      progress_.done(label + ": FAILED: " + outcome + "; last lines of " + log + ":\n" +
                     tail_lines(log, 8));
      return;
    }
    progress_.done(label + ": done");
    records_.insert(records_.end(), got->begin(), got->end());
  }

  const bench_args& args_;
  std::string work_;
  pinning pins_;
  int repeats_ = 3;
  progress progress_;
  std::vector<bench::record> records_;
  std::vector<std::string> failures_;
};

/// The command that reproduces this run, as its arguments were understood.
std::string command_text(const bench_args& a) {
  std::string out = "swarm bench";
  for (const auto& n : a.names)
    out += " " + n;
  if (a.quick)
    out += " --quick";
  if (a.peers)
    out += " --peers";
  if (a.repeats > 0)
    out += " --repeats " + std::to_string(a.repeats);
  if (a.no_pin)
    out += " --no-pin";
  if (a.timeout_s > 0)
    out += " --timeout " + std::to_string(a.timeout_s);
  return out;
}

bool write_file(const std::string& path, const std::string& text, std::string& error) {
  std::ofstream out{path};
  out << text;
  out.close();
  if (!out) {
    error += std::string{error.empty() ? "" : "; "} + "cannot write " + path + ": " +
             std::strerror(errno);
    return false;
  }
  return true;
}

/// Prints the report of `figures` and writes what `a` asks for (JSON, markdown, plots, drawn
/// with gnuplot through scripts in `work`); false, with `error` set, if something could not be
/// written.
bool write_report(const bench_args& a, const std::vector<bench::figure>& figures,
                  const bench::machine_info& machine, const std::string& work, std::string& error) {
  auto checked = bench::check_targets(figures);
  auto report = bench::markdown(figures, checked, machine);
  std::cout << report << std::flush;
  bool wrote = true;
  if (!a.json_path.empty())
    wrote &=
        write_file(a.json_path,
                   boost::json::serialize(bench::to_json(figures, checked, machine)) + "\n", error);
  if (!a.markdown_path.empty())
    wrote &= write_file(a.markdown_path, report, error);
  if (!a.plots_dir.empty()) {
    auto plots = bench::plot_scripts(figures, fs::absolute(a.plots_dir).string());
    for (const auto& [png, script] : plots) {
      auto script_path = work + "/" + png + ".gp";
      if (!write_file(script_path, script, error)) {
        wrote = false;
        continue;
      }
      auto c = child::start({"gnuplot", script_path}, "", work + "/gnuplot.log", {}, {});
      if (wait_child(c, 60, [](double) {}) != 0) {
        error += std::string{error.empty() ? "" : "; "} + "gnuplot failed on " + script_path +
                 " (is gnuplot installed?):\n" + tail_lines(work + "/gnuplot.log", 5);
        wrote = false;
      }
    }
    std::cerr << "swarm bench: " << plots.size() << " plots in " << a.plots_dir << std::endl;
  }
  return wrote;
}

/// `swarm bench --from FILE`: the report of a saved run, again.
int report_saved(const bench_args& a, const std::string& work) {
  auto text = read_file(a.from_path);
  if (text.empty()) {
    std::cerr << "swarm bench: --from " << a.from_path << ": cannot read it, or it is empty"
              << std::endl;
    return exit_usage;
  }
  auto saved = bench::from_json(text, a.from_path);
  if (!saved) {
    std::cerr << "swarm bench: " << describe(saved.error()) << std::endl;
    return exit_usage;
  }
  std::string error;
  if (!write_report(a, saved->first, saved->second, work, error)) {
    std::cerr << "swarm bench: " << error << std::endl;
    return exit_failed;
  }
  return exit_ok;
}

/// The --plots directory, made if missing, and a fresh work directory for the programs' records
/// and logs; empty (the error printed) if either cannot be made.
std::optional<std::string> make_dirs(const bench_args& a) {
  // Before anything runs: a report that cannot be written would lose a run of many minutes.
  for (const auto& [flag, dir] : {std::pair<std::string, fs::path>{"--plots", a.plots_dir},
                                  {"--json", fs::path{a.json_path}.parent_path()},
                                  {"--markdown", fs::path{a.markdown_path}.parent_path()}}) {
    if (dir.empty())
      continue;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || access(dir.c_str(), W_OK) != 0) {
      std::cerr << "swarm bench: " << flag << ": cannot write in " << dir << ": "
                << (ec ? ec.message() : std::strerror(errno)) << std::endl;
      return std::nullopt;
    }
  }
  char tmpl[] = "/tmp/swarm-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::cerr << "swarm bench: cannot make a work directory in /tmp: " << std::strerror(errno)
              << std::endl;
    return std::nullopt;
  }
  return std::string{tmpl};
}

int run_bench(const bench_args& a) {
  if (!a.from_path.empty()) {
    if (!a.names.empty() || a.peers) {
      std::cerr << "swarm bench: --from reports a saved run and runs nothing: drop the scenario "
                   "names and --peers"
                << std::endl;
      return exit_usage;
    }
    auto work = make_dirs(a);
    if (!work)
      return exit_usage;
    int rc = exit_interrupted;
    try {
      rc = report_saved(a, *work);
    } catch (const interrupted&) {
    }
    fs::remove_all(*work);
    return rc;
  }
  // Which scenarios, checked before anything runs.
  std::vector<const scenario*> chosen;
  auto names = a.names.empty() ? std::vector<std::string>{"all"} : a.names;
  for (const auto& n : names) {
    if (n == "all") {
      for (const auto& s : scenarios())
        if (std::find(chosen.begin(), chosen.end(), &s) == chosen.end())
          chosen.push_back(&s);
      continue;
    }
    auto* s = find_scenario(n);
    if (s == nullptr) {
      std::string known;
      for (const auto& x : scenarios())
        known += std::string{known.empty() ? "" : ", "} + x.name;
      std::cerr << "swarm bench: unknown scenario '" << n << "' (scenarios: " << known << ", all)"
                << std::endl;
      return exit_usage;
    }
    if (std::find(chosen.begin(), chosen.end(), s) == chosen.end())
      chosen.push_back(s);
  }
  auto bench_dir = find_bench_dir(a.bench_dir);
  for (const auto* s : chosen)
    for (const auto& st : s->steps)
      if (access((bench_dir + "/" + st.program).c_str(), X_OK) != 0) {
        std::cerr << "swarm bench: scenario " << s->name << " needs " << bench_dir << "/"
                  << st.program
                  << ", which is not there (build the bench programs: make bench, or cmake "
                     "--build BUILD_DIR --target "
                  << st.program << "; or name their directory with --bench-dir)" << std::endl;
        return exit_usage;
      }
  auto peers_dir = find_peers_dir(a.peers_dir);
  bool peer_fanout = false, peer_seq = false;
  for (const auto* s : chosen) {
    peer_fanout |= std::string{s->name} == "fanout";
    peer_seq |= std::string{s->name} == "sequential";
  }
  if (a.peers && (!on_path("node") || !on_path("npm"))) {
    std::cerr << "swarm bench: --peers needs Node.js >= 20 and npm on PATH (node: "
              << (on_path("node") ? "found" : "not found")
              << ", npm: " << (on_path("npm") ? "found" : "not found") << ")" << std::endl;
    return exit_usage;
  }
  if (a.peers && !fs::exists(peers_dir + "/peers.mjs")) {
    std::cerr << "swarm bench: --peers needs " << peers_dir
              << "/peers.mjs (run from the source tree, or name it with --peers-dir)" << std::endl;
    return exit_usage;
  }
  auto work = make_dirs(a);
  if (!work)
    return exit_usage;
  bench_session session{a, *work};
  auto started = clock_type::now();
  try {
    for (size_t i = 0; i < chosen.size(); ++i)
      session.run_scenario(*chosen[i], i + 1, chosen.size(), bench_dir);
    if (a.peers && (peer_fanout || peer_seq))
      session.run_peers(peers_dir, peer_fanout, peer_seq);
  } catch (const interrupted&) {
    std::cerr << "\nswarm bench: interrupted; the runs so far are in " << *work << std::endl;
    return exit_interrupted;
  }

  std::string error;
  bool wrote = false;
  try {
    wrote = write_report(a, bench::aggregate(session.records()),
                         describe_machine(session.pins(), command_text(a)), *work, error);
  } catch (const interrupted&) {
    return exit_interrupted;
  }
  if (!wrote)
    std::cerr << "swarm bench: " << error << std::endl;
  auto took = std::chrono::duration<double>(clock_type::now() - started).count();
  std::cerr << "swarm bench: " << chosen.size() << " scenarios in " << static_cast<int>(took)
            << " s";
  if (!session.failures().empty()) {
    std::cerr << "; " << session.failures().size() << " failed:" << std::endl;
    for (const auto& f : session.failures())
      std::cerr << "  " << f << std::endl;
    return exit_failed;
  }
  std::cerr << std::endl;
  fs::remove_all(*work);
  return wrote ? exit_ok : exit_failed;
}

} // namespace

command add_bench_command(CLI::App& app) {
  auto a = std::make_shared<bench_args>();
  auto* sub = app.add_subcommand(
      "bench", "run the benchmark scenarios beside their floors (and the peers), report the "
               "figures (docs/benchmarks.md)");
  std::string list;
  for (const auto& s : scenarios())
    list += std::string{"\n  "} + s.name + ": " + s.what;
  sub->add_option("scenarios", a->names, "scenarios to run, or all (the default):" + list);
  sub->add_flag("--quick", a->quick,
                "a pass of about two minutes (three with --peers): fewer sizes and rounds");
  sub->add_flag("--peers", a->peers,
                "also run fanout and sequential with LangGraph.js, the OpenAI Agents SDK and "
                "Node fetch (bench/peers; installs their pinned npm packages)");
  sub->add_option("--repeats", a->repeats, "runs of each program (default 3, --quick 2)")
      ->check(CLI::Range(1, 20));
  sub->add_option("--timeout", a->timeout_s,
                  "seconds one program run may take (default: each scenario's own, 60-600)")
      ->check(CLI::Range(1, 3600));
  sub->add_option("--json", a->json_path, "write the figures as JSON to FILE");
  sub->add_option("--markdown", a->markdown_path, "write the report (markdown) to FILE");
  sub->add_option("--plots", a->plots_dir, "draw the scaling curves as PNG files in DIR");
  sub->add_option("--from", a->from_path,
                  "report (and plot) the run saved by --json in FILE again; runs nothing");
  sub->add_flag("--no-pin", a->no_pin, "do not pin the client and the mock to separate CPUs");
  sub->add_option("--bench-dir", a->bench_dir,
                  "where the bench programs are (default: the build tree's bench/)");
  sub->add_option("--peers-dir", a->peers_dir, "where peers.mjs is (default: bench/peers)");
  return [a] {
    try {
      return run_bench(*a);
    } catch (const std::exception& e) { // the children are stopped on the way out
      std::cerr << "swarm bench: " << e.what() << std::endl;
      return static_cast<int>(exit_failed);
    }
  };
}

} // namespace swarm::cli
