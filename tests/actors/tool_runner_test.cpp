// The tool runner and the built-in tools with real bubblewrap, real files and a real HTTP
// server on loopback: permissions, approvals, parallel calls, workspace confinement.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/builtin_tools.hpp"
#include "actors/sandbox.hpp"
#include "actors/tool_runner.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/loopback_server.hpp"
#include "tests/support/sandbox.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace swarm::actors;
using namespace std::chrono_literals;

namespace {

using test::require_sandbox;

tool_decl decl(std::string name) {
  tool_decl d;
  d.name = std::move(name);
  return d;
}

const agent_id alice{"team", "alice"};

// Collects the events a monitor would get.
struct event_log {
  std::mutex mtx;
  std::vector<event> events;
};

monitor_actor::behavior_type log_events(monitor_actor::pointer, std::shared_ptr<event_log> log) {
  return {
      [log](event& e) {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->events.push_back(std::move(e));
      },
      [](subscribe_events&) {},
      [](follow_events&) {},
      [](flush_events) { return true; },
  };
}

struct runner_fixture {
  test::temp_dir root;
  caf::actor_system sys{test::actor_test_config()};
  tool_runner_config cfg;
  tool_runner_actor runner;
  std::shared_ptr<event_log> log = std::make_shared<event_log>();

  runner_fixture() {
    cfg.workspace_root = root.path();
    for (auto name : {"shell", "python", "read_file", "write_file", "list_files"})
      cfg.tools.push_back(decl(name));
    cfg.permissions[alice.str()] = {"shell", "python", "read_file", "write_file", "list_files"};
  }

  ~runner_fixture() {
    if (runner)
      caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
  }

  void start() {
    cfg.monitor = sys.spawn(log_events, log);
    runner = spawn_tool_runner(sys, cfg);
  }

  std::filesystem::path workspace(const std::string& run = "r1") { return root.path() / run; }

  tool_request request(std::string tool, std::string args, std::string run = "r1",
                       agent_id who = alice) {
    static std::atomic<int> next{1};
    return tool_request{
        std::move(run), std::move(who), "t1",
        tool_call{"call-" + std::to_string(next++), std::move(tool), std::move(args)}};
  }

  tool_reply call(tool_request req) {
    caf::scoped_actor self{sys};
    tool_reply out;
    self->request(runner, 60s, std::move(req))
        .receive([&](tool_reply& r) { out = std::move(r); },
                 [&](caf::error& err) { FAIL("request failed: " << describe(err)); });
    return out;
  }

