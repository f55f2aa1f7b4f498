// Pure logic of group_chat and graph: transcripts, replies, termination,
// validation, readiness.
#include <chrono>

#include <catch2/catch.hpp>

#include "actors/conversation.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/small_stack.hpp"

using namespace swarm;
using namespace swarm::actors;

namespace {

graph_layout layout(std::vector<std::string> nodes, std::vector<graph_edge> edges) {
  auto g = make_graph_layout(nodes, edges);
  REQUIRE(g);
  return std::move(*g);
}

bool has_problem(const std::vector<spec_problem>& xs, const std::string& path,
                 const std::string& part) {
  for (const auto& x : xs)
    if (x.path == path && x.message.find(part) != std::string::npos)
      return true;
  return false;
}

result answer(std::string name, std::string text, uint64_t calls = 1) {
  result r;
  r.agent = agent_id{"g", std::move(name)};
  r.text = std::move(text);
  r.use.calls = calls;
  return r;
}

} // namespace

// -- group chat
// ----------------------------------------------------------------------------------

TEST_CASE("a transcript renders one NAME: text line per turn") {
  CHECK(render_transcript({}).empty());
  CHECK(render_transcript({{"a", "hi"}, {"b", "hello"}}) == "a: hi\nb: hello");
}

TEST_CASE("a speaker's task holds the task, the transcript so far and its name") {
  CHECK(speaker_task_text("plan a trip", {}, "a") ==
        "Task: plan a trip\n\nYou are a; it is your turn.");
  CHECK(speaker_task_text("plan a trip", {{"a", "Rome?"}}, "b") ==
        "Task: plan a trip\n\nConversation so far:\na: Rome?\n\nYou are b; it "
        "is your turn.");
}

TEST_CASE("the turn limit is the smaller of max_turns and max_rounds, zeros "
          "ignored") {
  CHECK(chat_turn_limit(10, 5) == 5);
  CHECK(chat_turn_limit(3, 5) == 3);
  CHECK(chat_turn_limit(0, 4) == 4);
  CHECK(chat_turn_limit(7, 0) == 7);
  CHECK(chat_turn_limit(0, 0) == 1);
}

TEST_CASE("round robin cycles through the members in order") {
  std::vector<size_t> order;
  for (uint32_t turn = 0; turn < 7; ++turn)
    order.push_back(round_robin_speaker(turn, 3));
  CHECK(order == std::vector<size_t>{0, 1, 2, 0, 1, 2, 0});
  CHECK(round_robin_speaker(5, 0) == 0);
}

