// Tests of the swarm spec loader: schema, defaults, and how every kind of problem is reported.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"

namespace {

const std::string specs_dir = SWARM_SOURCE_DIR "/tests/runtime/core/specs/";

/// The raw string without its first newline, so `R"(` can sit on its own line and the
/// spec's first line is line 1.
std::string text(std::string_view raw) {
  if (!raw.empty() && raw.front() == '\n')
    raw.remove_prefix(1);
  return std::string{raw};
}

/// Every problem of a spec, as rendered for users; checks that no spec came with them.
std::vector<std::string> problems(std::string_view raw) {
  auto result = swarm::parse_spec(text(raw));
  std::vector<std::string> out;
  for (const auto& problem : result.problems)
    out.push_back(swarm::to_string(problem));
  CHECK(result.spec.has_value() == out.empty());
  return out;
}

using lines = std::vector<std::string>;

void check_same_llm(const swarm::llm_settings& a, const swarm::llm_settings& b) {
  CHECK(a.url == b.url);
  CHECK(a.model == b.model);
  CHECK(a.api_key_env == b.api_key_env);
  CHECK(a.temperature == b.temperature);
  CHECK(a.max_tokens == b.max_tokens);
  CHECK(a.stream == b.stream);
  CHECK(a.timeout == b.timeout);
}

/// Compares every option of two swarms but where they were written (`line`).
void check_same_swarm(const swarm::swarm_node_spec& a, const swarm::swarm_node_spec& b) {
  CHECK(a.name == b.name);
  CHECK(a.architecture == b.architecture);
  CHECK(a.members == b.members);
  CHECK(a.guards.member_timeout == b.guards.member_timeout);
  CHECK(a.guards.max_rounds == b.guards.max_rounds);
  CHECK(a.guards.max_messages == b.guards.max_messages);
  CHECK(a.guards.deadline == b.guards.deadline);
  CHECK(a.hierarchical.lead == b.hierarchical.lead);
  CHECK(a.hierarchical.max_subtasks == b.hierarchical.max_subtasks);
  CHECK(a.hierarchical.max_attempts == b.hierarchical.max_attempts);
  CHECK(a.hierarchical.review == b.hierarchical.review);
  CHECK(a.collaborative.decision == b.collaborative.decision);
  CHECK(a.collaborative.normalize == b.collaborative.normalize);
  CHECK(a.collaborative.pattern == b.collaborative.pattern);
  CHECK(a.collaborative.field == b.collaborative.field);
  CHECK(a.collaborative.quorum == b.collaborative.quorum);
  CHECK(a.collaborative.tie == b.collaborative.tie);
  CHECK(a.collaborative.weights == b.collaborative.weights);
  CHECK(a.collaborative.threshold == b.collaborative.threshold);
  CHECK(a.collaborative.aggregator == b.collaborative.aggregator);
  CHECK(a.collaborative.layers == b.collaborative.layers);
  CHECK(a.competitive.select == b.competitive.select);
  CHECK(a.competitive.judge == b.competitive.judge);
  CHECK(a.competitive.criteria == b.competitive.criteria);
  CHECK(a.competitive.k == b.competitive.k);
  CHECK(a.group_chat.speaker == b.group_chat.speaker);
  CHECK(a.group_chat.selector == b.group_chat.selector);
  CHECK(a.group_chat.max_turns == b.group_chat.max_turns);
  CHECK(a.group_chat.terminate_on == b.group_chat.terminate_on);
  CHECK(a.group_chat.judge == b.group_chat.judge);
  REQUIRE(a.graph.edges.size() == b.graph.edges.size());
  for (size_t i = 0; i < a.graph.edges.size(); ++i) {
    CHECK(a.graph.edges[i].from == b.graph.edges[i].from);
    CHECK(a.graph.edges[i].to == b.graph.edges[i].to);
    CHECK(a.graph.edges[i].when == b.graph.edges[i].when);
  }
  CHECK(a.router.router == b.router.router);
  REQUIRE(a.router.routes.size() == b.router.routes.size());
  for (size_t i = 0; i < a.router.routes.size(); ++i) {
    CHECK(a.router.routes[i].match == b.router.routes[i].match);
    CHECK(a.router.routes[i].to == b.router.routes[i].to);
  }
  CHECK(a.router.fallback == b.router.fallback);
}

/// Compares everything but where the text came from (`source`, lines).
void check_same_spec(const swarm::swarm_spec& a, const swarm::swarm_spec& b) {
  CHECK(a.name == b.name);
  CHECK(a.description == b.description);
  check_same_llm(a.llm, b.llm);
  check_same_swarm(a.root, b.root);
  REQUIRE(a.swarms.size() == b.swarms.size());
  for (size_t i = 0; i < a.swarms.size(); ++i)
    check_same_swarm(a.swarms[i], b.swarms[i]);
  REQUIRE(a.agents.size() == b.agents.size());
  for (size_t i = 0; i < a.agents.size(); ++i) {
    CHECK(a.agents[i].name == b.agents[i].name);
    CHECK(a.agents[i].role == b.agents[i].role);
    CHECK(a.agents[i].system_prompt == b.agents[i].system_prompt);
    CHECK(a.agents[i].skills == b.agents[i].skills);
    CHECK(a.agents[i].short_term_tokens == b.agents[i].short_term_tokens);
    CHECK(a.agents[i].logprobs == b.agents[i].logprobs);
    check_same_llm(a.agents[i].llm, b.agents[i].llm);
  }
}

/// A spec of agents a, b, c, j (and `more`) whose root swarm is `swarm`, for problems about one
/// swarm; its `swarm:` key is on line 2.
std::string with_swarm(std::string_view swarm, std::string_view more = "") {
  return "name: demo\nswarm:\n" + text(swarm) + "agents: [{name: a}, {name: b}, {name: c}, " +
         "{name: j}" + std::string{more} + "]\n";
}

/// Problems of a spec built by `with_swarm`.
std::vector<std::string> swarm_problems(std::string_view swarm, std::string_view more = "") {
  return problems(with_swarm(swarm, more));
}

} // namespace

using namespace std::chrono_literals;

TEST_CASE("a problem renders as path and message and line") {
  CHECK(swarm::to_string(swarm::spec_problem{"agents[2].model", "expected a string", 14}) ==
        "agents[2].model: expected a string (line 14)");
  CHECK(swarm::to_string(swarm::spec_problem{"name", "is required", 0}) == "name: is required");
  CHECK(swarm::to_string(swarm::spec_problem{"", "spec is empty", 0}) == "spec is empty");
  CHECK(swarm::to_string(swarm::spec_problem{"", "YAML syntax error: x", 3}) ==
        "YAML syntax error: x (line 3)");
}

TEST_CASE("a full YAML spec loads with every field") {
  auto spec = swarm::load_spec(specs_dir + "research.yaml");
  REQUIRE(spec);
  CHECK(spec->source == specs_dir + "research.yaml");
  CHECK(spec->name == "research-team");
  CHECK(spec->description == "Two researchers and a critic");
  CHECK(spec->llm.url == "http://127.0.0.1:8089/v1");
  CHECK(spec->llm.model == "qwen2.5-0.5b");
  CHECK(spec->llm.api_key_env == "OPENAI_API_KEY");
  CHECK(spec->llm.temperature == 0.7);
  CHECK(spec->llm.max_tokens == 512);
  CHECK(spec->llm.stream == true);
  CHECK(spec->llm.timeout == 30s);
  CHECK(spec->root.name == "research-team");
  CHECK(spec->root.architecture == "concurrent");
  CHECK(spec->root.members == std::vector<std::string>{"critic", "alice"});
  CHECK(spec->root.guards.member_timeout == 60s);
  CHECK(spec->swarms.empty());
  REQUIRE(spec->agents.size() == 3);
  const auto& alice = spec->agents[0];
  CHECK(alice.name == "alice");
  CHECK(alice.line == 17);
  CHECK(alice.system_prompt == "You are alice, a careful researcher.");
  CHECK(alice.skills == std::vector<std::string>{"search", "summarize"});
  CHECK(alice.llm.temperature == 0.2);
  CHECK_FALSE(alice.llm.model); // agents keep their own overrides only
  const auto& bob = spec->agents[1];
  CHECK(bob.line == 21);
  CHECK(bob.system_prompt == "Answer in one sentence.");
  CHECK(bob.short_term_tokens == 4096);
  CHECK(bob.llm.model == "llama3");
  CHECK(bob.llm.stream == false);
  const auto& critic = spec->agents[2];
  CHECK(critic.line == 26);
  CHECK(critic.llm.url == "https://api.example.com/v1");
  CHECK(critic.llm.max_tokens == 128);
  CHECK(critic.llm.timeout == 5s);
  CHECK(critic.llm.api_key_env == "CRITIC_KEY");
}

TEST_CASE("the same spec in JSON loads to the same swarm as in YAML") {
  auto yaml = swarm::load_spec(specs_dir + "research.yaml");
  auto json = swarm::load_spec(specs_dir + "research.json");
  REQUIRE(yaml);
  REQUIRE(json);
  check_same_spec(*yaml, *json);
  CHECK(json->agents[0].line == 19);
  CHECK(json->agents[1].line == 25);
}

