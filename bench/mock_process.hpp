// `swarm mock-llm` as a child process for the benchmarks: started with a script, stopped on
// destruction, so the mock's CPU is never counted as the client's. Under `swarm bench` the mock
// runs on the cores named by SWARM_BENCH_MOCK_CPUS ("1", "2-3"), apart from the client's.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
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

class mock_process {
public:
  /// Starts `swarm mock-llm` (binary `swarm`) on a free loopback port with `script_body` as its
  /// script; `tag` keeps concurrent mocks' temp directories apart.
  mock_process(const std::string& swarm, const std::string& script_body, const std::string& tag) {
    dir_ = "/tmp/swarm-bench-" + tag + "-" + std::to_string(getpid());
    std::system(("mkdir -p " + dir_).c_str());
    auto script = dir_ + "/script.yaml";
    std::ofstream{script} << script_body;
    auto port_file = dir_ + "/port";
    std::vector<std::string> args{swarm,         "mock-llm", "--port",   "0",
                                  "--port-file", port_file,  "--script", script};
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
      execve(swarm.c_str(), argv.data(), environ);
      _exit(127);
    }
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      std::ifstream in{port_file};
      in >> port_;
      if (port_ == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (port_ == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      throw std::runtime_error("mock-llm did not start");
    }
  }

  ~mock_process() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    std::system(("rm -rf " + dir_).c_str());
  }

  mock_process(const mock_process&) = delete;
  mock_process& operator=(const mock_process&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

  /// SWARM_BENCH_MOCK_CPUS as a CPU set ("1", "2-3", "0,2"); empty when unset. Also where the
  /// other server-side children of a bench go (bench/serve_process.hpp).
  static cpu_set_t mock_cpus() {
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

private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

} // namespace swarm::bench
