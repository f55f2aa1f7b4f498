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

TEST_CASE("a replaying runtime needs no endpoint: the URL stays empty") {
  swarm_spec s;
  s.agents.push_back(agent_spec{});
  s.agents[0].name = "offline";
  llm_overrides replay;
  replay.offline = true;
  auto r = resolve_llm(s, s.agents[0], replay, fake_env({}));
  REQUIRE(r);
  CHECK(r->endpoint.url.empty());
  CHECK(r->model == default_model);
  // A URL that is given is still checked.
  s.llm.url = "ftp://h/v1";
  auto bad = resolve_llm(s, s.agents[0], replay, fake_env({}));
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_argument));
}

TEST_CASE("endpoint URLs are checked: scheme, host, and a path with a hint when /v1 is missing") {
  auto s = two_level();
  SECTION("no path") {
    auto r = resolve_llm(s, s.agents[0], {"http://127.0.0.1:8089", ""}, fake_env({}));
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_argument));
    auto text = describe(r.error());
    CHECK_THAT(text, Catch::Contains("agent 'a', --llm-url"));
    CHECK_THAT(text, Catch::Contains("did you mean http://127.0.0.1:8089/v1?"));
  }
  SECTION("a trailing slash is no path either") {
    s.agents[0].llm.url = "https://api.example.com/";
    auto r = resolve_llm(s, s.agents[0], {}, fake_env({}));
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()), Catch::Contains("the agent's url"));
    CHECK_THAT(describe(r.error()), Catch::Contains("did you mean https://api.example.com/v1?"));
  }
  SECTION("a scheme other than http or https") {
    s.llm.url = "localhost:8089/v1";
    auto r = resolve_llm(s, s.agents[0], {}, fake_env({}));
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()), Catch::Contains("spec llm.url"));
    CHECK_THAT(describe(r.error()), Catch::Contains("scheme must be http or https"));
  }
  SECTION("no host, from the environment") {
    swarm_spec e;
    e.agents.push_back(agent_spec{});
    e.agents[0].name = "a";
    auto r = resolve_llm(e, e.agents[0], {}, fake_env({{"OPENAI_BASE_URL", "http:///v1"}}));
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()), Catch::Contains("OPENAI_BASE_URL"));
    CHECK_THAT(describe(r.error()), Catch::Contains("no host"));
  }
  SECTION("any API path is accepted") {
    s.llm.url = "https://generativelanguage.googleapis.com/v1beta/openai";
    CHECK(resolve_llm(s, s.agents[0], {}, fake_env({})));
  }
}

TEST_CASE("an api_key_env naming an unset variable is one warning per variable") {
  auto s = two_level();
  s.llm.api_key_env = "TEAM_KEY";
  for (auto name : {"b", "c"}) {
    s.agents.push_back(agent_spec{});
    s.agents.back().name = name;
  }
  s.agents[2].llm.api_key_env = "OWN_KEY";
  auto warnings = check_llm_settings(s, {}, fake_env({{"OWN_KEY", ""}}));
  REQUIRE(warnings);
  REQUIRE(warnings->size() == 2);
  CHECK_THAT((*warnings)[0], Catch::Contains("OWN_KEY") && Catch::Contains("agent 'c'"));
  CHECK_THAT((*warnings)[1], Catch::Contains("TEAM_KEY") && Catch::Contains("agents 'a', 'b'"));
  auto set = check_llm_settings(s, {}, fake_env({{"TEAM_KEY", "k1"}, {"OWN_KEY", "k2"}}));
  REQUIRE(set);
  CHECK(set->empty());
}

TEST_CASE("the settings check fails as resolution does, naming the agent") {
  auto s = two_level();
  s.agents.push_back(agent_spec{});
  s.agents.back().name = "b";
  s.agents.back().llm.url = "http://b:1";
  auto r = check_llm_settings(s, {}, fake_env({}));
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_argument));
  CHECK_THAT(describe(r.error()), Catch::Contains("agent 'b'"));
}

TEST_CASE("the embeddings endpoint falls back along the agents' chain, to OPENAI_BASE_URL") {
  swarm_spec s;
  s.name = "mem";
  s.memory.embeddings_model = "embed";
  auto env = fake_env({{"OPENAI_BASE_URL", "http://env:4/v1"}, {"OPENAI_API_KEY", "sk-env"}});
  auto r = resolve_embeddings(s, {}, env);
  REQUIRE(r);
  CHECK(r->url == "http://env:4/v1");
  CHECK(r->api_key == "sk-env");
  s.llm.url = "http://spec:1/v1";
  CHECK(resolve_embeddings(s, {}, env)->url == "http://spec:1/v1");
  CHECK(resolve_embeddings(s, {"http://flag:3/v1", ""}, env)->url == "http://flag:3/v1");
  s.memory.embeddings_url = "http://emb:5/v1/";
  CHECK(resolve_embeddings(s, {"http://flag:3/v1", ""}, env)->url == "http://emb:5/v1");
  swarm_spec none;
  none.name = "mem";
  none.memory.embeddings_model = "embed";
  auto missing = resolve_embeddings(none, {}, fake_env({}));
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), errc::no_endpoint));
  CHECK_THAT(describe(missing.error()), Catch::Contains("swarm 'mem'"));
}
