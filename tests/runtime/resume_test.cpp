// Runs that survive their process: the run journal and runtime::resume, record/replay, and the
// errors of each (unknown run, no data directory, a directory that is not ours, a missing
// recording entry); run ids already taken (run_mode), and what a resumed run keeps of its first
// attempt (overrides, environment).
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <thread>

#include <catch2/catch.hpp>

#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/run_records.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_runtime.hpp"

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

struct fixture : test::mock_runtime {
  fixture() : mock_runtime("default: {reply: 'reply #{{n}}'}\n") {}

  caf::expected<result> run_once(runtime_options opts, const std::string& run_id,
                                 const std::string& text = "relay this") {
    runtime rt{std::move(opts), overrides()};
    auto team = spawn(rt, spec_text, "relay.yaml");
    REQUIRE(team);
    return team->run({text, run_id, {}});
  }
};

/// Runs `start` (a run in `rt`) on another thread and stops `rt` once `srv` has received
/// `requests` chat requests in all: a run cut off half-way. Returns the run's outcome.
caf::expected<result> stop_after(runtime& rt, mock_llm::server& srv, uint64_t requests,
                                 std::function<caf::expected<result>()> start) {
  auto running = std::async(std::launch::async, std::move(start));
  (void)test::eventually([&] { return srv.stats().chat_requests >= requests; }, 10s);
  CHECK(srv.stats().chat_requests >= requests);
  rt.stop();
  REQUIRE(running.wait_for(20s) == std::future_status::ready);
  return running.get();
}

/// The run's header and the models of its journaled calls, read with no runtime open.
std::pair<memory::run_record, std::vector<std::string>> journaled(const runtime_options& opts,
                                                                  const std::string& run_id) {
  auto db = memory::database::open(opts.data_dir);
  REQUIRE(db);
  memory::journal j{*db};
  auto header = j.get_run(run_id);
  REQUIRE(header);
  REQUIRE(*header);
  auto calls = j.calls(run_id);
  REQUIRE(calls);
  std::vector<std::string> models;
  for (const auto& c : *calls)
    models.push_back(c.model);
  return {**header, models};
}

/// Sets an environment variable for the scope; restores it after.
class scoped_env {
public:
  scoped_env(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str()))
      old_ = old;
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~scoped_env() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

private:
  std::string name_;
  std::optional<std::string> old_;
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
  auto srv = test::start_mock(f.dir, "latency: {fixed_ms: 300}\ndefault: {reply: 'late'}\n", {},
                              "slow.yaml");
  auto opts = f.options();
  caf::expected<result> out{make_error(errc::none)};
  {
    runtime rt{opts, {srv->url(), "mock"}};
    auto spec = load_spec_text(spec_text, "relay.yaml");
    REQUIRE(spec);
    auto team = rt.spawn(*spec);
    REQUIRE(team);
    auto running = std::async(std::launch::async, [&] { return team->run({"go", "run-s", {}}); });
    (void)test::eventually([&] { return srv->stats().in_flight != 0; }, 2500ms);
    rt.stop();
    // The swarm's actors exit with the answer still promised: the run must end anyway.
    REQUIRE(running.wait_for(20s) == std::future_status::ready);
    out = running.get();
  }
  REQUIRE(!out);
  CHECK(is(out.error(), errc::runtime_stopped));
  // The journal says so (not "running", as if a process still ran it).
  CHECK(journaled(opts, "run-s").first.status == "interrupted");
  runtime rt{opts, {srv->url(), "mock"}};
  auto info = rt.find_run("run-s");
  REQUIRE(info);
  REQUIRE(*info);
  CHECK((*info)->status == "interrupted");
  auto resumed = rt.resume("run-s");
  REQUIRE(resumed);
  CHECK(resumed->text == "late");
  CHECK((*rt.find_run("run-s"))->status == "done");
}

TEST_CASE("a run id the journal has is refused, unless the run resumes or starts afresh") {
  fixture f;
  auto first = f.run_once(f.options(), "run-x", "task A");
  REQUIRE(first);
  auto sent = f.mock->stats().chat_requests;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto spec = load_spec_text(spec_text, "relay.yaml");
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  // Before, task B ran "again" and got task A's answers from the journal.
  auto again = team->run({"task B", "run-x"});
  REQUIRE(!again);
  CHECK(is(again.error(), errc::run_exists));
  auto why = describe(again.error());
  CHECK_THAT(why, Catch::Contains("run 'run-x'") && Catch::Contains("--resume") &&
                      Catch::Contains("fresh") && Catch::Contains("task A"));
  auto other = team->run({"task B", "run-x", {}, run_mode::resume});
  REQUIRE(!other);
  CHECK(is(other.error(), errc::run_exists));
  CHECK_THAT(describe(other.error()), Catch::Contains("another task \"task B\""));
  CHECK(f.mock->stats().chat_requests == sent);
  // The same task resumes; being done, it answers with its stored result.
  auto same = team->run({"task A", "run-x", {}, run_mode::resume});
  REQUIRE(same);
  CHECK(same->text == first->text);
  CHECK(same->task_id == first->task_id);
  CHECK(same->use.calls == 3);
  CHECK(f.mock->stats().chat_requests == sent);
  // Afresh: the old run's journal is forgotten and task B really runs.
  auto fresh = team->run({"task B", "run-x", {}, run_mode::fresh});
  REQUIRE(fresh);
  CHECK(fresh->text != first->text);
  CHECK(f.mock->stats().chat_requests == sent + 3);
  auto info = rt.find_run("run-x");
  REQUIRE(info);
  REQUIRE(*info);
  CHECK((*info)->task_text == "task B");
  CHECK((*info)->status == "done");
  CHECK((*info)->outcome.text == fresh->text);
  CHECK((*info)->outcome.use.calls == 3);
}

