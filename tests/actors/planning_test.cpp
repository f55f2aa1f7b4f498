// The pure decisions of the hierarchical, sequential and router coordinators.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "actors/planning.hpp"
#include "tests/support/small_stack.hpp"

using namespace swarm;
using namespace swarm::actors;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

member worker(std::string name, std::vector<std::string> skills = {}) {
  return member{std::move(name), {}, std::move(skills)};
}

plan make_plan(std::vector<planned_subtask> xs) {
  return plan{std::move(xs)};
}

constexpr const char* good_plan = R"({"subtasks": [
  {"id": "s1", "text": "find facts", "skill": "research", "depends_on": []},
  {"id": "s2", "text": "more facts", "skill": "research", "depends_on": []},
  {"id": "s3", "text": "write it up", "skill": "writing", "depends_on": ["s1", "s2"]}]})";

} // namespace

TEST_CASE("a well-formed plan parses into subtasks in plan order") {
  auto p = parse_plan(good_plan, 8);
  REQUIRE(p.ok());
  REQUIRE(p.value.subtasks.size() == 3);
  CHECK(p.value.subtasks[0].id == "s1");
  CHECK(p.value.subtasks[0].skill == "research");
  CHECK(p.value.subtasks[2].depends_on == std::vector<std::string>{"s1", "s2"});
  CHECK(p.value.find("s3") == 2u);
  CHECK_FALSE(p.value.find("s9"));
}

TEST_CASE("a plan inside a code fence or prose still parses") {
  CHECK(parse_plan(std::string{"```json\n"} + good_plan + "\n```", 8).ok());
  CHECK(parse_plan(std::string{"Here is the plan: "} + good_plan + " Good luck.", 8).ok());
}

TEST_CASE("skill and depends_on may be left out or null") {
  auto p = parse_plan(R"({"subtasks": [{"id": "a", "text": "x"}, {"id": "b", "text": "y",
                         "skill": null, "depends_on": null}]})",
                      8);
  REQUIRE(p.ok());
  CHECK(p.value.subtasks[0].skill.empty());
  CHECK(p.value.subtasks[1].depends_on.empty());
}

TEST_CASE("repeated dependencies are kept once") {
  auto p = parse_plan(R"({"subtasks": [{"id": "a", "text": "x"},
                         {"id": "b", "text": "y", "depends_on": ["a", "a"]}]})",
                      8);
  REQUIRE(p.ok());
  CHECK(p.value.subtasks[1].depends_on == std::vector<std::string>{"a"});
  // A model's list of any length: kept once each, in first-seen order (a set, not a search of
  // the list so far, which took the square of its length).
  std::string deps;
  for (int i = 0; i < 40'000; ++i)
    deps += std::string(deps.empty() ? "" : ", ") + "\"a\", \"b\"";
  auto long_list = parse_plan(R"({"subtasks": [{"id": "a", "text": "x"}, {"id": "b", "text": "y"},
                              {"id": "c", "text": "z", "depends_on": [)" +
                                  deps + "]}]}",
                              8);
  REQUIRE(long_list.ok());
  CHECK(long_list.value.subtasks[2].depends_on == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a reply that is not JSON is rejected as such") {
  auto p = parse_plan("I will research first, then write.", 8);
  REQUIRE_FALSE(p.ok());
  CHECK_THAT(p.problem, StartsWith("the reply is not JSON"));
  CHECK(p.value.subtasks.empty());
}

TEST_CASE("a JSON reply of the wrong shape names the shape expected") {
  CHECK(parse_plan("[1, 2]", 8).problem == "the reply is JSON but not an object");
  CHECK(parse_plan(R"({"steps": []})", 8).problem ==
        "the plan must be a JSON object with a \"subtasks\" array");
  CHECK(parse_plan(R"({"subtasks": {}})", 8).problem ==
        "the plan must be a JSON object with a \"subtasks\" array");
  CHECK(parse_plan(R"({"subtasks": []})", 8).problem == "the plan has no subtasks");
}

TEST_CASE("subtask fields of the wrong type are named by position and id") {
  auto p = parse_plan(R"({"subtasks": [7, {"text": "x"}, {"id": "s3"},
                         {"id": "s4", "text": "  "}, {"id": "s5", "text": "x", "skill": 3},
                         {"id": "s6", "text": "x", "depends_on": "s1"},
                         {"id": "s7", "text": "x", "depends_on": [1]}]})",
                      0);
  REQUIRE_FALSE(p.ok());
  CHECK_THAT(p.problem, Contains("subtasks[0] is not an object"));
  CHECK_THAT(p.problem, Contains("subtasks[1] has no \"id\" string"));
  CHECK_THAT(p.problem, Contains("subtasks[2] (s3) has no \"text\" string"));
  CHECK_THAT(p.problem, Contains("subtasks[3] (s4) has an empty \"text\""));
  CHECK_THAT(p.problem, Contains("subtasks[4] (s5): \"skill\" must be a string"));
  CHECK_THAT(p.problem, Contains("subtasks[5] (s6): \"depends_on\" must be an array"));
  CHECK_THAT(p.problem, Contains("subtasks[6] (s7): \"depends_on\" must be an array"));
}

