// Which endpoint, model and key each agent uses: spec, flags and environment merged in one place.
#pragma once

#include <functional>
#include <string>

#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"
#include "runtime/core/spec.hpp"

namespace swarm {

/// Values from the command line (or an embedding program); empty fields are unset.
struct llm_overrides {
  std::string url;   ///< --llm-url: replaces every agent's endpoint
  std::string model; ///< --model: replaces every agent's model
};

/// An agent's LLM settings after resolution.
struct resolved_llm {
  llm_endpoint endpoint;
  std::string model;
  double temperature = -1;
  int32_t max_tokens = 0;
  bool stream = false;
  std::chrono::milliseconds timeout{60'000};
};

/// Reads an environment variable; empty when unset. Replaceable in tests.
using env_reader = std::function<std::string(const std::string&)>;

/// The default env_reader (std::getenv).
std::string read_env(const std::string& name);

/// Default model when neither flag, spec nor environment names one.
inline constexpr const char* default_model = "gpt-4o-mini";

/// Precedence, first set wins: the override (flag), the agent's own key, the spec's `llm:`
/// defaults, the environment (OPENAI_BASE_URL, OPENAI_MODEL, key from `api_key_env` else
/// OPENAI_API_KEY), built-in defaults. No URL anywhere is errc::no_endpoint naming the agent.
[[nodiscard]] caf::expected<resolved_llm> resolve_llm(const swarm_spec& spec,
                                                      const agent_spec& agent,
                                                      const llm_overrides& overrides,
                                                      const env_reader& env = read_env);

} // namespace swarm