TEST_CASE("a termination marker is found anywhere in a turn and stripped from "
          "the result") {
  CHECK(mentions_marker("All done. TERMINATE", "TERMINATE"));
  CHECK(mentions_marker("TERMINATE now", "TERMINATE"));
  CHECK_FALSE(mentions_marker("terminate", "TERMINATE"));
  CHECK_FALSE(mentions_marker("anything", ""));
  CHECK(strip_marker("All done. TERMINATE", "TERMINATE") == "All done.");
  CHECK(strip_marker("TERMINATE\nAnswer: 4\nTERMINATE ", "TERMINATE") == "Answer: 4");
  CHECK(strip_marker("  plain  ", "TERMINATE") == "plain");
  CHECK(strip_marker(" x ", "") == "x");
  // Occurrences found left to right, not overlapping, after partial ones.
  CHECK(mentions_marker("xxaab", "aab"));
  CHECK_FALSE(mentions_marker("aabaa", "aaa"));
  CHECK(strip_marker("aaaaa", "aa") == "a");
  CHECK(strip_marker("ab abcabcab d", "abcab") == "ab cab d");
  // A marker and an answer built to make a naive search take their product: still exact.
  auto marker = std::string(3000, 'a') + "b";
  auto answer = std::string(300'000, 'a');
  CHECK_FALSE(mentions_marker(answer, marker));
  CHECK(strip_marker(answer + "b", marker) == std::string(300'000 - 3000, 'a'));
}

TEST_CASE("the selector's question lists the members and the transcript") {
  auto q = selector_task_text("t", {{"a", "one"}}, {"a", "b"});
  CHECK(q.find("Task: t") == 0);
  CHECK(q.find("a: one") != std::string::npos);
  CHECK(q.find("Members: a, b") != std::string::npos);
  auto retry = selector_retry_text(q, "\"zed\" is not a member", {"a", "b"});
  CHECK(retry.find(q) == 0);
  CHECK(retry.find("\"zed\" is not a member") != std::string::npos);
  CHECK(retry.find("one of: a, b") != std::string::npos);
}

TEST_CASE("the selector's response format is a strict JSON schema over the "
          "member names") {
  CHECK(selector_response_format({"a", "b"}) ==
        R"({"type":"json_schema","json_schema":{"name":"speaker","strict":true,"schema":)"
        R"({"type":"object","properties":{"speaker":{"type":"string","enum":["a","b"]}},)"
        R"("required":["speaker"],"additionalProperties":false}}})");
  CHECK(judge_response_format() ==
        R"({"type":"json_schema","json_schema":{"name":"done","strict":true,"schema":)"
        R"({"type":"object","properties":{"done":{"type":"boolean"}},)"
        R"("required":["done"],"additionalProperties":false}}})");
}

TEST_CASE("a selector reply names a member in JSON, fenced JSON or plain text") {
  std::vector<std::string> names{"alice", "bob"};
  CHECK(parse_speaker(R"({"speaker": "bob"})", names).value() == "bob");
  CHECK(parse_speaker("```json\n{\"speaker\": \"alice\"}\n```", names).value() == "alice");
  CHECK(parse_speaker("Next: {\"speaker\":\"Bob\"}", names).value() == "bob");
  CHECK(parse_speaker(" alice\n", names).value() == "alice");
  CHECK(parse_speaker("\"bob\"", names).value() == "bob");
}

TEST_CASE("a selector reply naming no member is invalid with the problem stated") {
  std::vector<std::string> names{"alice", "bob"};
  auto zed = parse_speaker(R"({"speaker": "zed"})", names);
  REQUIRE_FALSE(zed);
  CHECK(is(zed.error(), errc::invalid_reply));
  CHECK(describe(zed.error()).find("\"zed\" is not a member (alice, bob)") != std::string::npos);
  CHECK(is(parse_speaker(R"({"next": "bob"})", names).error(), errc::invalid_reply));
  CHECK(is(parse_speaker(R"({"speaker": 3})", names).error(), errc::invalid_reply));
  CHECK(is(parse_speaker("", names).error(), errc::invalid_reply));
  CHECK(is(parse_speaker("carol should speak", names).error(), errc::invalid_reply));
}

TEST_CASE("a judge reply is a JSON boolean done") {
  CHECK(parse_done(R"({"done": true})").value());
  CHECK_FALSE(parse_done(R"({"done": false})").value());
  CHECK(parse_done("```json\n{\"done\": true}\n```").value());
  CHECK(is(parse_done(R"({"done": "yes"})").error(), errc::invalid_reply));
  CHECK(is(parse_done("done").error(), errc::invalid_reply));
  CHECK(is(parse_done("{}").error(), errc::invalid_reply));
}

TEST_CASE("the judge's question holds the task and the transcript") {
  auto q = judge_task_text("t", {{"a", "4"}});
  CHECK(q.find("Task: t\n\nConversation so far:\na: 4") == 0);
  CHECK(q.find("{\"done\": true}") != std::string::npos);
}

// -- graph validation
// ----------------------------------------------------------------------------

TEST_CASE("a valid graph has no problems") {
  CHECK(graph_problems({"a", "b", "c"}, {{"a", "b", "", 1}, {"a", "c", "x+", 2}, {"b", "c", "", 3}})
            .empty());
  CHECK(graph_problems({"a"}, {}).empty());
}

TEST_CASE("graph validation names unknown nodes, bad regexes and duplicate edges") {
  auto ps = graph_problems(
      {"a", "b"},
      {{"a", "zed", "", 4}, {"ghost", "b", "", 5}, {"a", "b", "(", 6}, {"a", "b", "", 7}});
  CHECK(has_problem(ps, "edges[0].to", "unknown node \"zed\""));
  CHECK(has_problem(ps, "edges[1].from", "unknown node \"ghost\""));
  CHECK(has_problem(ps, "edges[2].when", "invalid regex: missing ): ("));
  CHECK(has_problem(ps, "edges[3]", "duplicate edge a -> b (also edges[2])"));
  CHECK(ps.size() == 4);
  CHECK(ps[0].line == 4);
  CHECK(has_problem(graph_problems({}, {}), "members", "at least one member"));
}

TEST_CASE("graph validation rejects cycles, self loops included, naming the path") {
  auto ps =
      graph_problems({"a", "b", "c"}, {{"a", "b", "", 1}, {"b", "c", "", 2}, {"c", "a", "", 3}});
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].path == "edges");
  CHECK(ps[0].message == "cycle: a -> b -> c -> a");
  CHECK(ps[0].line == 3);
  auto self_loop = graph_problems({"a"}, {{"a", "a", "", 9}});
  REQUIRE(self_loop.size() == 1);
  CHECK(self_loop[0].message == "cycle: a -> a");
  auto tail =
      graph_problems({"x", "y", "z"}, {{"x", "y", "", 1}, {"y", "z", "", 2}, {"z", "y", "", 3}});
  REQUIRE(tail.size() == 1);
  CHECK(tail[0].message == "cycle: y -> z -> y");
}

TEST_CASE("a graph of 100,000 nodes is validated on a small stack in linear time") {
  // A recursive search needs a frame per node of the chain; lookups by scanning are quadratic.
  constexpr size_t n = 100'000;
  std::vector<std::string> nodes;
  std::vector<graph_edge> edges;
  for (size_t i = 0; i < n; ++i)
    nodes.push_back("n" + std::to_string(i));
  for (size_t i = 0; i + 1 < n; ++i)
    edges.push_back({nodes[i], nodes[i + 1], "", static_cast<int>(i + 1)});
  std::vector<spec_problem> chain, ring;
  auto start = std::chrono::steady_clock::now();
  swarm::test::run_on_small_stack(256 * 1024, [&] {
    chain = graph_problems(nodes, edges);
    edges.push_back({nodes[n - 1], nodes[0], "", static_cast<int>(n)});
    ring = graph_problems(nodes, edges);
  });
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  CHECK(chain.empty());
  REQUIRE(ring.size() == 1);
  CHECK(ring[0].message == "cycle: n0 -> n1 -> n2 -> n3 -> n4 -> ... -> n99998 -> n99999 -> n0");
  CHECK(ring[0].line == static_cast<int>(n));
}

TEST_CASE("an invalid graph has no layout but an invalid_spec error listing "
          "its problems") {
  auto g = make_graph_layout({"a", "b"}, {{"a", "b", "", 1}, {"b", "a", "", 2}});
  REQUIRE_FALSE(g);
  CHECK(is(g.error(), errc::invalid_spec));
  CHECK(describe(g.error()).find("cycle: a -> b -> a") != std::string::npos);
}

// -- graph readiness
// -----------------------------------------------------------------------------

TEST_CASE("entry nodes run first and a node waits for all its sources") {
  auto g = layout({"a", "b", "c"}, {{"a", "c", "", 0}, {"b", "c", "", 0}});
  std::vector<node_state> st(3, node_state::pending);
  std::vector<std::string> answers(3);
  auto s = advance_graph(g, st, answers);
  CHECK(s.run == std::vector<size_t>{0, 1});
  CHECK(s.skipped.empty());
  st[0] = node_state::ran;
  answers[0] = "A";
  s = advance_graph(g, st, answers);
  CHECK(s.run.empty());
  CHECK(st[2] == node_state::pending);
  st[1] = node_state::ran;
  answers[1] = "B";
  s = advance_graph(g, st, answers);
  CHECK(s.run == std::vector<size_t>{2});
  CHECK(st[2] == node_state::running);
}

TEST_CASE("a conditional edge is taken when its regex matches the answer, else "
          "skipped") {
  auto g = layout({"a", "yes", "no"}, {{"a", "yes", "^approve", 0}, {"a", "no", "^reject", 0}});
  std::vector<node_state> st(3, node_state::pending);
  std::vector<std::string> answers(3);
  advance_graph(g, st, answers);
  st[0] = node_state::ran;
  answers[0] = "approve: looks good";
  auto s = advance_graph(g, st, answers);
  CHECK(s.run == std::vector<size_t>{1});
  CHECK(s.skipped == std::vector<size_t>{2});
}

TEST_CASE("a catastrophic `when` on a long answer decides its edge at once") {
  // std::regex backtracked 2^n steps on (a+)+$ against n `a`s then `c`: the graph never moved.
  auto g = layout({"a", "yes", "no"}, {{"a", "yes", "(a+)+$", 0}, {"a", "no", "c$", 0}});
  std::vector<node_state> st(3, node_state::pending);
  std::vector<std::string> answers(3);
  advance_graph(g, st, answers);
  st[0] = node_state::ran;
  answers[0] = std::string(45, 'a') + "c";
  CHECK_FALSE(edge_holds(g.edges[0], answers[0]));
  auto s = advance_graph(g, st, answers);
  CHECK(s.run == std::vector<size_t>{2});
  CHECK(s.skipped == std::vector<size_t>{1});
}

TEST_CASE("graph validation refuses a `when` that RE2 does not take, by name") {
  auto ps = graph_problems({"a", "b"}, {{"a", "b", R"((\w)\1)", 3}});
  CHECK(has_problem(ps, "edges[0].when",
                    R"(invalid regex: back references are not supported (RE2 syntax): \1)"));
  CHECK(ps.size() == 1);
}

TEST_CASE("a skipped node skips the nodes reachable only through it") {
  auto g = layout({"a", "b", "c", "d", "e"}, {{"a", "b", "never", 0},
                                              {"b", "c", "", 0},
                                              {"c", "d", "", 0},
                                              {"a", "e", "", 0},
                                              {"c", "e", "", 0}});
  std::vector<node_state> st(5, node_state::pending);
  std::vector<std::string> answers(5);
  advance_graph(g, st, answers);
  st[0] = node_state::ran;
  answers[0] = "go";
  auto s = advance_graph(g, st, answers);
  CHECK(s.skipped == std::vector<size_t>{1, 2, 3});
  // e has another incoming edge from a node that ran: it runs.
  CHECK(s.run == std::vector<size_t>{4});
}

TEST_CASE("a failed node's dependents are skipped") {
  auto g = layout({"a", "b"}, {{"a", "b", "", 0}});
  std::vector<node_state> st{node_state::failed, node_state::pending};
  std::vector<std::string> answers(2);
  auto s = advance_graph(g, st, answers);
  CHECK(s.skipped == std::vector<size_t>{1});
  CHECK(st[1] == node_state::skipped);
}

TEST_CASE("fan-in runs when one of several incoming conditions holds") {
  auto g = layout({"a", "b", "c"}, {{"a", "c", "good", 0}, {"b", "c", "good", 0}});
  std::vector<node_state> st{node_state::ran, node_state::ran, node_state::pending};
  std::vector<std::string> answers{"bad", "good", ""};
  auto s = advance_graph(g, st, answers);
  CHECK(s.run == std::vector<size_t>{2});
  auto inputs = node_inputs(g, 2, st, answers);
  REQUIRE(inputs.size() == 1);
  CHECK(inputs[0] == std::pair<std::string, std::string>{"b", "good"});
}

TEST_CASE("a node's inputs are its predecessors that ran, in edge order, each once") {
  auto g = layout({"a", "b", "c", "d"}, {{"b", "d", "", 0}, {"a", "d", "", 0}, {"c", "d", "", 0}});
  std::vector<node_state> st{node_state::ran, node_state::ran, node_state::skipped,
                             node_state::pending};
  std::vector<std::string> answers{"A", "B", "", ""};
  auto inputs = node_inputs(g, 3, st, answers);
  REQUIRE(inputs.size() == 2);
  CHECK(inputs[0].first == "b");
  CHECK(inputs[1].first == "a");
  CHECK(node_task_text("sum", inputs) == "Task: sum\n\nAnswer from b: B\n\nAnswer from a: A");
  CHECK(node_task_text("sum", {}) == "sum");
}

TEST_CASE("exit nodes are the nodes without outgoing edges") {
  auto g = layout({"a", "b", "c"}, {{"a", "b", "", 0}});
  CHECK(exit_nodes(g) == std::vector<size_t>{1, 2});
}

TEST_CASE("a skipped node's result is a no_route error with the skip text") {
  auto r = skipped_result("t1.b", agent_id{"g", "b"});
  CHECK(r.task_id == "t1.b");
  CHECK(r.text == "skipped: no incoming condition held");
  CHECK(is(r.error, errc::no_route));
  CHECK(describe(r.error).find("skipped: no incoming condition held") != std::string::npos);
}

TEST_CASE("a graph's result is its one exit answer, or every exit that ran "
          "under its name") {
  auto g = layout({"a", "b", "c"}, {{"a", "b", "", 0}, {"a", "c", "", 0}});
  std::vector<node_state> st{node_state::ran, node_state::ran, node_state::skipped};
  std::vector<std::string> answers{"A", "B", ""};
  auto one = combine_graph(agent_id{"", "g"}, "t1", g, st, answers,
                           {answer("a", "A", 2), answer("b", "B", 3)});
  CHECK_FALSE(one.error);
  CHECK(one.text == "B");
  CHECK(one.use.calls == 5);
  CHECK(one.trace.size() == 2);
  st[2] = node_state::ran;
  answers[2] = "C";
  auto both = combine_graph(agent_id{"", "g"}, "t1", g, st, answers, {});
  CHECK(both.text == "## b\nB\n\n## c\nC");
}

TEST_CASE("a graph fails with member_failed only when no exit node ran") {
  auto g = layout({"a", "b"}, {{"a", "b", "", 0}});
  std::vector<node_state> st{node_state::failed, node_state::skipped};
  std::vector<std::string> answers(2);
  result failed = answer("a", "");
  failed.error = make_error(errc::llm_http_error, "500");
  auto out = combine_graph(agent_id{"", "g"}, "t1", g, st, answers,
                           {failed, skipped_result("t1.b", {"g", "b"})});
  CHECK(is(out.error, errc::member_failed));
  CHECK(describe(out.error).find("no exit node ran; first failure: a: llm_http_error") !=
        std::string::npos);
}
