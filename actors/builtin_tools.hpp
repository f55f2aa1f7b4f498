// The built-in tools (shell, python, file tools confined to the run's workspace, http_get) and
// custom tools from the spec: their OpenAI tool specs and their implementations, which take the
// model's arguments (JSON text) and return the text the model sees. Blocking: run them on a
// worker thread (the tool runner does).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

/// Where and how one tool call runs.
struct tool_context {
  /// The tool's declaration: name, limits (`sandbox`), custom `command`, `allow_hosts`.
  tool_decl decl;
  /// The run's workspace (must exist): file tools stay inside it, programs see it at /workspace.
  std::filesystem::path workspace;
  /// Total size programs may grow the workspace to, in MiB; 0: no cap. Default: 256.
  uint64_t workspace_mb = 256;
  /// The bubblewrap binary. Default: /usr/bin/bwrap.
  std::string bwrap = "/usr/bin/bwrap";
};

/// Names of every built-in tool, including those the runner delegates (memory_search,
/// memory_write, delegate).
const std::vector<std::string>& builtin_tool_names();

/// True for a built-in tool's name.
bool is_builtin_tool(std::string_view name);

/// The OpenAI tool spec of built-in tool `name`; nullopt for other names.
std::optional<tool_spec> builtin_tool_spec(std::string_view name);

/// The spec offered to the model for a declared tool: the built-in spec (a non-empty
/// `description` in the declaration replaces the built-in one), or the custom tool's
/// description and parameters.
tool_spec spec_of(const tool_decl& decl);

/// Runs the tool `ctx.decl.name` with the model's `arguments`. Returns the content for the
/// model. Errors (their text is written for the model to act on): tool_failed for bad JSON, a
/// missing or mistyped argument, a path that leaves the workspace or goes through a symbolic
/// link, a program's non-zero exit (context: its output), an HTTP status >= 400; tool_refused
/// for an http_get host outside allow_hosts; tool_timeout; tool_unavailable when no sandbox
/// works here, and for memory_search, memory_write and delegate (the runner handles those).
[[nodiscard]] caf::expected<std::string> run_tool(const tool_context& ctx,
                                                  const std::string& arguments);

} // namespace swarm::actors
