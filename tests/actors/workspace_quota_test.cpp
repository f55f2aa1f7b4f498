// The workspace quota with real programs and real disk: what a program leaves over the quota is
// deleted when it ends (however fast it was), many programs at once leave at most the quota,
// space preallocated past a file's end counts, a breach stops the programs running with it, and
// at most workspace_parallel programs run against one workspace. Needs a working bubblewrap.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/sandbox.hpp"
#include "actors/workspace_guard.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/sandbox.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace swarm::actors;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t mib = uint64_t{1} << 20;

using test::require_sandbox;

// One program's outcome, kept as text (caf::expected is not default-constructible).
struct outcome {
  bool ok = false;
  std::string out;   // stdout when ok
  std::string error; // describe(error), or the exit code and stderr when ok
  bool quota = false;
};

outcome run(sandbox_request req) {
  auto res = run_sandboxed(req);
  outcome o;
  o.ok = static_cast<bool>(res);
  if (res) {
    o.out = res->out;
    o.error = "exit code " + std::to_string(res->exit_code) + ": " + res->err;
  } else {
    o.error = describe(res.error());
    o.quota =
        is(res.error(), errc::tool_failed) && o.error.find("workspace quota") != std::string::npos;
  }
  return o;
}

sandbox_request request(const test::temp_dir& ws, std::vector<std::string> argv) {
  auto req = test::sandbox_run(ws, std::move(argv));
  req.limits.timeout = 60s;
  req.limits.max_file_mb = 128; // a 100 MiB file is allowed: only the workspace quota stops it
  return req;
}

bool exists(const test::temp_dir& ws, const std::string& name) {
  return std::filesystem::exists(std::filesystem::symlink_status(ws.path() / name));
}

} // namespace

TEST_CASE("60 parallel 100 MiB fallocate calls against a 256 MiB quota leave at most the quota") {
  require_sandbox();
  test::temp_dir ws;
  constexpr int calls = 60;
  std::vector<outcome> outcomes(calls);
  std::vector<std::thread> threads;
  for (int i = 0; i < calls; ++i)
    threads.emplace_back([&, i] {
      auto req = request(ws, {"fallocate", "-l", "100M", "f" + std::to_string(i)});
      req.workspace_mb = 256;
      outcomes[static_cast<size_t>(i)] = run(std::move(req));
    });
  for (auto& t : threads)
    t.join();
  auto used = measure_workspace(ws.path());
  INFO("left on disk: " << used.bytes / mib << " MiB in " << used.entries << " entries");
  CHECK(used.bytes <= 256 * mib); // the documented bound: the quota itself, once all returned
  int succeeded = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    INFO(o.error);
    if (o.ok) {
      CHECK(o.error.rfind("exit code 0:", 0) == 0);
      // A call that succeeded keeps its file: a later breach deletes only what came after.
      CHECK(std::filesystem::file_size(ws.path() / ("f" + std::to_string(i))) == 100 * mib);
      ++succeeded;
      continue;
    }
    CHECK(o.quota); // every failure is the quota, named, with the workspace
    CHECK(o.error.find(ws.path().string()) != std::string::npos);
  }
  CHECK(succeeded <= 2); // two files of 100 MiB fit, a third does not
}

TEST_CASE("a program that ends over its quota before any check has what it wrote deleted") {
  require_sandbox();
  test::temp_dir ws;
  ws.write("keep.txt", "written before\n");
  // Three fast fallocates: done long before the first 20 ms check could see them.
  auto req = request(ws, {"sh", "-c",
                          "fallocate -l 100M a && fallocate -l 100M b && fallocate -l 100M c && "
                          "echo done"});
  req.workspace_mb = 256;
  auto o = run(req);
  INFO(o.error);
  REQUIRE_FALSE(o.ok);
  CHECK(o.quota);
  CHECK(o.error.find("workspace " + ws.path().string() + " passed its quota of 256.0 MiB") !=
        std::string::npos);
  CHECK(o.error.find("were deleted") != std::string::npos);
  CHECK_FALSE(exists(ws, "a"));
  CHECK_FALSE(exists(ws, "b"));
  CHECK_FALSE(exists(ws, "c"));
  std::ifstream kept{ws.path() / "keep.txt"};
  std::string line;
  std::getline(kept, line);
  CHECK(line == "written before"); // what was there before the program stays
  CHECK(measure_workspace(ws.path()).bytes <= 256 * mib);
}

