// The runtime's shared state (runtime::impl) and a swarm handle's (swarm_handle::state), for the
// runtime's own files only: runtime.cpp builds them, swarm_handle.cpp runs swarms on them.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "memory/database.hpp"
#include "memory/event_log.hpp"
#include "memory/journal.hpp"
#include "memory/long_term_actor.hpp"
#include "memory/working.hpp"
#include "net/cassette.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "net/llm_tape.hpp"
#include "runtime/cluster_node.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/events.hpp"
#include "runtime/core/run_id.hpp"
#include "runtime/core/step_log.hpp"
#include "runtime/core/types.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/monitor.hpp"
#include "runtime/pool_options.hpp"
#include "runtime/resource_pool.hpp"
#include "runtime/run_records.hpp"
#include "runtime/swarm_factory.hpp"
#include "runtime/swarm_tools.hpp"
#include "runtime/workspaces.hpp"

namespace swarm {

// What the runtime keeps on disk and on tape, opened before the actor system starts.
struct persistence {
  std::shared_ptr<memory::database> db;      // null without a data directory
  std::shared_ptr<memory::journal> journal;  // null unless journaling
  std::shared_ptr<memory::event_log> events; // null unless runtime_options::event_log
  std::shared_ptr<net::cassette> recording;  // record_file or replay_file
  bool replay = false;                       // replay_file: no call reaches an endpoint
};

struct runtime::impl {
  impl(const runtime_options& opts, llm_overrides ov, persistence p);

  // The runtime's LLM actor: the client, behind the recording or replay tape. Swarms call the
  // client through their own broker (spawn_swarm), which sends to this actor only when a
  // cassette records or replays; the long-term memory's embeddings use it (docs/decisions.md).
  llm_actor make_llm_chain(const runtime_options& opts) {
    llm_actor out;
    if (opts.replay_file.empty())
      out = net::spawn_llm_actor(sys, client, monitor);
    if (store.recording)
      out = net::spawn_llm_tape(sys, out, store.recording,
                                opts.replay_file.empty() ? net::tape_mode::record
                                                         : net::tape_mode::replay);
    return out;
  }

  swarm_config cfg;
  caf::actor_system sys;
  llm_overrides overrides;
  persistence store;
  std::shared_ptr<net::llm_client> client;
  monitor_actor monitor; // before llm: the client's actor tells it streamed tokens
  llm_actor llm;
  swarm_factory factory;
  bool stream_tokens;     // agents ask for llm_token events (runtime_options::stream_tokens)
  size_t max_connections; // the client's limit per endpoint: the pool's default slots
  std::string data_dir;
  std::shared_ptr<run_workspaces> workspaces; // the runs' tool workspaces, under data_dir
  std::atomic<bool> stopped{false};
  working_memory_actor working;     // spawned at the first swarm that needs it (guarded by mtx)
  long_term_memory_actor long_term; // idem

  /// The runtime's memory tiers that `spec` needs, spawned on first use. The long-term memory
  /// takes its embedding settings from the first spec that needs it.
  caf::error memory_for(const swarm_spec& spec, const llm_overrides& ov, const env_reader& env) {
    bool need_working = spec.memory.working;
    bool need_long = spec.memory.long_term || uses_memory_tools(spec);
    if (!need_working && !need_long)
      return {};
    if (!store.db)
      return make_error(
          errc::invalid_argument,
          "swarm '" + spec.name +
              "' uses memory (memory: or memory tools), which "
              "needs a data directory (runtime_options::data_dir, swarm run --data-dir)");
    std::lock_guard<std::mutex> guard{mtx};
    if (need_working && !working)
      working = memory::spawn_working_memory(sys, store.db, monitor);
    if (need_long && !long_term) {
      memory::long_term_memory_options lopts;
      if (spec.memory.embeddings_model) {
        memory::embedding_options e;
        e.llm = llm;
        e.model = *spec.memory.embeddings_model;
        auto endpoint = resolve_embeddings(spec, ov, env); // the agents' chain
        if (!endpoint)
          return std::move(endpoint.error());
        e.endpoint = std::move(*endpoint);
        lopts.embeddings = std::move(e);
      }
      long_term = memory::spawn_long_term_memory(sys, store.db, std::move(lopts), monitor);
    }
    return {};
  }
  std::atomic<uint64_t> next_task{1};
  std::mutex mtx;
  std::set<std::string> active_runs; // journaled runs being run now (guarded by mtx)
  /// What runtime::cancel_run needs of a run running now: its swarm's root and task id.
  struct running_task {
    agent_actor root;
    std::string task_id;
  };
  std::map<std::string, running_task> cancellable; // by run id (guarded by mtx)