TEST_CASE("ids must be short words of letters, digits, _ and -") {
  auto p = parse_plan(R"({"subtasks": [{"id": "step one", "text": "x"}]})", 8);
  CHECK_THAT(p.problem, Contains("subtasks[0].id \"step one\" is not a valid id"));
  auto long_id = std::string(65, 'a');
  CHECK_FALSE(parse_plan(R"({"subtasks": [{"id": ")" + long_id + R"(", "text": "x"}]})", 8).ok());
  CHECK(parse_plan(R"({"subtasks": [{"id": "Step_1-b", "text": "x"}]})", 8).ok());
}

TEST_CASE("duplicate ids are named with both positions") {
  auto p = parse_plan(R"({"subtasks": [{"id": "s1", "text": "x"}, {"id": "s2", "text": "y"},
                         {"id": "s1", "text": "z"}]})",
                      8);
  CHECK(p.problem == "duplicate subtask id s1 (subtasks[0] and subtasks[2])");
}

TEST_CASE("unknown dependencies and self-dependencies are named") {
  auto p = parse_plan(R"({"subtasks": [{"id": "s1", "text": "x", "depends_on": ["s9"]},
                         {"id": "s2", "text": "y", "depends_on": ["s2"]}]})",
                      8);
  CHECK(p.problem == "subtask s1 depends on unknown subtask s9; subtask s2 depends on itself");
}

TEST_CASE("a dependency cycle is shown as the path around it") {
  auto p = parse_plan(R"({"subtasks": [{"id": "s1", "text": "x", "depends_on": ["s3"]},
                         {"id": "s2", "text": "y", "depends_on": ["s1"]},
                         {"id": "s3", "text": "z", "depends_on": ["s2"]},
                         {"id": "s4", "text": "w"}]})",
                      8);
  CHECK(p.problem == "dependency cycle: s1 -> s3 -> s2 -> s1");
}

TEST_CASE("a plan longer than max_subtasks is rejected, and 0 means no limit") {
  CHECK(parse_plan(good_plan, 2).problem == "the plan has 3 subtasks; at most 2 are allowed");
  CHECK(parse_plan(good_plan, 3).ok());
  CHECK(parse_plan(good_plan, 0).ok());
}

