// Helpers shared by the spec loader tests (spec_*_test.cpp): spec text, rendered problems,
// comparisons of loaded specs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/core/spec.hpp"

namespace spec_test {

inline const std::string specs_dir = SWARM_SOURCE_DIR "/tests/runtime/core/specs/";

/// The raw string without its first newline, so `R"(` can sit on its own line and the
/// spec's first line is line 1.
inline std::string text(std::string_view raw) {
  if (!raw.empty() && raw.front() == '\n')
    raw.remove_prefix(1);
  return std::string{raw};
}

/// Every problem of a spec, as rendered for users; checks that no spec came with them.
inline std::vector<std::string> problems(std::string_view raw) {
  auto result = swarm::parse_spec(text(raw));
  std::vector<std::string> out;
  for (const auto& problem : result.problems)
    out.push_back(swarm::to_string(problem));
  CHECK(result.spec.has_value() == out.empty());
  return out;
}

using lines = std::vector<std::string>;

inline void check_same_llm(const swarm::llm_settings& a, const swarm::llm_settings& b) {
  CHECK(a.url == b.url);
  CHECK(a.model == b.model);
  CHECK(a.api_key_env == b.api_key_env);
  CHECK(a.temperature == b.temperature);
  CHECK(a.max_tokens == b.max_tokens);
  CHECK(a.stream == b.stream);
  CHECK(a.timeout == b.timeout);
}

/// Compares every option of two swarms but where they were written (`line`).
inline void check_same_swarm(const swarm::swarm_node_spec& a, const swarm::swarm_node_spec& b) {
  CHECK(a.name == b.name);
  CHECK(a.architecture == b.architecture);
  CHECK(a.members == b.members);
  CHECK(a.guards.member_timeout == b.guards.member_timeout);
  CHECK(a.guards.max_rounds == b.guards.max_rounds);
  CHECK(a.guards.max_messages == b.guards.max_messages);
  CHECK(a.guards.deadline == b.guards.deadline);
  CHECK(a.hierarchical.lead == b.hierarchical.lead);
  CHECK(a.hierarchical.max_subtasks == b.hierarchical.max_subtasks);
  CHECK(a.hierarchical.max_attempts == b.hierarchical.max_attempts);
  CHECK(a.hierarchical.review == b.hierarchical.review);
  CHECK(a.collaborative.decision == b.collaborative.decision);
  CHECK(a.collaborative.normalize == b.collaborative.normalize);
  CHECK(a.collaborative.pattern == b.collaborative.pattern);
  CHECK(a.collaborative.field == b.collaborative.field);
  CHECK(a.collaborative.quorum == b.collaborative.quorum);
  CHECK(a.collaborative.tie == b.collaborative.tie);
  CHECK(a.collaborative.weights == b.collaborative.weights);
  CHECK(a.collaborative.threshold == b.collaborative.threshold);
  CHECK(a.collaborative.aggregator == b.collaborative.aggregator);
  CHECK(a.collaborative.layers == b.collaborative.layers);
  CHECK(a.competitive.select == b.competitive.select);
  CHECK(a.competitive.judge == b.competitive.judge);
  CHECK(a.competitive.criteria == b.competitive.criteria);
  CHECK(a.competitive.k == b.competitive.k);
  CHECK(a.group_chat.speaker == b.group_chat.speaker);
  CHECK(a.group_chat.selector == b.group_chat.selector);
  CHECK(a.group_chat.max_turns == b.group_chat.max_turns);
  CHECK(a.group_chat.terminate_on == b.group_chat.terminate_on);
  CHECK(a.group_chat.judge == b.group_chat.judge);
  REQUIRE(a.graph.edges.size() == b.graph.edges.size());
  for (size_t i = 0; i < a.graph.edges.size(); ++i) {
    CHECK(a.graph.edges[i].from == b.graph.edges[i].from);
    CHECK(a.graph.edges[i].to == b.graph.edges[i].to);
    CHECK(a.graph.edges[i].when == b.graph.edges[i].when);
  }
  CHECK(a.router.router == b.router.router);
  REQUIRE(a.router.routes.size() == b.router.routes.size());
  for (size_t i = 0; i < a.router.routes.size(); ++i) {
    CHECK(a.router.routes[i].match == b.router.routes[i].match);
    CHECK(a.router.routes[i].to == b.router.routes[i].to);
  }
  CHECK(a.router.fallback == b.router.fallback);
}

/// Compares everything but where the text came from (`source`, lines).
inline void check_same_spec(const swarm::swarm_spec& a, const swarm::swarm_spec& b) {
  CHECK(a.name == b.name);
  CHECK(a.description == b.description);
  check_same_llm(a.llm, b.llm);
  check_same_swarm(a.root, b.root);
  REQUIRE(a.swarms.size() == b.swarms.size());
  for (size_t i = 0; i < a.swarms.size(); ++i)
    check_same_swarm(a.swarms[i], b.swarms[i]);
  REQUIRE(a.agents.size() == b.agents.size());
  for (size_t i = 0; i < a.agents.size(); ++i) {
    CHECK(a.agents[i].name == b.agents[i].name);
    CHECK(a.agents[i].role == b.agents[i].role);
    CHECK(a.agents[i].system_prompt == b.agents[i].system_prompt);
    CHECK(a.agents[i].skills == b.agents[i].skills);
    CHECK(a.agents[i].short_term_tokens == b.agents[i].short_term_tokens);
    CHECK(a.agents[i].logprobs == b.agents[i].logprobs);
    check_same_llm(a.agents[i].llm, b.agents[i].llm);
  }
}

/// A spec of agents a, b, c, j (and `more`) whose root swarm is `swarm`, for problems about one
/// swarm; its `swarm:` key is on line 2.
inline std::string with_swarm(std::string_view swarm, std::string_view more = "") {
  return "name: demo\nswarm:\n" + text(swarm) + "agents: [{name: a}, {name: b}, {name: c}, " +
         "{name: j}" + std::string{more} + "]\n";
}

/// Problems of a spec built by `with_swarm`.
inline std::vector<std::string> swarm_problems(std::string_view swarm, std::string_view more = "") {
  return problems(with_swarm(swarm, more));
}

} // namespace spec_test