  /// Forgets run `run_id` (run_mode::fresh): its journal entries and working-memory notes.
  caf::error forget_run(const std::string& run_id) {
    if (auto gone = store.journal->forget_run(run_id); !gone)
      return std::move(gone.error());
    std::unique_lock<std::mutex> guard{mtx};
    if (!working) {
      // No actor owns the notes yet; it is spawned under mtx, so nobody else touches them.
      memory::working_store notes{store.db};
      if (auto gone = notes.forget_run(run_id); !gone)
        return std::move(gone.error());
      return {};
    }
    auto actor = working;
    guard.unlock();
    caf::error err;
    caf::scoped_actor self{sys};
    self->request(actor, std::chrono::seconds(60), wm_forget_run{run_id})
        .receive([](uint64_t) {}, [&](caf::error& e) { err = std::move(e); });
    return err;
  }
  // on_event forwarders (guarded by mtx); swarms live in the factory's registry
  std::vector<caf::actor_addr> subscribers;

  /// Removes swarm `name` from the registry and stops its actors; false if it is not running.
  bool stop_swarm(const std::string& name) {
    auto sw = factory.remove(name);
    if (!sw)
      return false;
    // Closed first: a member that dies from here on is not spawned again, so the replacements
    // stopped below are all there are. Coordinators root first, so no parent restarts a child.
    sw->live->close();
    sw->channel->clear();
    for (auto m = sw->swarms.rbegin(); m != sw->swarms.rend(); ++m)
      caf::anon_send_exit(m->handle, caf::exit_reason::user_shutdown);
    for (const auto& m : sw->agents)
      caf::anon_send_exit(m.handle, caf::exit_reason::user_shutdown);
    for (const auto& a : sw->live->replacements())
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (const auto& a : sw->services)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    return true;
  }

  caf::actor node; // this runtime's cluster node (runtime_options::cluster), else null

  /// Run workers (runtime::spawn_run_worker) that may still hold this state: stop() waits for
  /// them, so that none destroys it on its own thread.
  std::shared_ptr<std::atomic<int>> serving = std::make_shared<std::atomic<int>>(0);

  /// Drains the node (members stop placing work here), waits for the runs running here to end
  /// or `timeout`, then leaves the cluster. Idempotent; no-op without a node.
  void leave_cluster(std::chrono::milliseconds timeout) {
    caf::actor n;
    {
      std::lock_guard<std::mutex> guard{mtx};
      n = std::exchange(node, caf::actor{});
    }
    if (!n)
      return;
    swarm::leave_cluster(
        sys, n,
        [this] {
          // A run worker answers its caller after its run ended: it is waited for too.
          std::lock_guard<std::mutex> guard{mtx};
          return active_runs.empty() && serving->load() == 0;
        },
        timeout);
  }

  void stop() {
    leave_cluster(std::chrono::milliseconds(0));
    if (stopped.exchange(true))
      return;
    client->stop();
    workspaces->close(); // a temporary root goes; later tool calls are refused
    for (const auto& name : factory.running())
      stop_swarm(name);
    // The runs submitted to the node end with the swarms just stopped (bounded: a worker that
    // was still spawning its swarm stops it when its run ends).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (serving->load() > 0 && std::chrono::steady_clock::now() < deadline) {
      for (const auto& name : factory.running())
        stop_swarm(name);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::vector<caf::actor_addr> subs;
    {
      std::lock_guard<std::mutex> guard{mtx};
      subs.swap(subscribers);
    }
    for (auto& a : subs)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
    std::lock_guard<std::mutex> guard{mtx};
    if (working)
      caf::anon_send_exit(working, caf::exit_reason::user_shutdown);
    if (long_term)
      caf::anon_send_exit(long_term, caf::exit_reason::user_shutdown);
  }
};

struct swarm_handle::state {
  std::shared_ptr<runtime::impl> rt;
  built_swarm swarm;
  resource_pool_actor pool;      // the swarm's budgets and accounting
  tool_runner_actor tool_runner; // null: the swarm has no tools
  bool consolidate = false;      // long-term memory gets the run's salient notes at its end
  std::string spec_name;         // agents' ids name it (the registry name may be "name#2")
  std::string spec_source;       // kept in the run journal so the run can resume
  std::string spec_text;
  std::string spec_digest;     // of spec_text: a resumption must run the same spec
  uint32_t spec_repaired = 0;  // invalid UTF-8 the spec loader replaced: told at each run start
  llm_overrides overrides;     // the swarm was resolved with these (kept in the journal)
  llm_environment environment; // and these OPENAI_BASE_URL / OPENAI_MODEL (idem)
};

} // namespace swarm
