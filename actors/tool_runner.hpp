// The tool runner actor: checks each tool call against the calling agent's permission list,
// parks calls that need a human decision, and runs the rest off the actor's thread (a detached
// worker per call, at most max_parallel at once, the rest queued).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "runtime/core/handles.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/tool_messages.hpp"
#include "runtime/core/tool_store.hpp"

namespace swarm::actors {

/// Carries out a tool the runner delegates (memory_search, memory_write, delegate). Called on
/// a worker thread with the whole request; may block (e.g. ask an actor through a
/// scoped_actor). Returns the content for the model, or an error it is told.
using tool_hook = std::function<caf::expected<std::string>(const tool_request&)>;

/// A run's workspace, lent to one tool call: `hold` keeps the directory from being removed
/// until the call is done with it (null: nothing to hold).
struct workspace_lease {
  std::filesystem::path dir;
  std::shared_ptr<const void> hold;
};

/// Lends a call the workspace of run `run_id` (creating it), or says why it may not have one.
/// Called on a worker thread.
using workspace_provider = std::function<caf::expected<workspace_lease>(const std::string& run_id)>;

/// Everything a tool runner needs. Per runtime (or per swarm).
struct tool_runner_config {
  /// The declared tools (the spec's `tools:`): limits, custom commands, allow_hosts.
  std::vector<tool_decl> tools;
  /// Agent ("swarm/name", agent_id::str) -> names of the tools it may call. Default: none, so
  /// every call is refused.
  std::map<std::string, std::vector<std::string>> permissions;
  /// Workspaces live here, one directory per run (`<root>/<run_id>`, created on demand, never
  /// removed). Required for the program and file tools unless `workspaces` is set.
  std::filesystem::path workspace_root;
  /// Lends each call its run's workspace instead (the runtime's: removed when the run ends).
  /// Default: none (`workspace_root` is used).
  workspace_provider workspaces;
  /// Hears tool_call_requested for every call, then approval_waiting / tool_call_approved /
  /// tool_call_rejected as they happen, and tool_call_finished once for every call, refused ones
  /// included (name: the tool). Default: none.
  monitor_actor monitor;
  /// Where finished calls are journaled (before the agent hears the reply) and found again: a
  /// call of a resumed run that the journal has is answered from it, not carried out again.
  /// Default: none (calls of runs are neither journaled nor looked up).
  std::shared_ptr<tool_store> journal;
  /// Code for memory_search, memory_write and delegate, by tool name. Default: none (those
  /// tools answer tool_unavailable).
  std::map<std::string, tool_hook> hooks;
  /// Tool calls running at once; more wait, first come first served. 0 is read as 1.
  /// Default: 4.
  size_t max_parallel = 4;
  /// Calls waiting for a slot; a call beyond is answered tool_unavailable. Default: 256.
  size_t max_queued = 256;
  /// Total size a run's programs may grow its workspace to, in MiB; 0: no cap. Default: 256.
  uint64_t workspace_mb = 256;
  /// The bubblewrap binary. Default: /usr/bin/bwrap.
  std::string bwrap = "/usr/bin/bwrap";
};

/// Spawns a tool runner. Calls are answered with a tool_reply (failures in its `error`);
/// list_approvals and approval_decision manage calls of tools marked needs_approval.
tool_runner_actor spawn_tool_runner(caf::actor_system& sys, tool_runner_config cfg);

/// The tool specs to offer `agent`'s model: its permitted, declared tools, in its list's order.
std::vector<tool_spec> tool_specs_for(const tool_runner_config& cfg, const agent_id& agent);

/// No error if `agent` may call `tool`; else tool_refused naming both (and what it may call),
/// or tool_unavailable when the tool is permitted but not declared.
caf::error check_permission(const tool_runner_config& cfg, const agent_id& agent,
                            const std::string& tool);

/// The workspace of run `run_id` under `root`, created if missing (and handed to the sandbox
/// user). invalid_argument for an id that is not a plain name ([A-Za-z0-9._-], not . or ..).
caf::expected<std::filesystem::path> run_workspace(const std::filesystem::path& root,
                                                   const std::string& run_id);

} // namespace swarm::actors
