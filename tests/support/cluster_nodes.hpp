// Cluster tests' helpers: `swarm node` child processes on loopback and waiting for the members
// a runtime's node sees. Needs SWARM_BINARY_DIR (tests/CMakeLists.txt defines it).
#pragma once

#include <chrono>
#include <csignal>
#include <fstream>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace swarm::test {

inline const std::string swarm_exe = SWARM_BINARY_DIR "/apps/swarm/swarm";

/// The link flags of node `name`: --insecure, or the TLS files `swarm cert` made under `pki`.
inline std::vector<std::string> link_args(const std::string& pki, const std::string& name) {
  if (pki.empty())
    return {"--insecure"};
  return {"--tls-cert", pki + "/" + name + ".crt",
          "--tls-key",  pki + "/" + name + ".key",
          "--tls-ca",   pki + "/ca.crt"};
}

/// A `swarm node` child process on loopback (heartbeat 100 ms, failure timeout 1 s, reconnect
/// 300 ms), joining `join` if given; killed when the test leaves.
struct node_process {
  pid_t pid = -1;
  std::string address;

  node_process(const temp_dir& dir, const std::string& name, const std::string& join,
               const std::string& pki = "") {
    auto file = (dir.path() / (name + ".addr")).string();
    std::vector<std::string> args{swarm_exe,
                                  "node",
                                  "--name",
                                  name,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--address-file",
                                  file,
                                  "--heartbeat-ms",
                                  "100",
                                  "--failure-timeout-ms",
                                  "1000",
                                  "--reconnect-ms",
                                  "300"};
    for (auto& a : link_args(pki, name))
      args.push_back(a);
    if (!join.empty()) {
      args.push_back("--join");
      args.push_back(join);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid, swarm_exe.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (address.empty() && std::chrono::steady_clock::now() < deadline) {
      std::ifstream in{file};
      std::getline(in, address);
      if (address.empty())
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE_FALSE(address.empty());
  }

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  void kill_now() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }

  ~node_process() { kill_now(); }
};

/// The members as `rt`'s node sees them, once `pred` holds for them (at most 20 s).
template <class Pred>
std::vector<node_info> members_once(runtime& rt, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto members = rt.cluster_members();
  while (!pred(members) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    members = rt.cluster_members();
  }
  return members;
}

/// Member `name` of `ms`, or null.
inline const node_info* find(const std::vector<node_info>& ms, const std::string& name) {
  for (const auto& m : ms)
    if (m.name == name)
      return &m;
  return nullptr;
}

/// How many members of `r` answered with a text containing `text`; each member's answer or
/// error goes to the test's log.
inline size_t answers_with(const result& r, const std::string& text) {
  size_t n = 0;
  for (const auto& m : r.trace) {
    UNSCOPED_INFO(m.agent.str() << ": " << (m.error ? describe(m.error) : m.text));
    if (m.text.find(text) != std::string::npos)
      ++n;
  }
  return n;
}

} // namespace swarm::test
