// Typed actor interfaces: the only way one part of the runtime knows another (handle types only).
#pragma once

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/core/messages.hpp"

namespace swarm {

/// Every swarm participant, agent or coordinator. A `task` is always answered
/// with a `result`; failures are results with `error` set.
using agent_actor = caf::typed_actor<caf::replies_to<task>::with<result>, //
                                     caf::reacts_to<task_cancel>,         //
                                     caf::reacts_to<dm>,                  //
                                     caf::reacts_to<broadcast>,           //
                                     caf::replies_to<health_probe>::with<health_report>>;

/// The LLM client as an actor: one chat completion or embedding per request.
using llm_actor = caf::typed_actor<caf::replies_to<chat_request>::with<chat_result>,
                                   caf::replies_to<embedding_request>::with<embedding_result>,
                                   caf::reacts_to<chat_cancel>>;

/// Collects events and forwards them to subscribers.
using monitor_actor =
    caf::typed_actor<caf::reacts_to<event>, caf::reacts_to<subscribe_events>,
                     caf::reacts_to<follow_events>, caf::replies_to<flush_events>::with<bool>>;

} // namespace swarm
