// Runs that survive their process: the run journal and runtime::resume, record/replay, and the
// errors of each (unknown run, no data directory, a directory that is not ours, a missing
// recording entry).
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

const char* spec_text = R"(
name: relay
swarm: {architecture: sequential}
agents:
  - {name: first, system_prompt: You are first.}
  - {name: second, system_prompt: You are second.}
  - {name: third, system_prompt: You are third.}
)";

struct fixture {
  test::temp_dir dir;
  std::unique_ptr<mock_llm::server> mock;

  fixture() {
    auto srv = mock_llm::server::start(
        {.script_path = dir.write("mock.yaml", "default: {reply: 'reply #{{n}}'}\n")});
    REQUIRE(srv);
    mock = std::move(*srv);
  }

  runtime_options options() const {
    runtime_options opts;
    opts.data_dir = (dir.path() / "state").string();
    opts.scheduler_threads = 2;
    return opts;
  }

  caf::expected<result> run_once(runtime_options opts, const std::string& run_id,
                                 const std::string& text = "relay this") {
    runtime rt{std::move(opts), {mock->url(), "mock"}};
    auto spec = load_spec_text(spec_text, "relay.yaml");
    REQUIRE(spec);
    auto team = rt.spawn(*spec);
    REQUIRE(team);
    return team->run({text, run_id, {}});
  }
};

} // namespace

TEST_CASE("a resumed run takes every finished call from the journal") {
  fixture f;
  auto first = f.run_once(f.options(), "run-a");
  REQUIRE(first);
  CHECK(f.mock->stats().chat_requests == 3);
  // A new runtime (a new process, as far as the runtime can tell) resumes the run.
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto again = rt.resume("run-a");
  REQUIRE(again);
  CHECK(again->text == first->text);
  CHECK(again->task_id == first->task_id);
  CHECK(again->use.calls == 3);
  CHECK(f.mock->stats().chat_requests == 3); // nothing sent again
}

TEST_CASE("the journal keeps the run's header, its calls and every coordinator step") {
  fixture f;
  auto r = f.run_once(f.options(), "run-b");
  REQUIRE(r);
  auto db = memory::database::open(f.options().data_dir);
  REQUIRE(db);
  memory::journal j{*db};
  auto header = j.get_run("run-b");
  REQUIRE(header);
  REQUIRE(*header);
  CHECK((*header)->status == "done");
  CHECK((*header)->result_text == r->text);
  CHECK((*header)->spec_source == "relay.yaml");
  CHECK((*header)->spec_text == spec_text);
  auto calls = j.calls("run-b");
  REQUIRE(calls);
  REQUIRE(calls->size() == 3);
  auto steps = j.steps("run-b");
  REQUIRE(steps);
  // The sequential root acted on three member answers, in order.
  REQUIRE(steps->size() == 3);
  CHECK((*steps)[0].task_id == r->task_id + ".first");
  CHECK((*steps)[2].agent == "relay/third");
  CHECK((*steps)[2].text == r->text);
}

TEST_CASE("resume without the run, or without a journal, says so") {
  fixture f;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto none = rt.resume("never-ran");
  REQUIRE(!none);
  CHECK(is(none.error(), errc::unknown_run));
  CHECK(describe(none.error()).find("never-ran") != std::string::npos);
  auto opts = f.options();
  opts.data_dir.clear();
  runtime memoryless{opts, {f.mock->url(), "mock"}};
  auto no_journal = memoryless.resume("run-a");
  REQUIRE(!no_journal);
  CHECK(is(no_journal.error(), errc::unknown_run));
  CHECK(describe(no_journal.error()).find("no run journal") != std::string::npos);
}

TEST_CASE("a data directory that is not ours is refused, and left as it was") {
  fixture f;
  auto foreign = f.dir.path() / "foreign";
  std::filesystem::create_directories(foreign / "memory");
  {
    std::ofstream out{foreign / "memory" / "notes.txt"};
    out << "someone else's file\n";
  }
  auto opts = f.options();
  opts.data_dir = foreign.string();
  auto rt = runtime::open(opts);
  REQUIRE(!rt);
  CHECK(describe(rt.error()).find(foreign.string()) != std::string::npos);
  CHECK(std::filesystem::exists(foreign / "memory" / "notes.txt"));
  CHECK_THROWS_AS(runtime(opts), std::runtime_error);
}

TEST_CASE("a recorded run replays offline, and a request the recording lacks is named") {
  fixture f;
  auto cassette = (f.dir.path() / "run.jsonl").string();
  auto rec = f.options();
  rec.data_dir.clear();
  rec.record_file = cassette;
  auto recorded = f.run_once(rec, "rec-1");
  REQUIRE(recorded);
  auto sent = f.mock->stats().chat_requests;
  CHECK(sent == 3);
  f.mock->stop(); // offline from here on
  auto play = f.options();
  play.data_dir.clear();
  play.replay_file = cassette;
  auto replayed = f.run_once(play, "rec-2");
  REQUIRE(replayed);
  CHECK(replayed->text == recorded->text);
  CHECK(replayed->use.prompt_tokens == recorded->use.prompt_tokens);
  auto other = f.run_once(play, "rec-3", "a task never recorded");
  REQUIRE(!other);
  // The first agent's request is missing; the error says which agent, task and text.
  auto why = describe(other.error());
  CHECK(why.find("replay_missing") != std::string::npos);
  CHECK(why.find("relay/first") != std::string::npos);
  CHECK(why.find("a task never recorded") != std::string::npos);
  auto both = f.options();
  both.record_file = cassette;
  both.replay_file = cassette;
  auto refused = runtime::open(both);
  REQUIRE(!refused);
  CHECK(is(refused.error(), errc::invalid_argument));
}

TEST_CASE("stopping the runtime in the middle of a run ends the run, and it can resume") {
  fixture f;
  auto slow = f.dir.write("slow.yaml", "latency: {fixed_ms: 300}\ndefault: {reply: 'late'}\n");
  auto srv = mock_llm::server::start({.script_path = slow});
  REQUIRE(srv);
  auto opts = f.options();
  caf::expected<result> out{make_error(errc::none)};
  {
    runtime rt{opts, {(*srv)->url(), "mock"}};
    auto spec = load_spec_text(spec_text, "relay.yaml");
    REQUIRE(spec);
    auto team = rt.spawn(*spec);
    REQUIRE(team);
    auto running = std::async(std::launch::async, [&] { return team->run({"go", "run-s", {}}); });
    for (int i = 0; i < 500 && (*srv)->stats().in_flight == 0; ++i)
      std::this_thread::sleep_for(5ms);
    rt.stop();
    // The swarm's actors exit with the answer still promised: the run must end anyway.
    REQUIRE(running.wait_for(20s) == std::future_status::ready);
    out = running.get();
  }
  REQUIRE(!out);
  CHECK(is(out.error(), errc::runtime_stopped));
  runtime rt{opts, {(*srv)->url(), "mock"}};
  auto resumed = rt.resume("run-s");
  REQUIRE(resumed);
  CHECK(resumed->text == "late");
}
