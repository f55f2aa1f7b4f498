// `swarm cluster status`: the nodes of a cluster as one of its nodes sees them, as a table or
// JSON.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "apps/swarm/commands.hpp"
#include "net/cluster_tls.hpp"
#include "runtime/cluster_node.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::cli {

namespace {

struct cluster_args {
  std::string address;
  net::tls_files tls;
  bool insecure = false;
  bool json = false;
  int timeout_ms = 5000;
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string seconds_ago(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s ago",
                static_cast<double>(std::max<int64_t>(ms, 0)) / 1000);
  return buf;
}

int status(const cluster_args& a) {
  cluster_link_options link{a.tls.cert, a.tls.key, a.tls.ca, a.insecure};
  auto members = query_cluster(a.address, link, std::chrono::milliseconds(a.timeout_ms));
  if (!members) {
    std::cerr << "swarm cluster status: " << describe(members.error()) << std::endl;
    return is(members.error(), errc::invalid_argument) ? exit_usage : exit_failed;
  }
  auto now = now_ms();
  if (a.json) {
    boost::json::array nodes;
    for (const auto& m : *members)
      nodes.push_back(boost::json::object{{"name", m.name},
                                          {"address", m.address},
                                          {"state", to_string(m.state)},
                                          {"agents", m.agents},
                                          {"in_flight", m.in_flight},
                                          {"incarnation", m.incarnation},
                                          {"last_heartbeat_ms_ago", now - m.last_heard_ms}});
    std::cout << boost::json::serialize(
                     boost::json::object{{"queried", a.address}, {"nodes", std::move(nodes)}})
              << std::endl;
    return exit_ok;
  }
  std::printf("%-24s %-24s %-12s %8s %10s  %s\n", "NAME", "ADDRESS", "STATE", "AGENTS", "IN-FLIGHT",
              "LAST HEARTBEAT");
  for (size_t i = 0; i < members->size(); ++i) {
    const auto& m = (*members)[i];
    std::printf("%-24s %-24s %-12s %8llu %10llu  %s\n", m.name.c_str(), m.address.c_str(),
                to_string(m.state).c_str(), static_cast<unsigned long long>(m.agents),
                static_cast<unsigned long long>(m.in_flight),
                i == 0 ? "(answered this query)" : seconds_ago(now - m.last_heard_ms).c_str());
  }
  return exit_ok;
}

} // namespace

command add_cluster_command(CLI::App& app) {
  auto a = std::make_shared<cluster_args>();
  auto* sub = app.add_subcommand("cluster", "ask a cluster about itself (docs/cluster.md)");
  sub->require_subcommand(1);
  auto* st = sub->add_subcommand("status", "list the nodes: name, address, state, load, last "
                                           "heartbeat, as the node asked sees them");
  st->add_option("--cluster", a->address, "HOST:PORT of any node of the cluster")->required();
  st->add_flag("--json", a->json, "print one JSON object instead of a table");
  st->add_option("--timeout-ms", a->timeout_ms, "how long to wait for the node (default 5000)")
      ->check(CLI::Range(1, 600000));
  add_tls_flags(*st, a->tls);
  st->add_flag("--insecure", a->insecure, "plain TCP without TLS (loopback addresses only)");
  return [a] { return status(*a); };
}

} // namespace swarm::cli