TEST_CASE("absent settings take their defaults") {
  auto result = swarm::parse_spec(text(R"(
name: demo
agents:
  - name: a
  - name: b
    role: helper
  - name: c
    role: ignored
    system_prompt: ""
)"));
  REQUIRE(result.problems.empty());
  REQUIRE(result.spec);
  const auto& spec = *result.spec;
  CHECK(spec.source == "<spec>");
  CHECK(spec.description.empty());
  CHECK(spec.root.architecture == "concurrent");
  CHECK(spec.root.members == std::vector<std::string>{"a", "b", "c"});
  CHECK(spec.root.guards.member_timeout == 120s);
  CHECK_FALSE(spec.llm.url);
  CHECK_FALSE(spec.llm.model);
  CHECK_FALSE(spec.llm.api_key_env);
  CHECK_FALSE(spec.llm.temperature);
  CHECK_FALSE(spec.llm.max_tokens);
  CHECK_FALSE(spec.llm.stream);
  CHECK_FALSE(spec.llm.timeout);
  REQUIRE(spec.agents.size() == 3);
  CHECK(spec.agents[0].system_prompt == "You are a.");
  CHECK(spec.agents[1].system_prompt == "You are b, helper.");
  CHECK(spec.agents[2].system_prompt == "You are c, ignored.");
  CHECK(spec.agents[0].short_term_tokens == 8000);
  CHECK(spec.agents[0].skills.empty());
  CHECK_FALSE(spec.agents[0].llm.model);
  CHECK(spec.agents[0].line == 3);
  CHECK(spec.agents[2].line == 6);
}

TEST_CASE("scalars of other YAML types are accepted as strings") {
  auto result = swarm::parse_spec("name: 42\nagents: [{name: 7, model: 4, role: true}]\n");
  REQUIRE(result.spec);
  CHECK(result.spec->name == "42");
  CHECK(result.spec->agents[0].name == "7");
  CHECK(result.spec->agents[0].llm.model == "4");
  CHECK(result.spec->agents[0].role == "true");
}

TEST_CASE("numbers and booleans accept every YAML spelling of their type") {
  auto result = swarm::parse_spec(text(R"(
name: demo
llm: {temperature: 2, max_tokens: +7, stream: True}
agents:
  - {name: a, temperature: 0, stream: FALSE, short_term_tokens: 256}
  - {name: b, temperature: 1.5e0}
)"));
  REQUIRE(result.spec);
  CHECK(result.spec->llm.temperature == 2.0);
  CHECK(result.spec->llm.max_tokens == 7);
  CHECK(result.spec->llm.stream == true);
  CHECK(result.spec->agents[0].llm.temperature == 0.0);
  CHECK(result.spec->agents[0].llm.stream == false);
  CHECK(result.spec->agents[0].short_term_tokens == 256);
  CHECK(result.spec->agents[1].llm.temperature == 1.5);
}

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

TEST_CASE("every problem of a spec is reported in one pass ordered by line") {
  CHECK(problems(R"(
name: my demo
llm:
  temperature: 3
  stream: yes
swarm:
  architecture: pyramid
  members: [a, ghost]
agents:
  - name: a
    modle: x
  - name: a
    short_term_tokens: 10
)") == lines{"name: must match [A-Za-z0-9_-]+ (line 1)",
             "llm.temperature: must be between 0 and 2 (line 3)",
             "llm.stream: expected true or false (line 4)",
             "swarm.architecture: unknown architecture 'pyramid' (supported: concurrent, "
             "sequential, hierarchical, collaborative, competitive, group_chat, graph, router) "
             "(line 6)",
             "swarm.members[1]: names no agent or swarm: 'ghost' (line 7)",
             "agents[0].modle: unknown key (did you mean 'model'?) (line 10)",
             "agents[1].name: duplicate agent name 'a' (first at line 9) (line 11)",
             "agents[1].short_term_tokens: must be at least 256 (line 12)"});
}

TEST_CASE("problems in a JSON spec are reported with their lines") {
  CHECK(problems(R"(
{
  "name": "demo",
  "agents": [
    {"name": "a", "max_tokens": "many"},
    {"name": "b", "temprature": 1}
  ]
}
)") == lines{"agents[0].max_tokens: expected an integer (line 4)",
             "agents[1].temprature: unknown key (did you mean 'temperature'?) (line 5)"});
}

TEST_CASE("a YAML syntax error is one problem with its line") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
    role: [helper
)") == lines{"YAML syntax error: end of sequence flow not found (line 5)"});
}

TEST_CASE("an empty spec is reported as empty") {
  CHECK(problems("") == lines{"spec is empty"});
  CHECK(problems("# nothing here\n\n") == lines{"spec is empty"});
  CHECK(problems("~\n") == lines{"spec is empty"});
}

TEST_CASE("a top level that is not a mapping is reported") {
  CHECK(problems("- a\n- b\n") == lines{"expected a mapping at the top level (line 1)"});
  CHECK(problems("just text\n") == lines{"expected a mapping at the top level (line 1)"});
}

TEST_CASE("a spec of several YAML documents is refused") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
---
name: other
)") == lines{"expected one YAML document (line 3)"});
  CHECK(problems("name: demo\nagents: [{name: a}]\n---\n") ==
        lines{"expected one YAML document (line 3)"});
  auto leading_marker = swarm::parse_spec("---\nname: demo\nagents: [{name: a}]\n...\n");
  CHECK(leading_marker.spec);
}

TEST_CASE("a stray comma is a syntax error and not a hang") {
  // yaml-cpp 0.7 loops forever on these when asked for every document (jbeder/yaml-cpp#1040).
  CHECK(problems(",") == lines{"YAML syntax error: unexpected ',' (line 1)"});
  CHECK(problems("# comment\n ,,\n") == lines{"YAML syntax error: unexpected ',' (line 2)"});
  CHECK(problems("- a\n,\n") == lines{"YAML syntax error: unexpected ',' (line 2)"});
  CHECK(problems("name: demo\n---\nx\n---\n,\n") ==
        lines{"YAML syntax error: unexpected ',' (line 5)"});
}

TEST_CASE("load_spec_text lists every problem under the source name") {
  auto one = swarm::load_spec_text("name: demo\n", "inline");
  REQUIRE_FALSE(one);
  CHECK(swarm::is(one.error(), swarm::errc::invalid_spec));
  CHECK(swarm::describe(one.error()) == "invalid_spec: inline: 1 problem:\n  agents: is required");
  auto two = swarm::load_spec_text("agents: []\n");
  REQUIRE_FALSE(two);
  CHECK(swarm::describe(two.error()) == "invalid_spec: <spec>: 2 problems:\n  name: is required\n"
                                        "  agents: must not be empty (line 1)");
  auto good = swarm::load_spec_text("name: demo\nagents: [{name: a}]\n", "inline");
  REQUIRE(good);
  CHECK(good->source == "inline");
}

TEST_CASE("load_spec prefixes problems with the file name") {
  auto path = specs_dir + "bad.yaml";
  auto spec = swarm::load_spec(path);
  REQUIRE_FALSE(spec);
  CHECK(swarm::is(spec.error(), swarm::errc::invalid_spec));
  CHECK(swarm::describe(spec.error()) ==
        "invalid_spec: " + path +
            ": 2 problems:\n  name: must match [A-Za-z0-9_-]+ (line 2)\n"
            "  agents[0].temperature: must be between 0 and 2 (line 5)");
}

TEST_CASE("a file that cannot be read is an io_error") {
  auto missing = swarm::load_spec("/nonexistent/spec.yaml");
  REQUIRE_FALSE(missing);
  CHECK(swarm::is(missing.error(), swarm::errc::io_error));
  CHECK(swarm::describe(missing.error()) ==
        "io_error: cannot read spec '/nonexistent/spec.yaml': No such file or directory");
  auto directory = swarm::load_spec(specs_dir);
  REQUIRE_FALSE(directory);
  CHECK(swarm::is(directory.error(), swarm::errc::io_error));
  CHECK(swarm::describe(directory.error()) ==
        "io_error: cannot read spec '" + specs_dir + "': Is a directory");
}

