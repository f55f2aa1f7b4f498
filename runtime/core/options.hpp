// Options structs of the runtime's components. Each field states its default.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace swarm {

/// How the LLM client talks HTTP. Per client (the per-call knobs live in chat_request).
struct llm_client_options {
  /// Threads running the HTTP I/O. Default: 1.
  size_t io_threads = 1;
  /// Most open connections to one endpoint (scheme, host, port) for calls whose
  /// llm_endpoint::max_connections is 0; further calls queue. Only a default: a call that
  /// carries its endpoint's bound uses that one (in a run, the broker sets it to the spec's
  /// `resources.endpoints[].max_concurrent`; an endpoint the spec does not list, with no
  /// `default` entry, gets this value as its max_concurrent). Default: 256.
  size_t max_connections_per_endpoint = 256;
  /// Idle keep-alive connections kept per endpoint. Default: 64.
  size_t max_idle_per_endpoint = 64;
  /// Retries after the first attempt, for 429, 5xx, connect errors and timeouts of an attempt.
  /// Default: 3.
  uint32_t max_retries = 3;
  /// First backoff; doubles each retry, full jitter. Default: 200 ms.
  std::chrono::milliseconds backoff_base{200};
  /// Cap on one backoff (and on an honoured Retry-After). Default: 10 s.
  std::chrono::milliseconds backoff_max{10'000};
  /// Longest line of a streamed (SSE) answer; a longer one fails the attempt with
  /// errc::llm_invalid_response naming this limit. Default: 8 MiB.
  size_t max_sse_line_bytes = size_t{8} << 20;
  /// Deadline of one attempt's connect (resolve + TCP + TLS). Default: 10 s.
  std::chrono::milliseconds connect_timeout{10'000};
  /// PEM file of extra CA certificates for https endpoints; empty: the system's. Default: empty.
  std::string ca_file;
  /// Verify the server certificate and host name of https endpoints. Default: true.
  bool verify_tls = true;
};

/// How a cluster link is secured (docs/cluster.md, "Certificates"): mutual TLS with a cluster CA,
/// or plain TCP on loopback only.
struct cluster_link_options {
  std::string tls_cert; ///< PEM certificate of this process, signed by `tls_ca`
  std::string tls_key;  ///< its private key, unencrypted PEM
  std::string tls_ca;   ///< PEM certificate of the cluster CA: peers must be signed by it
  /// Plain TCP instead of TLS: allowed only on loopback addresses (127.0.0.0/8, ::1, localhost).
  bool insecure = false;
};

/// A cluster node's settings (swarm node, docs/cluster.md). Empty `listen`: no node.
struct cluster_options {
  /// "HOST:PORT" the node listens on ("[::1]:PORT" for IPv6; port 0: any free port).
  std::string listen;
  /// Seeds to join, "HOST:PORT" each: any one that answers brings in the whole membership.
  std::vector<std::string> join;
  /// The node's name, unique in the cluster: [A-Za-z0-9._:-]{1,64}. Default: the listen
  /// address as "host:port".
  std::string name;
  /// How often the node tells each member it is alive (and its load). Default: 250 ms.
  std::chrono::milliseconds heartbeat_interval{250};
  /// A member silent this long is `unreachable`; after twice this long its link is dropped and
  /// it is `down`. A killed member's process is `down` at once. Default: 2 s.
  std::chrono::milliseconds failure_timeout{2000};
  /// How often links to down members and to unanswered seeds are tried again. Default: 1 s.
  std::chrono::milliseconds reconnect_interval{1000};
  cluster_link_options link;
};

/// The embedding runtime. Default-constructed options run a local, in-memory runtime.
struct runtime_options {
  /// Directory for persistent state: one RocksDB database in `<data_dir>/memory` holding the
  /// run journal and the memory tiers. Empty: nothing persists (no journal, no resume, no
  /// memory tiers). Default: empty. (`swarm run` uses "state".)
  std::string data_dir;
  /// Journal every finished LLM call of every run in the data directory before acting on it,
  /// so that runtime::resume can continue a killed run. Needs `data_dir`. Default: true.
  bool journal = true;
  /// Record every LLM request and reply to this JSON-lines file. Default: empty (off).
  std::string record_file;
  /// Answer every LLM request from this recording, never calling an endpoint; a request it
  /// lacks fails with errc::replay_missing. Default: empty (off).
  std::string replay_file;
  /// CAF scheduler threads; 0 = one per core. Default: 0.
  size_t scheduler_threads = 0;
  /// CAF scheduler policy: "sharing" (one queue for all threads, which sleep as soon as it is
  /// empty: no CPU while agents wait on LLM calls, and fast to reach a million agents at once)
  /// or "stealing" (a queue per thread, idle threads steal from busy ones; polls briefly before
  /// sleeping; a thread's queue of many thousand jobs makes each steal walk it, so probing
  /// 100,000 agents at once takes seconds and a million, minutes; faster for a few agents
  /// exchanging many messages). Measurements: docs/decisions.md. Default: "sharing".
  std::string scheduler_policy = "sharing";
  /// Stream every agent's LLM calls and tell each piece of an answer as an llm_token event
  /// (docs/events.md), for watchers that show answers as they are written. Calls answered from
  /// the journal or a replay have no tokens. Default: false.
  bool stream_tokens = false;
  /// Keep each run's tool workspace (`<data_dir>/workspaces/<run_id>`) when the run ends, for
  /// debugging. Else it is removed when the run is done; a run that stopped short (interrupted,
  /// failed, cancelled, out of budget) keeps it while the journal can resume it, until a
  /// resumption finishes it or run_mode::fresh starts it over. Without a data directory
  /// workspaces live in a temporary directory that stop() removes either way. Default: false.
  bool keep_workspaces = false;
  /// Keep every event of every run in the data directory's event log (memory/event_log.hpp),
  /// numbered per run (event::run_seq), so that runtime::run_events and runtime::follow_run can
  /// read a run's events again and a watcher can resume where it broke off. Needs `data_dir`.
  /// Each event is then also written to disk and listened to, which a run nobody watches
  /// otherwise skips. Default: false (`swarm serve` turns it on).
  bool event_log = false;
  /// How long the event log keeps a run's events after its last one. Default: 7 days.
  std::chrono::hours event_log_retention{24 * 7};
  /// At most this many runs keep their events in the log (the oldest go first). Default: 10,000.
  size_t event_log_max_runs = 10000;
  /// The LLM client's options.
  llm_client_options llm;
  /// Makes this runtime a node of a cluster (cluster_options::listen); default: none.
  cluster_options cluster;
};

} // namespace swarm
