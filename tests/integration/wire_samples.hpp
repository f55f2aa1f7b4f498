// One populated sample of every project message type, for the two-process wire test.
#pragma once

#include <caf/actor.hpp>

#include "actors/agent.hpp"
#include "runtime/core/cluster_messages.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/messages.hpp"

namespace swarm::test {

/// Calls `f` with one value of every type of the `swarm`, `swarm_cluster` and `swarm_actors`
/// type-ID blocks,
/// every field set to a non-default value; returns how many. `self` fills the actor handles.
template <class F>
size_t for_each_wire_sample(const caf::actor& self, F&& f) {
  using namespace std::chrono_literals;
  usage use{11, 22, 3};
  tool_call call{"call_1", "search", R"({"q":"caf"})"};
  chat_message msg{"assistant", "héllo ✓", "bob", "call_0", {call}};
  tool_spec tool{"search", "web search", R"({"type":"object"})"};
  llm_endpoint ep{"https://example.test/v1", "sk-test", 16};
  llm_fallback_target fallback{llm_endpoint{"https://backup.test/v1", "sk-b", 4}, "small"};
  chat_request creq{7,     "run-1", agent_id{"team", "a"},       "t1.a", 2,  ep,   "gpt",
                    {msg}, {tool},  R"({"type":"json_object"})", 0.5,    64, true, 3,
                    1500ms};
  creq.fallbacks = {fallback};
  token_logprob lp{"tok", -0.25};
  chat_result cres{7, "gpt", "answer", {call}, "stop", {lp}, use, 2};
  cres.fallback = 1;
  embedding_request ereq{8, ep, "emb", {"a", "b"}, 2s};
  embedding_result eres{8, {{0.5f, -0.5f}, {1.0f}}, use};
  task t{"t1", "run-1", "do it", "user", R"({"type":"json_object"})"};
  result inner{
      "t1.a", agent_id{"team", "a"}, "inner", 0.75, use, make_error(errc::llm_timeout, "slow"), {}};
  inner.restarts = 1;
  result outer{"t1", agent_id{"", "team"}, "outer", -1, use, {}, {inner}};
  outer.restarts = 2;
  event ev;
  ev.kind = event_kind::decision_made;
  ev.seq = 12;
  ev.run_seq = 9;
  ev.time_us = 1'700'000'000'000'000;
  ev.run_id = "run-1";
  ev.task_id = "t1";
  ev.agent = agent_id{"", "team"};
  ev.leaf = false;
  ev.name = "majority";
  ev.text = "408";
  ev.use = use;
  ev.confidence = 0.8;
  ev.error = make_error(errc::llm_http_error, "503");
  ev.duration = 1234ns;
  ev.round = 2;
  ev.scores = {{"408", 4}, {"407", 1}};
  size_t n = 0;
  auto visit = [&](auto value) {
    f(value);
    ++n;
  };
  visit(agent_id{"team", "a"});
  visit(use);
  visit(call);
  visit(msg);
  visit(tool);
  visit(ep);
  visit(creq);
  visit(lp);
  visit(cres);
  visit(chat_cancel{7});
  visit(ereq);
  visit(eres);
  visit(t);
  visit(outer);
  visit(dm{"carol", "psst"});
  visit(broadcast{"lead", "all hands"});
  visit(health_probe{99});
  visit(health_report{99, agent_id{"team", "a"}, 5, 1, 3});
  visit(task_cancel{"t1"});
  visit(decision_score{"408", 4});
  visit(ev);
  visit(subscribe_events{self});
  visit(fallback);
  visit(logged_event{9, event_kind::run_finished, "run-1", R"({"run_seq":9})"});
  visit(follow_events{self, "run-1", 8});
  visit(flush_events{});
  node_info info{"n2", "127.0.0.1:4242", 1'700'000'000'123, node_state::draining, 12,
                 3,    1'700'000'000'456};
  visit(node_state::unreachable);
  visit(info);
  visit(std::vector<node_info>{info, info});
  visit(node_hello{info, self});
  visit(node_welcome{info, {info}});
  visit(node_heartbeat{"n2", 1'700'000'000'123, node_state::up, 12, 3});
  visit(node_leave{"n2", 1'700'000'000'123});
  visit(cluster_status_request{});
  visit(placement_request{});
  visit(placement_view{{info}, {self}});
  visit(run_submission{"name: t\n", "t.yaml", "the task", "run-1", 2, true, "http://127.0.0.1:1/v1",
                       "m", self, true, true});
  actors::agent_config agent;
  agent.id = agent_id{"team", "a"};
  agent.system_prompt = "You are a.";
  agent.model = "gpt";
  agent.endpoint = ep;
  agent.fallbacks = {fallback};
  agent.temperature = 0.25;
  agent.max_tokens = 99;
  agent.stream = agent.stream_tokens = agent.logprobs = agent.summarize_overflow = true;
  agent.llm_timeout = 1500ms;
  agent.short_term_tokens = 777;
  agent.tools = {tool};
  agent.max_tool_steps = 3;
  agent.recall_from = {"agent:team/a"};
  agent.recall_k = 4;
  agent.prompt_price = 0.5;
  agent.completion_price = 1.5;
  agent.priced = true;
  agent.fallback_prices = {{"small", 0.1, 0.2}};
  visit(agent);
  visit(caf::actor_cast<llm_actor>(self));
  visit(caf::actor_cast<monitor_actor>(self));
  return n;
}

} // namespace swarm::test
