// Tests of the swarm spec loader: required keys, names, key spellings and the checks of agents and
// their llm settings (fallbacks included).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "tests/runtime/core/spec_test_util.hpp"

using namespace spec_test;
using namespace std::chrono_literals;

TEST_CASE("missing required keys are reported") {
  CHECK(problems(R"(
agents:
  - name: a
)") == lines{"name: is required"});
  CHECK(problems("name: demo\n") == lines{"agents: is required"});
  CHECK(problems(R"(
name: demo
agents:
  - name: a
  - role: helper
)") == lines{"agents[1].name: is required (line 4)"});
}

TEST_CASE("an empty agent list is reported") {
  CHECK(problems("name: demo\nagents: []\n") == lines{"agents: must not be empty (line 2)"});
}

TEST_CASE("values of the wrong shape are reported") {
  CHECK(problems(R"(
name: demo
agents:
  a: {}
)") == lines{"agents: expected a sequence (line 2)"});
  CHECK(problems(R"(
name: demo
agents:
  - alice
)") == lines{"agents[0]: expected a mapping (line 3)"});
  CHECK(problems(R"(
name: demo
llm: fast
agents: [{name: a}]
)") == lines{"llm: expected a mapping (line 2)"});
  CHECK(problems(R"(
name: demo
swarm: []
agents: [{name: a}]
)") == lines{"swarm: expected a mapping (line 2)"});
}

TEST_CASE("string keys refuse mappings and sequences and null") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
    model: {id: x}
    role: [a, b]
    system_prompt:
)") == lines{"agents[0].model: expected a string (line 4)",
             "agents[0].role: expected a string (line 5)",
             "agents[0].system_prompt: expected a string (line 6)"});
  CHECK(problems("name: [demo]\nagents: [{name: a}]\n") ==
        lines{"name: expected a string (line 1)"});
}

TEST_CASE("names must be non-empty and made of letters digits underscores and dashes") {
  CHECK(problems("name: my demo\nagents: [{name: a}]\n") ==
        lines{"name: must match [A-Za-z0-9_-]+ (line 1)"});
  CHECK(problems("name: \"\"\nagents: [{name: a}]\n") == lines{"name: must not be empty (line 1)"});
  CHECK(problems("name: demo\nagents: [{name: a.b}]\n") ==
        lines{"agents[0].name: must match [A-Za-z0-9_-]+ (line 2)"});
}

TEST_CASE("a misspelled key is reported with a suggestion") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
    modle: llama3
)") == lines{"agents[0].modle: unknown key (did you mean 'model'?) (line 4)"});
  CHECK(problems(R"(
name: demo
swarm:
  architecure: concurrent
agents: [{name: a}]
)") == lines{"swarm.architecure: unknown key (did you mean 'architecture'?) (line 3)"});
  CHECK(problems("nme: demo\nagents: [{name: a}]\n") ==
        lines{"name: is required", "nme: unknown key (did you mean 'name'?) (line 1)"});
}

TEST_CASE("an unknown key far from every known one is reported without a suggestion") {
  CHECK(problems(R"(
name: demo
colour: blue
agents: [{name: a}]
)") == lines{"colour: unknown key (line 2)"});
  CHECK(problems(R"(
name: demo
llm:
  system_prompt: hi
agents: [{name: a}]
)") == lines{"llm.system_prompt: unknown key (line 3)"});
}

TEST_CASE("a key given twice is reported") {
  CHECK(problems(R"(
name: demo
name: other
agents: [{name: a}]
)") == lines{"name: duplicate key (first at line 1) (line 2)"});
}

TEST_CASE("a duplicate agent name names both lines") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
  - name: b
  - name: a
)") == lines{"agents[2].name: duplicate agent name 'a' (first at line 3) (line 5)"});
}

TEST_CASE("members must name agents or sub-swarms and each only once") {
  CHECK(problems(R"(
name: demo
swarm:
  members: [a, ghost]
agents:
  - name: a
)") == lines{"swarm.members[1]: names no agent or swarm: 'ghost' (line 3)"});
  CHECK(problems(R"(
name: demo
swarm:
  members:
    - a
    - a
agents:
  - name: a
)") == lines{"swarm.members[1]: duplicate member 'a' (first at line 4) (line 5)"});
  CHECK(problems(R"(
name: demo
swarm:
  members: []
agents: [{name: a}]
)") == lines{"swarm.members: must not be empty (line 3)"});
  CHECK(problems(R"(
name: demo
swarm:
  members: [[a]]
agents: [{name: a}]
)") == lines{"swarm.members[0]: expected a string (line 3)"});
}

TEST_CASE("an unknown architecture lists the supported ones") {
  CHECK(swarm::supported_architectures() ==
        std::vector<std::string>{"concurrent", "sequential", "hierarchical", "collaborative",
                                 "competitive", "group_chat", "graph", "router"});
  CHECK(problems(R"(
name: demo
swarm:
  architecture: pyramid
agents: [{name: a}]
)") == lines{"swarm.architecture: unknown architecture 'pyramid' (supported: concurrent, "
             "sequential, hierarchical, collaborative, competitive, group_chat, graph, router) "
             "(line 3)"});
}

TEST_CASE("temperature must be a number between 0 and 2") {
  CHECK(problems(R"(
name: demo
llm:
  temperature: 2.5
agents: [{name: a}]
)") == lines{"llm.temperature: must be between 0 and 2 (line 3)"});
  CHECK(problems(R"(
name: demo
agents:
  - name: a
    temperature: hot
  - name: b
    temperature: -0.1
  - name: c
    temperature: "1"
  - name: d
    temperature: 1e999
)") == lines{"agents[0].temperature: expected a number (line 4)",
             "agents[1].temperature: must be between 0 and 2 (line 6)",
             "agents[2].temperature: expected a number (line 8)",
             "agents[3].temperature: must be between 0 and 2 (line 10)"});
}

TEST_CASE("integer keys refuse floats and strings and quoted numbers and values out of range") {
  CHECK(problems(R"(
name: demo
llm:
  max_tokens: 1.5
  timeout_ms: 0
agents:
  - name: a
    max_tokens: -5
  - name: b
    max_tokens: "5"
  - name: c
    max_tokens: 99999999999999999999999
  - name: d
    timeout_ms: 2147483648
)") == lines{"llm.max_tokens: expected an integer (line 3)", "llm.timeout_ms: must be > 0 (line 4)",
             "agents[0].max_tokens: must be > 0 (line 7)",
             "agents[1].max_tokens: expected an integer (line 9)",
             "agents[2].max_tokens: must be at most 2147483647 (line 11)",
             "agents[3].timeout_ms: must be at most 2147483647 (line 13)"});
}

TEST_CASE("short-term memory needs at least 256 tokens") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
    short_term_tokens: 100
  - name: b
    short_term_tokens: many
)") == lines{"agents[0].short_term_tokens: must be at least 256 (line 4)",
             "agents[1].short_term_tokens: expected an integer (line 6)"});
}

TEST_CASE("member timeout must be a positive integer") {
  CHECK(problems(R"(
name: demo
swarm:
  member_timeout_ms: soon
agents: [{name: a}]
)") == lines{"swarm.member_timeout_ms: expected an integer (line 3)"});
  CHECK(problems(R"(
name: demo
swarm:
  member_timeout_ms: -1
agents: [{name: a}]
)") == lines{"swarm.member_timeout_ms: must be > 0 (line 3)"});
}

TEST_CASE("stream accepts only true or false") {
  CHECK(problems(R"(
name: demo
llm:
  stream: yes
agents:
  - name: a
    stream: "true"
)") == lines{"llm.stream: expected true or false (line 3)",
             "agents[0].stream: expected true or false (line 6)"});
}

TEST_CASE("an url must be http or https") {
  CHECK(problems(R"(
name: demo
llm:
  url: ftp://example.com
agents:
  - name: a
    url: localhost:8089
)") == lines{"llm.url: must start with http:// or https:// (line 3)",
             "agents[0].url: must start with http:// or https:// (line 6)"});
}

TEST_CASE("api_key_env must be an environment variable name") {
  CHECK(problems(R"(
name: demo
llm:
  api_key_env: my-key
agents:
  - name: a
    api_key_env: ""
  - name: b
    api_key_env: 1KEY
)") == lines{"llm.api_key_env: must match [A-Za-z_][A-Za-z0-9_]* (line 3)",
             "agents[0].api_key_env: must not be empty (line 6)",
             "agents[1].api_key_env: must match [A-Za-z_][A-Za-z0-9_]* (line 8)"});
}

