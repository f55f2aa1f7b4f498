// LLM settings resolution: flag > agent > spec defaults > environment > built-in.
#include <map>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/llm_resolution.hpp"

using namespace swarm;

namespace {

env_reader fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) {
    auto i = vars.find(name);
    return i == vars.end() ? std::string{} : i->second;
  };
}

swarm_spec two_level() {
  swarm_spec s;
  s.name = "team";
  s.llm.url = "http://spec:1/v1";
  s.llm.model = "spec-model";
  s.llm.temperature = 0.5;
  s.agents.push_back(agent_spec{});
  s.agents[0].name = "a";
  return s;
}

} // namespace

TEST_CASE("the spec's defaults apply when the agent sets nothing") {
  auto s = two_level();
  auto r = resolve_llm(s, s.agents[0], {}, fake_env({}));
  REQUIRE(r);
  CHECK(r->endpoint.url == "http://spec:1/v1");
  CHECK(r->model == "spec-model");
  CHECK(r->temperature == 0.5);
  CHECK(r->endpoint.api_key.empty());
}

TEST_CASE("an agent's own settings beat the spec's defaults") {
  auto s = two_level();
  s.agents[0].llm.url = "http://agent:2/v1/";
  s.agents[0].llm.model = "agent-model";
  auto r = resolve_llm(s, s.agents[0], {}, fake_env({}));
  REQUIRE(r);
  CHECK(r->endpoint.url == "http://agent:2/v1"); // trailing slash trimmed
  CHECK(r->model == "agent-model");
}

TEST_CASE("command-line overrides beat the spec") {
  auto s = two_level();
  s.agents[0].llm.model = "agent-model";
  auto r = resolve_llm(s, s.agents[0], {"http://flag:3/v1", "flag-model"}, fake_env({}));
  REQUIRE(r);
  CHECK(r->endpoint.url == "http://flag:3/v1");
  CHECK(r->model == "flag-model");
}

TEST_CASE("the environment fills what spec and flags leave unset") {
  swarm_spec s;
  s.name = "team";
  s.agents.push_back(agent_spec{});
  s.agents[0].name = "a";
  auto r = resolve_llm(s, s.agents[0], {},
                       fake_env({{"OPENAI_BASE_URL", "http://env:4/v1"},
                                 {"OPENAI_API_KEY", "sk-env"},
                                 {"OPENAI_MODEL", "env-model"}}));
  REQUIRE(r);
  CHECK(r->endpoint.url == "http://env:4/v1");
  CHECK(r->endpoint.api_key == "sk-env");
  CHECK(r->model == "env-model");
}

TEST_CASE("the key comes from the variable the spec names") {
  auto s = two_level();
  s.llm.api_key_env = "MY_KEY";
  auto r = resolve_llm(s, s.agents[0], {},
                       fake_env({{"MY_KEY", "sk-mine"}, {"OPENAI_API_KEY", "sk-other"}}));
  REQUIRE(r);
  CHECK(r->endpoint.api_key == "sk-mine");
}

TEST_CASE("the built-in model is used when nothing names one") {
  swarm_spec s;
  s.agents.push_back(agent_spec{});
  s.agents[0].name = "a";
  auto r = resolve_llm(s, s.agents[0], {"http://x:1/v1", ""}, fake_env({}));
  REQUIRE(r);
  CHECK(r->model == default_model);
}

TEST_CASE("no endpoint anywhere is a named error that says how to fix it") {
  swarm_spec s;
  s.agents.push_back(agent_spec{});
  s.agents[0].name = "lonely";
  auto r = resolve_llm(s, s.agents[0], {}, fake_env({}));
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::no_endpoint));
  CHECK(describe(r.error()).find("agent 'lonely' has no LLM endpoint") != std::string::npos);
  CHECK(describe(r.error()).find("--llm-url") != std::string::npos);
}
