// LLM settings resolution: flag > agent > spec defaults > environment > built-in; the checks a
// run makes on them before anything is spawned (URLs, keys).
#include "runtime/llm_resolution.hpp"

#include <cstdlib>
#include <map>

#include "net/llm_json.hpp"
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

/// The context of `err` without its code.
std::string context_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

std::string trimmed(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

/// A URL and where it came from ("--llm-url", "spec llm.url", ...); empty when none is set.
struct sourced_url {
  std::string url;
  std::string source;
};

/// The endpoint URL of `agent` by precedence: override, agent, spec, environment.
sourced_url agent_url(const swarm_spec& spec, const agent_spec& agent,
                      const llm_overrides& overrides, const env_reader& env) {
  if (!overrides.url.empty())
    return {overrides.url, "--llm-url"};
  if (agent.llm.url)
    return {*agent.llm.url, "the agent's url"};
  if (spec.llm.url)
    return {*spec.llm.url, "spec llm.url"};
  return {env("OPENAI_BASE_URL"), "OPENAI_BASE_URL"};
}

/// The fallbacks `agent` uses: its own list, else the spec's; with the path they stand at.
std::pair<const std::vector<llm_fallback_spec>*, std::string>
fallbacks_of(const swarm_spec& spec, const agent_spec& agent) {
  static const std::vector<llm_fallback_spec> none;
  if (agent.llm.fallbacks)
    return {&*agent.llm.fallbacks, "the agent's fallbacks"};
  if (spec.llm.fallbacks)
    return {&*spec.llm.fallbacks, "spec llm.fallbacks"};
  return {&none, ""};
}

} // namespace

caf::error check_endpoint_url(std::string_view url, const std::string& what) {
  auto parsed = net::parse_url(url);
  if (!parsed)
    return make_error(errc::invalid_argument, what + ": " + context_of(parsed.error()));
  if (parsed->base_path.empty()) {
    auto base = trimmed(std::string{url});
    return make_error(errc::invalid_argument,
                      what + ": bad endpoint URL '" + std::string{url} +
                          "': no API path (OpenAI-compatible servers serve under one, usually "
                          "/v1); did you mean " +
                          base + "/v1?");
  }
  return {};
}

caf::expected<resolved_llm> resolve_llm(const swarm_spec& spec, const agent_spec& agent,
                                        const llm_overrides& overrides, const env_reader& env) {
  resolved_llm out;
  auto url = agent_url(spec, agent, overrides, env);
  if (url.url.empty() && !overrides.offline)
    return make_error(errc::no_endpoint,
                      "agent '" + agent.name +
                          "' has no LLM endpoint: set llm.url in the spec, pass --llm-url, "
                          "or set OPENAI_BASE_URL");
  if (!url.url.empty())
    if (auto err = check_endpoint_url(url.url, "agent '" + agent.name + "', " + url.source))
      return err;
  out.endpoint.url = trimmed(std::move(url.url));

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

  auto [fallbacks, where] = fallbacks_of(spec, agent);
  for (size_t i = 0; i < fallbacks->size(); ++i) {
    const auto& f = (*fallbacks)[i];
    auto path = where + "[" + std::to_string(i) + "].url";
    if (f.line > 0)
      path += " (line " + std::to_string(f.line) + ")";
    if (auto err = check_endpoint_url(f.url, "agent '" + agent.name + "', " + path))
      return err;
    llm_fallback_target t;
    t.endpoint.url = trimmed(f.url);
    t.endpoint.api_key = env(f.api_key_env.value_or("OPENAI_API_KEY"));
    t.model = f.model.value_or(out.model);
    out.fallbacks.push_back(std::move(t));
  }
  return out;
}

caf::expected<llm_endpoint>
resolve_embeddings(const swarm_spec& spec, const llm_overrides& overrides, const env_reader& env) {
  sourced_url url;
  if (spec.memory.embeddings_url)
    url = {*spec.memory.embeddings_url, "memory.embeddings_url"};
  else if (!overrides.url.empty())
    url = {overrides.url, "--llm-url"};
  else if (spec.llm.url)
    url = {*spec.llm.url, "spec llm.url"};
  else
    url = {env("OPENAI_BASE_URL"), "OPENAI_BASE_URL"};
  if (url.url.empty() && !overrides.offline)
    return make_error(errc::no_endpoint,
                      "swarm '" + spec.name +
                          "': memory.embeddings_model is set but no endpoint serves it: set "
                          "memory.embeddings_url or llm.url in the spec, pass --llm-url, or set "
                          "OPENAI_BASE_URL");
  if (!url.url.empty())
    if (auto err =
            check_endpoint_url(url.url, "swarm '" + spec.name + "' embeddings, " + url.source))
      return err;
  llm_endpoint out;
  out.url = trimmed(std::move(url.url));
  out.api_key = env(spec.llm.api_key_env.value_or("OPENAI_API_KEY"));
  return out;
}

caf::expected<std::vector<std::string>>
check_llm_settings(const swarm_spec& spec, const llm_overrides& overrides, const env_reader& env) {
  std::map<std::string, std::vector<std::string>> unset; // variable -> agents naming it
  for (const auto& a : spec.agents) {
    auto llm = resolve_llm(spec, a, overrides, env);
    if (!llm)
      return std::move(llm.error());
    auto key_env = first_of(a.llm.api_key_env, spec.llm.api_key_env);
    if (key_env && env(*key_env).empty())
      unset[*key_env].push_back(a.name);
    for (const auto& f : *fallbacks_of(spec, a).first)
      if (f.api_key_env && env(*f.api_key_env).empty()) {
        auto& who = unset[*f.api_key_env];
        if (who.empty() || who.back() != a.name)
          who.push_back(a.name);
      }
  }
  if (spec.memory.embeddings_model) {
    auto emb = resolve_embeddings(spec, overrides, env);
    if (!emb)
      return std::move(emb.error());
  }
  std::vector<std::string> warnings;
  for (const auto& [name, agents] : unset) {
    std::string who;
    for (const auto& a : agents)
      who += (who.empty() ? "'" : ", '") + a + "'";
    warnings.push_back("api_key_env names " + name + ", which is not set (or empty): agent" +
                       (agents.size() == 1 ? " " : "s ") + who +
                       " will call the endpoint without a key");
  }
  return warnings;
}

} // namespace swarm
