// Tools and memory in real runs (issues C and D), the mock LLM asking for tool calls: the tool
// loop, a refused call reported to the model, the approval flow through the embedding API, the
// step bound; working memory read before a task, consolidation into long-term memory and recall
// in a later run.
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "memory/long_term.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_runtime.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

using fixture = test::mock_runtime;

const char* shell_script = R"(
rules:
  - match: {history: 'tool: .*hi-from-sandbox'}
    reply: 'the tool said hi'
  - match: {history: 'tool: error: tool_refused'}
    reply: 'refused, as expected'
  - match: {history: 'tool: error: approval_rejected.*not today'}
    reply: 'a human said no'
  - match: {user: 'forever'}
    tool_calls: [{name: shell, arguments: {command: 'echo again'}}]
default:
  tool_calls: [{name: shell, arguments: {command: 'echo hi-from-sandbox'}}]
)";

std::string tool_spec_text(const std::string& agent_tools, bool approval = false, int steps = 8) {
  return std::string{"name: crew\ntools:\n  - {name: shell, needs_approval: "} +
         (approval ? "true" : "false") + "}\n  - {name: read_file}\nagents:\n  - name: coder\n" +
         "    tools: [" + agent_tools + "]\n    max_tool_steps: " + std::to_string(steps) + "\n";
}

} // namespace

TEST_CASE("the model's tool calls run sandboxed and their output goes back to it") {
  fixture f{shell_script};
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = f.spawn(rt, tool_spec_text("shell"));
  REQUIRE(team);
  auto r = team->run({"say hi"});
  REQUIRE(r);
  CHECK(r->text == "## coder\nthe tool said hi");
  CHECK(r->use.calls == 2);
  CHECK(f.mock->stats().chat_requests == 2);
}

TEST_CASE("a tool outside the agent's list is refused and the model is told") {
  fixture f{shell_script};
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = f.spawn(rt, tool_spec_text("read_file"));
  REQUIRE(team);
  auto r = team->run({"say hi"});
  REQUIRE(r);
  CHECK(r->text == "## coder\nrefused, as expected");
}

TEST_CASE("a tool that needs approval waits for a human: rejected, then approved") {
  fixture f{shell_script};
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = f.spawn(rt, tool_spec_text("shell", true));
  REQUIRE(team);
  for (bool approve : {false, true}) {
    auto running = std::async(std::launch::async, [&] { return team->run({"say hi"}); });
    std::vector<pending_approval> pending;
    (void)test::eventually(
        [&] {
          pending = team->pending_approvals();
          return !pending.empty();
        },
        5s);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].agent.str() == "crew/coder");
    CHECK(pending[0].call.name == "shell");
    CHECK(pending[0].call.arguments.find("hi-from-sandbox") != std::string::npos);
    CHECK(running.wait_for(0ms) == std::future_status::timeout); // the run waits
    REQUIRE(!team->decide(pending[0].id, approve, "not today"));
    auto r = running.get();
    REQUIRE(r);
    CHECK(r->text == (approve ? "## coder\nthe tool said hi" : "## coder\na human said no"));
    CHECK(team->pending_approvals().empty());
    auto unknown = team->decide(pending[0].id, true);
    CHECK(is(unknown, errc::invalid_argument));
  }
}

TEST_CASE("a model that keeps calling tools stops at max_tool_steps") {
  fixture f{shell_script};
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = f.spawn(rt, tool_spec_text("shell", false, 3));
  REQUIRE(team);
  auto r = team->run({"forever"});
  REQUIRE(!r);
  CHECK(describe(r.error()).find("max_tool_steps") != std::string::npos);
  CHECK(f.mock->stats().chat_requests == 3);
}

