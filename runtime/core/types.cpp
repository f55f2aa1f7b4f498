// Type and error-category registration for CAF.
#include "runtime/core/types.hpp"

#include <caf/actor_system_config.hpp>

#include "runtime/core/cluster_messages.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/memory_messages.hpp"
#include "runtime/core/messages.hpp"
#include "runtime/core/tool_messages.hpp"

namespace swarm {

std::string to_string(event_kind x) {
  switch (x) {
  case event_kind::run_started:
    return "run_started";
  case event_kind::run_finished:
    return "run_finished";
  case event_kind::member_started:
    return "member_started";
  case event_kind::member_finished:
    return "member_finished";
  case event_kind::member_failed:
    return "member_failed";
  case event_kind::member_skipped:
    return "member_skipped";
  case event_kind::member_cancelled:
    return "member_cancelled";
  case event_kind::llm_call_started:
    return "llm_call_started";
  case event_kind::llm_call_finished:
    return "llm_call_finished";
  case event_kind::llm_fallback:
    return "llm_fallback";
  case event_kind::llm_token:
    return "llm_token";
  case event_kind::tool_call_requested:
    return "tool_call_requested";
  case event_kind::approval_waiting:
    return "approval_waiting";
  case event_kind::tool_call_approved:
    return "tool_call_approved";
  case event_kind::tool_call_rejected:
    return "tool_call_rejected";
  case event_kind::tool_call_finished:
    return "tool_call_finished";
  case event_kind::decision_made:
    return "decision_made";
  case event_kind::budget_warning:
    return "budget_warning";
  case event_kind::budget_exhausted:
    return "budget_exhausted";
  case event_kind::memory_written:
    return "memory_written";
  case event_kind::health_checked:
    return "health_checked";
  case event_kind::member_restarted:
    return "member_restarted";
  case event_kind::input_repaired:
    return "input_repaired";
  }
  return "event_kind(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(node_state x) {
  switch (x) {
  case node_state::up:
    return "up";
  case node_state::unreachable:
    return "unreachable";
  case node_state::down:
    return "down";
  case node_state::draining:
    return "draining";
  case node_state::left:
    return "left";
  }
  return "node_state(" + std::to_string(static_cast<int>(x)) + ")";
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::swarm>();
  cfg.add_message_types<caf::id_block::swarm_tools>();
  cfg.add_message_types<caf::id_block::swarm_memory>();
  cfg.add_message_types<caf::id_block::swarm_cluster>();
  cfg.add_error_category(errc_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
                           return describe(caf::error{code, errc_category, ctx});
                         });
}

} // namespace swarm
