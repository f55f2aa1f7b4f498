// The agent actor: answers each task with an LLM conversation over its short-term memory, the
// run's working memory and its long-term recollections, calling tools in a bounded loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include "runtime/core/handles.hpp"
#include "runtime/core/memory_messages.hpp"
#include "runtime/core/tool_messages.hpp"

namespace swarm::actors {

/// Everything an agent needs to know about itself; resolved from the spec by the factory.
/// Where an agent's calls go. Endpoint and model are the same for most agents of a swarm: the
/// factory makes one per distinct pair and shares it (immutable), so a million agents do not
/// hold a million copies of the URL and key.
struct llm_target {
  llm_endpoint endpoint;
  std::string model;
  /// Where a call goes when this endpoint still fails after its retries, in order (the swarm's
  /// LLM broker switches; chat_request::fallbacks). Default: none.
  std::vector<llm_fallback_target> fallbacks;
};

/// A model's price in dollars per million prompt / completion tokens (`resources.prices`).
struct model_price {
  std::string model;
  double prompt = 0;
  double completion = 0;
};

template <class F>
typename F::result_type inspect(F& f, model_price& x) {
  return f(caf::meta::type_name("model_price"), x.model, x.prompt, x.completion);
}

struct agent_config {
  agent_id id;
  std::string system_prompt;
  std::string model;
  llm_endpoint endpoint;
  /// Shared `endpoint`, `model` and fallbacks; null: the agent makes its own from `endpoint`,
  /// `model` and `fallbacks`.
  std::shared_ptr<const llm_target> target;
  std::vector<llm_fallback_target> fallbacks; ///< used when `target` is null
  double temperature = -1;                    ///< < 0: server default
  int32_t max_tokens = 0;                     ///< 0: server default
  bool stream = false;                        ///< ask the endpoint for SSE streaming
  bool stream_tokens = false; ///< calls tell their tokens to the monitor (chat_request)
  bool logprobs = false;      ///< ask for token logprobs (result::confidence comes from them)
  caf::timespan llm_timeout = std::chrono::seconds(60); ///< one LLM call, retries included
  uint32_t short_term_tokens = 8000;                    ///< conversation window budget
  /// Short-term window full: summarise the turns that leave it with one LLM call (kept as a
  /// summary after the system prompt) instead of dropping them. Default: drop.
  bool summarize_overflow = false;

  // -- tools: offered to the model; each call goes to `tool_runner` (which checks permissions)
  std::vector<tool_spec> tools;
  tool_runner_actor tool_runner;
  uint32_t max_tool_steps = 8; ///< LLM calls per task while the model keeps calling tools

  // -- memory tiers (null handles: off)
  working_memory_actor working;         ///< queried before a task; the answer is written to it
  long_term_memory_actor long_term;     ///< recalled into each task
  std::vector<std::string> recall_from; ///< long-term namespaces to recall from
  uint32_t recall_k = 5;                ///< notes and memories recalled per task, each

  /// Dollars per million prompt / completion tokens: the cost in llm_call_finished events.
  double prompt_price = 0;
  double completion_price = 0;
  /// The spec lists a price for the agent's model (both prices may be 0: a free model); without
  /// one, llm_call_finished reports the cost as unknown (cost_usd < 0). Default: false.
  bool priced = false;
  /// Prices of the fallback models (llm_target::fallbacks) the spec lists: a call a fallback
  /// answered costs its model's price, unknown (cost_usd < 0) when that has none.
  std::vector<model_price> fallback_prices;
};

/// Every field of an agent_config but `target`, which is process-local: a config crosses to
/// another node with its target written into `endpoint`, `model` and `fallbacks`
/// (portable_config), and the agent spawned there makes its own.
template <class F>
typename F::result_type inspect(F& f, agent_config& x) {
  return f(caf::meta::type_name("agent_config"), x.id, x.system_prompt, x.model, x.endpoint,
           x.fallbacks, x.temperature, x.max_tokens, x.stream, x.stream_tokens, x.logprobs,
           x.llm_timeout, x.short_term_tokens, x.summarize_overflow, x.tools, x.tool_runner,
           x.max_tool_steps, x.working, x.long_term, x.recall_from, x.recall_k, x.prompt_price,
           x.completion_price, x.priced, x.fallback_prices);
}

/// `cfg` with its shared target's endpoint, model and fallbacks in its own fields and no
/// target: what a remote spawn sends.
agent_config portable_config(const agent_config& cfg);

/// The name the agent actor type is registered under for remote spawns (register_agent_type).
inline constexpr const char* agent_type_name = "swarm_agent";

/// Adds the `swarm_actors` type-ID block and the agent actor type (agent_type_name: spawned from
/// an agent_config, its LLM path and its monitor) to a config, so that other nodes can spawn
/// agents in this process. Every process of a cluster calls it.
void register_agent_type(caf::actor_system_config& cfg);

/// Confidence in [0, 1] from token logprobs: exp(mean logprob); -1 when there are none.
double confidence_from_logprobs(const std::vector<token_logprob>& xs);

/// Spawns an agent. `monitor` may be a null handle (no events).
agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg, llm_actor llm,
                        monitor_actor monitor);

/// Spawns an agent that keeps `cfg` itself (shared, never copied): a caller that keeps the
/// config too, such as the factory's respawn, holds the same one. `cfg` must not be null.
agent_actor spawn_agent(caf::actor_system& sys, std::shared_ptr<const agent_config> cfg,
                        llm_actor llm, monitor_actor monitor);

} // namespace swarm::actors

// After the `swarm_cluster` block (cluster_messages.hpp), which starts at +200.
CAF_BEGIN_TYPE_ID_BLOCK(swarm_actors, caf::first_custom_type_id + 250)
CAF_ADD_TYPE_ID(swarm_actors, (swarm::actors::agent_config))
CAF_ADD_TYPE_ID(swarm_actors, (swarm::llm_actor))
CAF_ADD_TYPE_ID(swarm_actors, (swarm::monitor_actor))
CAF_END_TYPE_ID_BLOCK(swarm_actors)
