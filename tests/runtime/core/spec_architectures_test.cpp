// Tests of the swarm spec loader: nested swarms and the options of each architecture (defaults,
// choices, numbers, regexes).
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "tests/runtime/core/spec_test_util.hpp"

using namespace spec_test;
using namespace std::chrono_literals;

TEST_CASE("a nested spec loads with every swarm option") {
  auto spec = swarm::load_spec(specs_dir + "nested.yaml");
  REQUIRE(spec);
  const auto& root = spec->root;
  CHECK(root.name == "company");
  CHECK(root.line == 59);
  CHECK(root.architecture == "hierarchical");
  CHECK(root.members == std::vector<std::string>{"a", "board", "contest", "flow", "desk"});
  CHECK(root.hierarchical.lead == "ceo");
  CHECK(root.hierarchical.max_subtasks == 4);
  CHECK(root.hierarchical.max_attempts == 3);
  CHECK(root.hierarchical.review);
  CHECK(root.guards.member_timeout == 30s);
  CHECK(root.guards.max_rounds == 2);
  CHECK(root.guards.max_messages == 100);
  CHECK(root.guards.deadline == 60s);
  REQUIRE(spec->swarms.size() == 5);
  CHECK(spec->find_swarm("company") == nullptr); // the root is not a sub-swarm
  CHECK(spec->find_agent("board") == nullptr);

  const auto* board = spec->find_swarm("board");
  REQUIRE(board == &spec->swarms[0]);
  CHECK(board->line == 14);
  CHECK(board->architecture == "collaborative");
  CHECK(board->members == std::vector<std::string>{"a", "b", "c"});
  const auto& vote = board->collaborative;
  CHECK(vote.decision == "synthesize");
  CHECK(vote.normalize == "regex");
  CHECK(vote.pattern == "answer: (\\w+)");
  CHECK(vote.field == "verdict");
  CHECK(vote.quorum == 0.6);
  CHECK(vote.tie == "fail");
  CHECK(vote.weights == std::vector<std::pair<std::string, double>>{{"a", 2.0}, {"b", 0.5}});
  CHECK(vote.threshold == 0.75);
  CHECK(vote.aggregator == "merger");
  CHECK(vote.layers == 2);
  CHECK(board->guards.max_rounds == 3);
  CHECK(board->guards.member_timeout == 20s);
  CHECK(board->guards.max_messages == 50);
  CHECK(board->guards.deadline == 40s);

  const auto& contest = spec->swarms[1];
  CHECK(contest.name == "contest");
  CHECK(contest.architecture == "competitive");
  CHECK(contest.members == std::vector<std::string>{"a", "b", "board"});
  CHECK(contest.competitive.select == "first_k");
  CHECK(contest.competitive.judge == "judge");
  CHECK(contest.competitive.criteria == "brevity");
  CHECK(contest.competitive.k == 2);
  CHECK(contest.guards.max_rounds == 5); // guards not given keep their defaults

  const auto& chat = spec->swarms[2];
  CHECK(chat.name == "chat");
  CHECK(chat.group_chat.speaker == "selector");
  CHECK(chat.group_chat.selector == "picker");
  CHECK(chat.group_chat.max_turns == 6);
  CHECK(chat.group_chat.terminate_on == "DONE");
  CHECK(chat.group_chat.judge == "judge");
  CHECK(chat.competitive.judge.empty()); // `judge` of a group chat is the chat's

  const auto& flow = spec->swarms[3];
  CHECK(flow.architecture == "graph");
  REQUIRE(flow.graph.edges.size() == 2);
  CHECK(flow.graph.edges[0].from == "a");
  CHECK(flow.graph.edges[0].to == "b");
  CHECK(flow.graph.edges[0].when == "^yes");
  CHECK(flow.graph.edges[0].line == 49);
  CHECK(flow.graph.edges[1].to == "c");
  CHECK(flow.graph.edges[1].when.empty());
  CHECK(flow.graph.edges[1].line == 50);

  const auto& desk = spec->swarms[4];
  CHECK(desk.architecture == "router");
  CHECK(desk.members == std::vector<std::string>{"a", "chat"});
  CHECK(desk.router.router == "picker");
  REQUIRE(desk.router.routes.size() == 1);
  CHECK(desk.router.routes[0].match == "write|draft");
  CHECK(desk.router.routes[0].to == "chat");
  CHECK(desk.router.routes[0].line == 56);
  CHECK(desk.router.fallback == "a");

  CHECK(spec->agents[1].logprobs);
  CHECK_FALSE(spec->agents[0].logprobs);
}