TEST_CASE("nesting too deep is named with its limit and line, not as a syntax error") {
  CHECK(problems(std::string(100'000, '[')) ==
        lines{"YAML nesting deeper than 128 levels (sequences and mappings inside each other) "
              "(line 1)"});
  std::string maps = "name: demo\nagents:\n  - name: a\nllm:\n";
  for (int i = 0; i < 200; ++i)
    maps += "{a: ";
  CHECK(problems(maps) == lines{"YAML nesting deeper than 128 levels (sequences and mappings "
                                "inside each other) (line 5)"});
  std::string blocks = "name: demo\n";
  for (int i = 0; i < 300; ++i)
    blocks += std::string(static_cast<size_t>(2 * i), ' ') + "k" + std::to_string(i) + ":\n";
  auto deep = problems(blocks);
  REQUIRE(deep.size() == 1);
  CHECK(deep[0] == "YAML nesting deeper than 128 levels (sequences and mappings inside each "
                   "other) (line 130)");
  // Within the limit the document is read (and judged on its keys).
  CHECK(problems("name: demo\nagents: [{name: a}]\nx: " + std::string(100, '[') +
                 std::string(100, ']') + "\n") == lines{"x: unknown key (line 3)"});
}

TEST_CASE("hostile input yields problems and never a crash or a partial spec") {
  auto check_one_outcome = [](const std::string& input) {
    auto result = swarm::parse_spec(input);
    CHECK(result.spec.has_value() == result.problems.empty());
  };
  SECTION("deep nesting") {
    check_one_outcome(std::string(100'000, '['));
    check_one_outcome(std::string(100'000, '{'));
    std::string maps;
    for (int i = 0; i < 20'000; ++i)
      maps += "{a: ";
    check_one_outcome(maps);
    std::string blocks;
    for (int i = 0; i < 2'000; ++i)
      blocks += std::string(static_cast<size_t>(i), ' ') + "-\n";
    check_one_outcome(blocks);
  }
  SECTION("anchors and aliases") {
    check_one_outcome("name: demo\nagents: &a [*a]\n");
    check_one_outcome("name: &n demo\nllm: &l {model: *l}\nagents: [{name: *n}]\n");
    std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 30; ++i)
      laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
                std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
    check_one_outcome(laughs + "name: demo\nagents: [{name: a, skills: *a29}]\n");
    CHECK(problems("b: *nope\n") ==
          lines{"YAML syntax error: the referenced anchor is not defined (line 1)"});
  }
  SECTION("huge and odd scalars") {
    check_one_outcome("name: demo\nagents: [{name: a, max_tokens: " + std::string(10'000, '9') +
                      "}]\n");
    check_one_outcome("name: demo\nagents: [{name: a, temperature: " + std::string(10'000, '9') +
                      "}]\n");
    check_one_outcome("name: demo\nagents: [{name: a, temperature: .nan, max_tokens: 0x10}]\n");
    check_one_outcome("name: " + std::string(1'000'000, 'x') + "\nagents: [{name: a}]\n");
    check_one_outcome(std::string(100'000, 'k') + "y: 1\n");
    check_one_outcome(std::string("name: demo\0agents: []\n", 22));
    check_one_outcome("? [a, b]\n: 1\n~: 2\n");
  }
  SECTION("many keys and many agents") {
    std::string keys;
    for (int i = 0; i < 20'000; ++i)
      keys += "k" + std::to_string(i) + ": 1\n";
    check_one_outcome(keys);
    std::string agents = "name: demo\nswarm: {members: [a, a, a]}\nagents:\n";
    for (int i = 0; i < 20'000; ++i)
      agents += "  - {name: a" + std::to_string(i % 2) + "}\n";
    auto result = swarm::parse_spec(agents);
    // 19,998 repeated agent names; 'a' names no agent and is repeated twice.
    CHECK(result.problems.size() == 19'998 + 3);
  }
  SECTION("random bytes") {
    std::mt19937 rng{20240601};
    std::uniform_int_distribution<int> byte{0, 255};
    std::uniform_int_distribution<size_t> length{0, 300};
    for (int i = 0; i < 2'000; ++i) {
      std::string input(length(rng), '\0');
      for (auto& c : input)
        c = static_cast<char>(byte(rng));
      check_one_outcome(input);
    }
  }
  SECTION("mutations of a valid spec") {
    const std::string valid = "name: demo\nllm: {model: m, temperature: 0.5}\nswarm:\n"
                              "  members: [a, b]\nagents:\n  - name: a\n    skills: [x]\n"
                              "  - {name: b, max_tokens: 10, stream: true}\n";
    const std::string alphabet = "{}[]:,-#&*!|>'\"\n\t ?%@`abz09.~";
    std::mt19937 rng{7};
    std::uniform_int_distribution<size_t> pick{0, alphabet.size() - 1};
    for (int i = 0; i < 2'000; ++i) {
      auto input = valid;
      for (int edits = 1 + i % 4; edits > 0; --edits) {
        std::uniform_int_distribution<size_t> where{0, input.size() - 1};
        auto at = where(rng);
        switch (rng() % 3) {
        case 0:
          input[at] = alphabet[pick(rng)];
          break;
        case 1:
          input.insert(at, 1, alphabet[pick(rng)]);
          break;
        default:
          input.erase(at, 1);
        }
      }
      check_one_outcome(input);
    }
  }
}

TEST_CASE("a nested spec loads with every swarm option") {
  auto spec = swarm::load_spec(specs_dir + "nested.yaml");
  REQUIRE(spec);
  const auto& root = spec->root;
  CHECK(root.name == "company");
  CHECK(root.line == 59);
  CHECK(root.architecture == "hierarchical");
  CHECK(root.members == std::vector<std::string>{"a", "board", "contest", "flow", "desk"});
  CHECK(root.hierarchical.lead == "ceo");
  CHECK(root.hierarchical.max_subtasks == 4);
  CHECK(root.hierarchical.max_attempts == 3);
  CHECK(root.hierarchical.review);
  CHECK(root.guards.member_timeout == 30s);
  CHECK(root.guards.max_rounds == 2);
  CHECK(root.guards.max_messages == 100);
  CHECK(root.guards.deadline == 60s);
  REQUIRE(spec->swarms.size() == 5);
  CHECK(spec->find_swarm("company") == nullptr); // the root is not a sub-swarm
  CHECK(spec->find_agent("board") == nullptr);

  const auto* board = spec->find_swarm("board");
  REQUIRE(board == &spec->swarms[0]);
  CHECK(board->line == 14);
  CHECK(board->architecture == "collaborative");
  CHECK(board->members == std::vector<std::string>{"a", "b", "c"});
  const auto& vote = board->collaborative;
  CHECK(vote.decision == "synthesize");
  CHECK(vote.normalize == "regex");
  CHECK(vote.pattern == "answer: (\\w+)");
  CHECK(vote.field == "verdict");
  CHECK(vote.quorum == 0.6);
  CHECK(vote.tie == "fail");
  CHECK(vote.weights == std::vector<std::pair<std::string, double>>{{"a", 2.0}, {"b", 0.5}});
  CHECK(vote.threshold == 0.75);
  CHECK(vote.aggregator == "merger");
  CHECK(vote.layers == 2);
  CHECK(board->guards.max_rounds == 3);
  CHECK(board->guards.member_timeout == 20s);
  CHECK(board->guards.max_messages == 50);
  CHECK(board->guards.deadline == 40s);

  const auto& contest = spec->swarms[1];
  CHECK(contest.name == "contest");
  CHECK(contest.architecture == "competitive");
  CHECK(contest.members == std::vector<std::string>{"a", "b", "board"});
  CHECK(contest.competitive.select == "first_k");
  CHECK(contest.competitive.judge == "judge");
  CHECK(contest.competitive.criteria == "brevity");
  CHECK(contest.competitive.k == 2);
  CHECK(contest.guards.max_rounds == 5); // guards not given keep their defaults

  const auto& chat = spec->swarms[2];
  CHECK(chat.name == "chat");
  CHECK(chat.group_chat.speaker == "selector");
  CHECK(chat.group_chat.selector == "picker");
  CHECK(chat.group_chat.max_turns == 6);
  CHECK(chat.group_chat.terminate_on == "DONE");
  CHECK(chat.group_chat.judge == "judge");
  CHECK(chat.competitive.judge.empty()); // `judge` of a group chat is the chat's

  const auto& flow = spec->swarms[3];
  CHECK(flow.architecture == "graph");
  REQUIRE(flow.graph.edges.size() == 2);
  CHECK(flow.graph.edges[0].from == "a");
  CHECK(flow.graph.edges[0].to == "b");
  CHECK(flow.graph.edges[0].when == "^yes");
  CHECK(flow.graph.edges[0].line == 49);
  CHECK(flow.graph.edges[1].to == "c");
  CHECK(flow.graph.edges[1].when.empty());
  CHECK(flow.graph.edges[1].line == 50);

  const auto& desk = spec->swarms[4];
  CHECK(desk.architecture == "router");
  CHECK(desk.members == std::vector<std::string>{"a", "chat"});
  CHECK(desk.router.router == "picker");
  REQUIRE(desk.router.routes.size() == 1);
  CHECK(desk.router.routes[0].match == "write|draft");
  CHECK(desk.router.routes[0].to == "chat");
  CHECK(desk.router.routes[0].line == 56);
  CHECK(desk.router.fallback == "a");

  CHECK(spec->agents[1].logprobs);
  CHECK_FALSE(spec->agents[0].logprobs);
}

TEST_CASE("the nested spec in JSON loads to the same swarms as in YAML") {
  auto yaml = swarm::load_spec(specs_dir + "nested.yaml");
  auto json = swarm::load_spec(specs_dir + "nested.json");
  REQUIRE(yaml);
  REQUIRE(json);
  check_same_spec(*yaml, *json);
  CHECK(json->swarms[0].line == 13);
  CHECK(json->root.line == 66);
}

TEST_CASE("every architecture takes its documented defaults") {
  auto result = swarm::parse_spec(text(R"(
name: demo
agents: [{name: a}, {name: b}, {name: lead}, {name: j}, {name: pick}]
swarms:
  h: {architecture: hierarchical, members: [a, b], lead: lead}
  v: {architecture: collaborative, members: [a, b]}
  c: {architecture: competitive, members: [a, b], judge: j}
  g: {architecture: group_chat, members: [a, b]}
  d: {architecture: graph, members: [a, b], edges: [{from: a, to: b}]}
  r: {architecture: router, members: [a, b], router: pick}
  s: {architecture: sequential, members: [a, b]}
  n: {members: [a]}
)"));
  REQUIRE(result.problems.empty());
  REQUIRE(result.spec);
  const auto& spec = *result.spec;
  CHECK(spec.root.architecture == "concurrent");
  CHECK(spec.root.members == std::vector<std::string>{"a", "b", "lead", "j", "pick"});
  CHECK(spec.root.line == 0);
  for (const auto* x : {&spec.root, &spec.swarms[0], &spec.swarms[6]}) {
    CHECK(x->guards.member_timeout == 120s);
    CHECK(x->guards.max_rounds == 5);
    CHECK(x->guards.max_messages == 0);
    CHECK(x->guards.deadline == 0ms);
  }
  const auto& h = spec.swarms[0].hierarchical;
  CHECK(h.max_subtasks == 8);
  CHECK(h.max_attempts == 3);
  CHECK_FALSE(h.review);
  const auto& v = spec.swarms[1].collaborative;
  CHECK(v.decision == "majority");
  CHECK(v.normalize == "fold");
  CHECK(v.pattern.empty());
  CHECK(v.field.empty());
  CHECK(v.quorum == 0.5);
  CHECK(v.tie == "first");
  CHECK(v.weights.empty());
  CHECK(v.threshold == 1.0);
  CHECK(v.aggregator.empty());
  CHECK(v.layers == 1);
  const auto& c = spec.swarms[2].competitive;
  CHECK(c.select == "judge");
  CHECK(c.criteria == "correctness, completeness, clarity");
  CHECK(c.k == 1);
  const auto& g = spec.swarms[3].group_chat;
  CHECK(g.speaker == "round_robin");
  CHECK(g.selector.empty());
  CHECK(g.max_turns == 10);
  CHECK(g.terminate_on == "TERMINATE");
  CHECK(g.judge.empty());
  CHECK(spec.swarms[4].graph.edges[0].when.empty());
  const auto& r = spec.swarms[5].router;
  CHECK(r.routes.empty());
  CHECK(r.fallback.empty()); // the coordinator falls back to the first member
  CHECK(spec.swarms[6].architecture == "sequential");
  CHECK(spec.swarms[7].architecture == "concurrent");
  CHECK(spec.swarms[7].line == 11);
}

TEST_CASE("a key of another architecture is refused") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  judge: j
)") == lines{"swarm.judge: key 'judge' does not apply to architecture 'collaborative' (line 4)"});
  // The architecture decides wherever it stands; without one it is concurrent.
  CHECK(swarm_problems(R"(
  edges: [{from: a, to: b}]
  architecture: router
  router: j
)") == lines{"swarm.edges: key 'edges' does not apply to architecture 'router' (line 3)"});
  CHECK(swarm_problems(R"(
  lead: j
  max_turns: 3
)") == lines{"swarm.lead: key 'lead' does not apply to architecture 'concurrent' (line 3)",
             "swarm.max_turns: key 'max_turns' does not apply to architecture 'concurrent' "
             "(line 4)"});
}

TEST_CASE("the architecture table is what the reader checks keys against") {
  auto table = swarm::architectures();
  std::vector<std::string> names;
  for (const auto& a : table)
    names.emplace_back(a.name);
  CHECK(names == swarm::supported_architectures());
  // Each architecture's own key is accepted there (no key problem) and refused under the first
  // architecture that lacks it.
  auto key_problems = [](std::string_view architecture, std::string_view key) {
    auto out = problems("name: demo\nagents: [{name: a}]\nswarm:\n  architecture: " +
                        std::string{architecture} + "\n  " + std::string{key} + ": 1\n");
    std::vector<std::string> about_key;
    for (auto& p : out)
      if (p.find("swarm." + std::string{key} + ": key ") == 0 || p.find("unknown key") != p.npos)
        about_key.push_back(p);
    return about_key;
  };
  size_t checked = 0;
  for (const auto& a : table) {
    CAPTURE(a.name);
    CHECK(!a.summary.empty());
    for (auto key : a.keys) {
      CAPTURE(key);
      CHECK(key_problems(a.name, key).empty());
      for (const auto& other : table) {
        if (std::find(other.keys.begin(), other.keys.end(), key) != other.keys.end())
          continue;
        CHECK(key_problems(other.name, key) ==
              lines{"swarm." + std::string{key} + ": key '" + std::string{key} +
                    "' does not apply to architecture '" + std::string{other.name} + "' (line 5)"});
        ++checked;
        break;
      }
    }
  }
  CHECK(checked > 20);
  for (auto key : swarm::common_swarm_keys())
    for (const auto& a : table)
      if (key != "architecture")
        CHECK(key_problems(a.name, key).empty());
}

TEST_CASE("choices accept only their documented values") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  decision: vote
  normalize: lower
  tie: random
)") == lines{"swarm.decision: must be one of majority, weighted, consensus, synthesize (got "
             "'vote') (line 4)",
             "swarm.normalize: must be one of exact, fold, regex, json_field, number (got "
             "'lower') (line 5)",
             "swarm.tie: must be one of first, fail (got 'random') (line 6)"});
  CHECK(swarm_problems(R"(
  architecture: competitive
  select: fastest
)") == lines{"swarm.select: must be one of judge, confidence, first_k (got 'fastest') (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  speaker: [a]
)") == lines{"swarm.speaker: expected a string (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  speaker: loudest
)") == lines{"swarm.speaker: must be one of round_robin, selector (got 'loudest') (line 4)"});
}

TEST_CASE("quorum and threshold must be above 0 and at most 1") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  quorum: 0
  threshold: 1.5
)") == lines{"swarm.quorum: must be > 0 and below 1 (the winner needs more than this share) "
             "(line 4)",
             "swarm.threshold: must be > 0 and at most 1 (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  quorum: half
  threshold: -0.5
)") == lines{"swarm.quorum: expected a number (line 4)",
             "swarm.threshold: must be > 0 and at most 1 (line 5)"});
}

TEST_CASE("counts must be positive where zero makes no sense") {
  CHECK(swarm_problems(R"(
  architecture: hierarchical
  lead: j
  max_subtasks: 0
  max_attempts: -2
  max_rounds: 0
  member_timeout_ms: 0
)") == lines{"swarm.max_subtasks: must be > 0 (line 5)", "swarm.max_attempts: must be > 0 (line 6)",
             "swarm.max_rounds: must be > 0 (line 7)",
             "swarm.member_timeout_ms: must be > 0 (line 8)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  layers: 0
)") == lines{"swarm.layers: must be > 0 (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  max_turns: 0
)") == lines{"swarm.max_turns: must be > 0 (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: competitive
  select: first_k
  k: 0
)") == lines{"swarm.k: must be > 0 (line 5)"});
}

TEST_CASE("max_messages and deadline_ms may be 0 but not negative") {
  auto zero = swarm::parse_spec(with_swarm(R"(
  max_messages: 0
  deadline_ms: 0
)"));
  REQUIRE(zero.spec);
  CHECK(zero.spec->root.guards.max_messages == 0);
  CHECK(zero.spec->root.guards.deadline == 0ms);
  CHECK(swarm_problems(R"(
  max_messages: -1
  deadline_ms: 2147483648
)") == lines{"swarm.max_messages: must be at least 0 (line 3)",
             "swarm.deadline_ms: must be at most 2147483647 (line 4)"});
}

TEST_CASE("k cannot exceed the number of members") {
  CHECK(swarm_problems(R"(
  architecture: competitive
  members: [a, b]
  select: first_k
  k: 3
)") == lines{"swarm.k: must be at most 2 (the number of members) (line 6)"});
  // The root's members default to every agent: four here.
  auto four = swarm::parse_spec(with_swarm(R"(
  architecture: competitive
  select: first_k
  k: 4
)"));
  CHECK(four.spec);
}

TEST_CASE("regexes must compile as ECMAScript") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: regex
  pattern: "(unclosed"
)") == lines{"swarm.pattern: invalid regex: unbalanced ( ) (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  edges:
    - {from: a, to: b, when: "[abc"}
    - {from: b, to: c, when: "*x"}
    - {from: c, to: j, when: "[z-a]"}
)") == lines{"swarm.edges[0].when: invalid regex: unbalanced [ ] (line 5)",
             "swarm.edges[1].when: invalid regex: unexpected *, +, ? or (? (line 6)",
             "swarm.edges[2].when: invalid regex: invalid character range (line 7)"});
  CHECK(swarm_problems(R"(
  architecture: router
  routes:
    - {match: "a{2,1}", to: a}
    - {match: "\\", to: b}
)") == lines{"swarm.routes[0].match: invalid regex: invalid repetition count in { } (line 5)",
             "swarm.routes[1].match: invalid regex: invalid escape (line 6)"});
}

TEST_CASE("regexes too long or too large to compile safely are refused") {
  CHECK(swarm_problems("  architecture: router\n  routes: [{to: a, match: " +
                       std::string(1001, 'x') + "}]\n") ==
        lines{"swarm.routes[0].match: invalid regex: longer than 1000 characters (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: router
  routes:
    - {match: "x{20000}", to: a}
    - {match: "((ab){100}){100}", to: b}
    - {match: "x{2147483648}", to: c}
    - {match: "[{]{9990}", to: c}
)") == lines{"swarm.routes[0].match: invalid regex: too large (line 5)",
             "swarm.routes[1].match: invalid regex: too large (line 6)",
             "swarm.routes[2].match: invalid regex: too large (line 7)"});
}

TEST_CASE("normalize regex needs a pattern with a capture group and json_field a field") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: regex
)") == lines{"swarm.pattern: is required for normalize: regex (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: regex
  pattern: "answer: \\w+"
)") == lines{"swarm.pattern: needs a capture group (group 1 is what is compared) (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: json_field
  field: ""
)") == lines{"swarm.field: must not be empty (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: json_field
)") == lines{"swarm.field: is required for normalize: json_field (line 4)"});
}

TEST_CASE("roles must name agents") {
  CHECK(swarm_problems(R"(
  architecture: hierarchical
  lead: boss
)") == lines{"swarm.lead: names no agent: 'boss' (line 4)"});
  CHECK(problems(R"(
name: demo
agents: [{name: a}, {name: b}]
swarms:
  team: {members: [a, b]}
swarm:
  architecture: collaborative
  decision: synthesize
  aggregator: team
)") == lines{"swarm.aggregator: names no agent: 'team' (it is a swarm) (line 8)"});
  CHECK(swarm_problems(R"(
  architecture: competitive
  judge: ""
)") == lines{"swarm.judge: must not be empty (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  speaker: selector
  selector: host
  judge: referee
)") == lines{"swarm.selector: names no agent: 'host' (line 5)",
             "swarm.judge: names no agent: 'referee' (line 6)"});
  CHECK(swarm_problems(R"(
  architecture: router
  router: dispatcher
)") == lines{"swarm.router: names no agent: 'dispatcher' (line 4)"});
}

TEST_CASE("required roles are reported at the key that demands them") {
  CHECK(swarm_problems(R"(
  architecture: hierarchical
)") == lines{"swarm.lead: is required for architecture: hierarchical (line 3)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  decision: synthesize
)") == lines{"swarm.aggregator: is required for decision: synthesize (line 4)"});
  // select defaults to judge: the architecture demands the judge then.
  CHECK(swarm_problems(R"(
  architecture: competitive
)") == lines{"swarm.judge: is required for select: judge (line 3)"});
  CHECK(swarm_problems(R"(
  architecture: competitive
  select: judge
)") == lines{"swarm.judge: is required for select: judge (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  speaker: selector
)") == lines{"swarm.selector: is required for speaker: selector (line 4)"});
  auto fine = swarm::parse_spec(with_swarm(R"(
  architecture: competitive
  select: confidence
)"));
  CHECK(fine.spec);
}

TEST_CASE("members name agents or sub-swarms in any swarm") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}, {name: b}]
swarms:
  team:
    members: [a, crew, b, a]
swarm:
  members: [team, squad]
)") == lines{"swarms.team.members[1]: names no agent or swarm: 'crew' (line 5)",
             "swarms.team.members[3]: duplicate member 'a' (first at line 5) (line 5)",
             "swarm.members[1]: names no agent or swarm: 'squad' (line 7)"});
}

TEST_CASE("weights name members and are positive numbers") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  decision: weighted
  members: [a, b]
  weights:
    a: 0
    b: heavy
    c: 2
    j: 2000000
)") == lines{"swarm.weights.a: must be > 0 and at most 1000000 (line 7)",
             "swarm.weights.b: expected a number (line 8)",
             "swarm.weights.c: names no member: 'c' (line 9)",
             "swarm.weights.j: must be > 0 and at most 1000000 (line 10)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  weights: [a, b]
)") == lines{"swarm.weights: expected a mapping (line 4)"});
}

