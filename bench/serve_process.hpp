// `swarm serve` as a child process for the benchmarks, like bench/mock_process.hpp for the mock:
// on a free loopback port, over a data directory of its own, every agent sent to `llm_url`;
// stopped (SIGTERM, then waited for) and its directory removed on destruction. It is the server
// side, so it runs where the mock runs (SWARM_BENCH_MOCK_CPUS), apart from the client's cores.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench/mock_process.hpp"

namespace swarm::bench {

class serve_process {
public:
  /// Starts `swarm serve` (binary `swarm`) with `--llm-url llm_url --model model`; `tag` keeps
  /// concurrent servers' temp directories apart. Its standard error goes to log(), shown in the
  /// exception when it does not start within 20 s.
  serve_process(const std::string& swarm, const std::string& llm_url, const std::string& model,
                const std::string& tag) {
    dir_ = "/tmp/swarm-bench-" + tag + "-" + std::to_string(getpid());
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str());
    auto port_file = dir_ + "/port";
    log_ = dir_ + "/serve.log";
    std::vector<std::string> args{swarm,         "serve",   "--port",     "0",
                                  "--port-file", port_file, "--data-dir", dir_ + "/data",
                                  "--llm-url",   llm_url,   "--model",    model};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    auto cpus = mock_process::mock_cpus();
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
      int err = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err >= 0)
        dup2(err, 2);
      execve(swarm.c_str(), argv.data(), environ);
      _exit(127);
    }
    for (int i = 0; i < 800 && port_ == 0; ++i) {
      std::ifstream in{port_file};
      in >> port_;
      if (port_ == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (port_ == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      auto text = log_text();
      std::system(("rm -rf " + dir_).c_str());
      throw std::runtime_error("swarm serve did not start: " + text);
    }
  }

  ~serve_process() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    std::system(("rm -rf " + dir_).c_str());
  }

  serve_process(const serve_process&) = delete;
  serve_process& operator=(const serve_process&) = delete;

  uint16_t port() const { return port_; }

  /// What the server wrote to standard error so far.
  std::string log_text() const {
    std::ifstream in{log_};
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

private:
  std::string dir_;
  std::string log_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

} // namespace swarm::bench
