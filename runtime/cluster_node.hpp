// A cluster node: the actor that links this process to the other nodes of a cluster, keeps their
// membership (who is up, their load) by heartbeats on every link, and answers status queries.
// Peer to peer: every node links to every other one; any node can be joined (docs/cluster.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "runtime/core/cluster_messages.hpp"
#include "runtime/core/messages.hpp"
#include "runtime/core/options.hpp"

namespace caf {
class actor_system;
class actor_system_config;
} // namespace caf

namespace swarm {

/// "host:port" (or "[v6]:port") taken apart; the error names the text and what is wrong.
caf::expected<std::pair<std::string, uint16_t>> parse_host_port(const std::string& text);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

/// Checks what a link needs before anything listens or connects: TLS files complete and valid,
/// or `insecure` with every address in `hosts` on loopback. errc::invalid_argument naming it.
caf::error check_link_options(const cluster_link_options& link,
                              const std::vector<std::string>& hosts);

/// Checks a node's options without starting anything: addresses, the link (check_link_options),
/// the name and the timings. start_cluster_node checks them too; a runtime checks them before it
/// creates its actor system. errc::invalid_argument naming the option.
caf::error check_cluster_options(const cluster_options& opts);

/// Loads CAF's middleman (and its OpenSSL module with the certificate files, when the link has
/// them) into a config, with heartbeats on every link: CAF drops a link silent for
/// 2 x `failure_timeout`. Every process of a cluster needs it, nodes and clients alike.
void apply_cluster_config(caf::actor_system_config& cfg, const cluster_link_options& link,
                          std::chrono::milliseconds heartbeat_interval,
                          std::chrono::milliseconds failure_timeout);

/// What a node reports of itself in heartbeats.
struct node_load {
  uint64_t agents = 0;
  uint64_t in_flight = 0;
};

/// What a node asks of the process it runs in.
struct node_host {
  /// Called on the node's thread at each heartbeat; must not block.
  std::function<node_load()> load;
  /// Spawns an actor that takes one run_submission, runs it and answers it (the node hands it
  /// each run submitted to it while it is up). Null: the node refuses runs.
  std::function<caf::actor()> run_worker;
};

/// Starts this process's node: checks the options, listens on `opts.listen` and joins the seeds
/// (in the background: a seed that does not answer is tried again every reconnect interval).
/// `sys` must have been configured by apply_cluster_config.
caf::expected<caf::actor> start_cluster_node(caf::actor_system& sys, const cluster_options& opts,
                                             node_host host);

/// The cluster as `node` sees it: itself first, then every member by name.
caf::expected<std::vector<node_info>>
cluster_members(caf::actor_system& sys, const caf::actor& node, std::chrono::milliseconds timeout);

/// Tells the members that `node` is draining (no new work), waits until `idle()` or `timeout`,
/// then tells them it leaves for good and stops the node actor.
void leave_cluster(caf::actor_system& sys, const caf::actor& node, std::function<bool()> idle,
                   std::chrono::milliseconds timeout);

/// Asks the node at `address` ("host:port") for the cluster as it sees it, from a process that
/// is no node (swarm cluster status): its own small actor system, linked as `link` says.
caf::expected<std::vector<node_info>> query_cluster(const std::string& address,
                                                    const cluster_link_options& link,
                                                    std::chrono::milliseconds timeout);

/// Runs `sub` on the node at `address` ("host:port"), from a process that is no node (swarm run
/// --cluster): its own small actor system, linked as `link` says. `on_event` gets each event of
/// the run, on one thread at a time. Returns the swarm's result or the run's error;
/// errc::node_unreachable when no node answers within `connect_timeout`, errc::node_lost when
/// the link to the node is lost during the run (silent for twice `connect_timeout`, or closed),
/// errc::runtime_stopped when `stop_waiting` (polled every 50 ms) says so. The node owns the
/// run: when the caller stops waiting or loses the link, it goes on there (or resumes when that
/// node starts again).
caf::expected<result> run_on_cluster(const std::string& address, const cluster_link_options& link,
                                     run_submission sub, std::function<void(const event&)> on_event,
                                     std::chrono::milliseconds connect_timeout,
                                     std::function<bool()> stop_waiting = {});

} // namespace swarm