TEST_CASE("a graph needs edges between its members without cycles") {
  CHECK(swarm_problems(R"(
  architecture: graph
)") == lines{"swarm.edges: is required for architecture: graph (line 3)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  edges: []
)") == lines{"swarm.edges: must not be empty (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  members: [a, b, c]
  edges:
    - {from: a, to: b}
    - {from: b, to: c}
    - {from: c, to: a}
)") == lines{"swarm.edges[2]: cycle a -> b -> c -> a (line 8)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  edges:
    - {from: a, to: a}
)") == lines{"swarm.edges[0]: cycle a -> a (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  members: [a, b]
  edges:
    - {from: a, to: j}
    - {from: a, to: b}
    - {from: a, to: b}
    - {to: b, when: x, if: y}
    - a
)") == lines{"swarm.edges[0].to: names no member: 'j' (line 6)",
             "swarm.edges[2]: duplicate edge a -> b (first at line 7) (line 8)",
             "swarm.edges[3].if: unknown key (did you mean 'to'?) (line 9)",
             "swarm.edges[3].from: is required (line 9)",
             "swarm.edges[4]: expected a mapping (line 10)"});
}

TEST_CASE("routes and the fallback name members") {
  CHECK(swarm_problems(R"(
  architecture: router
  members: [a, b]
  routes:
    - {match: "^code", to: c}
    - {to: a}
    - {match: x}
  fallback: j
)") == lines{"swarm.routes[0].to: names no member: 'c' (line 6)",
             "swarm.routes[1].match: is required (line 7)",
             "swarm.routes[2].to: is required (line 8)",
             "swarm.fallback: names no member: 'j' (line 9)"});
  CHECK(swarm_problems(R"(
  architecture: router
  fallback: a
)") == lines{"swarm.routes: is required without 'router' (line 3)"});
}