TEST_CASE("working memory feeds later members; consolidation makes it recallable next run") {
  fixture f{R"(
rules:
  - match: {history: 'What you remember from earlier runs:\n- .*cobalt'}
    reply: 'I remember cobalt'
  - match: {history: 'working memory.*\n- relay/scout: the key is cobalt'}
    reply: 'scout says cobalt'
  - match: {system: 'You are scout'}
    reply: 'the key is cobalt'
default:
  reply: 'nothing to go on'
)"};
  const char* spec = R"(
name: relay
memory: {working: true, long_term: true, recall_k: 3}
swarm: {architecture: sequential}
agents:
  - {name: scout, system_prompt: You are scout.}
  - {name: courier, system_prompt: You are courier.}
)";
  {
    runtime rt{f.options(), {f.mock->url(), "mock"}};
    auto team = f.spawn(rt, spec);
    REQUIRE(team);
    auto r = team->run({"find the key", "run-1", {}});
    REQUIRE(r);
    REQUIRE(r->trace.size() == 2);
    CHECK(r->trace[1].text == "scout says cobalt");
  }
  // A new runtime on the same data directory: the first run's notes were consolidated.
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = f.spawn(rt, spec);
  REQUIRE(team);
  auto r = team->run({"what was the key (cobalt)?", "run-2", {}});
  REQUIRE(r);
  CHECK(r->trace[1].text == "I remember cobalt");
}

TEST_CASE("memory needs a data directory, and says so") {
  fixture f{"default: {reply: ok}\n"};
  auto opts = f.options();
  opts.data_dir.clear();
  runtime rt{opts, {f.mock->url(), "mock"}};
  auto team = f.spawn(rt, "name: m\nmemory: {working: true}\nagents: [{name: a}]\n");
  REQUIRE(!team);
  CHECK(describe(team.error()).find("data directory") != std::string::npos);
}

TEST_CASE("memory_write and memory_search reach long-term memory across runs") {
  fixture f{R"(
rules:
  - match: {history: 'tool: remembered as '}
    reply: 'stored'
  - match: {history: 'tool: .*vault code is 4711'}
    reply: 'found 4711'
  - match: {user: 'remember'}
    tool_calls: [{name: memory_write, arguments: {text: 'the vault code is 4711', importance: 0.9}}]
  - match: {user: 'recall'}
    tool_calls: [{name: memory_search, arguments: {query: 'vault code'}}]
default:
  reply: 'nothing'
)"};
  const char* spec = R"(
name: vault
tools: [{name: memory_write}, {name: memory_search}]
agents:
  - {name: keeper, tools: [memory_write, memory_search]}
)";
  {
    runtime rt{f.options(), {f.mock->url(), "mock"}};
    auto team = f.spawn(rt, spec);
    REQUIRE(team);
    auto r = team->run({"remember the code"});
    REQUIRE(r);
    CHECK(r->text == "## keeper\nstored");
  }
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = f.spawn(rt, spec);
  REQUIRE(team);
  auto r = team->run({"recall the code"});
  REQUIRE(r);
  CHECK(r->text == "## keeper\nfound 4711");
}

