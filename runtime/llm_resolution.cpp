// LLM settings resolution: flag > agent > spec defaults > environment > built-in.
#include "runtime/llm_resolution.hpp"

#include <cstdlib>

#include "runtime/core/errc.hpp"

namespace swarm {

std::string read_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value ? std::string{value} : std::string{};
}

namespace {

template <class T>
std::optional<T> first_of(const std::optional<T>& a, const std::optional<T>& b) {
  return a ? a : b;
}

} // namespace

caf::expected<resolved_llm> resolve_llm(const swarm_spec& spec, const agent_spec& agent,
                                        const llm_overrides& overrides, const env_reader& env) {
  resolved_llm out;
  auto url = first_of(agent.llm.url, spec.llm.url);
  if (!overrides.url.empty())
    out.endpoint.url = overrides.url;
  else if (url)
    out.endpoint.url = *url;
  else
    out.endpoint.url = env("OPENAI_BASE_URL");
  if (out.endpoint.url.empty())
    return make_error(errc::no_endpoint,
                      "agent '" + agent.name +
                          "' has no LLM endpoint: set llm.url in the spec, pass --llm-url, "
                          "or set OPENAI_BASE_URL");
  while (!out.endpoint.url.empty() && out.endpoint.url.back() == '/')
    out.endpoint.url.pop_back();

  auto model = first_of(agent.llm.model, spec.llm.model);
  if (!overrides.model.empty())
    out.model = overrides.model;
  else if (model)
    out.model = *model;
  else if (auto m = env("OPENAI_MODEL"); !m.empty())
    out.model = m;
  else
    out.model = default_model;

  auto key_env = first_of(agent.llm.api_key_env, spec.llm.api_key_env);
  out.endpoint.api_key = env(key_env ? *key_env : std::string{"OPENAI_API_KEY"});

  out.temperature = first_of(agent.llm.temperature, spec.llm.temperature).value_or(-1.0);
  out.max_tokens = first_of(agent.llm.max_tokens, spec.llm.max_tokens).value_or(0);
  out.stream = first_of(agent.llm.stream, spec.llm.stream).value_or(false);
  out.timeout = first_of(agent.llm.timeout, spec.llm.timeout).value_or(out.timeout);
  return out;
}

} // namespace swarm