TEST_CASE("the nested spec in JSON loads to the same swarms as in YAML") {
  auto yaml = swarm::load_spec(specs_dir + "nested.yaml");
  auto json = swarm::load_spec(specs_dir + "nested.json");
  REQUIRE(yaml);
  REQUIRE(json);
  check_same_spec(*yaml, *json);
  CHECK(json->swarms[0].line == 13);
  CHECK(json->root.line == 66);
}

TEST_CASE("every architecture takes its documented defaults") {
  auto result = swarm::parse_spec(text(R"(
name: demo
agents: [{name: a}, {name: b}, {name: lead}, {name: j}, {name: pick}]
swarms:
  h: {architecture: hierarchical, members: [a, b], lead: lead}
  v: {architecture: collaborative, members: [a, b]}
  c: {architecture: competitive, members: [a, b], judge: j}
  g: {architecture: group_chat, members: [a, b]}
  d: {architecture: graph, members: [a, b], edges: [{from: a, to: b}]}
  r: {architecture: router, members: [a, b], router: pick}
  s: {architecture: sequential, members: [a, b]}
  n: {members: [a]}
)"));
  REQUIRE(result.problems.empty());
  REQUIRE(result.spec);
  const auto& spec = *result.spec;
  CHECK(spec.root.architecture == "concurrent");
  CHECK(spec.root.members == std::vector<std::string>{"a", "b", "lead", "j", "pick"});
  CHECK(spec.root.line == 0);
  for (const auto* x : {&spec.root, &spec.swarms[0], &spec.swarms[6]}) {
    CHECK(x->guards.member_timeout == 120s);
    CHECK(x->guards.max_rounds == 5);
    CHECK(x->guards.max_messages == 0);
    CHECK(x->guards.deadline == 0ms);
  }
  const auto& h = spec.swarms[0].hierarchical;
  CHECK(h.max_subtasks == 8);
  CHECK(h.max_attempts == 3);
  CHECK_FALSE(h.review);
  const auto& v = spec.swarms[1].collaborative;
  CHECK(v.decision == "majority");
  CHECK(v.normalize == "fold");
  CHECK(v.pattern.empty());
  CHECK(v.field.empty());
  CHECK(v.quorum == 0.5);
  CHECK(v.tie == "first");
  CHECK(v.weights.empty());
  CHECK(v.threshold == 1.0);
  CHECK(v.aggregator.empty());
  CHECK(v.layers == 1);
  const auto& c = spec.swarms[2].competitive;
  CHECK(c.select == "judge");
  CHECK(c.criteria == "correctness, completeness, clarity");
  CHECK(c.k == 1);
  const auto& g = spec.swarms[3].group_chat;
  CHECK(g.speaker == "round_robin");
  CHECK(g.selector.empty());
  CHECK(g.max_turns == 10);
  CHECK(g.terminate_on == "TERMINATE");
  CHECK(g.judge.empty());
  CHECK(spec.swarms[4].graph.edges[0].when.empty());
  const auto& r = spec.swarms[5].router;
  CHECK(r.routes.empty());
  CHECK(r.fallback.empty()); // the coordinator falls back to the first member
  CHECK(spec.swarms[6].architecture == "sequential");
  CHECK(spec.swarms[7].architecture == "concurrent");
  CHECK(spec.swarms[7].line == 11);
}

TEST_CASE("a key of another architecture is refused") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  judge: j
)") == lines{"swarm.judge: key 'judge' does not apply to architecture 'collaborative' (line 4)"});
  // The architecture decides wherever it stands; without one it is concurrent.
  CHECK(swarm_problems(R"(
  edges: [{from: a, to: b}]
  architecture: router
  router: j
)") == lines{"swarm.edges: key 'edges' does not apply to architecture 'router' (line 3)"});
  CHECK(swarm_problems(R"(
  lead: j
  max_turns: 3
)") == lines{"swarm.lead: key 'lead' does not apply to architecture 'concurrent' (line 3)",
             "swarm.max_turns: key 'max_turns' does not apply to architecture 'concurrent' "
             "(line 4)"});
}