TEST_CASE("skills must be a sequence of non-empty strings") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
    skills: search
  - name: b
    skills: [search, {web: true}, ""]
)") == lines{"agents[0].skills: expected a sequence (line 4)",
             "agents[1].skills[1]: expected a string (line 6)",
             "agents[1].skills[2]: must not be empty (line 6)"});
}

TEST_CASE("a model must not be empty") {
  CHECK(problems("name: demo\nllm: {model: ''}\nagents: [{name: a}]\n") ==
        lines{"llm.model: must not be empty (line 2)"});
}

TEST_CASE("llm fallbacks are read in order, with their lines; an agent's own list replaces the "
          "swarm's") {
  auto result = swarm::parse_spec(text(R"(
name: demo
llm:
  url: http://primary:1/v1
  model: main
  fallbacks:
    - {url: http://second:2/v1, model: backup}
    - url: http://third:3/v1
      api_key_env: THIRD_KEY
agents:
  - name: a
  - name: b
    fallbacks: []
)"));
  REQUIRE(result.spec);
  const auto& llm = result.spec->llm;
  REQUIRE(llm.fallbacks);
  REQUIRE(llm.fallbacks->size() == 2);
  CHECK((*llm.fallbacks)[0].url == "http://second:2/v1");
  CHECK((*llm.fallbacks)[0].model == "backup");
  CHECK((*llm.fallbacks)[0].line == 6);
  CHECK((*llm.fallbacks)[1].url == "http://third:3/v1");
  CHECK_FALSE((*llm.fallbacks)[1].model);
  CHECK((*llm.fallbacks)[1].api_key_env == "THIRD_KEY");
  CHECK((*llm.fallbacks)[1].line == 7);
  CHECK_FALSE(result.spec->agents[0].llm.fallbacks);
  REQUIRE(result.spec->agents[1].llm.fallbacks);
  CHECK(result.spec->agents[1].llm.fallbacks->empty());
}

TEST_CASE("a bad fallback is reported with its path and line") {
  CHECK(problems(R"(
name: demo
llm:
  fallbacks:
    - {url: http://second:2/v1}
    - {url: ftp://third/v1, model: backup}
agents:
  - name: a
    fallbacks:
      - {model: backup}
      - {url: http://x:1/v1, modle: backup}
)") == lines{"llm.fallbacks[1].url: must start with http:// or https:// (line 5)",
             "agents[0].fallbacks[0].url: is required (line 9)",
             "agents[0].fallbacks[1].modle: unknown key (did you mean 'model'?) (line 10)"});
}
