// Tests of the swarm spec loader: resources (endpoints, prices, budgets) with tools and memory as
// loaded, and the checks of resources and budgets.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "tests/runtime/core/spec_test_util.hpp"

using namespace spec_test;
using namespace std::chrono_literals;

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