TEST_CASE("the architecture table is what the reader checks keys against") {
  auto table = swarm::architectures();
  std::vector<std::string> names;
  for (const auto& a : table)
    names.emplace_back(a.name);
  CHECK(names == swarm::supported_architectures());
  // Each architecture's own key is accepted there (no key problem) and refused under the first
  // architecture that lacks it.
  auto key_problems = [](std::string_view architecture, std::string_view key) {
    auto out = problems("name: demo\nagents: [{name: a}]\nswarm:\n  architecture: " +
                        std::string{architecture} + "\n  " + std::string{key} + ": 1\n");
    std::vector<std::string> about_key;
    for (auto& p : out)
      if (p.find("swarm." + std::string{key} + ": key ") == 0 || p.find("unknown key") != p.npos)
        about_key.push_back(p);
    return about_key;
  };
  size_t checked = 0;
  for (const auto& a : table) {
    CAPTURE(a.name);
    CHECK(!a.summary.empty());
    for (auto key : a.keys) {
      CAPTURE(key);
      CHECK(key_problems(a.name, key).empty());
      for (const auto& other : table) {
        if (std::find(other.keys.begin(), other.keys.end(), key) != other.keys.end())
          continue;
        CHECK(key_problems(other.name, key) ==
              lines{"swarm." + std::string{key} + ": key '" + std::string{key} +
                    "' does not apply to architecture '" + std::string{other.name} + "' (line 5)"});
        ++checked;
        break;
      }
    }
  }
  CHECK(checked > 20);
  for (auto key : swarm::common_swarm_keys())
    for (const auto& a : table)
      if (key != "architecture")
        CHECK(key_problems(a.name, key).empty());
}

TEST_CASE("choices accept only their documented values") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  decision: vote
  normalize: lower
  tie: random
)") == lines{"swarm.decision: must be one of majority, weighted, consensus, synthesize (got "
             "'vote') (line 4)",
             "swarm.normalize: must be one of exact, fold, regex, json_field, number (got "
             "'lower') (line 5)",
             "swarm.tie: must be one of first, fail (got 'random') (line 6)"});
  CHECK(swarm_problems(R"(
  architecture: competitive
  select: fastest
)") == lines{"swarm.select: must be one of judge, confidence, first_k (got 'fastest') (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  speaker: [a]
)") == lines{"swarm.speaker: expected a string (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  speaker: loudest
)") == lines{"swarm.speaker: must be one of round_robin, selector (got 'loudest') (line 4)"});
}

TEST_CASE("quorum and threshold must be above 0 and at most 1") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  quorum: 0
  threshold: 1.5
)") == lines{"swarm.quorum: must be > 0 and below 1 (the winner needs more than this share) "
             "(line 4)",
             "swarm.threshold: must be > 0 and at most 1 (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  quorum: half
  threshold: -0.5
)") == lines{"swarm.quorum: expected a number (line 4)",
             "swarm.threshold: must be > 0 and at most 1 (line 5)"});
}

TEST_CASE("counts must be positive where zero makes no sense") {
  CHECK(swarm_problems(R"(
  architecture: hierarchical
  lead: j
  max_subtasks: 0
  max_attempts: -2
  max_rounds: 0
  member_timeout_ms: 0
)") == lines{"swarm.max_subtasks: must be > 0 (line 5)", "swarm.max_attempts: must be > 0 (line 6)",
             "swarm.max_rounds: must be > 0 (line 7)",
             "swarm.member_timeout_ms: must be > 0 (line 8)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  layers: 0
)") == lines{"swarm.layers: must be > 0 (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: group_chat
  max_turns: 0
)") == lines{"swarm.max_turns: must be > 0 (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: competitive
  select: first_k
  k: 0
)") == lines{"swarm.k: must be > 0 (line 5)"});
}