TEST_CASE("sub-swarms must list their members") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  team: {architecture: sequential}
  crew:
    members: []
)") == lines{"swarms.team.members: is required (line 4)",
             "swarms.crew.members: must not be empty (line 6)"});
}

TEST_CASE("sub-swarm names follow the agent name rule and are not agent names") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
swarms:
  a: {members: [a]}
  "my team": {members: [a]}
  "": {members: [a]}
)") == lines{"swarms.a: name 'a' is taken by an agent (line 3) (line 5)",
             "swarms.my team: must match [A-Za-z0-9_-]+ (line 6)",
             "swarms.: must not be empty (line 7)"});
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  team: {members: [a]}
  team: {members: [a]}
)") == lines{"swarms.team: duplicate key (first at line 4) (line 5)"});
}

TEST_CASE("swarms must be a mapping of swarm mappings") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms: [team]
)") == lines{"swarms: expected a mapping (line 3)"});
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  team: [a]
  crew: {members: [a], leader: a}
)") == lines{"swarms.team: expected a mapping (line 4)",
             "swarms.crew.leader: unknown key (did you mean 'lead'?) (line 5)"});
}

TEST_CASE("a sub-swarm that contains itself is refused") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  x:
    members: [y]
  y:
    members: [a, x]
)") == lines{"swarms.x.members[0]: cycle: x -> y -> x (line 5)"});
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  top: {members: [x]}
  x: {members: [a, x]}
  p: {members: [q]}
  q: {members: [r]}
  r: {members: [p]}
)") == lines{"swarms.x.members[1]: cycle: x -> x (line 5)",
             "swarms.p.members[0]: cycle: p -> q -> r -> p (line 6)"});
}

TEST_CASE("sub-swarms may nest 16 levels below the root and no deeper") {
  auto nested = [](int levels) {
    std::string spec = "name: demo\nagents: [{name: a}]\nswarm: {members: [s0]}\nswarms:\n";
    for (int i = 0; i < levels; ++i)
      spec += "  s" + std::to_string(i) + ": {members: [" +
              (i + 1 < levels ? "s" + std::to_string(i + 1) : std::string{"a"}) + "]}\n";
    return swarm::parse_spec(spec);
  };
  CHECK(nested(16).spec);
  auto deep = nested(17);
  REQUIRE(deep.problems.size() == 1);
  CHECK(swarm::to_string(deep.problems[0]) ==
        "swarm.members: sub-swarms nest deeper than 16 levels (line 3)");
  // A chain far deeper than any stack would allow: still one problem, no recursion.
  CHECK(nested(50'000).problems.size() == 1);
}

TEST_CASE("logprobs must be true or false") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
    logprobs: 1
)") == lines{"agents[0].logprobs: expected true or false (line 4)"});
}

