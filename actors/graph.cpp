// The graph coordinator: members as a DAG; a node runs when its fan-in is
// decided and one of its incoming conditions holds, independent nodes in
// parallel; the exit nodes' answers are the result.
#include "actors/graph.hpp"

#include <memory>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/conversation.hpp"
#include "actors/coordination.hpp"

namespace swarm::actors {

namespace {

// One task in flight: where every node stands and what it answered.
struct graph_run {
  explicit graph_run(const guard_options& g) : budget(g) {}

  task request;
  caf::typed_response_promise<result> promise;
  task_budget budget;
  std::vector<node_state> state;
  std::vector<std::string> answers;
  std::vector<result> trace; // node results in completion order, skipped nodes included
  std::unordered_map<std::string, size_t> in_flight; // subtask id -> node
  caf::error guard;                                  // the guard that cut the run short, if any
  bool cancelled = false;
  bool finished = false;
};

using run_ptr = std::shared_ptr<graph_run>;

struct graph_state {
  graph_config cfg;
  monitor_actor monitor;
  caf::expected<graph_layout> layout{graph_layout{}};
  std::unordered_map<std::string, run_ptr> running; // task id -> run
  uint64_t tasks_done = 0;
  supervisor sup; // the members' lives (coordination.hpp)

  static inline const char* name = "swarm.graph";
};

using graph_pointer = agent_actor::stateful_pointer<graph_state>;

void finish(graph_pointer self, const run_ptr& run) {
  if (run->finished)
    return;
  run->finished = true;
  auto& st = self->state;
  // Nodes still working (only after a guard fired) are cancelled and reported
  // as cut off.
  for (const auto& [sub_id, node] : run->in_flight) {
    const auto& who = st.cfg.members[node];
    cancel_member(self, who.handle, sub_id);
    auto err = run->guard ? run->guard : make_error(errc::cancelled, "task cancelled");
    run->trace.push_back(failed_result(task{sub_id, run->request.run_id, {}, {}, {}},
                                       member_id(st.cfg.id, who.name), std::move(err)));
  }
  run->in_flight.clear();
  auto out = combine_graph(st.cfg.id, run->request.id, *st.layout, run->state, run->answers,
                           std::move(run->trace));
  if (run->guard)
    out.error = run->guard;
  conclude(self, run, std::move(out));
}

void node_done(graph_pointer self, const run_ptr& run, size_t node, result r);

// Starts the nodes that became ready and records the ones that were skipped;
// finishes the run when nothing is left in flight.
void step(graph_pointer self, const run_ptr& run) {
  auto& st = self->state;
  const auto& g = *st.layout;
  if (!run->cancelled && !run->guard) {
    auto next = advance_graph(g, run->state, run->answers);
    for (auto n : next.skipped) {
      auto skipped =
          skipped_result(run->request.id + "." + g.nodes[n], member_id(st.cfg.id, g.nodes[n]));
      emit_skipped(self, g.nodes[n], st.cfg.members[n].leaf, run->request, describe(skipped.error));
      run->trace.push_back(std::move(skipped));
    }
    for (auto n : next.run) {
      const auto& who = st.cfg.members[n];
      auto text = node_task_text(run->request.text, node_inputs(g, n, run->state, run->answers));
      auto t = subtask(run->request, who.name, std::move(text), st.cfg.id.name);
      if (!run->budget.take_message()) {
        // Refused by the budget: the node fails (its dependents are skipped)
        // and the guard marks the result as partial.
        run->guard = run->budget.exhausted();
        run->state[n] = node_state::failed;
        emit_skipped(self, who.name, who.leaf, t, describe(run->guard));
        run->trace.push_back(failed_result(t, member_id(st.cfg.id, who.name), run->guard));
        continue;
      }
      run->in_flight.emplace(t.id, n);
      auto sub_id = t.id;
      ask(self, who, std::move(t), run->budget, [self, run, n, sub_id](result r) {
        if (run->finished)
          return;
        run->in_flight.erase(sub_id);
        node_done(self, run, n, std::move(r));
      });
    }
  }
  if (run->in_flight.empty())
    finish(self, run);
}

void node_done(graph_pointer self, const run_ptr& run, size_t node, result r) {
  if (r.error) {
    run->state[node] = node_state::failed;
  } else {
    run->state[node] = node_state::ran;
    run->answers[node] = r.text;
  }
  run->trace.push_back(std::move(r));
  if (run->cancelled && !run->guard)
    run->guard = cancelled_error(run->request.id);
  if (!run->guard && run->budget.past_deadline()) {
    run->guard = run->budget.exhausted();
    return finish(self, run);
  }
  step(self, run);
}

agent_actor::behavior_type graph_behavior(graph_pointer self, graph_config cfg,
                                          monitor_actor monitor) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.monitor = std::move(monitor);
  std::vector<std::string> names;
  for (const auto& m : st.cfg.members)
    names.push_back(m.name);
  st.layout = make_graph_layout(names, st.cfg.options.edges);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        if (auto why = refusal(st, t, st.layout ? caf::error{} : st.layout.error()))
          return refuse(self, t, std::move(why));
        auto rp = self->make_response_promise<result>();
        auto run = std::make_shared<graph_run>(st.cfg.guards);
        run->request = t;
        run->promise = rp;
        run->state.assign(st.cfg.members.size(), node_state::pending);
        run->answers.resize(st.cfg.members.size());
        st.running.emplace(t.id, run);
        step(self, run);
        return rp;
      },
      [self](task_cancel& c) {
        auto& st = self->state;
        auto run = find_running(st, c.task_id);
        if (!run)
          return;
        // No node starts any more; the run ends when the nodes in flight have
        // answered.
        run->cancelled = true;
        for (const auto& [sub_id, node] : run->in_flight)
          cancel_member(self, st.cfg.members[node].handle, sub_id);
      },
      // A message to the swarm as a whole reaches each member.
      [self](dm& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](broadcast& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](health_probe& p) { return report_health(p, self); },
  };
}

} // namespace

agent_actor spawn_graph(caf::actor_system& sys, graph_config cfg, monitor_actor monitor) {
  return sys.spawn(graph_behavior, std::move(cfg), std::move(monitor));
}

} // namespace swarm::actors
