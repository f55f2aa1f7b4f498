// The agent actor: answers each task with one LLM conversation turn over its short-term memory.
#pragma once

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "runtime/core/handles.hpp"

namespace swarm::actors {

/// Everything an agent needs to know about itself; resolved from the spec by the factory.
struct agent_config {
  agent_id id;
  std::string system_prompt;
  std::string model;
  llm_endpoint endpoint;
  double temperature = -1; ///< < 0: server default
  int32_t max_tokens = 0;  ///< 0: server default
  bool stream = false;     ///< ask the endpoint for SSE streaming
  bool logprobs = false;   ///< ask for token logprobs (result::confidence comes from them)
  caf::timespan llm_timeout = std::chrono::seconds(60); ///< one LLM call, retries included
  uint32_t short_term_tokens = 8000;                    ///< conversation window budget
};

/// Process-wide unique id for an LLM call (the LLM client cancels by it).
uint64_t next_call_id();

/// Confidence in [0, 1] from token logprobs: exp(mean logprob); -1 when there are none.
double confidence_from_logprobs(const std::vector<token_logprob>& xs);

/// Spawns an agent. `monitor` may be a null handle (no events).
agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg, llm_actor llm,
                        monitor_actor monitor);

} // namespace swarm::actors
