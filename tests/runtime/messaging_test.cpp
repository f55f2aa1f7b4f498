// Messaging on the swarm handle (broadcast, dm), health checks, and the swarm registry, with
// nested swarms, against the real mock LLM.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "runtime/health.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/mock_runtime.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

// A root swarm with an agent and a nested swarm of two agents.
const char* nested_spec = R"(
name: org
agents:
  - {name: a, system_prompt: You are a.}
  - {name: b, system_prompt: You are b.}
  - {name: c, system_prompt: You are c.}
swarms:
  sub:
    architecture: concurrent
    members: [b, c]
swarm:
  architecture: concurrent
  members: [a, sub]
)";

// Each agent says whether its conversation holds the broadcast or a dm.
const char* echo_script = R"yaml(
rules:
  - match: {history: "\\[broadcast from user\\] be brief"}
    reply: "saw broadcast ({{system}})"
  - match: {history: "\\[direct message from user\\] secret 42"}
    reply: "saw dm ({{system}})"
default: {reply: "nothing ({{system}})"}
)yaml";

struct fixture : test::mock_runtime {
  std::unique_ptr<runtime> rt;

  fixture() : mock_runtime(echo_script), rt(std::make_unique<runtime>(options(), overrides())) {}

  swarm_handle spawn(const char* text = nested_spec) {
    auto team = mock_runtime::spawn(*rt, text);
    REQUIRE(team);
    return *team;
  }
};

// The leaf answers of a nested result, by agent name.
std::map<std::string, std::string> leaves(const result& r) {
  std::map<std::string, std::string> out;
  for (const auto& m : r.trace) {
    if (m.trace.empty())
      out[m.agent.name] = m.text;
    else
      for (const auto& [k, v] : leaves(m))
        out[k] = v;
  }
  return out;
}

} // namespace

TEST_CASE("a broadcast sent right after spawn reaches every agent, nested ones included") {
  fixture f;
  auto team = f.spawn();
  team.broadcast("be brief");
  auto r = team.run({"go"});
  REQUIRE(r);
  auto got = leaves(*r);
  CHECK(got == std::map<std::string, std::string>{{"a", "saw broadcast (You are a.)"},
                                                  {"b", "saw broadcast (You are b.)"},
                                                  {"c", "saw broadcast (You are c.)"}});
}

TEST_CASE("a dm reaches exactly the agent it names") {
  fixture f;
  auto team = f.spawn();
  REQUIRE_FALSE(team.dm("b", "secret 42"));
  auto r = team.run({"go"});
  REQUIRE(r);
  auto got = leaves(*r);
  CHECK(got["a"] == "nothing (You are a.)");
  CHECK(got["b"] == "saw dm (You are b.)");
  CHECK(got["c"] == "nothing (You are c.)");
  CHECK(is(team.dm("ghost", "x"), errc::unknown_agent));
}

TEST_CASE("a health check reports every agent and swarm alive with a round trip") {
  fixture f;
  auto team = f.spawn();
  REQUIRE(team.run({"warm up"}));
  auto report = team.health_check(2s);
  REQUIRE(report.size() == 5); // three agents, then the sub-swarm and the root
  for (const auto& h : report) {
    INFO(h.agent.str());
    CHECK(h.alive);
    CHECK_FALSE(h.error);
    CHECK(h.rtt > 0us);
    CHECK(h.rtt < 2s);
  }
  CHECK(report[0].agent.name == "a");
  CHECK(report[0].tasks_done == 1);
  CHECK_FALSE(report[0].coordinator);
  CHECK(report[3].agent.name == "sub");
  CHECK(report[3].coordinator);
  CHECK(report[4].agent.name == "org");
}

TEST_CASE("a health check is told as an event: how many are alive") {
  fixture f;
  std::mutex mtx;
  std::vector<event> seen;
  auto watching = f.rt->on_event([&](const event& e) {
    std::lock_guard<std::mutex> guard{mtx};
    if (e.kind == event_kind::health_checked)
      seen.push_back(e);
  });
  auto team = f.spawn();
  auto report = team.health_check(2s);
  REQUIRE(report.size() == 5);
  auto arrived = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    return seen.size();
  };
  for (int i = 0; i < 400 && arrived() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  std::lock_guard<std::mutex> guard{mtx};
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].total == 5);
  CHECK(seen[0].text == "5 of 5 alive");
  CHECK(seen[0].agent.name == "org");
  CHECK_FALSE(seen[0].leaf);
}

