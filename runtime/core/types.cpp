// Type and error-category registration for CAF.
#include "runtime/core/types.hpp"

#include <caf/actor_system_config.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/memory_messages.hpp"
#include "runtime/core/messages.hpp"
#include "runtime/core/tool_messages.hpp"

namespace swarm {

std::string to_string(event_kind x) {
  switch (x) {
  case event_kind::task_started:
    return "task_started";
  case event_kind::task_completed:
    return "task_completed";
  case event_kind::llm_call_completed:
    return "llm_call_completed";
  case event_kind::tool_call_completed:
    return "tool_call_completed";
  case event_kind::memory_written:
    return "memory_written";
  case event_kind::budget_exhausted:
    return "budget_exhausted";
  }
  return "event_kind(" + std::to_string(static_cast<int>(x)) + ")";
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::swarm>();
  cfg.add_message_types<caf::id_block::swarm_tools>();
  cfg.add_message_types<caf::id_block::swarm_memory>();
  cfg.add_error_category(errc_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
                           return describe(caf::error{code, errc_category, ctx});
                         });
}

} // namespace swarm
