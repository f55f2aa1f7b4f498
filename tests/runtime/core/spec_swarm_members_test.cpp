// Tests of the swarm spec loader: roles, members, weights, graph edges, routes and sub-swarm trees.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "tests/runtime/core/spec_test_util.hpp"

using namespace spec_test;
using namespace std::chrono_literals;

TEST_CASE("roles must name agents") {
  CHECK(swarm_problems(R"(
  architecture: hierarchical
  lead: boss
)") == lines{"swarm.lead: names no agent: 'boss' (line 4)"});
  CHECK(problems(R"(
name: demo
agents: [{name: a}, {name: b}]
swarms:
  team: {members: [a, b]}
swarm:
  architecture: collaborative
  decision: synthesize
  aggregator: team
)") == lines{"swarm.aggregator: names no agent: 'team' (it is a swarm) (line 8)"});
  CHECK(swarm_problems(R"(
  architecture: competitive
  judge: ""
)") == lines{"swarm.judge: must not be empty (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  speaker: selector
  selector: host
  judge: referee
)") == lines{"swarm.selector: names no agent: 'host' (line 5)",
             "swarm.judge: names no agent: 'referee' (line 6)"});
  CHECK(swarm_problems(R"(
  architecture: router
  router: dispatcher
)") == lines{"swarm.router: names no agent: 'dispatcher' (line 4)"});
}

TEST_CASE("required roles are reported at the key that demands them") {
  CHECK(swarm_problems(R"(
  architecture: hierarchical
)") == lines{"swarm.lead: is required for architecture: hierarchical (line 3)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  decision: synthesize
)") == lines{"swarm.aggregator: is required for decision: synthesize (line 4)"});
  // select defaults to judge: the architecture demands the judge then.
  CHECK(swarm_problems(R"(
  architecture: competitive
)") == lines{"swarm.judge: is required for select: judge (line 3)"});
  CHECK(swarm_problems(R"(
  architecture: competitive
  select: judge
)") == lines{"swarm.judge: is required for select: judge (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  speaker: selector
)") == lines{"swarm.selector: is required for speaker: selector (line 4)"});
  auto fine = swarm::parse_spec(with_swarm(R"(
  architecture: competitive
  select: confidence
)"));
  CHECK(fine.spec);
}

TEST_CASE("members name agents or sub-swarms in any swarm") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}, {name: b}]
swarms:
  team:
    members: [a, crew, b, a]
swarm:
  members: [team, squad]
)") == lines{"swarms.team.members[1]: names no agent or swarm: 'crew' (line 5)",
             "swarms.team.members[3]: duplicate member 'a' (first at line 5) (line 5)",
             "swarm.members[1]: names no agent or swarm: 'squad' (line 7)"});
}

TEST_CASE("weights name members and are positive numbers") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  decision: weighted
  members: [a, b]
  weights:
    a: 0
    b: heavy
    c: 2
    j: 2000000
)") == lines{"swarm.weights.a: must be > 0 and at most 1000000 (line 7)",
             "swarm.weights.b: expected a number (line 8)",
             "swarm.weights.c: names no member: 'c' (line 9)",
             "swarm.weights.j: must be > 0 and at most 1000000 (line 10)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  weights: [a, b]
)") == lines{"swarm.weights: expected a mapping (line 4)"});
}

TEST_CASE("a graph needs edges between its members without cycles") {
  CHECK(swarm_problems(R"(
  architecture: graph
)") == lines{"swarm.edges: is required for architecture: graph (line 3)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  edges: []
)") == lines{"swarm.edges: must not be empty (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  members: [a, b, c]
  edges:
    - {from: a, to: b}
    - {from: b, to: c}
    - {from: c, to: a}
)") == lines{"swarm.edges[2]: cycle a -> b -> c -> a (line 8)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  edges:
    - {from: a, to: a}
)") == lines{"swarm.edges[0]: cycle a -> a (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  members: [a, b]
  edges:
    - {from: a, to: j}
    - {from: a, to: b}
    - {from: a, to: b}
    - {to: b, when: x, if: y}
    - a
)") == lines{"swarm.edges[0].to: names no member: 'j' (line 6)",
             "swarm.edges[2]: duplicate edge a -> b (first at line 7) (line 8)",
             "swarm.edges[3].if: unknown key (did you mean 'to'?) (line 9)",
             "swarm.edges[3].from: is required (line 9)",
             "swarm.edges[4]: expected a mapping (line 10)"});
}

TEST_CASE("routes and the fallback name members") {
  CHECK(swarm_problems(R"(
  architecture: router
  members: [a, b]
  routes:
    - {match: "^code", to: c}
    - {to: a}
    - {match: x}
  fallback: j
)") == lines{"swarm.routes[0].to: names no member: 'c' (line 6)",
             "swarm.routes[1].match: is required (line 7)",
             "swarm.routes[2].to: is required (line 8)",
             "swarm.fallback: names no member: 'j' (line 9)"});
  CHECK(swarm_problems(R"(
  architecture: router
  fallback: a
)") == lines{"swarm.routes: is required without 'router' (line 3)"});
}

