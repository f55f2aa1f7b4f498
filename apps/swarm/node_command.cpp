// `swarm node`: a long-running cluster node. Listens, joins the seeds, tells membership changes
// on stderr while it runs; SIGINT/SIGTERM drain it (no new work, running runs finish), then it
// leaves the cluster and exits 0.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>

#include "apps/swarm/commands.hpp"
#include "net/cluster_tls.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"

namespace swarm::cli {

namespace {

struct node_args {
  cluster_options cluster;
  net::tls_files tls;
  std::string data_dir;
  std::string address_file;
  int heartbeat_ms = 250;
  int failure_timeout_ms = 2000;
  int reconnect_ms = 1000;
  int drain_timeout_s = 60;
};

// Prints each member's state when it changes ("n2 127.0.0.1:4242 up"), until stopped.
class membership_log {
public:
  membership_log(runtime& rt, std::chrono::milliseconds every)
      : thread_([this, &rt, every] { loop(rt, every); }) {}
  ~membership_log() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

private:
  void loop(runtime& rt, std::chrono::milliseconds every) {
    std::map<std::string, std::pair<uint64_t, node_state>> seen; // name -> incarnation, state
    std::unique_lock<std::mutex> guard{mtx_};
    while (!done_) {
      guard.unlock();
      auto members = rt.cluster_members();
      for (size_t i = 1; i < members.size(); ++i) {
        const auto& m = members[i];
        auto now = std::make_pair(m.incarnation, m.state);
        auto old = seen.find(m.name);
        if (old == seen.end() || old->second != now) {
          std::cerr << "swarm node: member " << m.name << " (" << m.address << ") "
                    << to_string(m.state) << std::endl;
          seen[m.name] = now;
        }
      }
      guard.lock();
      cv_.wait_for(guard, every, [this] { return done_; });
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

int run_node(node_args& a) {
  auto& c = a.cluster;
  c.heartbeat_interval = std::chrono::milliseconds(a.heartbeat_ms);
  c.failure_timeout = std::chrono::milliseconds(a.failure_timeout_ms);
  c.reconnect_interval = std::chrono::milliseconds(a.reconnect_ms);
  c.link.tls_cert = a.tls.cert;
  c.link.tls_key = a.tls.key;
  c.link.tls_ca = a.tls.ca;
  runtime_options opts;
  opts.data_dir = a.data_dir;
  opts.cluster = c;
  auto rt = runtime::open(opts);
  if (!rt) {
    std::cerr << "swarm node: " << describe(rt.error()) << std::endl;
    return is(rt.error(), errc::data_dir_unusable) ? exit_data_dir : exit_usage;
  }
  auto members = (*rt)->cluster_members();
  if (members.empty()) {
    std::cerr << "swarm node: the node did not start" << std::endl;
    return exit_failed;
  }
  const auto& me = members.front();
  std::cerr << "swarm node: " << me.name << " listening on " << me.address << " ("
            << (c.link.insecure ? "plain TCP, loopback only" : "mutual TLS") << ")"
            << (c.join.empty() ? std::string{}
                               : ", joining " + std::to_string(c.join.size()) + " seed(s)")
            << std::endl;
  if (!a.address_file.empty()) {
    // Written whole under another name, then renamed: a reader never sees half an address.
    auto tmp = a.address_file + ".tmp";
    std::ofstream{tmp} << me.address << "\n";
    std::rename(tmp.c_str(), a.address_file.c_str());
  }
  {
    membership_log log{**rt, c.heartbeat_interval};
    int sig = wait_for_stop_signal();
    std::cerr << "swarm node: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ": draining (up to "
              << a.drain_timeout_s << " s)" << std::endl;
    (*rt)->leave_cluster(std::chrono::seconds(a.drain_timeout_s));
  }
  (*rt)->stop();
  std::cerr << "swarm node: left the cluster" << std::endl;
  // The actor system's shutdown waits for CAF's middleman, which waits for a connect() in
  // progress: to a member whose address does not answer (cut off, not dead) that lasts until the
  // kernel gives up, minutes. The node has left and its runs have ended (their journal entries
  // are durable): past 5 s it exits without waiting.
  std::thread{[] {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    std::cerr << "swarm node: exiting without waiting for a link attempt still under way"
              << std::endl;
    std::_Exit(exit_ok);
  }}.detach();
  rt->reset();
  return exit_ok;
}

} // namespace

command add_node_command(CLI::App& app) {
  auto a = std::make_shared<node_args>();
  auto* sub = app.add_subcommand("node", "run a cluster node (docs/cluster.md)");
  sub->add_option("--listen", a->cluster.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->required();
  sub->add_option("--join", a->cluster.join, "HOST:PORT of a node to join (repeatable)");
  sub->add_option("--name", a->cluster.name, "the node's name in the cluster (default HOST:PORT)");
  sub->add_option("--data-dir", a->data_dir, "directory of the node's runs and memory");
  sub->add_option("--heartbeat-ms", a->heartbeat_ms, "heartbeat interval (default 250)")
      ->check(CLI::Range(10, 60000));
  sub->add_option("--failure-timeout-ms", a->failure_timeout_ms,
                  "a member silent this long is unreachable; after twice this long, down "
                  "(default 2000)")
      ->check(CLI::Range(20, 600000));
  sub->add_option("--reconnect-ms", a->reconnect_ms,
                  "how often down members and seeds are dialled again (default 1000)")
      ->check(CLI::Range(10, 600000));
  sub->add_option("--drain-timeout-s", a->drain_timeout_s,
                  "on SIGTERM, how long running runs may take to finish (default 60)")
      ->check(CLI::Range(0, 86400));
  sub->add_option("--address-file", a->address_file,
                  "write the address the node listens on to this file once it listens");
  add_tls_flags(*sub, a->tls);
  sub->add_flag("--insecure", a->cluster.link.insecure,
                "plain TCP without TLS (loopback addresses only)");
  return [a] { return run_node(*a); };
}

} // namespace swarm::cli
