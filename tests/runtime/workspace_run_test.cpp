// Tool workspaces over a run's life: under the data directory (or a temporary directory the
// runtime removes when it stops), removed when the run is done, kept with keep_workspaces and
// for a run that can resume (found again by the resumed run), cleared by run_mode::fresh; and
// run_workspaces on its own: calls after a run ended are refused, a call still running holds
// its workspace. End-to-end tests run real sandboxed programs against the in-process mock LLM.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "runtime/workspaces.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_runtime.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* spec_text = R"(
name: crew
tools:
  - {name: shell}
agents:
  - {name: coder, tools: [shell], max_tool_steps: 4}
)";

// The coder writes note.txt (and lingers a second, so the test can look), then answers.
const char* write_script = R"(
rules:
  - match: {history: 'tool: wrote'}
    reply: 'noted'
default:
  tool_calls: [{name: shell, arguments: {command: 'echo kept > note.txt; sleep 1; echo wrote'}}]
)";

struct fixture : test::mock_runtime {
  using mock_runtime::mock_runtime;

  swarm_handle spawn(runtime& rt) {
    auto team = mock_runtime::spawn(rt, spec_text, "crew.yaml");
    REQUIRE(team);
    return *team;
  }
};

// The file `name` of run `run_id`'s workspace under some smolswarms-workspaces-* directory in
// the system's temp directory, if there is one.
std::optional<fs::path> temporary_workspace_file(const std::string& run_id,
                                                 const std::string& name) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    if (e.path().filename().string().rfind("smolswarms-workspaces-", 0) != 0)
      continue;
    if (auto file = e.path() / run_id / name; fs::exists(file, ec))
      return file;
  }
  return std::nullopt;
}

std::string read(const fs::path& file) {
  std::ifstream in{file};
  std::string line;
  std::getline(in, line);
  return line;
}

} // namespace

TEST_CASE("a run's workspace is under the data directory while it runs and goes when it is done") {
  fixture f{write_script};
  auto note = f.data() / "workspaces" / "run-w" / "note.txt";
  SECTION("removed") {
    runtime rt{f.options(), {f.mock->url(), "mock"}};
    auto team = f.spawn(rt);
    auto running = std::async(std::launch::async, [&] { return team.run({"note it", "run-w"}); });
    CHECK(test::eventually([&] { return fs::exists(note); }, 20s));
    REQUIRE(running.wait_for(30s) == std::future_status::ready);
    auto r = running.get();
    REQUIRE(r);
    CHECK(r->text.find("noted") != std::string::npos);
    CHECK_FALSE(fs::exists(note.parent_path()));
  }
  SECTION("kept with keep_workspaces") {
    auto opts = f.options();
    opts.keep_workspaces = true;
    runtime rt{opts, {f.mock->url(), "mock"}};
    auto r = f.spawn(rt).run({"note it", "run-w"});
    REQUIRE(r);
    CHECK(read(note) == "kept");
    rt.stop();
    CHECK(read(note) == "kept"); // a data directory's workspaces outlive the runtime
  }
}

TEST_CASE("without a data directory, workspaces live in a temporary directory removed at stop") {
  fixture f{write_script};
  auto run_id = "run-t-" + std::to_string(::getpid());
  std::optional<fs::path> note;
  {
    runtime rt{f.options(false), {f.mock->url(), "mock"}};
    auto team = f.spawn(rt);
    auto running = std::async(std::launch::async, [&] { return team.run({"note it", run_id}); });
    CHECK(test::eventually(
        [&] {
          note = temporary_workspace_file(run_id, "note.txt");
          return note.has_value();
        },
        20s));
    REQUIRE(running.wait_for(30s) == std::future_status::ready);
    auto r = running.get();
    INFO((r ? r->text : describe(r.error())));
    REQUIRE(r);
    REQUIRE(note);
    CHECK_FALSE(fs::exists(note->parent_path())); // the run is done: its workspace went
    CHECK(fs::exists(note->parent_path().parent_path()));
    rt.stop();
    CHECK_FALSE(fs::exists(note->parent_path().parent_path())); // and the runtime's directory
  }
}

TEST_CASE("a run interrupted by stop keeps its workspace; the resumed run finds it, then it goes") {
  // The second chat request never answers: the runtime is stopped while it waits.
  fixture f{R"(
faults: [{kind: stall, nth: [2]}]
rules:
  - match: {history: 'tool: kept'}
    reply: 'found the note'
  - match: {history: 'tool: missing'}
    reply: 'the note is gone'
  - match: {history: 'tool: wrote'}
    tool_calls: [{name: shell, arguments: {command: 'cat note.txt 2>/dev/null || echo missing'}}]
default:
  tool_calls: [{name: shell, arguments: {command: 'echo kept > note.txt; echo wrote'}}]
)"};
  auto workspace = f.data() / "workspaces" / "run-k";
  {
    runtime rt{f.options(), {f.mock->url(), "mock"}};
    auto team = f.spawn(rt);
    auto running = std::async(std::launch::async, [&] { return team.run({"note it", "run-k"}); });
    CHECK(test::eventually(
        [&] {
          auto s = f.mock->stats();
          return s.chat_requests >= 2 && s.in_flight >= 1;
        },
        20s));
    rt.stop();
    REQUIRE(running.wait_for(30s) == std::future_status::ready);
    auto out = running.get();
    REQUIRE_FALSE(out);
    CHECK(is(out.error(), errc::runtime_stopped));
  }
  CHECK(read(workspace / "note.txt") == "kept");
  runtime rt{f.options(), {f.mock->url(), "mock"}};
  auto resumed = rt.resume("run-k");
  INFO((resumed ? resumed->text : describe(resumed.error())));
  REQUIRE(resumed);
  CHECK(resumed->text.find("found the note") != std::string::npos);
  CHECK_FALSE(fs::exists(workspace)); // done: removed
}

