// Tests of the swarm spec loader: loading YAML and JSON with every field and default, files and
// texts, syntax errors and hostile input.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "tests/runtime/core/spec_test_util.hpp"

using namespace spec_test;
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

TEST_CASE("a key of one architecture under an unknown architecture is read, not a crash") {
  // Regression (fuzz/spec_yaml): `lead:` under a misspelt or non-string architecture was looked
  // up under the default architecture, found nothing, and read through a null row (SIGSEGV).
  CHECK(swarm_problems(R"(
  architecture: hierarchicl
  lead: a
)")
            .size() == 1);
  auto refused = swarm_problems(R"(
  architecture: [hierarchical]
  lead: a
  max_turns: many
)");
  REQUIRE(refused.size() == 2);
  CHECK(refused[1] == "swarm.max_turns: expected an integer (line 5)");
}
