// Where placement puts a swarm's agents in a cluster of this test's runtime (the owner) and
// `swarm node` processes on loopback, as docs/cluster.md says: `pack` on the owner,
// `least_loaded` on the members with the fewest agents; agents placed over mutual TLS links
// answer; a pin to a node that is draining or unknown is refused by name before anything is
// spawned, and nothing is placed on a draining node.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
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
using test::link_args;
using test::members_once;
using test::node_process;
using test::swarm_exe;

// Runs `swarm ARGS...` to its end; its exit status.
int run_swarm(std::vector<std::string> args) {
  args.insert(args.begin(), swarm_exe);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, swarm_exe.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A runtime that is a cluster node named `name`, joining `seeds`, with the timings of the nodes.
runtime_options node_options(const std::string& name, const std::vector<std::string>& seeds,
                             const std::string& pki = "") {
  runtime_options opts;
  opts.cluster.listen = "127.0.0.1:0";
  opts.cluster.name = name;
  opts.cluster.join = seeds;
  if (pki.empty()) {
    opts.cluster.link.insecure = true;
  } else {
    opts.cluster.link.tls_cert = pki + "/" + name + ".crt";
    opts.cluster.link.tls_key = pki + "/" + name + ".key";
    opts.cluster.link.tls_ca = pki + "/ca.crt";
  }
  opts.cluster.heartbeat_interval = 100ms;
  opts.cluster.failure_timeout = 1000ms;
  opts.cluster.reconnect_interval = 300ms;
  return opts;
}

// The agents member `name` hosts as `rt` sees it; -1 if it is not listed.
int64_t agents_on(const std::vector<node_info>& ms, const std::string& name) {
  auto* m = find(ms, name);
  return m ? static_cast<int64_t>(m->agents) : -1;
}

// All of `names` (and nobody else but the asking node) up as `rt` sees them.
bool all_up(runtime& rt, const std::vector<std::string>& names) {
  auto ms = members_once(rt, [&](const std::vector<node_info>& ms) {
    return ms.size() == names.size() + 1 &&
           std::all_of(names.begin(), names.end(), [&](const std::string& n) {
             auto* m = find(ms, n);
             return m && m->state == node_state::up;
           });
  });
  return ms.size() == names.size() + 1;
}

swarm_spec spec_of(const std::string& text) {
  auto spec = load_spec_text(text, "placement.yaml");
  INFO((spec ? std::string{} : describe(spec.error())));
  REQUIRE(spec);
  return *spec;
}

// A thread joined when it goes out of scope, a failed REQUIRE included.
struct joined_thread {
  std::thread t;
  template <class F>
  explicit joined_thread(F f) : t(std::move(f)) {}
  ~joined_thread() { join(); }
  void join() {
    if (t.joinable())
      t.join();
  }
};

// Heartbeats are every 100 ms: after this, every node's count has been heard by the owner.
void settle() {
  std::this_thread::sleep_for(600ms);
}

} // namespace