TEST_CASE("run_mode::fresh starts with an empty workspace, not the one an earlier run kept") {
  fixture f{R"(
rules:
  - match: {history: 'tool: missing'}
    reply: 'clean workspace'
  - match: {history: 'tool: kept'}
    reply: 'stale workspace'
default:
  tool_calls: [{name: shell, arguments: {command: 'cat note.txt 2>/dev/null || echo missing; echo kept > note.txt'}}]
)"};
  auto opts = f.options();
  opts.keep_workspaces = true;
  for (auto mode : {run_mode::start, run_mode::fresh}) {
    runtime rt{opts, {f.mock->url(), "mock"}};
    auto r = f.spawn(rt).run({"look", "run-f", {}, mode});
    INFO((r ? r->text : describe(r.error())));
    REQUIRE(r);
    CHECK(r->text.find("clean workspace") != std::string::npos);
    CHECK(read(f.data() / "workspaces" / "run-f" / "note.txt") == "kept");
  }
}

TEST_CASE("run_workspaces lends a run's workspace while it runs and removes it after") {
  test::temp_dir dir;
  auto data = dir.path() / "state";
  SECTION("a call still running holds the workspace; later calls are refused") {
    auto store = std::make_shared<run_workspaces>(data.string(), false);
    auto lend = store->provider();
    REQUIRE_FALSE(store->begin("r1", false));
    auto lent = lend("r1");
    REQUIRE(lent);
    std::optional<actors::workspace_lease> lease = std::move(*lent);
    CHECK(lease->dir == data / "workspaces" / "r1");
    std::ofstream{lease->dir / "f"} << "x";
    store->end("r1", false);
    CHECK(fs::exists(lease->dir / "f")); // the call is not done with it yet
    auto late = lend("r1");
    REQUIRE_FALSE(late);
    CHECK(describe(late.error()).find("run 'r1' is not running") != std::string::npos);
    auto gone = lease->dir;
    lease.reset(); // the call is done
    CHECK_FALSE(fs::exists(gone));
  }
  SECTION("kept by the store's flag, or for a run that can resume; fresh clears it") {
    auto store = std::make_shared<run_workspaces>(data.string(), false);
    REQUIRE_FALSE(store->begin("r2", false));
    {
      auto w = store->provider()("r2");
      REQUIRE(w);
      std::ofstream{w->dir / "f"} << "x";
    }
    store->end("r2", true);
    CHECK(fs::exists(data / "workspaces" / "r2" / "f"));
    REQUIRE_FALSE(store->begin("r2", true));
    CHECK_FALSE(fs::exists(data / "workspaces" / "r2"));
    store->end("r2", false);
    auto keeping = std::make_shared<run_workspaces>(data.string(), true);
    REQUIRE_FALSE(keeping->begin("r3", false));
    REQUIRE(keeping->provider()("r3"));
    keeping->end("r3", false);
    CHECK(fs::exists(data / "workspaces" / "r3"));
  }
  SECTION("as root, a data directory the sandbox's user cannot search keeps them aside") {
    if (::geteuid() == 0) { // otherwise programs run as the runtime's own user
      fs::create_directories(data);
      fs::permissions(dir.path(), fs::perms::owner_all); // like /root: 0700
      auto store = std::make_shared<run_workspaces>(data.string(), false);
      REQUIRE_FALSE(store->begin("r5", false));
      auto w = store->provider()("r5");
      INFO((w ? w->dir.string() : describe(w.error())));
      REQUIRE(w);
      auto link = data / "workspaces";
      REQUIRE(fs::is_symlink(link));
      auto aside = fs::read_symlink(link);
      CHECK(w->dir == aside / "r5");
      CHECK(aside.parent_path() == fs::temp_directory_path());
      CHECK(fs::is_directory(link / "r5")); // found where it belongs
      w = make_error(errc::io_error, "done");
      store->end("r5", false);
      CHECK_FALSE(fs::exists(aside / "r5"));
      auto again = std::make_shared<run_workspaces>(data.string(), false); // the same place
      REQUIRE_FALSE(again->begin("r6", false));
      auto w6 = again->provider()("r6");
      REQUIRE(w6);
      CHECK(w6->dir == aside / "r6");
      w6 = make_error(errc::io_error, "done");
      again->end("r6", false);
      again->close(); // nothing kept: nothing left behind
      CHECK_FALSE(fs::exists(aside));
      CHECK_FALSE(fs::is_symlink(link));
      store->close();
    }
  }
  SECTION("a temporary root goes at close; calls after it are refused") {
    auto store = std::make_shared<run_workspaces>("", false);
    REQUIRE_FALSE(store->begin("r4", false));
    auto w = store->provider()("r4");
    REQUIRE(w);
    auto root = w->dir.parent_path();
    CHECK(root.parent_path() == fs::temp_directory_path());
    CHECK(root.filename().string().rfind("smolswarms-workspaces-", 0) == 0);
    store->close();
    CHECK_FALSE(fs::exists(root));
    auto after = store->provider()("r4");
    REQUIRE_FALSE(after);
    CHECK(is(after.error(), errc::runtime_stopped));
  }
}
