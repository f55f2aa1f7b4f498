// A swarm whose agents run on three nodes: this test's runtime (a cluster node that owns the
// swarm) and two `swarm node` processes on loopback. The agents answer, hear broadcasts and
// direct messages wherever they run, answer health checks, and those of a node killed with
// SIGKILL are spawned again here by their coordinator's supervision.
#include <chrono>
#include <fstream>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/cluster_nodes.hpp"
#include "tests/support/mock_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace swarm;

namespace {

using test::answers_with;
using test::find;
using test::members_once;
using test::node_process;

} // namespace

TEST_CASE("a swarm spread over three nodes answers, hears broadcasts and dms, and outlives a "
          "killed node") {
  test::temp_dir dir;
  auto mock = test::start_mock(dir, R"(rules:
  - match: {history: "psst-dm"}
    reply: "heard the dm"
  - match: {history: "all-hands"}
    reply: "heard the broadcast"
default:
  reply: "plain answer"
)");
  node_process n1{dir, "n1", ""};
  node_process n2{dir, "n2", n1.address};
  runtime_options opts;
  opts.cluster.listen = "127.0.0.1:0";
  opts.cluster.name = "owner";
  opts.cluster.join = {n1.address};
  opts.cluster.link.insecure = true;
  opts.cluster.heartbeat_interval = 100ms;
  opts.cluster.failure_timeout = 1000ms;
  opts.cluster.reconnect_interval = 300ms;
  runtime rt{opts};
  auto up = [](const std::vector<node_info>& ms) {
    return ms.size() == 3 && std::all_of(ms.begin(), ms.end(), [](const node_info& m) {
             return m.state == node_state::up;
           });
  };
  REQUIRE(up(members_once(rt, up)));

  auto spec = load_spec_text(R"(name: spread
llm: {url: ")" + mock->url() + R"(", model: m}
swarm: {architecture: concurrent, placement: spread}
agents:
  - {name: a1}
  - {name: a2}
  - {name: a3}
  - {name: a4}
  - {name: a5}
  - {name: a6, node: n2}
)",
                             "spread.yaml");
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);

  // Spread: two agents on each node (a6 pinned to n2, where spread would put it too).
  auto hosted = members_once(rt, [](const std::vector<node_info>& ms) {
    auto* a = find(ms, "n1");
    auto* b = find(ms, "n2");
    return a && b && a->agents == 2 && b->agents == 2;
  });
  REQUIRE(find(hosted, "n1"));
  CHECK(find(hosted, "n1")->agents == 2);
  CHECK(find(hosted, "n2")->agents == 2);
  CHECK(hosted.front().agents == 2); // the owner counts the agents it runs, not those elsewhere

  auto first = team->run({.text = "T1"});
  REQUIRE(first);
  CHECK(answers_with(*first, "plain answer") == 6);

  team->broadcast("all-hands: ship friday");
  auto second = team->run({.text = "T2"});
  REQUIRE(second);
  CHECK(answers_with(*second, "heard the broadcast") == 6);

  REQUIRE_FALSE(team->dm("a6", "psst-dm: you lead"));
  auto third = team->run({.text = "T3"});
  REQUIRE(third);
  CHECK(answers_with(*third, "heard the dm") == 1);

  auto health = team->health_check(2s);
  size_t alive = 0;
  for (const auto& h : health)
    alive += h.alive ? 1 : 0;
  CHECK(alive == health.size());

  // n2 dies: its agents (a3, a6) are down at once; supervision spawns them again here.
  n2.kill_now();
  auto fourth = team->run({.text = "T4"});
  REQUIRE(fourth);
  CHECK(fourth->trace.size() == 6);
  for (const auto& m : fourth->trace)
    CHECK_FALSE(m.error);
  CHECK(fourth->restarts >= 2);
  team->stop();
}

TEST_CASE("an agent pinned to a node that is not up, or in a runtime that is no node, is refused "
          "before anything is spawned") {
  test::temp_dir dir;
  auto mock = test::start_mock(dir, "");
  auto spec = load_spec_text(R"(name: pinned
llm: {url: ")" + mock->url() + R"(", model: m}
agents:
  - {name: a1, node: elsewhere}
)",
                             "pinned.yaml");
  REQUIRE(spec);
  {
    runtime plain;
    auto team = plain.spawn(*spec);
    REQUIRE_FALSE(team);
    CHECK(describe(team.error()).find("pinned to node 'elsewhere'") != std::string::npos);
  }
  runtime_options opts;
  opts.cluster.listen = "127.0.0.1:0";
  opts.cluster.name = "alone";
  opts.cluster.link.insecure = true;
  runtime rt{opts};
  auto team = rt.spawn(*spec);
  REQUIRE_FALSE(team);
  CHECK(describe(team.error())
            .find("node 'elsewhere' is not an up member of the cluster (up: "
                  "alone)") != std::string::npos);
  CHECK(rt.swarms().empty());
}