TEST_CASE("a dependency chain of 100,000 subtasks is checked on a small stack") {
  // A model's plan may be long: the search neither recurses nor looks ids up by scanning.
  std::vector<planned_subtask> chain;
  for (size_t i = 0; i < 100'000; ++i)
    chain.push_back({"s" + std::to_string(i), "x", "",
                     i + 1 < 100'000 ? std::vector<std::string>{"s" + std::to_string(i + 1)}
                                     : std::vector<std::string>{}});
  auto acyclic = make_plan(chain);
  chain.back().depends_on = {"s0"};
  auto cyclic = make_plan(chain);
  std::vector<std::string> none, cycle;
  swarm::test::run_on_small_stack(256 * 1024, [&] {
    none = plan_cycle(acyclic);
    cycle = plan_cycle(cyclic);
  });
  CHECK(none.empty());
  REQUIRE(cycle.size() == 100'001);
  CHECK(cycle.front() == "s0");
  CHECK(cycle[99'999] == "s99999");
  CHECK(cycle.back() == "s0");
}

TEST_CASE("plan_cycle finds cycles and ignores unknown ids") {
  CHECK(plan_cycle(make_plan({{"a", "x", "", {"b"}}, {"b", "y", "", {"a"}}})) ==
        std::vector<std::string>{"a", "b", "a"});
  CHECK(plan_cycle(make_plan({{"a", "x", "", {"a"}}})) == std::vector<std::string>{"a", "a"});
  CHECK(plan_cycle(make_plan({{"a", "x", "", {"zz"}}, {"b", "y", "", {"a"}}})).empty());
  // A diamond is not a cycle.
  CHECK(plan_cycle(make_plan({{"a", "x", "", {}},
                              {"b", "y", "", {"a"}},
                              {"c", "z", "", {"a"}},
                              {"d", "w", "", {"b", "c"}}}))
            .empty());
}

TEST_CASE("dependency order puts every subtask after its dependencies, else plan order") {
  auto p = make_plan({{"w", "x", "", {"r2", "r1"}},
                      {"r1", "y", "", {}},
                      {"r2", "z", "", {"r1"}},
                      {"solo", "s", "", {}}});
  CHECK(dependency_order(p) == std::vector<size_t>{1, 3, 2, 0});
}

TEST_CASE("ready subtasks are the pending ones whose dependencies are all done") {
  auto p = parse_plan(good_plan, 8).value;
  using S = subtask_state;
  CHECK(ready_subtasks(p, {S::pending, S::pending, S::pending}) == std::vector<size_t>{0, 1});
  CHECK(ready_subtasks(p, {S::done, S::running, S::pending}).empty());
  CHECK(ready_subtasks(p, {S::done, S::done, S::pending}) == std::vector<size_t>{2});
  CHECK(ready_subtasks(p, {S::done, S::failed, S::pending}).empty());
}

TEST_CASE("a subtask behind a failed or skipped dependency is blocked, naming it") {
  auto p = make_plan(
      {{"a", "x", "", {}}, {"b", "y", "", {"a"}}, {"c", "z", "", {"b"}}, {"d", "w", "", {}}});
  using S = subtask_state;
  auto blocked = blocked_subtasks(p, {S::failed, S::pending, S::pending, S::pending});
  REQUIRE(blocked.size() == 1);
  CHECK(blocked[0].index == 1);
  CHECK(blocked[0].dependency == "a");
  blocked = blocked_subtasks(p, {S::failed, S::skipped, S::pending, S::pending});
  REQUIRE(blocked.size() == 1);
  CHECK(blocked[0].index == 2);
  CHECK(blocked[0].dependency == "b");
}

TEST_CASE("assignment picks the least loaded member with the skill, first on ties") {
  std::vector<member> ms{worker("a", {"research"}), worker("b", {"writing"}),
                         worker("c", {"research", "writing"})};
  CHECK(assign_member("research", ms, {0, 0, 0}, 0).member == 0);
  CHECK(assign_member("research", ms, {1, 0, 0}, 0).member == 2);
  CHECK(assign_member("writing", ms, {0, 2, 1}, 0).member == 2);
  CHECK(assign_member("writing", ms, {0, 2, 1}, 0).capable);
}

TEST_CASE("assignment without a capable member goes round robin") {
  std::vector<member> ms{worker("a", {"research"}), worker("b")};
  auto first = assign_member("cooking", ms, {5, 0}, 0);
  CHECK(first.member == 0);
  CHECK_FALSE(first.capable);
  CHECK(assign_member("cooking", ms, {5, 0}, 1).member == 1);
  CHECK(assign_member("cooking", ms, {5, 0}, 2).member == 0);
  CHECK(assign_member("", ms, {0, 0}, 3).member == 1); // an empty skill is nobody's
}

TEST_CASE("reassignment prefers an untried capable member, least loaded") {
  std::vector<member> ms{worker("a", {"research"}), worker("b"), worker("c", {"research"}),
                         worker("d", {"research"})};
  CHECK(reassign_member("research", ms, {0, 0, 3, 1}, {0}) == 3u);
  CHECK(reassign_member("research", ms, {0, 0, 0, 0}, {0, 2, 3}) == std::nullopt);
  // Nobody has the skill: any untried member.
  CHECK(reassign_member("cooking", ms, {0, 0, 0, 0}, {0}) == 1u);
}

TEST_CASE("the second attempt retries on the same member, later ones reassign") {
  std::vector<member> ms{worker("a", {"research"}), worker("c", {"research"})};
  CHECK(next_worker(2, 0, "research", ms, {0, 0}, {0}) == 0);
  CHECK(next_worker(3, 0, "research", ms, {0, 0}, {0}) == 1);
  // No one else can: the same member once more.
  CHECK(next_worker(3, 0, "research", {worker("a", {"research"})}, {0}, {0}) == 0);
}

TEST_CASE("a dependent subtask's text carries its dependencies' answers") {
  planned_subtask s{"s3", "write it up", "writing", {"s1", "s2"}};
  auto text = dependent_text(s, {{"s1", "a", "otters"}, {"s2", "c", "seals"}});
  CHECK(text == "write it up\n\nAnswer of subtask s1 (from a):\notters\n\nAnswer of subtask s2 "
                "(from c):\nseals");
  CHECK(dependent_text(s, {}) == "write it up");
}

TEST_CASE("the aggregation prompt holds the task and every answer or failure") {
  auto text = aggregation_prompt("report on animals", {{"s1", "find facts", "a", "otters", ""},
                                                       {"s2", "more facts", "c", "", "boom"}});
  CHECK_THAT(text, StartsWith("Write the final answer"));
  CHECK_THAT(text, Contains("Task: report on animals"));
  CHECK_THAT(text, Contains("## Subtask s1: find facts\nAnswer (from a):\notters"));
  CHECK_THAT(text, Contains("## Subtask s2: more facts\n(failed at c: boom)"));
  CHECK(partial_answer({{"s1", "find facts", "a", "otters", ""}, {"s2", "x", "c", "", "boom"}}) ==
        "## s1 (from a)\notters");
}

TEST_CASE("the planning prompt lists members with skills, the limit and the task") {
  auto text =
      planning_prompt("report on animals", {worker("a", {"research", "math"}), worker("b")}, 4);
  CHECK_THAT(text, StartsWith("Plan the task"));
  CHECK_THAT(text, Contains("- a: research, math\n"));
  CHECK_THAT(text, Contains("- b: (no listed skills)\n"));
  CHECK_THAT(text, Contains("at most 4 subtasks"));
  CHECK_THAT(text, Contains("Task: report on animals"));
  auto again = replanning_prompt("subtask s1 depends on unknown subtask s9", "report", {}, 4);
  CHECK_THAT(again, StartsWith("Your previous plan was rejected: subtask s1 depends on unknown "
                               "subtask s9.\n"));
  CHECK_THAT(again, Contains("Plan the task"));
}

TEST_CASE("the plan response format is a strict JSON schema of the plan") {
  auto v = boost::json::parse(plan_response_format());
  CHECK(v.at("type") == "json_schema");
  CHECK(v.at("json_schema").at("name") == "plan");
  CHECK(v.at("json_schema").at("strict") == true);
  const auto& item = v.at("json_schema").at("schema").at("properties").at("subtasks").at("items");
  CHECK(item.at("required").as_array().size() == 4);
  CHECK(item.at("properties").at("depends_on").at("type") == "array");
}

TEST_CASE("review replies parse into verdicts; anything else is unreadable") {
  auto r = parse_review(R"({"verdict": "reassign", "feedback": "too short"})");
  REQUIRE(r);
  CHECK(r->verdict == review_verdict::reassign);
  CHECK(r->feedback == "too short");
  CHECK(parse_review(R"({"verdict": "accept"})")->verdict == review_verdict::accept);
  CHECK(parse_review(R"({"verdict": "retry", "feedback": ""})")->verdict == review_verdict::retry);
  CHECK_FALSE(parse_review(R"({"verdict": "maybe"})"));
  CHECK_FALSE(parse_review("looks fine"));
  CHECK(with_feedback("do x", "more detail") ==
        "do x\n\nReviewer feedback on an earlier answer: more detail");
  CHECK(with_feedback("do x", " ") == "do x");
  auto format = boost::json::parse(review_response_format());
  CHECK(format.at("json_schema").at("name") == "review");
}

TEST_CASE("a pipeline step gets the task and the previous answer") {
  CHECK(pipeline_text("summarise", "a", "draft") ==
        "Task: summarise\n\nPrevious answer (from a): draft");
}

TEST_CASE("routes: the first matching rule naming a member wins") {
  std::vector<member> ms{worker("calc"), worker("poet")};
  auto routes = compile_routes({{"sum|add", "calc", 0}, {"poem", "ghost", 0}, {"poem", "poet", 0}});
  auto c = choose_route("write a poem", routes, ms, "");
  CHECK(c.member == 1u);
  CHECK(c.reason == "route 3 (/poem/)");
  CHECK(choose_route("add 2 and 3", routes, ms, "").member == 0u);
}

TEST_CASE("routes: without a match the fallback, else the first member, answers") {
  std::vector<member> ms{worker("calc"), worker("poet")};
  auto routes = compile_routes({{"sum", "calc", 0}});
  auto c = choose_route("hello", routes, ms, "poet");
  CHECK(c.member == 1u);
  CHECK(c.reason == "fallback");
  c = choose_route("hello", routes, ms, "");
  CHECK(c.member == 0u);
  CHECK(c.reason == "fallback (first member)");
}

TEST_CASE("routes: no route when the fallback is no member or there are no members") {
  std::vector<member> ms{worker("calc")};
  auto c = choose_route("hello", {}, ms, "ghost");
  CHECK_FALSE(c.member);
  CHECK(c.reason == "no route matches and the fallback ghost is not a member");
  CHECK_FALSE(choose_route("hello", {}, {}, "").member);
}

TEST_CASE("routes: a rule whose regex does not compile never matches") {
  auto routes = compile_routes({{"(", "calc", 0}});
  REQUIRE(routes.size() == 1);
  CHECK_FALSE(routes[0].re);
  CHECK(choose_route("(", routes, {worker("calc"), worker("poet")}, "poet").member == 1u);
}

TEST_CASE("routes: a catastrophic regex on a long task falls through at once") {
  // std::regex backtracked 2^n steps on (a+)+$ against n `a`s then `c`: a hang for good.
  std::vector<member> ms{worker("calc"), worker("poet")};
  auto routes = compile_routes({{"(a+)+$", "calc", 0}, {"^(a|aa)+c$", "poet", 0}});
  REQUIRE(routes[0].re);
  auto c = choose_route(std::string(45, 'a') + "c", {routes[0]}, ms, "poet");
  CHECK(c.member == 1u);
  CHECK(c.reason == "fallback");
  // A route that does match such a text is taken, as fast.
  CHECK(choose_route(std::string(45, 'a') + "c", routes, ms, "").reason ==
        "route 2 (/^(a|aa)+c$/)");
}

TEST_CASE("router replies name a member, else the problem says why not") {
  std::vector<member> ms{worker("calc"), worker("poet")};
  CHECK(parse_router_reply(R"({"member": "poet"})", ms).member == 1u);
  auto bad = parse_router_reply(R"({"member": "ghost"})", ms);
  CHECK_FALSE(bad.member);
  CHECK(bad.problem == "\"ghost\" is not a member (members: calc, poet)");
  CHECK(parse_router_reply(R"({"name": "poet"})", ms).problem ==
        "the reply has no \"member\" string");
  CHECK_THAT(parse_router_reply("poet", ms).problem, StartsWith("the reply is not JSON"));
  auto format = boost::json::parse(router_response_format(ms));
  CHECK(format.at("json_schema").at("schema").at("properties").at("member").at("enum") ==
        boost::json::array{"calc", "poet"});
  CHECK_THAT(router_prompt("hi", ms), StartsWith("Choose the one member"));
  CHECK_THAT(rerouting_prompt("bad", "hi", ms),
             StartsWith("Your previous choice was not valid: bad."));
}