TEST_CASE("sub-swarms must list their members") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  team: {architecture: sequential}
  crew:
    members: []
)") == lines{"swarms.team.members: is required (line 4)",
             "swarms.crew.members: must not be empty (line 6)"});
}

TEST_CASE("sub-swarm names follow the agent name rule and are not agent names") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
swarms:
  a: {members: [a]}
  "my team": {members: [a]}
  "": {members: [a]}
)") == lines{"swarms.a: name 'a' is taken by an agent (line 3) (line 5)",
             "swarms.my team: must match [A-Za-z0-9_-]+ (line 6)",
             "swarms.: must not be empty (line 7)"});
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  team: {members: [a]}
  team: {members: [a]}
)") == lines{"swarms.team: duplicate key (first at line 4) (line 5)"});
}

TEST_CASE("swarms must be a mapping of swarm mappings") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms: [team]
)") == lines{"swarms: expected a mapping (line 3)"});
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  team: [a]
  crew: {members: [a], leader: a}
)") == lines{"swarms.team: expected a mapping (line 4)",
             "swarms.crew.leader: unknown key (did you mean 'lead'?) (line 5)"});
}

TEST_CASE("a sub-swarm that contains itself is refused") {
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  x:
    members: [y]
  y:
    members: [a, x]
)") == lines{"swarms.x.members[0]: cycle: x -> y -> x (line 5)"});
  CHECK(problems(R"(
name: demo
agents: [{name: a}]
swarms:
  top: {members: [x]}
  x: {members: [a, x]}
  p: {members: [q]}
  q: {members: [r]}
  r: {members: [p]}
)") == lines{"swarms.x.members[1]: cycle: x -> x (line 5)",
             "swarms.p.members[0]: cycle: p -> q -> r -> p (line 6)"});
}

TEST_CASE("sub-swarms may nest 16 levels below the root and no deeper") {
  auto nested = [](int levels) {
    std::string spec = "name: demo\nagents: [{name: a}]\nswarm: {members: [s0]}\nswarms:\n";
    for (int i = 0; i < levels; ++i)
      spec += "  s" + std::to_string(i) + ": {members: [" +
              (i + 1 < levels ? "s" + std::to_string(i + 1) : std::string{"a"}) + "]}\n";
    return swarm::parse_spec(spec);
  };
  CHECK(nested(16).spec);
  auto deep = nested(17);
  REQUIRE(deep.problems.size() == 1);
  CHECK(swarm::to_string(deep.problems[0]) ==
        "swarm.members: sub-swarms nest deeper than 16 levels (line 3)");
  // A chain far deeper than any stack would allow: still one problem, no recursion.
  CHECK(nested(50'000).problems.size() == 1);
}

TEST_CASE("logprobs must be true or false") {
  CHECK(problems(R"(
name: demo
agents:
  - name: a
    logprobs: 1
)") == lines{"agents[0].logprobs: expected true or false (line 4)"});
}

TEST_CASE("hostile swarm trees yield problems and never a crash") {
  // 20,000 sub-swarms in one long cycle; every regex key with patterns built to blow the stack.
  std::string ring = "name: demo\nagents: [{name: a}]\nswarms:\n";
  for (int i = 0; i < 20'000; ++i)
    ring +=
        "  s" + std::to_string(i) + ": {members: [s" + std::to_string((i + 1) % 20'000) + "]}\n";
  auto result = swarm::parse_spec(ring);
  REQUIRE(result.problems.size() == 1);
  CHECK(swarm::to_string(result.problems[0]) ==
        "swarms.s0.members[0]: cycle: s0 -> s1 -> s2 -> s3 -> s4 -> ... -> s19998 -> s19999 -> s0 "
        "(line 4)");
  std::string regexes = "name: demo\nagents: [{name: a}, {name: b}]\nswarm:\n"
                        "  architecture: router\n  routes:\n";
  for (const auto& pattern : {std::string(999, '('), std::string(500, '(') + std::string(499, ')'),
                              std::string(999, 'a'), std::string("(a|b)*c{999}d{999}")})
    regexes += "    - {match: \"" + pattern + "\", to: a}\n";
  auto hostile = swarm::parse_spec(regexes);
  CHECK(hostile.spec.has_value() == hostile.problems.empty());
}

TEST_CASE("a quorum of 1 is refused because the winner needs more than the quorum") {
  auto r = swarm::parse_spec("name: v\nagents: [{name: a}, {name: b}]\nswarm:\n"
                             "  architecture: collaborative\n  quorum: 1\n");
  REQUIRE(r.problems.size() == 1);
  CHECK(swarm::to_string(r.problems[0]) ==
        "swarm.quorum: must be > 0 and below 1 (the winner needs more than this share) (line 5)");
}