TEST_CASE("hostile swarm trees yield problems and never a crash") {
  // 20,000 sub-swarms in one long cycle; every regex key with patterns built to blow the stack.
  std::string ring = "name: demo\nagents: [{name: a}]\nswarms:\n";
  for (int i = 0; i < 20'000; ++i)
    ring +=
        "  s" + std::to_string(i) + ": {members: [s" + std::to_string((i + 1) % 20'000) + "]}\n";
  auto result = swarm::parse_spec(ring);
  REQUIRE(result.problems.size() == 1);
  CHECK(swarm::to_string(result.problems[0]) ==
        "swarms.s0.members[0]: cycle: s0 -> s1 -> s2 -> s3 -> s4 -> ... -> s19998 -> s19999 -> s0 "
        "(line 4)");
  std::string regexes = "name: demo\nagents: [{name: a}, {name: b}]\nswarm:\n"
                        "  architecture: router\n  routes:\n";
  for (const auto& pattern : {std::string(999, '('), std::string(500, '(') + std::string(499, ')'),
                              std::string(999, 'a'), std::string("(a|b)*c{999}d{999}")})
    regexes += "    - {match: \"" + pattern + "\", to: a}\n";
  auto hostile = swarm::parse_spec(regexes);
  CHECK(hostile.spec.has_value() == hostile.problems.empty());
}

TEST_CASE("a quorum of 1 is refused because the winner needs more than the quorum") {
  auto r = swarm::parse_spec("name: v\nagents: [{name: a}, {name: b}]\nswarm:\n"
                             "  architecture: collaborative\n  quorum: 1\n");
  REQUIRE(r.problems.size() == 1);
  CHECK(swarm::to_string(r.problems[0]) ==
        "swarm.quorum: must be > 0 and below 1 (the winner needs more than this share) (line 5)");
}

// -- resources, tools, memory (issues C and D) -------------------------------------------------

TEST_CASE("resources tools and memory load with every key") {
  auto result = swarm::parse_spec(text(R"spec(
name: demo
resources:
  endpoints:
    - {url: default, max_concurrent: 16, requests_per_minute: 0, tokens_per_minute: 0}
    - {url: "http://127.0.0.1:8089/v1", max_concurrent: 2, requests_per_minute: 60,
       tokens_per_minute: 90000}
  budget: {tokens: 100000, usd: 2.5}
  per_swarm: {tokens: 50000}
  per_agent: {usd: 0.25}
  prices:
    - {model: gpt-4o-mini, prompt: 0.15, completion: 0.6}
    - {model: free}
  grant_timeout_ms: 5000
tools:
  - name: shell
    needs_approval: true
    sandbox: {network: true, timeout_ms: 2000, cpu_seconds: 3, memory_mb: 256,
              max_processes: 8, max_file_mb: 4, max_output_kb: 16}
  - name: http_get
    allow_hosts: [127.0.0.1, "example.com:8080"]
  - name: word_count
    description: counts words
    parameters: {type: object, properties: {text: {type: string}}, required: [text]}
    command: [python3, -c, "import sys,json; print(len(json.load(sys.stdin)['text'].split()))"]
memory: {working: true, long_term: true, consolidate: false, recall_k: 7, overflow: summarize,
         embeddings_model: emb, embeddings_url: "http://127.0.0.1:8089/v1"}
swarms:
  board: {
  members:
    [a], budget : {
    tokens:
      300, usd : 0.1
    }}
swarm: {
  members:
    [ a, board ], budget : {
    tokens:
      900
    }}
agents:
  - name: a
    tools: [shell, word_count]
    max_tool_steps: 12
    budget: {tokens: 1000, usd: 0.5}
  - name: b
)spec"));
  REQUIRE(result.problems.empty());
  REQUIRE(result.spec);
  const auto& spec = *result.spec;
  const auto& res = spec.resources;
  REQUIRE(res.endpoints.size() == 2);
  CHECK(res.endpoints[0].url == "default");
  CHECK(res.endpoints[0].max_concurrent == 16);
  CHECK(res.endpoints[0].line == 4);
  CHECK(res.endpoints[1].url == "http://127.0.0.1:8089/v1");
  CHECK(res.endpoints[1].max_concurrent == 2);
  CHECK(res.endpoints[1].requests_per_minute == 60);
  CHECK(res.endpoints[1].tokens_per_minute == 90000);
  CHECK(res.runtime.tokens == 100000);
  CHECK(res.runtime.usd == 2.5);
  CHECK(res.per_swarm.tokens == 50000);
  CHECK(res.per_swarm.usd == 0);
  CHECK(res.per_agent.tokens == 0);
  CHECK(res.per_agent.usd == 0.25);
  REQUIRE(res.prices.size() == 2);
  CHECK(res.prices[0].model == "gpt-4o-mini");
  CHECK(res.prices[0].prompt_per_million == 0.15);
  CHECK(res.prices[0].completion_per_million == 0.6);
  CHECK(res.prices[1].model == "free");
  CHECK(res.prices[1].prompt_per_million == 0);
  CHECK(res.grant_timeout == 5s);
  REQUIRE(spec.tools.size() == 3);
  const auto& shell = spec.tools[0];
  CHECK(shell.name == "shell");
  CHECK(shell.line == 15);
  CHECK(shell.needs_approval);
  CHECK(shell.sandbox.network);
  CHECK(shell.sandbox.timeout == 2s);
  CHECK(shell.sandbox.cpu_seconds == 3);
  CHECK(shell.sandbox.memory_mb == 256);
  CHECK(shell.sandbox.max_processes == 8);
  CHECK(shell.sandbox.max_file_mb == 4);
  CHECK(shell.sandbox.max_output_kb == 16);
  CHECK(shell.command.empty());
  CHECK(spec.tools[1].allow_hosts == std::vector<std::string>{"127.0.0.1", "example.com:8080"});
  CHECK_FALSE(spec.tools[1].needs_approval);
  const auto& custom = spec.tools[2];
  CHECK(custom.description == "counts words");
  CHECK(custom.parameters ==
        R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})");
  CHECK(custom.command ==
        std::vector<std::string>{
            "python3", "-c", "import sys,json; print(len(json.load(sys.stdin)['text'].split()))"});
  CHECK(custom.sandbox.timeout == 10s); // defaults
  CHECK(custom.sandbox.memory_mb == 512);
  CHECK(spec.memory.working);
  CHECK(spec.memory.long_term);
  CHECK_FALSE(spec.memory.consolidate);
  CHECK(spec.memory.recall_k == 7);
  CHECK(spec.memory.overflow == "summarize");
  CHECK(spec.memory.embeddings_model == "emb");
  CHECK(spec.memory.embeddings_url == "http://127.0.0.1:8089/v1");
  CHECK(spec.root.budget.tokens == 900);
  REQUIRE(spec.swarms.size() == 1);
  CHECK(spec.swarms[0].budget.tokens == 300);
  CHECK(spec.swarms[0].budget.usd == 0.1);
  const auto& a = spec.agents[0];
  CHECK(a.tools == std::vector<std::string>{"shell", "word_count"});
  CHECK(a.max_tool_steps == 12);
  CHECK(a.budget.tokens == 1000);
  CHECK(a.budget.usd == 0.5);
  CHECK(spec.agents[1].tools.empty());
}

TEST_CASE("resources tools and memory take their documented defaults") {
  auto result = swarm::parse_spec("name: demo\nagents: [{name: a}]\n");
  REQUIRE(result.spec);
  const auto& spec = *result.spec;
  CHECK(spec.resources.endpoints.empty());
  CHECK(spec.resources.runtime.tokens == 0);
  CHECK(spec.resources.runtime.usd == 0);
  CHECK(spec.resources.prices.empty());
  CHECK(spec.resources.grant_timeout == 60s);
  CHECK(spec.tools.empty());
  CHECK_FALSE(spec.memory.working);
  CHECK_FALSE(spec.memory.long_term);
  CHECK(spec.memory.consolidate);
  CHECK(spec.memory.recall_k == 5);
  CHECK(spec.memory.overflow == "drop");
  CHECK_FALSE(spec.memory.embeddings_model);
  CHECK_FALSE(spec.memory.embeddings_url);
  CHECK(spec.agents[0].max_tool_steps == 8);
  CHECK(spec.agents[0].budget.tokens == 0);
  CHECK(spec.root.budget.tokens == 0);
  auto endpoint = swarm::parse_spec(
      "name: demo\nresources: {endpoints: [{url: default}]}\nagents: [{name: a}]\n");
  REQUIRE(endpoint.spec);
  CHECK(endpoint.spec->resources.endpoints[0].max_concurrent == 16);
  CHECK(endpoint.spec->resources.endpoints[0].requests_per_minute == 0);
  CHECK(endpoint.spec->resources.endpoints[0].tokens_per_minute == 0);
}

TEST_CASE("the spec keeps the text it was parsed from") {
  const std::string source = "name: demo\n# a comment\nagents: [{name: a}]\n";
  auto result = swarm::parse_spec(source);
  REQUIRE(result.spec);
  CHECK(result.spec->text == source);
  auto loaded = swarm::load_spec(specs_dir + "research.yaml");
  REQUIRE(loaded);
  CHECK(loaded->text.find("name: research-team") != std::string::npos);
}

TEST_CASE("the same resources tools and memory load from JSON") {
  auto result = swarm::parse_spec(text(R"(
{"name": "demo",
 "resources": {"endpoints": [{"url": "default", "max_concurrent": 3}],
               "budget": {"tokens": 10}, "prices": [{"model": "m", "prompt": 1}]},
 "tools": [{"name": "t", "description": "d", "command": ["true"],
            "parameters": {"type": "object", "properties": {"n": {"type": "integer",
                           "minimum": -1.5e3}}, "additionalProperties": false}}],
 "memory": {"working": true},
 "agents": [{"name": "a", "tools": ["t"]}]}
)"));
  REQUIRE(result.problems.empty());
  REQUIRE(result.spec);
  CHECK(result.spec->resources.endpoints[0].max_concurrent == 3);
  CHECK(result.spec->tools[0].parameters ==
        R"({"type":"object","properties":{"n":{"type":"integer","minimum":-1.5e3}},)"
        R"("additionalProperties":false})");
  CHECK(result.spec->agents[0].tools == std::vector<std::string>{"t"});
}

TEST_CASE("tool parameters become JSON with YAML types kept and strings escaped") {
  auto result = swarm::parse_spec(text(R"(
name: demo
tools:
  - name: t
    description: d
    command: [x]
    parameters:
      type: object
      quoted: "12"
      plain: 12
      float: 0.5
      odd_number: +1
      hex: 0x10
      nothing: ~
      empty:
      yes_no: [true, False, "true"]
      text: "a \"quote\"\tand\\ a\nnew line \u0001"
      nested: [{a: [1, [2]]}]
agents: [{name: a}]
)"));
  REQUIRE(result.problems.empty());
  REQUIRE(result.spec);
  CHECK(result.spec->tools[0].parameters ==
        R"({"type":"object","quoted":"12","plain":12,"float":0.5,"odd_number":"+1","hex":"0x10",)"
        R"("nothing":null,"empty":null,"yes_no":[true,false,"true"],)"
        R"("text":"a \"quote\"\tand\\ a\nnew line \u0001","nested":[{"a":[1,[2]]}]})");
}

TEST_CASE("resource keys of the wrong type or out of range are reported") {
  CHECK(problems(R"(
name: demo
resources:
  endpoints:
    - {url: default, max_concurrent: 0}
    - {url: "ftp://x", requests_per_minute: -1}
    - {max_concurrent: 1000001, tokens_per_minute: 300000001}
    - just-a-url
  budget: {tokens: 1.5, usd: -1}
  per_swarm: {tokens: 1000000000001}
  per_agent: {usd: 1000000001, cents: 3}
  prices:
    - {model: m, prompt: -0.1, completion: 1000001}
    - {prompt: 1}
    - {model: ""}
  grant_timeout_ms: 0
agents: [{name: a}]
)") == lines{"resources.endpoints[0].max_concurrent: must be > 0 (line 4)",
             "resources.endpoints[1].url: must be 'default' or start with http:// or https:// "
             "(line 5)",
             "resources.endpoints[1].requests_per_minute: must be at least 0 (line 5)",
             "resources.endpoints[2].max_concurrent: must be at most 1000000 (line 6)",
             "resources.endpoints[2].tokens_per_minute: must be at most 300000000 (line 6)",
             "resources.endpoints[2].url: is required (line 6)",
             "resources.endpoints[3]: expected a mapping (line 7)",
             "resources.budget.tokens: expected an integer (line 8)",
             "resources.budget.usd: must be between 0 and 1000000000 (line 8)",
             "resources.per_swarm.tokens: must be at most 1000000000000 (line 9)",
             "resources.per_agent.usd: must be between 0 and 1000000000 (line 10)",
             "resources.per_agent.cents: unknown key (line 10)",
             "resources.prices[0].prompt: must be between 0 and 1000000 (line 12)",
             "resources.prices[0].completion: must be between 0 and 1000000 (line 12)",
             "resources.prices[1].model: is required (line 13)",
             "resources.prices[2].model: must not be empty (line 14)",
             "resources.grant_timeout_ms: must be > 0 (line 15)"});
}

TEST_CASE("resources must be mappings and lists of the documented shape") {
  CHECK(problems(R"(
name: demo
resources:
  endpoints: {url: default}
  budget: 100
  prices: {m: 1}
  grant_timout_ms: 5
agents: [{name: a}]
)") == lines{"resources.endpoints: expected a sequence (line 3)",
             "resources.budget: expected a mapping (line 4)",
             "resources.prices: expected a sequence (line 5)",
             "resources.grant_timout_ms: unknown key (did you mean 'grant_timeout_ms'?) (line 6)"});
  CHECK(problems("name: demo\nresources: [a]\nagents: [{name: a}]\n") ==
        lines{"resources: expected a mapping (line 2)"});
}

TEST_CASE("an endpoint or a price given twice is reported") {
  CHECK(problems(R"(
name: demo
resources:
  endpoints:
    - {url: default}
    - {url: "http://h/v1"}
    - {url: "http://h/v1"}
    - {url: default}
  prices:
    - {model: m}
    - {model: m, prompt: 1}
agents: [{name: a}]
)") == lines{
           "resources.endpoints[2].url: duplicate endpoint 'http://h/v1' (first at line 5) "
           "(line 6)",
           "resources.endpoints[3].url: duplicate endpoint 'default' (first at line 4) (line 7)",
           "resources.prices[1].model: duplicate price of model 'm' (first at line 9) (line 10)"});
}

