// The architecture registry (actors/architectures.hpp): one row per architecture of the spec,
// in the spec's order, each spawning its coordinator with the roles its options name.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/architectures.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace swarm;

TEST_CASE("the architecture registry has the spec's architectures, in order, with their lines") {
  CHECK(actors::architecture_registry_mismatch() == ""); // shows what differs
  std::vector<std::string> names;
  for (const auto& row : actors::architecture_registry()) {
    names.emplace_back(row.name);
    CHECK(row.spawn != nullptr);
    CHECK(actors::find_architecture(row.name) == &row);
  }
  // One list of names: a name added to the spec without a row (or the reverse) fails here.
  CHECK(names == supported_architectures());
  CHECK(actors::find_architecture("pyramid") == nullptr);
  CHECK(actors::find_architecture("") == nullptr);
}

TEST_CASE("each registry row spawns its coordinator with the roles its options name") {
  // The roles each architecture looks up, when every role key of the node is set.
  const std::map<std::string, std::vector<std::string>> roles_asked{
      {"concurrent", {}},
      {"sequential", {}},
      {"hierarchical", {"the_lead"}},
      {"collaborative", {"the_aggregator"}},
      {"competitive", {"the_judge"}},
      {"group_chat", {"the_selector", "the_chat_judge"}},
      {"graph", {}},
      {"router", {"the_router"}},
  };
  for (const auto& row : actors::architecture_registry()) {
    SECTION(std::string{row.name}) {
      test::actor_fixture f{"latency: {fixed_ms: 0}\n"};
      swarm_node_spec node;
      node.name = "team";
      node.architecture = std::string{row.name};
      node.hierarchical.lead = "the_lead";
      node.collaborative.aggregator = "the_aggregator";
      node.competitive.judge = "the_judge";
      node.group_chat.selector = "the_selector";
      node.group_chat.judge = "the_chat_judge";
      node.router.router = "the_router";
      std::vector<std::string> asked;
      actors::role_lookup role = [&](const std::string& name) {
        if (name.empty())
          return actors::member{};
        asked.push_back(name);
        return f.agent(name);
      };
      auto swarm = row.spawn(f.sys, node, agent_id{"", "team"}, {}, role, {});
      REQUIRE(swarm);
      f.keep(*swarm);
      REQUIRE(roles_asked.count(std::string{row.name}) == 1);
      CHECK(asked == roles_asked.at(std::string{row.name}));
      // A coordinator of the frame: without members it answers invalid_spec naming its swarm.
      auto r = f.ask(*swarm, "go");
      CHECK(r.task_id == "t1");
      REQUIRE(is(r.error, errc::invalid_spec));
      CHECK(describe(r.error).find("swarm 'team' has no members") != std::string::npos);
      CHECK(f.mock->stats().chat_requests == 0);
    }
  }
}
