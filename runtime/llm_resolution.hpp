// Which endpoint, model and key each agent uses: spec, flags and environment merged in one place.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"
#include "runtime/core/spec.hpp"

namespace swarm {

/// Values from the command line (or an embedding program); empty fields are unset.
struct llm_overrides {
  std::string url;   ///< --llm-url: replaces every agent's endpoint
  std::string model; ///< --model: replaces every agent's model
  /// The runtime answers every LLM call from a recording (runtime_options::replay_file, swarm run
  /// --replay): no call reaches an endpoint, so an agent needs none (its URL may stay empty).
  /// URLs that are given are still checked. The runtime sets it itself when it replays.
  bool offline = false;
};

/// An agent's LLM settings after resolution.
struct resolved_llm {
  llm_endpoint endpoint;
  std::string model;
  double temperature = -1;
  int32_t max_tokens = 0;
  bool stream = false;
  std::chrono::milliseconds timeout{60'000};
  /// The agent's `fallbacks` (else the spec's `llm.fallbacks`), in order; each one's model
  /// defaults to `model`, its key comes from its `api_key_env`, else OPENAI_API_KEY. Flags do
  /// not change them.
  std::vector<llm_fallback_target> fallbacks;
};

/// Reads an environment variable; empty when unset. Replaceable in tests.
using env_reader = std::function<std::string(const std::string&)>;

/// The default env_reader (std::getenv).
std::string read_env(const std::string& name);

/// Default model when neither flag, spec nor environment names one.
inline constexpr const char* default_model = "gpt-4o-mini";

/// Checks an endpoint base URL as the client will use it: scheme http or https, a host, a valid
/// port, no query or fragment, and a path (an OpenAI-compatible base URL ends in its API version,
/// e.g. `/v1`). Errors: errc::invalid_argument "`what` 'URL' ...: <defect>", with "did you mean
/// URL/v1?" when the path is missing.
[[nodiscard]] caf::error check_endpoint_url(std::string_view url, const std::string& what);

/// Precedence, first set wins: the override (flag), the agent's own key, the spec's `llm:`
/// defaults, the environment (OPENAI_BASE_URL, OPENAI_MODEL, key from `api_key_env` else
/// OPENAI_API_KEY), built-in defaults. No URL anywhere is errc::no_endpoint naming the agent
/// (unless `overrides.offline`: the URL stays empty); a malformed URL is errc::invalid_argument
/// naming the agent and where the URL came from (check_endpoint_url); a malformed fallback URL
/// names the agent, the fallback's path and its line in the spec.
[[nodiscard]] caf::expected<resolved_llm> resolve_llm(const swarm_spec& spec,
                                                      const agent_spec& agent,
                                                      const llm_overrides& overrides,
                                                      const env_reader& env = read_env);

/// The endpoint of the long-term memory's embeddings (`memory.embeddings_model`): URL from
/// `memory.embeddings_url`, else the same chain as the agents' (override, spec `llm.url`,
/// OPENAI_BASE_URL); key from the spec's `llm.api_key_env`, else OPENAI_API_KEY. Errors:
/// errc::no_endpoint naming the swarm when there is no URL (not when `overrides.offline`),
/// errc::invalid_argument for a malformed one.
[[nodiscard]] caf::expected<llm_endpoint> resolve_embeddings(const swarm_spec& spec,
                                                             const llm_overrides& overrides,
                                                             const env_reader& env = read_env);

/// Checks what `spec`'s LLM settings need before anything is spawned: every agent resolves
/// (errors as resolve_llm, the first agent that fails), and so does the embeddings endpoint if
/// the spec has one. Returns the warnings: each `api_key_env` (a fallback's too) that names an
/// unset (or empty) variable, once per variable, naming it and the agents that use it.
[[nodiscard]] caf::expected<std::vector<std::string>>
check_llm_settings(const swarm_spec& spec, const llm_overrides& overrides,
                   const env_reader& env = read_env);

} // namespace swarm
