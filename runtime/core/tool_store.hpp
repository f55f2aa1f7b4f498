// Where finished tool calls are kept, so that a resumed run does not carry them out again (a
// shell command, a memory_write) and so that a run's journal shows what its tools did: the run
// journal (memory/). The tool runner reads and writes one.
#pragma once

#include <optional>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/tool_messages.hpp"

namespace swarm {

/// A durable map from a tool call's key (tool_key) to its reply. Thread-safe.
class tool_store {
public:
  virtual ~tool_store() = default;

  /// The reply kept under `key`, or none. An error only if the store cannot be read.
  [[nodiscard]] virtual caf::expected<std::optional<tool_reply>>
  find_tool(const std::string& key) = 0;

  /// Keeps `reply`, the answer to `req`, under `key`; `decision` is "approved" or "rejected"
  /// for a call that waited for a human, else empty. When it returns without error the entry
  /// survives a crash of the process.
  [[nodiscard]] virtual caf::error put_tool(const std::string& key, const tool_request& req,
                                            const tool_reply& reply,
                                            const std::string& decision) = 0;
};

/// The key of `req`: "<run>\n<agent>\n<task>\n<step>\n<call id>". Stable across a resume: the
/// LLM call that asked for the tool is answered from the journal with the same call id.
inline std::string tool_key(const tool_request& req) {
  return req.run_id + '\n' + req.agent.str() + '\n' + req.task_id + '\n' +
         std::to_string(req.step) + '\n' + req.call.id;
}

} // namespace swarm
