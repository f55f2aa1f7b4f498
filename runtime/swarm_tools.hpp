// A swarm's tool runner, wired to the rest of the runtime: the spec's declared tools and each
// agent's permission list, one workspace per run, and the tools that need other actors
// (memory_search and memory_write on long-term memory, delegate to another agent by name).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/tool_runner.hpp"
#include "runtime/core/handles.hpp"
#include "runtime/core/memory_messages.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/tool_messages.hpp"
#include "runtime/core/tool_store.hpp"

namespace swarm {

/// The agents a `delegate` call may reach, by name; filled once the swarm's agents exist.
class agent_directory {
public:
  void add(const std::string& name, agent_actor handle);
  agent_actor find(const std::string& name) const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, agent_actor> agents_;
};

/// A swarm's tool runner and the tool specs each agent offers its model.
struct swarm_tools {
  tool_runner_actor runner;
  std::function<std::vector<tool_spec>(const agent_id&)> specs;
};

/// True if some agent of `spec` may call memory_search or memory_write.
bool uses_memory_tools(const swarm_spec& spec);

/// Spawns the tool runner of the swarm of `spec` (call only if `spec.tools` is not empty); its
/// calls get their run's workspace from `workspaces`.
/// memory_search / memory_write work on `long_term` (namespace "agent:<swarm>/<name>"; a null
/// handle makes them unavailable); delegate asks an agent of `directory`. Finished calls go to
/// `journal` (null: none), which answers them again when a run resumes.
swarm_tools spawn_swarm_tools(caf::actor_system& sys, const swarm_spec& spec,
                              actors::workspace_provider workspaces, monitor_actor monitor,
                              long_term_memory_actor long_term,
                              std::shared_ptr<agent_directory> directory,
                              std::shared_ptr<tool_store> journal);

} // namespace swarm
