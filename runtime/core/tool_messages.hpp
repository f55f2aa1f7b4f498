// The tool protocol: an agent asks the tool runner to carry out one tool call the model asked
// for; tools that need a human decision wait in the runner's list of pending approvals.
// Own type-ID block (`swarm_tools`), registered by register_types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/core/ids.hpp"
#include "runtime/core/messages.hpp"

namespace swarm {

/// Carry out `call` for `agent`. The runner checks `call.name` against the tools `agent` may
/// use (a refusal is a tool_reply with `error` set, which the agent reports to the model).
struct tool_request {
  std::string run_id;
  agent_id agent;
  std::string task_id;
  tool_call call;
  uint32_t step = 0; ///< the agent's LLM step that asked for the call (0, 1, ...)
};

template <class F>
typename F::result_type inspect(F& f, tool_request& x) {
  return f(caf::meta::type_name("tool_request"), x.run_id, x.agent, x.task_id, x.call, x.step);
}

/// The outcome of one tool call: `content` goes back to the model as the "tool" message; with
/// `error` set the model is told the call failed and why (refused, rejected, timed out...).
struct tool_reply {
  std::string call_id; ///< tool_call::id of the call answered
  std::string content;
  caf::error error;
};

template <class F>
typename F::result_type inspect(F& f, tool_reply& x) {
  return f(caf::meta::type_name("tool_reply"), x.call_id, x.content, x.error);
}

/// A tool call waiting for a human: approve or reject it by `id`.
struct pending_approval {
  uint64_t id = 0;
  std::string run_id;
  agent_id agent;
  tool_call call;
};

template <class F>
typename F::result_type inspect(F& f, pending_approval& x) {
  return f(caf::meta::type_name("pending_approval"), x.id, x.run_id, x.agent, x.call);
}

/// Asks the runner for every call waiting for approval, oldest first.
struct list_approvals {};

template <class F>
typename F::result_type inspect(F& f, list_approvals&) {
  return f(caf::meta::type_name("list_approvals"));
}

/// A human's decision on pending approval `id`. Answered with an error if `id` is not pending.
struct approval_decision {
  uint64_t id = 0;
  bool approve = false;
  std::string reason; ///< told to the model on rejection
};

template <class F>
typename F::result_type inspect(F& f, approval_decision& x) {
  return f(caf::meta::type_name("approval_decision"), x.id, x.approve, x.reason);
}

/// Runs tool calls (sandboxed where they run programs) and keeps the pending approvals.
using tool_runner_actor =
    caf::typed_actor<caf::replies_to<tool_request>::with<tool_reply>,
                     caf::replies_to<list_approvals>::with<std::vector<pending_approval>>,
                     caf::replies_to<approval_decision>::with<bool>>;

} // namespace swarm

// After the `swarm` block (messages.hpp), which holds fewer than 100 types.
CAF_BEGIN_TYPE_ID_BLOCK(swarm_tools, caf::first_custom_type_id + 100)
CAF_ADD_TYPE_ID(swarm_tools, (swarm::tool_request))
CAF_ADD_TYPE_ID(swarm_tools, (swarm::tool_reply))
CAF_ADD_TYPE_ID(swarm_tools, (swarm::pending_approval))
CAF_ADD_TYPE_ID(swarm_tools, (swarm::list_approvals))
CAF_ADD_TYPE_ID(swarm_tools, (swarm::approval_decision))
CAF_ADD_TYPE_ID(swarm_tools, (std::vector<swarm::pending_approval>))
CAF_END_TYPE_ID_BLOCK(swarm_tools)
