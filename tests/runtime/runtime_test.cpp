// The embedding API end to end: spec -> runtime -> swarm_handle::run against the mock LLM.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

const char* spec_text = R"(
name: panel
agents:
  - name: pro
    system_prompt: You are pro.
  - name: con
    system_prompt: You are con.
)";

const char* script_text = R"(
rules:
  - match: {system: '^You are pro'}
    reply: 'yes to {{user}}'
  - match: {system: '^You are con'}
    reply: 'no to {{user}}'
)";

struct fixture {
  test::temp_dir dir;
  std::unique_ptr<mock_llm::server> mock;

  explicit fixture(const std::string& script = script_text) {
    auto srv = mock_llm::server::start({.script_path = dir.write("mock.yaml", script)});
    REQUIRE(srv);
    mock = std::move(*srv);
  }

  runtime_options options() const {
    runtime_options opts;
    opts.data_dir = (dir.path() / "state").string();
    opts.scheduler_threads = 2;
    opts.llm.backoff_base = 1ms;
    opts.llm.backoff_max = 5ms;
    return opts;
  }
};

} // namespace

TEST_CASE("a spawned swarm runs a task and returns every member's answer") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto spec = load_spec_text(spec_text);
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  CHECK(team->name() == "panel");
  CHECK(team->agents() == std::vector<std::string>{"pro", "con"});
  auto r = team->run({"tabs or spaces?"});
  REQUIRE(r);
  REQUIRE(r->trace.size() == 2);
  CHECK(r->trace[0].text == "yes to tabs or spaces?");
  CHECK(r->trace[1].text == "no to tabs or spaces?");
  CHECK(r->text == "## pro\nyes to tabs or spaces?\n\n## con\nno to tabs or spaces?");
  CHECK(r->use.calls == 2);
  CHECK(f.mock->stats().chat_requests == 2);
}

TEST_CASE("events report each agent's start and completion") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  std::mutex mtx;
  std::vector<event> seen;
  rt.on_event([&](const event& e) {
    std::lock_guard<std::mutex> guard{mtx};
    seen.push_back(e);
  });
  auto team = rt.spawn(*load_spec_text(spec_text));
  REQUIRE(team);
  REQUIRE(team->run({"q", "run-42"}));
  auto count = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    size_t n = 0;
    for (const auto& e : seen)
      n += e.kind == event_kind::task_completed && e.leaf && e.run_id == "run-42";
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (count() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  CHECK(count() == 2);
}

TEST_CASE("when every member fails, run is an error that names the cause") {
  fixture f{"faults:\n  - {kind: http_500}\n"};
  runtime_options opts = f.options();
  opts.llm.max_retries = 1;
  runtime rt{opts, {f.mock->url(), "mock"}};
  auto team = rt.spawn(*load_spec_text(spec_text));
  REQUIRE(team);
  auto r = team->run({"q"});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::all_members_failed));
  CHECK(describe(r.error()).find("llm_http_error") != std::string::npos);
}

TEST_CASE("a swarm without an endpoint is refused before anything is spawned") {
  fixture f;
  runtime rt{f.options()};
  auto spec = load_spec_text(spec_text);
  REQUIRE(spec);
  // The environment may carry OPENAI_BASE_URL on a developer machine; this test needs none.
  if (!read_env("OPENAI_BASE_URL").empty())
    return;
  auto team = rt.spawn(*spec);
  REQUIRE_FALSE(team);
  CHECK(is(team.error(), errc::no_endpoint));
}

TEST_CASE("dm reaches only a named agent and unknown names are an error") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = rt.spawn(*load_spec_text(spec_text));
  REQUIRE(team);
  CHECK_FALSE(team->dm("pro", "be brief"));
  auto err = team->dm("ghost", "hello?");
  REQUIRE(err);
  CHECK(is(err, errc::unknown_agent));
}

TEST_CASE("a stopped runtime refuses new runs with runtime_stopped") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = rt.spawn(*load_spec_text(spec_text));
  REQUIRE(team);
  rt.stop();
  auto r = team->run({"q"});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::runtime_stopped));
}