TEST_CASE("budgets of agents and swarms are checked like the runtime's") {
  CHECK(problems(R"(
name: demo
swarms:
  s: {architecture: sequential, members: [a], budget: {tokens: -5}}
swarm: {architecture: router, routes: [{match: x, to: a}], budget: {dollars: 1}}
agents:
  - {name: a, budget: {usd: "1"}}
  - {name: b, budget: 5}
)") == lines{"swarms.s.budget.tokens: must be at least 0 (line 3)",
             "swarm.budget.dollars: unknown key (line 4)",
             "agents[0].budget.usd: expected a number (line 6)",
             "agents[1].budget: expected a mapping (line 7)"});
}

TEST_CASE("max_tool_steps must be between 1 and 64") {
  CHECK(problems(R"(
name: demo
agents:
  - {name: a, max_tool_steps: 0}
  - {name: b, max_tool_steps: 65}
  - {name: c, max_tool_steps: 64}
  - {name: d, max_tool_steps: 1}
)") == lines{"agents[0].max_tool_steps: must be > 0 (line 3)",
             "agents[1].max_tool_steps: must be at most 64 (line 4)"});
}

TEST_CASE("an agent may list only declared tools and each once") {
  CHECK(problems(R"(
name: demo
tools:
  - name: shell
agents:
  - {name: a, tools: [shell, shel, python, shell, ""]}
  - {name: b, tools: shell}
)") == lines{"agents[0].tools[3]: duplicate tool 'shell' (first at line 5) (line 5)",
             "agents[0].tools[4]: must not be empty (line 5)",
             "agents[0].tools[1]: names no declared tool: 'shel' (line 5)",
             "agents[0].tools[2]: names no declared tool: 'python' (built in, but list it under "
             "tools:) (line 5)",
             "agents[1].tools: expected a sequence (line 6)"});
  // Tools may be declared after the agents that use them.
  CHECK(problems("name: demo\nagents: [{name: a, tools: [t]}]\ntools: [{name: shell}]\n") ==
        lines{"agents[0].tools[0]: names no declared tool: 't' (line 2)"});
  CHECK(problems("name: demo\nagents: [{name: a, tools: [shell]}]\ntools: [{name: shell}]\n")
            .empty());
}

TEST_CASE("tool names are unique names of at most 64 characters") {
  CHECK(problems(text(R"(
name: demo
tools:
  - name: shell
  - name: shell
  - name: "bad name"
  - name: )" + std::string(65, 'x') +
                      R"(
  - {description: nameless}
  - shell
agents: [{name: a}]
)")) == lines{"tools[1].name: duplicate tool name 'shell' (first at line 3) (line 4)",
              "tools[2].name: must match [A-Za-z0-9_-]+ (line 5)",
              "tools[3].name: must be at most 64 characters (line 6)",
              "tools[4].name: is required (line 7)", "tools[5]: expected a mapping (line 8)"});
  CHECK(problems("name: demo\ntools: {shell: {}}\nagents: [{name: a}]\n") ==
        lines{"tools: expected a sequence (line 2)"});
}

TEST_CASE("a custom tool needs a description parameters and a command") {
  CHECK(problems(R"(
name: demo
tools:
  - name: mine
  - name: partial
    description: ""
    command: []
    parameters: {type: object}
agents: [{name: a}]
)") == lines{"tools[0].description: is required for a custom tool (line 3)",
             "tools[0].parameters: is required for a custom tool (line 3)",
             "tools[0].command: is required for a custom tool (line 3)",
             "tools[1].description: must not be empty (line 5)",
             "tools[1].command: must not be empty (line 6)"});
}

TEST_CASE("a custom tool's command is a program and its arguments") {
  CHECK(problems(R"(
name: demo
tools:
  - {name: a, description: d, parameters: {type: object}, command: "python3 x.py"}
  - {name: b, description: d, parameters: {type: object}, command: ["", x]}
  - {name: c, description: d, parameters: {type: object}, command: [x, "", {y: 1}]}
agents: [{name: a}]
)") == lines{"tools[0].command: expected a sequence (the program, then its arguments) (line 3)",
             "tools[1].command[0]: must not be empty (line 4)",
             "tools[2].command[2]: expected a string (line 5)"});
}