TEST_CASE("a resumed run takes finished tool calls from the journal: nothing is written twice") {
  // The first attempt: the model asks for memory_write, which runs; the next LLM step fails.
  fixture f{R"(
faults:
  - {kind: http_500, match: {history: 'tool: remembered as '}}
rules:
  - match: {user: 'remember'}
    tool_calls: [{name: memory_write, arguments: {text: 'the vault code is 4711', importance: 0.9}}]
)"};
  const char* spec = R"(
name: vault
tools: [{name: memory_write}]
agents:
  - {name: keeper, tools: [memory_write], timeout_ms: 3000}
)";
  {
    runtime rt{f.options(), {f.mock->url(), "mock"}};
    auto team = f.spawn(rt, spec);
    REQUIRE(team);
    auto r = team->run({"remember the code", "run-t"});
    REQUIRE_FALSE(r);
  }
  // The endpoint works again; the run resumes in a new runtime.
  auto healthy = test::start_mock(f.dir, R"(
rules:
  - match: {history: 'tool: remembered as ltm-c'}
    reply: 'stored'
default: {reply: 'the tool ran again, or the call was sent again'}
)",
                                  {}, "healthy.yaml");
  {
    runtime rt{f.options(), {healthy->url(), "mock"}};
    std::atomic<int> written{0}, tool_ends{0};
    auto watching = rt.on_event([&](const event& e) {
      written += e.kind == event_kind::memory_written;
      tool_ends += e.kind == event_kind::tool_call_finished;
    });
    auto r = rt.resume("run-t");
    REQUIRE(r);
    CHECK(r->text == "## keeper\nstored");
    CHECK(healthy->stats().chat_requests == 1); // only the step after the tool
    (void)test::eventually([&] { return tool_ends != 0; }, 1s);
    CHECK(tool_ends == 1); // the model got the tool's answer again...
    CHECK(written == 0);   // ...from the journal: long-term memory was not written again
  }
  auto db = memory::database::open(f.options().data_dir);
  REQUIRE(db);
  memory::journal j{*db};
  auto tools = j.tool_calls("run-t");
  REQUIRE(tools);
  REQUIRE(tools->size() == 1);
  CHECK((*tools)[0].name == "memory_write");
  CHECK((*tools)[0].agent == "vault/keeper");
  CHECK((*tools)[0].arguments.find("4711") != std::string::npos);
  CHECK((*tools)[0].reply.content.rfind("remembered as ltm-c", 0) == 0);
  memory::long_term_store store{*db};
  auto stats = store.stats();
  REQUIRE(stats);
  CHECK(stats->doc_count == 1);
}

TEST_CASE("delegate asks another agent of the swarm and returns its answer to the model") {
  fixture f{R"(
rules:
  - match: {system: '^You are helper'}
    reply: '42'
  - match: {system: '^You are boss', history: 'tool: 42'}
    reply: 'helper says 42'
  - match: {system: '^You are boss', history: 'tool: error: unknown_agent'}
    reply: 'no such helper'
  - match: {system: '^You are boss', user: 'nobody'}
    tool_calls: [{name: delegate, arguments: {agent: nobody, task: 'compute 6*7'}}]
  - match: {system: '^You are boss'}
    tool_calls: [{name: delegate, arguments: {agent: helper, task: 'compute 6*7'}}]
)"};
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = f.spawn(rt, R"(
name: office
tools: [{name: delegate}]
swarm: {architecture: concurrent, members: [boss]}
agents:
  - {name: boss, system_prompt: You are boss., tools: [delegate]}
  - {name: helper, system_prompt: You are helper.}
)");
  REQUIRE(team);
  auto r = team->run({"what is 6*7?"});
  REQUIRE(r);
  CHECK(r->text == "## boss\nhelper says 42");
  auto none = team->run({"ask nobody"});
  REQUIRE(none);
  CHECK(none->text == "## boss\nno such helper");
}

TEST_CASE("with overflow: summarize, turns leaving the window come back as a summary") {
  fixture f{R"(
rules:
  - match: {user: 'Summarize this earlier conversation'}
    reply: 'SUMMARY-OK'
  - match: {history: 'Summary of the earlier conversation: SUMMARY-OK'}
    reply: 'saw the summary'
default:
  reply: 'a long answer that fills the short-term window quickly, sentence after sentence. a long answer that fills the short-term window quickly, sentence after sentence. a long answer that fills the short-term window quickly, sentence after sentence. a long answer that fills the short-term window quickly, sentence after sentence. a long answer that fills the short-term window quickly, sentence after sentence. a long answer that fills the short-term window quickly, sentence after sentence. a long answer that fills the short-term window quickly, sentence after sentence. a long answer that fills the short-term window quickly, sentence after sentence.'
)"};
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  // One run of four turns: an agent's conversation window is its run's (docs/memory.md).
  auto team = f.spawn(rt, R"(
name: talker
memory: {overflow: summarize}
swarm: {architecture: group_chat, max_turns: 4, terminate_on: NEVER-SAID}
agents:
  - {name: t, system_prompt: You are t., short_term_tokens: 256}
)");
  REQUIRE(team);
  auto r = team->run({"talk at length"});
  REQUIRE(r);
  CHECK(r->text == "saw the summary");
}
