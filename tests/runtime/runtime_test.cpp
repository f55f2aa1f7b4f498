// The embedding API end to end: spec -> runtime -> swarm_handle::run against the mock LLM.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"
#include "runtime/core/run_id.hpp"
#include "runtime/core/step_log.hpp"
#include "runtime/core/types.hpp"
#include "runtime/monitor.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_runtime.hpp"

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

struct fixture : test::mock_runtime {
  explicit fixture(const std::string& script = script_text) : mock_runtime(script) {}
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
  auto watching = rt.on_event([&](const event& e) {
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
      n += e.kind == event_kind::member_finished && e.leaf && e.run_id == "run-42";
    return n;
  };
  (void)test::eventually([&] { return count() >= 2; }, 5s);
  CHECK(count() == 2);
}

TEST_CASE("the runtime's monitor is sent events only while someone listens") {
  swarm_config cfg;
  register_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  auto listeners = std::make_shared<std::atomic<int64_t>>(0);
  cfg.event_listeners = listeners;
  caf::actor_system sys{cfg};
  auto m = spawn_monitor(sys);
  CHECK_FALSE(events_wanted(m)); // counted, no listener: senders skip it
  ++*listeners;
  CHECK(events_wanted(m));
  --*listeners;
  CHECK_FALSE(events_wanted(m));
  CHECK_FALSE(events_wanted(monitor_actor{}));
  // A monitor in a system that counts no listeners (a test's own) gets every event.
  caf::actor_system plain{test::actor_test_config()};
  auto own = spawn_monitor(plain);
  CHECK(events_wanted(own));
  caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(own, caf::exit_reason::user_shutdown);
}

TEST_CASE("a listener added after a quiet run sees every event of the next run, none after it "
          "cancels") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = rt.spawn(*load_spec_text(spec_text));
  REQUIRE(team);
  REQUIRE(team->run({"q", "run-quiet"})); // nobody listens: no event is sent
  std::mutex mtx;
  std::vector<event> seen;
  auto watching = rt.on_event([&](const event& e) {
    std::lock_guard<std::mutex> guard{mtx};
    seen.push_back(e);
  });
  REQUIRE(team->run({"q", "run-heard"}));
  auto count = [&](event_kind kind) {
    std::lock_guard<std::mutex> guard{mtx};
    size_t n = 0;
    for (const auto& e : seen)
      n += e.kind == kind && e.leaf && e.run_id == "run-heard";
    return n;
  };
  (void)test::eventually([&] { return count(event_kind::member_finished) >= 2; }, 5s);
  CHECK(count(event_kind::llm_call_started) == 2);
  CHECK(count(event_kind::llm_call_finished) == 2);
  CHECK(count(event_kind::member_finished) == 2);
  watching.cancel();
  REQUIRE(team->run({"q", "run-after"}));
  std::lock_guard<std::mutex> guard{mtx};
  for (const auto& e : seen)
    CHECK(e.run_id != "run-after");
}

TEST_CASE("a cancelled event subscription is never called again, even with events in flight") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = rt.spawn(*load_spec_text(spec_text));
  REQUIRE(team);
  for (int round = 0; round < 20; ++round) {
    // A slow callback: events queue up behind it while cancel() runs.
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto live = std::make_shared<std::atomic<bool>>(true);
    auto late = std::make_shared<std::atomic<int>>(0);
    auto watching = rt.on_event([calls, live, late](const event&) {
      *late += !*live;
      ++*calls;
      std::this_thread::sleep_for(1ms);
    });
    std::thread runner{[&] { (void)team->run({"q"}); }};
    for (int i = 0; i < 400 && *calls == 0; ++i)
      std::this_thread::sleep_for(1ms);
    watching.cancel();
    *live = false;
    runner.join();
    std::this_thread::sleep_for(5ms);
    CHECK(*late == 0);
  }
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

TEST_CASE("a malformed endpoint URL is refused at spawn, naming the agent and a fix") {
  fixture f;
  auto bare = "http://127.0.0.1:" + std::to_string(f.mock->port()); // no /v1
  runtime rt{f.options(), {bare, "mock"}};
  auto team = rt.spawn(*load_spec_text(spec_text));
  REQUIRE_FALSE(team);
  CHECK(is(team.error(), errc::invalid_argument));
  CHECK_THAT(describe(team.error()),
             Catch::Contains("agent 'pro'") && Catch::Contains("did you mean " + bare + "/v1?"));
  CHECK(rt.swarms().empty());
}

TEST_CASE("a run id that cannot name a directory is refused before the run starts") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto team = rt.spawn(*load_spec_text(spec_text));
  REQUIRE(team);
  std::vector<std::string> bad{"..", ".", "a/b", "a b", "tab\there", std::string(129, 'r')};
  for (const auto& id : bad) {
    auto r = team->run({"q", id});
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_argument));
    CHECK(describe(r.error()) == "invalid_argument: " + run_id_problem(id));
  }
  CHECK(f.mock->stats().chat_requests == 0);
  CHECK(team->run({"q", std::string(128, 'r')}));
  CHECK(team->run({"q", "Run-1.ok_2"}));
}

TEST_CASE("a replaying runtime needs no endpoint and answers from the recording") {
  if (!read_env("OPENAI_BASE_URL").empty())
    return; // this test needs no endpoint anywhere
  fixture f;
  auto recording = (f.dir.path() / "calls.jsonl").string();
  std::string recorded;
  {
    auto opts = f.options();
    opts.record_file = recording;
    runtime rt{opts, {f.mock->url(), "mock"}};
    auto r = rt.spawn(*load_spec_text(spec_text))->run({"replay me"});
    REQUIRE(r);
    recorded = r->text;
  }
  auto opts = f.options();
  opts.data_dir = (f.dir.path() / "state2").string();
  opts.replay_file = recording;
  runtime rt{opts, {"", "mock"}}; // no URL in flags, spec or environment
  auto team = rt.spawn(*load_spec_text(spec_text));
  INFO((team ? std::string{} : describe(team.error())));
  REQUIRE(team);
  auto r = team->run({"replay me"});
  REQUIRE(r);
  CHECK(r->text == recorded);
  CHECK(f.mock->stats().chat_requests == 2); // the recording's calls only
}

TEST_CASE("spending says whether the cost is known: a model without a price is not free") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto unpriced = rt.spawn(*load_spec_text(spec_text));
  REQUIRE(unpriced);
  REQUIRE(unpriced->run({"q"}));
  CHECK_FALSE(unpriced->spent().cost_known);
  for (const auto& [name, s] : unpriced->spent_per_agent())
    CHECK_FALSE(s.cost_known);
  auto priced = rt.spawn(*load_spec_text(std::string{spec_text} + R"(
resources:
  prices:
    - {model: mock, prompt: 0, completion: 0}
)"));
  REQUIRE(priced);
  REQUIRE(priced->run({"q"}));
  CHECK(priced->spent().cost_known);
  CHECK(priced->spent().cost_usd == 0);
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