TEST_CASE("a custom tool's parameters must be an object schema") {
  CHECK(problems(R"(
name: demo
tools:
  - {name: a, description: d, command: [x], parameters: '{"type": "object"}'}
  - {name: b, description: d, command: [x], parameters: {type: string}}
  - {name: c, description: d, command: [x], parameters: {properties: {}}}
  - {name: d, description: d, command: [x], parameters: {type: object, properties: [x]}}
  - {name: e, description: d, command: [x], parameters: {type: object, [k]: 1}}
agents: [{name: a}]
)") == lines{"tools[0].parameters: expected a mapping (a JSON schema with type: object) (line 3)",
             "tools[1].parameters: must be a JSON schema of type object (type: object) (line 4)",
             "tools[2].parameters: must be a JSON schema of type object (type: object) (line 5)",
             "tools[3].parameters.properties: expected a mapping (line 6)",
             "tools[4].parameters: has a key that is not a string (line 7) (line 7)"});
}

TEST_CASE("tool parameters that nest too deep or expand too far are refused") {
  std::string deep = "name: demo\ntools:\n  - name: t\n    description: d\n    command: [x]\n"
                     "    parameters: {type: object, p: ";
  for (int i = 0; i < 70; ++i)
    deep += "[";
  for (int i = 0; i < 70; ++i)
    deep += "]";
  deep += "}\nagents: [{name: a}]\n";
  CHECK(problems(deep) == lines{"tools[0].parameters: nests deeper than 64 levels (line 6)"});
  std::string laughs = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 20; ++i)
    laughs += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
              std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  auto result = swarm::parse_spec(
      "name: demo\ntools:\n  - name: t\n    description: d\n    command: [x]\n    parameters:\n" +
      [&] {
        std::string indented;
        for (size_t start = 0; start < laughs.size();) {
          auto end = laughs.find('\n', start);
          indented += "      " + laughs.substr(start, end - start + 1);
          start = end + 1;
        }
        return indented;
      }() +
      "      type: object\nagents: [{name: a}]\n");
  REQUIRE(result.problems.size() == 1);
  CHECK(swarm::to_string(result.problems[0]) ==
        "tools[0].parameters: is larger than 65536 bytes as JSON (line 6)");
  auto recursive = swarm::parse_spec("name: demo\ntools: [{name: t, description: d, command: [x], "
                                     "parameters: &p {type: object, self: *p}}]\n"
                                     "agents: [{name: a}]\n");
  CHECK(recursive.spec.has_value() == recursive.problems.empty());
}

TEST_CASE("a built-in tool takes a new description but not a command or parameters") {
  CHECK(problems(R"(
name: demo
tools:
  - name: shell
    command: [bash]
    description: mine
    parameters: {type: object}
agents: [{name: a}]
)") == lines{"tools[0].command: applies only to custom tools ('shell' is built in) (line 4)",
             "tools[0].parameters: applies only to custom tools ('shell' is built in) (line 6)"});
  auto result = swarm::parse_spec("name: demo\ntools: [{name: shell, description: runs sh}]\n"
                                  "agents: [{name: a}]\n");
  REQUIRE(result.spec);
  CHECK(result.spec->tools[0].description == "runs sh");
}

TEST_CASE("http_get needs an allow-list of hosts and only http_get takes one") {
  CHECK(problems(R"(
name: demo
tools:
  - name: http_get
  - name: shell
    allow_hosts: [localhost]
agents: [{name: a}]
)") == lines{"tools[0].allow_hosts: is required for http_get (the hosts it may fetch from) "
             "(line 3)",
             "tools[1].allow_hosts: applies only to http_get (line 5)"});
  CHECK(problems(R"(
name: demo
tools:
  - {name: http_get, allow_hosts: []}
  - {name: http_get2, allow_hosts: "x"}
agents: [{name: a}]
)") == lines{"tools[0].allow_hosts: must not be empty (line 3)",
             "tools[1].allow_hosts: expected a sequence (line 4)",
             "tools[1].description: is required for a custom tool (line 4)",
             "tools[1].parameters: is required for a custom tool (line 4)",
             "tools[1].command: is required for a custom tool (line 4)",
             "tools[1].allow_hosts: applies only to http_get (line 4)"});
  CHECK(problems(R"(
name: demo
tools:
  - {name: http_get, allow_hosts: ["http://example.com", "a/b", "[::1]:80", ok.example.com]}
agents: [{name: a}]
)") == lines{"tools[0].allow_hosts[0]: must be a host name or address, optionally with a port, "
             "not a URL (got 'http://example.com') (line 3)",
             "tools[0].allow_hosts[1]: must be a host name or address, optionally with a port, "
             "not a URL (got 'a/b') (line 3)"});
}

TEST_CASE("sandbox limits are checked") {
  // Every tool takes them: read_file cuts at max_output_kb, http_get is bounded by timeout_ms.
  CHECK(problems(R"(
name: demo
tools:
  - name: read_file
    sandbox: {max_output_kb: 8}
  - name: python
    sandbox: {network: maybe, timeout_ms: 0, cpu_seconds: 86401, memory_mb: 1048577,
              max_processes: 65537, max_file_mb: 0, max_output_kb: -1, disk_mb: 1}
  - name: shell
    sandbox: []
agents: [{name: a}]
)") == lines{"tools[1].sandbox.network: expected true or false (line 6)",
             "tools[1].sandbox.timeout_ms: must be > 0 (line 6)",
             "tools[1].sandbox.cpu_seconds: must be at most 86400 (line 6)",
             "tools[1].sandbox.memory_mb: must be at most 1048576 (line 6)",
             "tools[1].sandbox.max_processes: must be at most 65536 (line 7)",
             "tools[1].sandbox.max_file_mb: must be > 0 (line 7)",
             "tools[1].sandbox.max_output_kb: must be > 0 (line 7)",
             "tools[1].sandbox.disk_mb: unknown key (line 7)",
             "tools[2].sandbox: expected a mapping (line 9)"});
}

TEST_CASE("needs_approval is true or false") {
  CHECK(
      problems("name: demo\ntools: [{name: shell, needs_approval: ask}]\nagents: [{name: a}]\n") ==
      lines{"tools[0].needs_approval: expected true or false (line 2)"});
}

TEST_CASE("memory keys are checked") {
  CHECK(problems(R"(
name: demo
memory:
  working: yes
  long_term: 1
  consolidate: true
  recall_k: 0
  overflow: compress
  embeddings_url: "tcp://x"
  embeddings_model: ""
  recal_k: 3
agents: [{name: a}]
)") == lines{"memory.working: expected true or false (line 3)",
             "memory.long_term: expected true or false (line 4)",
             "memory.recall_k: must be > 0 (line 6)",
             "memory.overflow: must be one of drop, summarize (got 'compress') (line 7)",
             "memory.embeddings_url: must start with http:// or https:// (line 8)",
             "memory.embeddings_model: must not be empty (line 9)",
             "memory.recal_k: unknown key (did you mean 'recall_k'?) (line 10)"});
  CHECK(problems(R"(
name: demo
memory: {recall_k: 1001, embeddings_url: "http://h/v1"}
agents: [{name: a}]
)") == lines{
           "memory.recall_k: must be at most 1000 (line 2)",
           "memory.embeddings_url: needs embeddings_model (vectors are off without it) (line 2)"});
  CHECK(problems("name: demo\nmemory: on\nagents: [{name: a}]\n") ==
        lines{"memory: expected a mapping (line 2)"});
}

TEST_CASE("disable_memory turns memory off in the spec and in its text") {
  auto loaded = swarm::load_spec_text(text(R"(
name: demo
memory: {working: true, long_term: true, recall_k: 3}
tools:
  - {name: memory_search}
  - name: shell
  - {name: memory_write}
agents:
  - {name: a, tools: [memory_search, shell, memory_write]}
  - {name: b, tools: [memory_write]}
  - {name: c}
)"));
  REQUIRE(loaded);
  auto spec = std::move(*loaded);
  swarm::disable_memory(spec);
  auto check = [](const swarm::swarm_spec& s) {
    CHECK(!s.memory.working);
    CHECK(!s.memory.long_term);
    CHECK(s.memory.recall_k == 3);
    REQUIRE(s.tools.size() == 1);
    CHECK(s.tools[0].name == "shell");
    REQUIRE(s.agents.size() == 3);
    CHECK(s.agents[0].tools == std::vector<std::string>{"shell"});
    CHECK(s.agents[1].tools.empty());
    CHECK(s.agents[2].tools.empty());
  };
  check(spec);
  // The text (kept by the run journal to resume) says the same, and adds no key.
  auto reloaded = swarm::load_spec_text(spec.text);
  REQUIRE(reloaded);
  check(*reloaded);
  CHECK(spec.text.find("swarm:") == std::string::npos);
  CHECK(spec.text.find("llm:") == std::string::npos);
  // A spec without memory keys keeps none.
  auto plain = swarm::load_spec_text("name: p\nagents: [{name: a}]\n");
  REQUIRE(plain);
  swarm::disable_memory(*plain);
  CHECK(plain->text.find("memory") == std::string::npos);
  CHECK(swarm::load_spec_text(plain->text));
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