TEST_CASE("max_messages and deadline_ms may be 0 but not negative") {
  auto zero = swarm::parse_spec(with_swarm(R"(
  max_messages: 0
  deadline_ms: 0
)"));
  REQUIRE(zero.spec);
  CHECK(zero.spec->root.guards.max_messages == 0);
  CHECK(zero.spec->root.guards.deadline == 0ms);
  CHECK(swarm_problems(R"(
  max_messages: -1
  deadline_ms: 2147483648
)") == lines{"swarm.max_messages: must be at least 0 (line 3)",
             "swarm.deadline_ms: must be at most 2147483647 (line 4)"});
}

TEST_CASE("k cannot exceed the number of members") {
  CHECK(swarm_problems(R"(
  architecture: competitive
  members: [a, b]
  select: first_k
  k: 3
)") == lines{"swarm.k: must be at most 2 (the number of members) (line 6)"});
  // The root's members default to every agent: four here.
  auto four = swarm::parse_spec(with_swarm(R"(
  architecture: competitive
  select: first_k
  k: 4
)"));
  CHECK(four.spec);
}

TEST_CASE("regexes must compile as RE2") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: regex
  pattern: "(unclosed"
)") == lines{"swarm.pattern: invalid regex: missing ): (unclosed (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  edges:
    - {from: a, to: b, when: "[abc"}
    - {from: b, to: c, when: "*x"}
    - {from: c, to: j, when: "[z-a]"}
)") == lines{"swarm.edges[0].when: invalid regex: missing ]: [abc (line 5)",
             "swarm.edges[1].when: invalid regex: nothing to repeat: * (line 6)",
             "swarm.edges[2].when: invalid regex: invalid character range: z-a (line 7)"});
  CHECK(swarm_problems(R"(
  architecture: router
  routes:
    - {match: "a{2,1}", to: a}
    - {match: "\\", to: b}
)") == lines{"swarm.routes[0].match: invalid regex: invalid repetition count (at most 1000): "
             "{2,1} (line 5)",
             "swarm.routes[1].match: invalid regex: trailing \\ (line 6)"});
}

TEST_CASE("back references and lookaround, which RE2 leaves out, are refused by name") {
  CHECK(swarm_problems(R"(
  architecture: router
  routes:
    - {match: "(a)\\1", to: a}
    - {match: "(?=a)b", to: b}
)") == lines{"swarm.routes[0].match: invalid regex: back references are not supported (RE2 "
             "syntax): \\1 (line 5)",
             "swarm.routes[1].match: invalid regex: lookaround is not supported (RE2 syntax): (?= "
             "(line 6)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: regex
  pattern: "(\\w+) \\1"
)") == lines{"swarm.pattern: invalid regex: back references are not supported (RE2 syntax): \\1 "
             "(line 5)"});
  CHECK(swarm_problems(R"(
  architecture: graph
  edges:
    - {from: a, to: b, when: "(?<!no)yes"}
)") == lines{"swarm.edges[0].when: invalid regex: lookaround is not supported (RE2 syntax): (?< "
             "(line 5)"});
}

TEST_CASE("regexes too long or too large to compile safely are refused") {
  CHECK(swarm_problems("  architecture: router\n  routes: [{to: a, match: " +
                       std::string(1001, 'x') + "}]\n") ==
        lines{"swarm.routes[0].match: invalid regex: longer than 1000 characters (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: router
  routes:
    - {match: "x{20000}", to: a}
    - {match: "((ab){100}){100}", to: b}
    - {match: "\\pL{200}", to: c}
    - {match: "[{]{999}", to: c}
)") == lines{"swarm.routes[0].match: invalid regex: invalid repetition count (at most 1000): "
             "{20000} (line 5)",
             "swarm.routes[1].match: invalid regex: invalid repetition count (at most 1000): "
             "{100} (line 6)",
             "swarm.routes[2].match: invalid regex: too large (line 7)"});
}

TEST_CASE("normalize regex needs a pattern with a capture group and json_field a field") {
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: regex
)") == lines{"swarm.pattern: is required for normalize: regex (line 4)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: regex
  pattern: "answer: \\w+"
)") == lines{"swarm.pattern: needs a capture group (group 1 is what is compared) (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: json_field
  field: ""
)") == lines{"swarm.field: must not be empty (line 5)"});
  CHECK(swarm_problems(R"(
  architecture: collaborative
  normalize: json_field
)") == lines{"swarm.field: is required for normalize: json_field (line 4)"});
}
