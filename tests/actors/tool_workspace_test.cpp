// The tool runner and run workspaces: 60 calls at once that each fill 100 MiB leave at most the
// workspace quota on disk and the calls over it tell the model why; a workspace provider's lease
// is held until the call is done, and its refusal is the call's error.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/sandbox.hpp"
#include "actors/tool_runner.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace swarm::actors;
using namespace std::chrono_literals;

namespace {

const agent_id coder{"team", "coder"};

tool_runner_config shell_config(const std::filesystem::path& root) {
  tool_runner_config cfg;
  tool_decl shell;
  shell.name = "shell";
  shell.sandbox.timeout = 60s;
  shell.sandbox.max_file_mb = 128; // one 100 MiB file is allowed: the quota stops the rest
  cfg.tools.push_back(shell);
  cfg.permissions[coder.str()] = {"shell"};
  cfg.workspace_root = root;
  return cfg;
}

tool_request shell_call(const std::string& run, const std::string& id, const std::string& cmd) {
  return tool_request{run, coder, "t1", tool_call{id, "shell", R"({"command":")" + cmd + R"("})"}};
}

} // namespace

TEST_CASE("60 calls filling 100 MiB each at once leave at most the 256 MiB quota on disk") {
  REQUIRE(!probe_sandbox());
  test::temp_dir root;
  caf::actor_system sys{test::actor_test_config()};
  auto cfg = shell_config(root.path());
  cfg.workspace_mb = 256;
  cfg.max_parallel = 8; // more than one workspace takes at once (4): some wait for a turn
  auto runner = spawn_tool_runner(sys, cfg);
  caf::scoped_actor self{sys};
  constexpr int calls = 60;
  for (int i = 0; i < calls; ++i)
    self->send(runner, shell_call("r1", "c" + std::to_string(i),
                                  "fallocate -l 100M f" + std::to_string(i) + " && echo ok"));
  int ok = 0;
  int quota = 0;
  std::vector<std::string> other;
  for (int i = 0; i < calls; ++i)
    self->receive(
        [&](tool_reply& r) {
          if (!r.error)
            ++ok;
          else if (is(r.error, errc::tool_failed) &&
                   describe(r.error).find("workspace quota: workspace " +
                                          (root.path() / "r1").string()) != std::string::npos)
            ++quota;
          else
            other.push_back(describe(r.error));
        },
        caf::after(120s) >> [&] { FAIL("no tool_reply"); });
  caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
  auto used = measure_workspace(root.path() / "r1");
  INFO("left: " << (used.bytes >> 20) << " MiB in " << used.entries << " entries");
  CHECK(used.bytes <= uint64_t{256} << 20);
  CHECK(other.empty());
  CHECK(ok <= 2);
  CHECK(ok + quota == calls);
}

TEST_CASE("a provider lends the workspace for the whole call, and its refusal is the call's") {
  REQUIRE(!probe_sandbox());
  test::temp_dir root;
  caf::actor_system sys{test::actor_test_config()};
  auto cfg = shell_config(root.path() / "unused");
  auto held = std::make_shared<std::atomic<int>>(0);
  auto lent = std::make_shared<std::atomic<int>>(0);
  cfg.workspaces = [&root, held, lent](const std::string& run) -> caf::expected<workspace_lease> {
    if (run == "ended")
      return make_error(errc::invalid_argument, "run 'ended' is not running");
    auto dir = root.path() / ("lent-" + run);
    std::filesystem::create_directories(dir);
    ++*held;
    ++*lent;
    auto hold = std::shared_ptr<const void>(nullptr, [held](const void*) { --*held; });
    return workspace_lease{dir, hold};
  };
  auto runner = spawn_tool_runner(sys, cfg);
  caf::scoped_actor self{sys};
  tool_reply reply;
  self->request(runner, 60s, shell_call("r2", "c1", "echo lent > here.txt; cat here.txt"))
      .receive([&](tool_reply& r) { reply = std::move(r); },
               [&](caf::error& e) { FAIL(describe(e)); });
  CHECK(reply.content == "lent\n");
  CHECK(std::filesystem::exists(root.path() / "lent-r2" / "here.txt"));
  CHECK(*lent == 1);
  CHECK(*held == 0); // released once the call was done
  self->request(runner, 60s, shell_call("ended", "c2", "echo never > x"))
      .receive([&](tool_reply& r) { reply = std::move(r); },
               [&](caf::error& e) { FAIL(describe(e)); });
  CHECK(is(reply.error, errc::tool_failed));
  CHECK(describe(reply.error).find("shell: invalid_argument: run 'ended' is not running") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(root.path() / "unused"));
  caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
}
