// `swarm mock-llm` (and other `swarm` servers) as child processes for the benchmarks: started on a
// free port, stopped on destruction, so the server side's CPU is never counted as the client's.
// Under `swarm bench` the mock runs on the cores named by SWARM_BENCH_MOCK_CPUS ("1", "2-3"), apart
// from the client's.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace swarm::bench {

/// SWARM_BENCH_MOCK_CPUS as a CPU set ("1", "2-3", "0,2"); empty when unset. Where the mock
/// and the other server-side children of a bench (bench/serve_process.hpp) run.
inline cpu_set_t mock_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const char* env = std::getenv("SWARM_BENCH_MOCK_CPUS");
  std::string text = env != nullptr ? env : "";
  size_t at = 0;
  while (at < text.size()) {
    auto end = text.find(',', at);
    auto part = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    auto dash = part.find('-');
    int lo = std::atoi(part.c_str());
    int hi = dash == std::string::npos ? lo : std::atoi(part.c_str() + dash + 1);
    for (int c = lo; c <= hi && c < CPU_SETSIZE; ++c)
      CPU_SET(c, &set);
    if (end == std::string::npos)
      break;
    at = end + 1;
  }
  return set;
}

/// A `swarm` subcommand as a server-side child of a bench: pinned to mock_cpus(), dying with
/// the bench, on a free loopback port it writes to `dir`/port (`--port 0 --port-file` are
/// added to `args`); stopped (SIGTERM, waited for) and `dir` removed on destruction.
class swarm_child {
public:
  /// `args`: the subcommand and its options (`swarm` is the binary). `err_log`: where its
  /// standard error goes (empty: inherited). Throws, naming `what` and the log's text, when
  /// no port appears within `wait`.
  swarm_child(const std::string& swarm, std::vector<std::string> args, std::string dir,
              const std::string& err_log, const std::string& what, std::chrono::milliseconds wait)
      : dir_(std::move(dir)) {
    auto port_file = dir_ + "/port";
    args.insert(args.begin(), swarm);
    for (auto x : {"--port", "0", "--port-file"})
      args.emplace_back(x);
    args.push_back(port_file);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    auto cpus = mock_cpus();
    pid_ = fork();
    if (pid_ < 0)
      throw std::runtime_error("cannot start " + swarm);
    if (pid_ == 0) {                    // only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGTERM); // a bench killed before its destructor ran
      if (CPU_COUNT(&cpus) > 0)
        sched_setaffinity(0, sizeof cpus, &cpus);
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0)
        dup2(null, 1);
      if (!err_log.empty()) {
        int err = open(err_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (err >= 0)
          dup2(err, 2);
      }
      execve(swarm.c_str(), argv.data(), environ);
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      std::ifstream in{port_file};
      in >> port_;
      if (port_ == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (port_ == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      std::ifstream in{err_log};
      std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
      std::system(("rm -rf " + dir_).c_str());
      throw std::runtime_error(what + " did not start" + (text.empty() ? "" : ": " + text));
    }
  }

  ~swarm_child() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    std::system(("rm -rf " + dir_).c_str());
  }

  swarm_child(const swarm_child&) = delete;
  swarm_child& operator=(const swarm_child&) = delete;

  uint16_t port() const { return port_; }

private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// The temporary directory of a child: `tag` keeps concurrent ones apart; made empty.
inline std::string child_dir(const std::string& tag) {
  auto dir = "/tmp/swarm-bench-" + tag + "-" + std::to_string(getpid());
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  return dir;
}

class mock_process {
public:
  /// Starts `swarm mock-llm` (binary `swarm`) on a free loopback port with `script_body` as its
  /// script; `tag` keeps concurrent mocks' temp directories apart.
  mock_process(const std::string& swarm, const std::string& script_body, const std::string& tag)
      : dir_(child_dir(tag)),
        child_(swarm, {"mock-llm", "--script", write_script(dir_, script_body)}, dir_, {},
               "mock-llm", std::chrono::seconds(10)) {}

  uint16_t port() const { return child_.port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1"; }

private:
  static std::string write_script(const std::string& dir, const std::string& body) {
    auto script = dir + "/script.yaml";
    std::ofstream{script} << body;
    return script;
  }

  std::string dir_; // before child_: it names the child's directory
  swarm_child child_;
};

} // namespace swarm::bench
