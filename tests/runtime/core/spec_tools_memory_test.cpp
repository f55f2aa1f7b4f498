// Tests of the swarm spec loader: tools (parameters, commands, built-ins, sandbox limits) and
// memory settings.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "tests/runtime/core/spec_test_util.hpp"

using namespace spec_test;
using namespace std::chrono_literals;

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