TEST_CASE("pack keeps a swarm's agents on the owner, least_loaded puts each on the member with "
          "the fewest agents, and a pin to an unknown node is refused by name") {
  test::temp_dir dir;
  auto mock = test::start_mock(dir, "");
  node_process n1{dir, "n1", ""};
  node_process n2{dir, "n2", n1.address};
  runtime rt{node_options("owner", {n1.address, n2.address})};
  REQUIRE(all_up(rt, {"n1", "n2"}));
  auto llm = "llm: {url: \"" + mock->url() + "\", model: m}\n";

  // pack: the three agents run here; the other nodes host none.
  auto packed = rt.spawn(
      spec_of("name: packed\n" + llm + R"(swarm: {architecture: concurrent, placement: pack}
agents: [{name: p1}, {name: p2}, {name: p3}]
)"));
  REQUIRE(packed);
  auto ms = members_once(rt, [](const std::vector<node_info>& ms) { return ms[0].agents == 3; });
  CHECK(ms[0].agents == 3);
  settle();
  ms = rt.cluster_members();
  CHECK(agents_on(ms, "n1") == 0);
  CHECK(agents_on(ms, "n2") == 0);
  auto first = packed->run({.text = "T1"});
  REQUIRE(first);
  CHECK(answers_with(*first, "") == 3);
  for (const auto& m : first->trace)
    CHECK_FALSE(m.error);

  // least_loaded, with the owner at 3 agents and n1, n2 at none: l1 n1, l2 n2 (n1 has one now),
  // l3 n1 (first of the least), l4 n2. Spread would have put l1 and l4 here.
  auto balanced = rt.spawn(spec_of("name: balanced\n" + llm +
                                   R"(swarm: {architecture: concurrent, placement: least_loaded}
agents: [{name: l1}, {name: l2}, {name: l3}, {name: l4}]
)"));
  REQUIRE(balanced);
  ms = members_once(rt, [](const std::vector<node_info>& ms) {
    return agents_on(ms, "n1") == 2 && agents_on(ms, "n2") == 2;
  });
  CHECK(agents_on(ms, "n1") == 2);
  CHECK(agents_on(ms, "n2") == 2);
  auto second = balanced->run({.text = "T2"});
  REQUIRE(second);
  CHECK(second->trace.size() == 4);
  for (const auto& m : second->trace)
    CHECK_FALSE(m.error);

  // A pin to a name no member has: refused naming the agent and the up members.
  auto pinned = rt.spawn(spec_of("name: pinned\n" + llm + R"(agents:
  - {name: x1}
  - {name: x2, node: n9}
)"));
  REQUIRE_FALSE(pinned);
  CHECK(describe(pinned.error())
            .find("agents[1] 'x2': node 'n9' is not an up member of the cluster (up: owner, "
                  "n1, n2)") != std::string::npos);
  CHECK(rt.swarms().size() == 2);
  settle();
  ms = rt.cluster_members();
  CHECK(agents_on(ms, "n1") == 2); // nothing of the refused swarm was spawned
  CHECK(agents_on(ms, "n2") == 2);
  packed->stop();
  balanced->stop();
}

TEST_CASE("agents placed over mutual TLS links run, answer and hear direct messages") {
  test::temp_dir dir;
  auto mock = test::start_mock(dir, R"(rules:
  - match: {history: "psst-dm"}
    reply: "heard the dm"
default:
  reply: "plain answer"
)");
  auto pki = (dir.path() / "pki").string();
  REQUIRE(run_swarm({"cert", "ca", pki}) == 0);
  for (const auto* n : {"owner", "n1", "n2"})
    REQUIRE(run_swarm({"cert", "node", pki, n}) == 0);
  node_process n1{dir, "n1", "", pki};
  node_process n2{dir, "n2", n1.address, pki};
  runtime rt{node_options("owner", {n1.address, n2.address}, pki)};
  REQUIRE(all_up(rt, {"n1", "n2"}));

  // spread: t1 here, t2 on n1, t3 on n2, t4 here; t5 pinned to n2.
  auto team = rt.spawn(spec_of("name: tls\nllm: {url: \"" + mock->url() + R"(", model: m}
swarm: {architecture: concurrent, placement: spread}
agents:
  - {name: t1}
  - {name: t2}
  - {name: t3}
  - {name: t4}
  - {name: t5, node: n2}
)"));
  REQUIRE(team);
  auto ms = members_once(rt, [](const std::vector<node_info>& ms) {
    return agents_on(ms, "n1") == 1 && agents_on(ms, "n2") == 2;
  });
  CHECK(agents_on(ms, "n1") == 1);
  CHECK(agents_on(ms, "n2") == 2);

  auto first = team->run({.text = "T1"});
  REQUIRE(first);
  CHECK(answers_with(*first, "plain answer") == 5);
  REQUIRE_FALSE(team->dm("t5", "psst-dm: over TLS"));
  auto second = team->run({.text = "T2"});
  REQUIRE(second);
  CHECK(answers_with(*second, "heard the dm") == 1);
  auto health = team->health_check(2s);
  CHECK(health.size() >= 5); // the agents and their coordinator
  for (const auto& h : health)
    CHECK(h.alive);
  team->stop();
}

TEST_CASE("a pin to a draining node is refused by name, and nothing is placed on it") {
  test::temp_dir dir;
  auto mock = test::start_mock(dir, R"(rules:
  - match: {history: "slow-task"}
    reply: "slow answer"
    latency_ms: 4000
default:
  reply: "plain answer"
)");
  auto llm = "llm: {url: \"" + mock->url() + "\", model: m}\n";
  node_process n1{dir, "n1", ""};
  runtime rt{node_options("owner", {n1.address})};
  // A second runtime in this process, a node of the same cluster: it drains while its run runs.
  // Its runs are journaled (a data directory): draining waits for those.
  auto other_opts = node_options("drainer", {n1.address, rt.cluster_members().front().address});
  other_opts.data_dir = (dir.path() / "drainer-data").string();
  runtime other{other_opts};
  REQUIRE(all_up(rt, {"n1", "drainer"}));
  auto busy = other.spawn(
      spec_of("name: busy\n" + llm + R"(swarm: {architecture: concurrent, placement: pack}
agents: [{name: b1}]
)"));
  REQUIRE(busy);
  std::atomic<bool> slow_done{false}; // Catch's assertions belong to the test's thread
  joined_thread runner{[&] { slow_done = static_cast<bool>(busy->run({.text = "slow-task"})); }};
  std::this_thread::sleep_for(300ms); // the run has started
  joined_thread leaver{[&] { other.leave_cluster(20s); }};
  auto ms = members_once(rt, [](const std::vector<node_info>& ms) {
    auto* d = find(ms, "drainer");
    return d && d->state == node_state::draining;
  });
  REQUIRE(find(ms, "drainer"));
  CHECK(find(ms, "drainer")->state == node_state::draining);
  auto drainer_agents = agents_on(ms, "drainer");

  auto pinned = rt.spawn(spec_of("name: pinned\n" + llm + R"(agents:
  - {name: d1, node: drainer}
)"));
  CHECK_FALSE(pinned);
  if (pinned) // stopped, so that the test goes on to its end and the process exits
    pinned->stop();
  else
    CHECK(describe(pinned.error())
              .find("agents[0] 'd1': node 'drainer' is not an up member of the cluster (up: "
                    "owner, n1)") != std::string::npos);

  // spread over the up members only: s1 here, s2 on n1, s3 here; none on the draining node.
  auto spread = rt.spawn(
      spec_of("name: spread\n" + llm + R"(swarm: {architecture: concurrent, placement: spread}
agents: [{name: s1}, {name: s2}, {name: s3}]
)"));
  REQUIRE(spread);
  ms = members_once(rt, [](const std::vector<node_info>& ms) { return agents_on(ms, "n1") == 1; });
  CHECK(agents_on(ms, "n1") == 1);
  settle();
  ms = rt.cluster_members();
  CHECK(agents_on(ms, "drainer") == drainer_agents);
  auto r = spread->run({.text = "T"});
  REQUIRE(r);
  CHECK(answers_with(*r, "plain answer") == 3);
  spread->stop();

  runner.join();
  leaver.join();
  CHECK(slow_done); // the run on the draining node was let finish
  ms = members_once(rt, [](const std::vector<node_info>& ms) {
    auto* d = find(ms, "drainer");
    return d && d->state == node_state::left;
  });
  CHECK(find(ms, "drainer")->state == node_state::left);
  busy->stop();
}

// A node reports the agents its process runs: an owner whose agents all run elsewhere counts 0,
// so least_loaded does not take it for loaded (it used to count every agent of its swarms).
TEST_CASE("least_loaded counts on the owner only the agents it runs") {
  test::temp_dir dir;
  auto mock = test::start_mock(dir, "");
  node_process n1{dir, "n1", ""};
  node_process n2{dir, "n2", n1.address};
  runtime rt{node_options("owner", {n1.address, n2.address})};
  REQUIRE(all_up(rt, {"n1", "n2"}));
  auto llm = "llm: {url: \"" + mock->url() + "\", model: m}\n";
  // Two agents pinned to n1: the owner runs none of them.
  auto away = rt.spawn(spec_of("name: away\n" + llm + R"(agents:
  - {name: w1, node: n1}
  - {name: w2, node: n1}
)"));
  REQUIRE(away);
  auto ms =
      members_once(rt, [](const std::vector<node_info>& ms) { return agents_on(ms, "n1") == 2; });
  REQUIRE(agents_on(ms, "n1") == 2);
  settle();
  ms = rt.cluster_members();
  CHECK(ms[0].agents == 0);
  // Owner 0, n1 2, n2 0: l1 here (the owner first on ties), l2 on n2.
  auto balanced = rt.spawn(spec_of("name: balanced\n" + llm +
                                   R"(swarm: {architecture: concurrent, placement: least_loaded}
agents: [{name: l1}, {name: l2}]
)"));
  REQUIRE(balanced);
  settle();
  ms = rt.cluster_members();
  CHECK(agents_on(ms, "n2") == 1);
  balanced->stop();
  away->stop();
}