  tool_reply call(std::string tool, std::string args, std::string run = "r1") {
    return call(request(std::move(tool), std::move(args), std::move(run)));
  }
};

std::string error_text(const tool_reply& r) {
  return describe(r.error);
}

// A tiny HTTP server's answers (tests/support/loopback_server.hpp): each connection once, by path.
void answer_by_path(test::loopback_server::connection& c) {
  const auto& req = c.request();
  if (req.rfind("GET /hello ", 0) == 0)
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
  else if (req.rfind("GET /chunked ", 0) == 0)
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  else if (req.rfind("GET /big ", 0) == 0)
    c.send("HTTP/1.1 200 OK\r\n\r\n" + std::string(300 * 1024, 'b'));
  else
    c.send("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
}

} // namespace

TEST_CASE("tool_specs_for offers the agent's declared tools in its order") {
  tool_runner_config cfg;
  cfg.tools = {decl("shell"), decl("read_file")};
  tool_decl custom = decl("weather");
  custom.description = "Weather for a city";
  custom.parameters = R"({"type":"object","properties":{"city":{"type":"string"}}})";
  cfg.tools.push_back(custom);
  cfg.permissions["team/alice"] = {"weather", "shell", "undeclared"};
  auto specs = tool_specs_for(cfg, agent_id{"team", "alice"});
  REQUIRE(specs.size() == 2);
  CHECK(specs[0].name == "weather");
  CHECK(specs[0].description == "Weather for a city");
  CHECK(specs[0].parameters == custom.parameters);
  CHECK(specs[1].name == "shell");
  CHECK(specs[1].parameters.find("\"command\"") != std::string::npos);
  CHECK(tool_specs_for(cfg, agent_id{"team", "bob"}).empty());
}

TEST_CASE("every built-in tool has a spec whose parameters are a JSON schema object") {
  for (const auto& name : builtin_tool_names()) {
    auto spec = builtin_tool_spec(name);
    REQUIRE(spec);
    CHECK(spec->name == name);
    CHECK_FALSE(spec->description.empty());
    CHECK(spec->parameters.rfind(R"({"type":"object")", 0) == 0);
  }
  CHECK_FALSE(builtin_tool_spec("weather"));
}

TEST_CASE("a call outside the agent's list is refused, naming tool and agent") {
  runner_fixture f;
  f.cfg.tools.push_back(decl("http_get"));
  f.start();
  auto r = f.call(f.request("http_get", R"({"url":"http://x/"})"));
  CHECK(is(r.error, errc::tool_refused));
  CHECK(error_text(r).find("agent 'team/alice' may not call tool 'http_get'") != std::string::npos);
  auto other = f.call(f.request("shell", R"({"command":"true"})", "r1", agent_id{"team", "eve"}));
  CHECK(is(other.error, errc::tool_refused));
  CHECK(error_text(other).find("'team/eve'") != std::string::npos);
  CHECK(error_text(other).find("it may call no tools") != std::string::npos);
  // Refusals are events too: requested, rejected (with the reason), finished with the error.
  REQUIRE(test::eventually([&] {
    std::lock_guard<std::mutex> guard{f.log->mtx};
    return f.log->events.size() == 6;
  }));
  std::lock_guard<std::mutex> guard{f.log->mtx};
  const auto& xs = f.log->events;
  CHECK(xs[1].kind == event_kind::tool_call_rejected);
  CHECK(xs[1].text.find("may not call tool 'http_get'") != std::string::npos);
  CHECK(xs[2].kind == event_kind::tool_call_finished);
  CHECK(is(xs[2].error, errc::tool_refused));
}

TEST_CASE("shell and python run sandboxed through the runner, and emit events") {
  require_sandbox();
  runner_fixture f;
  f.start();
  auto echo = f.call("shell", R"j({"command":"echo hello from $(pwd)"})j");
  CHECK_FALSE(echo.error);
  CHECK(echo.content == "hello from /workspace\n");
  auto py = f.call("python", R"j({"code":"print(6 * 7)"})j");
  CHECK_FALSE(py.error);
  CHECK(py.content == "42\n");
  auto bad = f.call("python", R"j({"code":"raise ValueError('boom')"})j");
  CHECK(is(bad.error, errc::tool_failed));
  CHECK(error_text(bad).find("exit code 1") != std::string::npos);
  CHECK(error_text(bad).find("ValueError: boom") != std::string::npos);
  REQUIRE(test::eventually([&] {
    std::lock_guard<std::mutex> guard{f.log->mtx};
    return f.log->events.size() == 6;
  }));
  std::lock_guard<std::mutex> guard{f.log->mtx};
  const auto& xs = f.log->events; // each call: requested, then finished
  CHECK(xs[0].kind == event_kind::tool_call_requested);
  CHECK(xs[0].name == "shell");
  CHECK(xs[0].arguments.find("pwd") != std::string::npos);
  CHECK(xs[1].kind == event_kind::tool_call_finished);
  CHECK(xs[1].name == "shell");
  CHECK(xs[1].text == "hello from /workspace\n");
  CHECK(xs[1].agent == alice);
  CHECK(xs[1].run_id == "r1");
  CHECK(xs[3].name == "python");
  CHECK(xs[3].text == "42\n");
  CHECK(xs[5].kind == event_kind::tool_call_finished);
  CHECK(is(xs[5].error, errc::tool_failed));
}

TEST_CASE("a program stopped for its output says so, not just its exit code 137") {
  require_sandbox();
  runner_fixture f;
  for (auto& d : f.cfg.tools)
    if (d.name == "shell")
      d.sandbox.max_output_kb = 4; // killed past max(16 x 4 KiB, 1 MiB)
  f.start();
  auto r = f.call("shell", R"j({"command":"head -c 5000000 /dev/zero | tr '\\0' x"})j");
  CHECK(is(r.error, errc::tool_failed));
  auto text = error_text(r);
  CHECK_THAT(text, Catch::StartsWith("tool_failed: shell: stopped: its output passed the cap of "
                                     "1048576 bytes"));
  CHECK_THAT(text, !Catch::Contains("exit code 137"));
  CHECK(text.size() < 3 * 4096 + 512); // the first 4 KiB of each stream, not 5 MB
}

TEST_CASE("file tools round trip inside the run's workspace, shared with programs") {
  require_sandbox();
  runner_fixture f;
  f.start();
  auto w = f.call("write_file", R"({"path":"notes/plan.md","content":"step 1\n"})");
  CHECK_FALSE(w.error);
  CHECK(w.content == "wrote 7 bytes to notes/plan.md");
  CHECK(std::filesystem::exists(f.workspace() / "notes" / "plan.md"));
  auto r = f.call("read_file", R"({"path":"./notes//plan.md"})");
  CHECK_FALSE(r.error);
  CHECK(r.content == "step 1\n");
  // A program sees the file and may change it (it is handed to the sandbox user).
  auto sh = f.call("shell", R"({"command":"echo step 2 >> notes/plan.md && echo made > out.txt"})");
  CHECK_FALSE(sh.error);
  CHECK(f.call("read_file", R"({"path":"notes/plan.md"})").content == "step 1\nstep 2\n");
  auto ls = f.call("list_files", "{}");
  CHECK(ls.content == "notes/\nout.txt (5 bytes)\n");
  CHECK(f.call("list_files", R"({"path":"notes"})").content == "plan.md (14 bytes)\n");
  // Runs do not share workspaces.
  CHECK(f.call("list_files", "{}", "r2").content == "(empty directory)\n");
}

TEST_CASE("file tools refuse absolute paths and '..' escapes") {
  runner_fixture f;
  f.start();
  std::ofstream{f.root.path() / "outside.txt"} << "secret";
  auto abs = f.call("read_file", R"({"path":"/etc/passwd"})");
  CHECK(is(abs.error, errc::tool_failed));
  CHECK(error_text(abs).find("'/etc/passwd' is absolute") != std::string::npos);
  auto up = f.call("read_file", R"({"path":"../outside.txt"})");
  CHECK(is(up.error, errc::tool_failed));
  CHECK(error_text(up).find("leaves the workspace") != std::string::npos);
  auto deep = f.call("write_file", R"({"path":"a/../../outside.txt","content":"x"})");
  CHECK(is(deep.error, errc::tool_failed));
  CHECK(error_text(deep).find("leaves the workspace") != std::string::npos);
  auto ls = f.call("list_files", R"({"path":".."})");
  CHECK(is(ls.error, errc::tool_failed));
  std::ifstream in{f.root.path() / "outside.txt"};
  std::string text;
  in >> text;
  CHECK(text == "secret");
}

TEST_CASE("file tools refuse symbolic links that lead outside the workspace") {
  runner_fixture f;
  f.start();
  test::temp_dir outside;
  auto secret = outside.write("secret.txt", "top secret");
  auto ws = run_workspace(f.root.path(), "r1");
  REQUIRE(ws);
  std::filesystem::create_symlink(secret, *ws / "link.txt");
  std::filesystem::create_directory_symlink(outside.path(), *ws / "linkdir");
  auto file = f.call("read_file", R"({"path":"link.txt"})");
  CHECK(is(file.error, errc::tool_failed));
  CHECK(error_text(file).find("'link.txt' is a symbolic link") != std::string::npos);
  auto dir = f.call("read_file", R"({"path":"linkdir/secret.txt"})");
  CHECK(is(dir.error, errc::tool_failed));
  CHECK(error_text(dir).find("'linkdir' is a symbolic link") != std::string::npos);
  auto write = f.call("write_file", R"({"path":"link.txt","content":"pwned"})");
  CHECK(is(write.error, errc::tool_failed));
  auto write_dir = f.call("write_file", R"({"path":"linkdir/new.txt","content":"pwned"})");
  CHECK(is(write_dir.error, errc::tool_failed));
  auto ls = f.call("list_files", R"({"path":"linkdir"})");
  CHECK(is(ls.error, errc::tool_failed));
  CHECK(f.call("list_files", "{}").content ==
        "link.txt (symbolic link)\nlinkdir (symbolic link)\n");
  std::ifstream in{secret};
  std::string text;
  std::getline(in, text);
  CHECK(text == "top secret");
  CHECK_FALSE(std::filesystem::exists(outside.path() / "new.txt"));
}

TEST_CASE("bad tool arguments fail with a message the model can act on") {
  runner_fixture f;
  f.start();
  auto not_json = f.call("shell", "{command: ls");
  CHECK(is(not_json.error, errc::tool_failed));
  CHECK(error_text(not_json).find("shell: the arguments are not valid JSON") != std::string::npos);
  auto array = f.call("shell", "[1]");
  CHECK(error_text(array).find("must be a JSON object") != std::string::npos);
  auto missing = f.call("write_file", R"({"path":"a.txt"})");
  CHECK(error_text(missing).find("missing argument 'content' (a string)") != std::string::npos);
  auto wrong = f.call("read_file", R"({"path":42})");
  CHECK(error_text(wrong).find("argument 'path' must be a string, got a number") !=
        std::string::npos);
  auto no_file = f.call("read_file", R"({"path":"nope.txt"})");
  CHECK(error_text(no_file).find("'nope.txt' does not exist") != std::string::npos);
  auto bad_run = f.call("read_file", R"({"path":"a.txt"})", "../r1");
  CHECK(is(bad_run.error, errc::tool_failed));
  CHECK(error_text(bad_run).find("run id '../r1' cannot name a workspace") != std::string::npos);
}

TEST_CASE("http_get fetches from an allowed loopback host and refuses the others") {
  test::loopback_server server{answer_by_path};
  runner_fixture f;
  tool_decl http = decl("http_get");
  http.allow_hosts = {"127.0.0.1"};
  http.sandbox.max_output_kb = 100;
  f.cfg.tools.push_back(http);
  f.cfg.permissions[alice.str()].push_back("http_get");
  f.start();
  auto ok = f.call("http_get", R"({"url":")" + server.url("/hello") + R"("})");
  CHECK_FALSE(ok.error);
  CHECK(ok.content == "HTTP/1.1 200 OK\n\nhello world");
  auto chunked = f.call("http_get", R"({"url":")" + server.url("/chunked") + R"("})");
  CHECK(chunked.content == "HTTP/1.1 200 OK\n\nhello world");
  auto big = f.call("http_get", R"({"url":")" + server.url("/big") + R"("})");
  CHECK(big.content.size() < 110 * 1024);
  CHECK(big.content.find("[... body cut at 100 KiB]") != std::string::npos);
  auto missing = f.call("http_get", R"({"url":")" + server.url("/nope") + R"("})");
  CHECK(is(missing.error, errc::tool_failed));
  CHECK(error_text(missing).find("404 Not Found") != std::string::npos);
  auto seen = server.connections();
  CHECK(seen == 4);
  auto refused = f.call("http_get", R"({"url":"http://localhost:)" + std::to_string(server.port()) +
                                        R"(/hello"})");
  CHECK(is(refused.error, errc::tool_refused));
  CHECK(error_text(refused).find("host 'localhost' is not in this tool's allow_hosts") !=
        std::string::npos);
  auto https = f.call("http_get", R"({"url":"https://127.0.0.1/"})");
  CHECK(is(https.error, errc::tool_failed));
  CHECK(error_text(https).find("only http:// is supported") != std::string::npos);
  CHECK(server.connections() == seen); // nothing reached the server
}

TEST_CASE("http_get allows no host by default") {
  test::loopback_server server{answer_by_path};
  runner_fixture f;
  f.cfg.tools.push_back(decl("http_get"));
  f.cfg.permissions[alice.str()].push_back("http_get");
  f.start();
  auto r = f.call("http_get", R"({"url":")" + server.url("/hello") + R"("})");
  CHECK(is(r.error, errc::tool_refused));
  CHECK(error_text(r).find("(none are allowed)") != std::string::npos);
  CHECK(server.connections() == 0);
}

TEST_CASE("a tool that needs approval waits; approve runs it, reject tells the model why") {
  require_sandbox();
  runner_fixture f;
  f.cfg.tools[0].needs_approval = true; // shell
  f.start();
  caf::scoped_actor self{f.sys};
  auto list = [&] {
    std::vector<pending_approval> out;
    self->request(f.runner, 10s, list_approvals{})
        .receive([&](std::vector<pending_approval>& xs) { out = std::move(xs); },
                 [&](caf::error& err) { FAIL(describe(err)); });
    return out;
  };
  auto decide = [&](approval_decision d) {
    caf::error failure;
    self->request(f.runner, 10s, std::move(d))
        .receive([&](bool) {}, [&](caf::error& err) { failure = std::move(err); });
    return failure;
  };
  self->send(f.runner, f.request("shell", R"({"command":"echo approved > ran.txt; echo yes"})"));
  self->send(f.runner, f.request("shell", R"({"command":"echo rejected > ran.txt"})"));
  std::vector<pending_approval> waiting;
  REQUIRE(test::eventually([&] { return (waiting = list()).size() == 2; }));
  CHECK(waiting[0].agent == alice);
  CHECK(waiting[0].call.arguments.find("approved") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.workspace() / "ran.txt"));
  CHECK_FALSE(decide(approval_decision{waiting[1].id, false, "too risky"}));
  CHECK_FALSE(decide(approval_decision{waiting[0].id, true, ""}));
  std::vector<tool_reply> replies;
  for (int i = 0; i < 2; ++i)
    self->receive([&](tool_reply& r) { replies.push_back(std::move(r)); },
                  caf::after(30s) >> [&] { FAIL("no tool_reply"); });
  REQUIRE(replies.size() == 2);
  auto rejected = replies[0].error ? replies[0] : replies[1];
  auto approved = replies[0].error ? replies[1] : replies[0];
  CHECK(is(rejected.error, errc::approval_rejected));
  CHECK(describe(rejected.error).find("too risky") != std::string::npos);
  CHECK_FALSE(approved.error);
  CHECK(approved.content == "yes\n");
  std::ifstream in{f.workspace() / "ran.txt"};
  std::string text;
  in >> text;
  CHECK(text == "approved");
  CHECK(list().empty());
  auto unknown = decide(approval_decision{waiting[0].id, true, ""});
  CHECK(is(unknown, errc::invalid_argument));
  CHECK(describe(unknown).find("no tool call with approval id") != std::string::npos);
}

TEST_CASE("tool calls run in parallel: two calls that wait for each other both finish") {
  require_sandbox();
  runner_fixture f;
  SECTION("with two slots both finish") {
    f.cfg.tools[0].sandbox.timeout = 20s;
    f.start();
    caf::scoped_actor self{f.sys};
    self->send(
        f.runner,
        f.request("shell",
                  R"({"command":"touch a; while [ ! -e b ]; do sleep 0.02; done; echo A"})"));
    self->send(
        f.runner,
        f.request("shell",
                  R"({"command":"touch b; while [ ! -e a ]; do sleep 0.02; done; echo B"})"));
    std::vector<std::string> got;
    for (int i = 0; i < 2; ++i)
      self->receive([&](tool_reply& r) { got.push_back(r.error ? describe(r.error) : r.content); },
                    caf::after(30s) >> [&] { FAIL("no tool_reply"); });
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::string>{"A\n", "B\n"});
  }
  SECTION("with one slot the first times out: the test can tell") {
    f.cfg.tools[0].sandbox.timeout = 1s;
    f.cfg.max_parallel = 1;
    f.start();
    caf::scoped_actor self{f.sys};
    self->send(
        f.runner,
        f.request("shell",
                  R"({"command":"touch a; while [ ! -e b ]; do sleep 0.02; done; echo A"})"));
    self->send(
        f.runner,
        f.request("shell",
                  R"({"command":"touch b; while [ ! -e a ]; do sleep 0.02; done; echo B"})"));
    std::vector<tool_reply> got;
    for (int i = 0; i < 2; ++i)
      self->receive([&](tool_reply& r) { got.push_back(std::move(r)); },
                    caf::after(30s) >> [&] { FAIL("no tool_reply"); });
    REQUIRE(got.size() == 2);
    CHECK(is(got[0].error, errc::tool_timeout));
    CHECK(got[1].content == "B\n");
  }
}

TEST_CASE("custom tools get their arguments as JSON on stdin") {
  require_sandbox();
  runner_fixture f;
  tool_decl custom = decl("reverse");
  custom.description = "Reverses text";
  custom.parameters = R"({"type":"object","properties":{"text":{"type":"string"}}})";
  custom.command = {"python3", "-c", "import json, sys; print(json.load(sys.stdin)['text'][::-1])"};
  f.cfg.tools.push_back(custom);
  f.cfg.permissions[alice.str()].push_back("reverse");
  f.start();
  auto r = f.call("reverse", R"({"text":"stressed"})");
  CHECK_FALSE(r.error);
  CHECK(r.content == "desserts\n");
}

TEST_CASE("delegated tools answer through hooks, and are unavailable without one") {
  runner_fixture f;
  f.cfg.tools.push_back(decl("memory_search"));
  f.cfg.tools.push_back(decl("delegate"));
  f.cfg.permissions[alice.str()].push_back("memory_search");
  f.cfg.permissions[alice.str()].push_back("delegate");
  f.cfg.hooks["memory_search"] = [](const tool_request& req) -> caf::expected<std::string> {
    return "found for " + req.agent.str() + ": " + req.call.arguments;
  };
  f.start();
  auto found = f.call("memory_search", R"({"query":"caf"})");
  CHECK_FALSE(found.error);
  CHECK(found.content == R"(found for team/alice: {"query":"caf"})");
  auto del = f.call("delegate", R"({"agent":"bob","task":"x"})");
  CHECK(is(del.error, errc::tool_unavailable));
  CHECK(describe(del.error).find("delegate is not connected") != std::string::npos);
}

TEST_CASE("without a working bubblewrap, program tools are unavailable and nothing runs") {
  runner_fixture f;
  f.cfg.bwrap = "/nonexistent/bwrap";
  f.start();
  auto r = f.call("shell", R"({"command":"touch ran"})");
  CHECK(is(r.error, errc::tool_unavailable));
  CHECK(describe(r.error).find("bubblewrap not found") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.workspace() / "ran"));
  // File tools do not need the sandbox.
  CHECK_FALSE(f.call("write_file", R"({"path":"a.txt","content":"x"})").error);
}