namespace {

// A participant that never answers health probes: what a stalled agent looks like from outside.
struct stalled_state {
  std::vector<caf::typed_response_promise<health_report>> held;
  static inline const char* name = "test.stalled";
};

agent_actor::behavior_type stalled(agent_actor::stateful_pointer<stalled_state> self, int) {
  return {
      [](task& t) { return result{t.id, {}, "", -1, {}, {}, {}}; },
      [](task_cancel&) {},
      [](dm&) {},
      [](broadcast&) {},
      [self](health_probe&) -> caf::typed_response_promise<health_report> {
        auto rp = self->make_response_promise<health_report>();
        self->state.held.push_back(rp);
        return rp;
      },
  };
}

// A participant that answers health probes at once, counting them in tasks_done.
agent_actor::behavior_type answering(agent_actor::stateful_pointer<stalled_state>, int id) {
  return {
      [](task& t) { return result{t.id, {}, "", -1, {}, {}, {}}; },
      [](task_cancel&) {},
      [](dm&) {},
      [](broadcast&) {},
      [id](health_probe& p) {
        return health_report{
            p.nonce, {"t", "a" + std::to_string(id)}, static_cast<uint64_t>(id), 0};
      },
  };
}

caf::actor_system_config& probe_config() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    register_types(c);
    return c;
  }();
  return cfg;
}

} // namespace

TEST_CASE("a stalled participant is reported not alive once the timeout passes") {
  caf::actor_system sys{probe_config()};
  auto stuck = sys.spawn(stalled, 0);
  auto gone = sys.spawn(stalled, 0);
  caf::anon_send_exit(gone, caf::exit_reason::user_shutdown);
  std::this_thread::sleep_for(10ms); // let the exit land; the probe below must see it gone
  auto started = std::chrono::steady_clock::now();
  auto report =
      probe_health(sys, {{agent_id{"t", "stuck"}, stuck}, {agent_id{"t", "gone"}, gone}}, 300ms);
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(report.size() == 2);
  CHECK_FALSE(report[0].alive);
  CHECK(is(report[0].error, errc::member_timeout));
  CHECK_FALSE(report[1].alive);
  CHECK(report[1].error);
  CHECK(took >= 290ms);
  CHECK(took < 5s);
  caf::anon_send_exit(stuck, caf::exit_reason::user_shutdown);
}

TEST_CASE("a health check of thousands of participants reports each at its place") {
  // Over 1,000 targets the probes are split among collectors (each awaits at most 1,000
  // answers): stopped participants at the edges of those parts must still be reported as such,
  // and every answer must land at its own participant.
  caf::actor_system sys{probe_config()};
  std::vector<health_target> targets;
  std::vector<agent_actor> actors;
  for (int i = 0; i < 2500; ++i) {
    actors.push_back(sys.spawn(answering, i));
    targets.push_back({agent_id{"t", "a" + std::to_string(i)}, actors.back(), false});
  }
  const std::vector<size_t> gone{0, 999, 1000, 2499};
  for (auto i : gone)
    caf::anon_send_exit(actors[i], caf::exit_reason::user_shutdown);
  std::this_thread::sleep_for(10ms); // let the exits land
  auto report = probe_health(sys, targets, 30s);
  REQUIRE(report.size() == 2500);
  size_t alive = 0;
  for (size_t i = 0; i < report.size(); ++i) {
    CHECK(report[i].agent.name == "a" + std::to_string(i));
    bool stopped = std::find(gone.begin(), gone.end(), i) != gone.end();
    if (stopped) {
      CHECK_FALSE(report[i].alive);
      CHECK(report[i].error);
      CHECK_FALSE(is(report[i].error, errc::member_timeout)); // bounced, not waited for
    } else {
      alive += report[i].alive ? 1 : 0;
      CHECK(report[i].tasks_done == i); // this participant's own answer
    }
  }
  CHECK(alive == 2500 - gone.size());
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("the registry names every running swarm and forgets stopped ones") {
  fixture f;
  auto first = f.spawn();
  auto second = f.spawn();
  CHECK(first.name() == "org");
  CHECK(second.name() == "org#2");
  CHECK(f.rt->swarms() == std::vector<std::string>{"org", "org#2"});
  second.stop();
  CHECK(f.rt->swarms() == std::vector<std::string>{"org"});
  second.stop(); // idempotent
  REQUIRE(first.run({"still works"}));
}
