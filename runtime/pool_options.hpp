// From a swarm spec's `resources:` and budgets to the options of the resource pool and LLM broker.
#pragma once

#include "runtime/core/spec.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/resource_pool.hpp"

namespace swarm {

/// The pool's limits, budgets and prices of `spec`. Endpoint `default` becomes the default limits.
/// Agent budgets are keyed "spec/agent" (agent_id{spec.name, agent}.str(), as swarm_factory
/// names agents); the root swarm's by the spec's name (the swarm every agent's id names) and a
/// sub-swarm's by "spec/sub" (its coordinator's agent_id string). Each budget field left 0 on an
/// agent or swarm takes `resources.per_agent` / `resources.per_swarm`. A call counts against its
/// agent, every sub-swarm that contains the agent (through `members`, transitively:
/// `budget_limits::agent_swarms`), the root swarm and the runtime.
resource_pool_options pool_options_from(const swarm_spec& spec);

/// The LLM broker's options of `spec`: `resources.grant_timeout_ms`.
llm_broker_options broker_options_from(const swarm_spec& spec);

} // namespace swarm