TEST_CASE("space preallocated past a file's end counts: max_file_mb alone does not bound it") {
  require_sandbox();
  test::temp_dir ws;
  // --keep-size allocates blocks without growing the file, which RLIMIT_FSIZE does not check.
  auto req = request(ws, {"sh", "-c", "touch big && fallocate --keep-size -l 100M big"});
  req.limits.max_file_mb = 16;
  req.workspace_mb = 32;
  auto o = run(req);
  INFO(o.error);
  CHECK_FALSE(o.ok);
  CHECK(o.quota);
  CHECK_FALSE(exists(ws, "big"));
  CHECK(measure_workspace(ws.path()).bytes <= 32 * mib);
}

TEST_CASE("a breach stops the other programs running against the workspace") {
  require_sandbox();
  test::temp_dir ws;
  auto slow = request(ws, {"sh", "-c", "echo started > slow.txt; sleep 20; echo finished"});
  slow.workspace_mb = 1024; // its own checks never see a breach: the other program's does
  std::optional<outcome> slow_outcome;
  auto started = std::chrono::steady_clock::now();
  std::thread t{[&] { slow_outcome = run(slow); }};
  REQUIRE(test::eventually([&] { return exists(ws, "slow.txt"); }, 5s));
  auto big = request(ws, {"fallocate", "-l", "100M", "big"});
  big.workspace_mb = 32;
  auto o = run(big);
  t.join();
  CHECK(o.quota);
  REQUIRE(slow_outcome);
  INFO(slow_outcome->error);
  CHECK_FALSE(slow_outcome->ok);
  CHECK(slow_outcome->quota);
  CHECK(slow_outcome->error.find("another program") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 15s); // stopped, not run to its end
  CHECK_FALSE(exists(ws, "big"));
}

TEST_CASE("at most workspace_parallel programs run against one workspace at once") {
  require_sandbox();
  test::temp_dir ws;
  SECTION("the others wait for a turn") {
    constexpr int calls = 8;
    std::vector<outcome> outcomes(calls);
    std::vector<std::thread> threads;
    for (int i = 0; i < calls; ++i)
      threads.emplace_back([&, i] {
        // Each program marks itself running, waits, and counts the programs marked.
        auto req =
            request(ws, {"sh", "-c", "touch run.$0; sleep 0.3; ls | grep -c '^run'; rm run.$0",
                         std::to_string(i)});
        req.workspace_parallel = 2;
        outcomes[static_cast<size_t>(i)] = run(std::move(req));
      });
    for (auto& t : threads)
      t.join();
    int most = 0;
    for (const auto& o : outcomes) {
      INFO(o.error);
      REQUIRE(o.ok);
      most = std::max(most, std::stoi(o.out));
    }
    CHECK(most <= 2);
  }
  SECTION("a program that gets no turn within its timeout fails with tool_timeout") {
    auto hold = request(ws, {"sleep", "3"});
    hold.workspace_parallel = 1;
    std::thread t{[&] { run(hold); }};
    std::this_thread::sleep_for(500ms);
    auto late = request(ws, {"true"});
    late.workspace_parallel = 1;
    late.limits.timeout = 1s;
    auto res = run_sandboxed(late);
    t.join();
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), errc::tool_timeout));
    CHECK(describe(res.error()).find("no turn on workspace " + ws.path().string()) !=
          std::string::npos);
  }
}

TEST_CASE("remove_tree deletes what programs leave: unreadable, read-only and deep directories") {
  require_sandbox();
  test::temp_dir parent;
  auto dir = parent.path() / "ws";
  auto outside = parent.path() / "outside";
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(outside);
  parent.write("outside/file", "not the workspace's\n");
  sandbox_request req;
  req.workspace = dir;
  // The link's target is the host's path of `outside`: removal must delete the link only.
  req.argv = {"sh", "-c",
              "mkdir -p locked/in ro && echo x > locked/in/f && echo y > ro/g && "
              "chmod 000 locked && chmod 500 ro && ln -s \"$0\" out-link && "
              "python3 -c \"import os\nfor i in range(300):\n  os.mkdir('d')\n  os.chdir('d')\"",
              outside.string()};
  req.workspace_mb = 0; // the deep tree (past what the quota can measure) is what we want
  req.workspace_entries = 0;
  auto res = run_sandboxed(req);
  INFO((res ? res->err : describe(res.error())));
  REQUIRE(res);
  REQUIRE(res->exit_code == 0);
  CHECK(remove_tree(dir));
  CHECK_FALSE(std::filesystem::exists(std::filesystem::symlink_status(dir)));
  CHECK(std::filesystem::exists(outside / "file"));
}
