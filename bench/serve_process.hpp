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
                const std::string& tag)
      : dir_(child_dir(tag)),
        child_(swarm,
               {"serve", "--data-dir", dir_ + "/data", "--llm-url", llm_url, "--model", model},
               dir_, dir_ + "/serve.log", "swarm serve", std::chrono::seconds(20)) {}

  uint16_t port() const { return child_.port(); }

  /// What the server wrote to standard error so far.
  std::string log_text() const {
    std::ifstream in{dir_ + "/serve.log"};
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

private:
  std::string dir_; // before child_: it names the child's directory
  swarm_child child_;
};

} // namespace swarm::bench
