// Tests of the swarm spec loader: schema, defaults, and how every kind of problem is reported.
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

/// Compares everything but where the text came from (`source`, agent lines).
void check_same_spec(const swarm::swarm_spec& a, const swarm::swarm_spec& b) {
  CHECK(a.name == b.name);
  CHECK(a.description == b.description);
  check_same_llm(a.llm, b.llm);
  CHECK(a.root.architecture == b.root.architecture);
  CHECK(a.root.members == b.root.members);
  CHECK(a.root.guards.member_timeout == b.root.guards.member_timeout);
  REQUIRE(a.agents.size() == b.agents.size());
  for (size_t i = 0; i < a.agents.size(); ++i) {
    CHECK(a.agents[i].name == b.agents[i].name);
    CHECK(a.agents[i].role == b.agents[i].role);
    CHECK(a.agents[i].system_prompt == b.agents[i].system_prompt);
    CHECK(a.agents[i].skills == b.agents[i].skills);
    CHECK(a.agents[i].short_term_tokens == b.agents[i].short_term_tokens);
    check_same_llm(a.agents[i].llm, b.agents[i].llm);
  }
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
  CHECK(spec->architecture == "concurrent");
  CHECK(spec->members == std::vector<std::string>{"critic", "alice"});
  CHECK(spec->member_timeout == 60s);
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

TEST_CASE("members must name agents and each only once") {
  CHECK(problems(R"(
name: demo
swarm:
  members: [a, ghost]
agents:
  - name: a
)") == lines{"swarm.members[1]: names no agent: 'ghost' (line 3)"});
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
  CHECK(swarm::supported_architectures() == std::vector<std::string>{"concurrent"});
  CHECK(problems(R"(
name: demo
swarm:
  architecture: pyramid
agents: [{name: a}]
)") == lines{
           "swarm.architecture: unknown architecture 'pyramid' (supported: concurrent) (line 3)"});
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
             "swarm.architecture: unknown architecture 'pyramid' (supported: concurrent) (line 6)",
             "swarm.members[1]: names no agent: 'ghost' (line 7)",
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
