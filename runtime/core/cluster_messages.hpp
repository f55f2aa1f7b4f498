// The cluster's membership protocol: what node actors tell each other (hello, heartbeat, leave)
// and what a node answers about the cluster. Own type-ID block (`swarm_cluster`), registered by
// register_types; every node and every client of a cluster speaks it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

namespace swarm {

/// A node's state as one node sees it (docs/cluster.md, "Membership").
enum class node_state : uint8_t {
  up,          ///< heartbeats arrive
  unreachable, ///< no heartbeat for the failure timeout, the link still open (stopped, partitioned)
  down,        ///< the link is lost (killed, or dropped after silence); reconnects are tried
  draining,    ///< shutting down: takes no new work, finishes what it runs
  left,        ///< stopped after draining; no reconnects
};

std::string to_string(node_state x);

/// One member of a cluster as a node knows it.
struct node_info {
  std::string name;     ///< unique in the cluster (swarm node --name; default host:port)
  std::string address;  ///< where its node actor listens, "host:port"
  uint64_t incarnation; ///< start time of its process, Unix ms: a restarted node has a newer one
  node_state state = node_state::up;
  uint64_t agents = 0;       ///< agent actors it runs
  uint64_t in_flight = 0;    ///< its LLM calls in flight
  int64_t last_heard_ms = 0; ///< when its last heartbeat arrived, Unix ms (own entry: now)
};

template <class F>
typename F::result_type inspect(F& f, node_info& x) {
  return f(caf::meta::type_name("node_info"), x.name, x.address, x.incarnation, x.state, x.agents,
           x.in_flight, x.last_heard_ms);
}

/// A node introduces itself to another (at join, at a reconnect, to members it learns of). The
/// receiver adds or refreshes it and answers with a node_welcome.
struct node_hello {
  node_info self;
  caf::actor node; ///< the sender's node actor
};

template <class F>
typename F::result_type inspect(F& f, node_hello& x) {
  return f(caf::meta::type_name("node_hello"), x.self, x.node);
}

/// The answer to a node_hello: the receiver itself and every member it knows, so that the
/// newcomer can link to each of them directly.
struct node_welcome {
  node_info self;
  std::vector<node_info> members;
};

template <class F>
typename F::result_type inspect(F& f, node_welcome& x) {
  return f(caf::meta::type_name("node_welcome"), x.self, x.members);
}

/// Sent by each node to each member it links to, every heartbeat interval.
struct node_heartbeat {
  std::string name;
  uint64_t incarnation = 0;
  node_state state = node_state::up;
  uint64_t agents = 0;
  uint64_t in_flight = 0;
};

template <class F>
typename F::result_type inspect(F& f, node_heartbeat& x) {
  return f(caf::meta::type_name("node_heartbeat"), x.name, x.incarnation, x.state, x.agents,
           x.in_flight);
}

/// A node that drained tells its members it is gone for good.
struct node_leave {
  std::string name;
  uint64_t incarnation = 0;
};

template <class F>
typename F::result_type inspect(F& f, node_leave& x) {
  return f(caf::meta::type_name("node_leave"), x.name, x.incarnation);
}

/// Asks a node for the cluster as it sees it: answered with std::vector<node_info>, the node
/// itself first, then the others by name.
struct cluster_status_request {};

template <class F>
typename F::result_type inspect(F& f, cluster_status_request&) {
  return f(caf::meta::type_name("cluster_status_request"));
}

/// Asks this process's node for the members work may be placed on: answered with a
/// placement_view.
struct placement_request {};

template <class F>
typename F::result_type inspect(F& f, placement_request&) {
  return f(caf::meta::type_name("placement_request"));
}

/// The `up` members, the asked node first: `members[i]`'s node actor is `nodes[i]` (its
/// node() names the process to spawn on).
struct placement_view {
  std::vector<node_info> members;
  std::vector<caf::actor> nodes;
};

template <class F>
typename F::result_type inspect(F& f, placement_view& x) {
  return f(caf::meta::type_name("placement_view"), x.members, x.nodes);
}

/// A run handed to a node by another process (swarm run --cluster, run_on_cluster): the node
/// builds the swarm from the spec's text and runs the task as its own (its journal, its
/// coordinators; docs/cluster.md, "Runs from anywhere"), sends each event of the run to `events`
/// meanwhile, and answers with the swarm's `result` or the run's error.
struct run_submission {
  std::string spec_text;   ///< empty: resume `run_id` from the node's journal
  std::string spec_source; ///< where the spec came from (its file), for messages and the journal
  std::string task;
  std::string run_id;
  uint8_t mode = 0;       ///< swarm::run_mode: start, resume, fresh
  bool no_memory = false; ///< the spec's memory tiers and memory tools turned off
  std::string llm_url;    ///< overrides for every agent, as swarm run --llm-url and --model
  std::string model;
  caf::actor events; ///< gets every event of the run; may be null
  /// Tool calls that need a human's approval: all approved (swarm run --approve yes), else all
  /// rejected; nobody at the node can be asked.
  bool approve_tools = false;
  bool stream_tokens = false; ///< the agents tell their tokens as they come (llm_token events)
};

template <class F>
typename F::result_type inspect(F& f, run_submission& x) {
  return f(caf::meta::type_name("run_submission"), x.spec_text, x.spec_source, x.task, x.run_id,
           x.mode, x.no_memory, x.llm_url, x.model, x.events, x.approve_tools, x.stream_tokens);
}

} // namespace swarm

// After the `swarm_memory` block (memory_messages.hpp), which starts at +150.
CAF_BEGIN_TYPE_ID_BLOCK(swarm_cluster, caf::first_custom_type_id + 200)
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::node_state))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::node_info))
CAF_ADD_TYPE_ID(swarm_cluster, (std::vector<swarm::node_info>))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::node_hello))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::node_welcome))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::node_heartbeat))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::node_leave))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::cluster_status_request))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::placement_request))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::placement_view))
CAF_ADD_TYPE_ID(swarm_cluster, (swarm::run_submission))
CAF_END_TYPE_ID_BLOCK(swarm_cluster)