TEST_CASE("a journaled run resumes only through the spec it was started with") {
  fixture f;
  REQUIRE(f.run_once(f.options(), "run-y", "task A"));
  auto sent = f.mock->stats().chat_requests;
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto changed = std::string{spec_text} + "  - {name: fourth, system_prompt: You are fourth.}\n";
  auto spec = load_spec_text(changed, "relay.yaml");
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto out = team->run({"task A", "run-y", {}, run_mode::resume});
  REQUIRE(!out);
  CHECK(is(out.error(), errc::run_exists));
  CHECK_THAT(describe(out.error()), Catch::Contains("another spec (sha256:"));
  CHECK(f.mock->stats().chat_requests == sent);
}

TEST_CASE("flags given at resume time replace the first attempt's overrides field by field") {
  memory::run_record h;
  h.llm_url = "http://first/v1";
  h.model = "first-model";
  auto model_only = merge_overrides({"", "new-model"}, h);
  CHECK(model_only.url == "http://first/v1");
  CHECK(model_only.model == "new-model");
  auto url_only = merge_overrides({"http://new/v1", ""}, h);
  CHECK(url_only.url == "http://new/v1");
  CHECK(url_only.model == "first-model");
}

TEST_CASE("a run resumed twice keeps the overrides it was started with") {
  fixture f;
  auto srv = test::start_mock(f.dir, "latency: {fixed_ms: 300}\ndefault: {reply: '{{model}}'}\n",
                              {}, "model.yaml");
  auto opts = f.options();
  auto spec = load_spec_text(spec_text, "relay.yaml");
  REQUIRE(spec);
  {
    runtime rt{opts, {srv->url(), "model-a"}};
    auto team = rt.spawn(*spec);
    REQUIRE(team);
    auto out = stop_after(rt, *srv, 2, [&] { return team->run({"go", "run-o"}); });
    REQUIRE(!out);
  }
  {
    runtime rt{opts}; // resumed with neither --llm-url nor --model
    auto prepared = rt.prepare_resume("run-o");
    REQUIRE(prepared);
    auto& [team, input] = *prepared;
    auto out = stop_after(rt, *srv, 4, [&] { return team.run(input); });
    REQUIRE(!out);
  }
  auto [header, models] = journaled(opts, "run-o");
  CHECK(header.status == "interrupted");
  CHECK(header.llm_url == srv->url()); // an empty override did not replace it
  CHECK(header.model == "model-a");
  {
    runtime rt{opts};
    auto done = rt.resume("run-o"); // before: no_endpoint (the first resume had emptied them)
    REQUIRE(done);
    CHECK(done->text == "model-a");
  }
  auto [after, all] = journaled(opts, "run-o");
  CHECK(all == std::vector<std::string>{"model-a", "model-a", "model-a"});
  CHECK(srv->stats().chat_requests == 5); // the two calls in flight at each stop, again
}

TEST_CASE("a resumed run reads OPENAI_BASE_URL and OPENAI_MODEL as its first attempt did") {
  fixture f;
  auto srv = test::start_mock(f.dir, "latency: {fixed_ms: 300}\ndefault: {reply: '{{model}}'}\n",
                              {}, "model.yaml");
  auto opts = f.options();
  auto spec = load_spec_text(spec_text, "relay.yaml");
  REQUIRE(spec);
  {
    scoped_env url{"OPENAI_BASE_URL", srv->url()};
    scoped_env model{"OPENAI_MODEL", "model-env"};
    runtime rt{opts}; // no overrides: the environment names endpoint and model
    auto team = rt.spawn(*spec);
    REQUIRE(team);
    auto out = stop_after(rt, *srv, 2, [&] { return team->run({"go", "run-e"}); });
    REQUIRE(!out);
  }
  auto [header, first_models] = journaled(opts, "run-e");
  CHECK(header.env_recorded);
  CHECK(header.env_base_url == srv->url());
  CHECK(header.env_model == "model-env");
  // The environment has changed since: the resumed run must not switch endpoint or model.
  scoped_env url{"OPENAI_BASE_URL", "http://127.0.0.1:9/v1"};
  scoped_env model{"OPENAI_MODEL", "model-other"};
  {
    runtime rt{opts};
    auto done = rt.resume("run-e");
    REQUIRE(done);
    CHECK(done->text == "model-env");
  }
  auto [after, models] = journaled(opts, "run-e");
  CHECK(models == std::vector<std::string>{"model-env", "model-env", "model-env"});
  CHECK(after.env_base_url == srv->url());
}
