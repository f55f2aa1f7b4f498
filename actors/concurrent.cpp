// The concurrent coordinator: fan out, gather, report partial failures per member.
#include "actors/concurrent.hpp"

#include <memory>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/coordination.hpp"

namespace swarm::actors {

result combine_concurrent(const agent_id& self, const std::string& task_id,
                          std::vector<result> members) {
  result out;
  out.task_id = task_id;
  out.agent = self;
  size_t failed = 0;
  for (const auto& m : members) {
    out.use += m.use;
    if (!out.text.empty())
      out.text += "\n\n";
    out.text += "## " + m.agent.name + "\n";
    if (m.error) {
      ++failed;
      out.text += "(failed: " + describe(m.error) + ")";
    } else {
      out.text += m.text;
    }
  }
  if (!members.empty() && failed == members.size())
    out.error = make_error(errc::all_members_failed,
                           std::to_string(failed) + " of " + std::to_string(members.size()) +
                               " members failed; first: " + describe(members.front().error));
  out.trace = std::move(members);
  return out;
}

namespace {

// One task in flight: the members' results, filled as they arrive.
struct gathering {
  task request;
  std::vector<result> results;
  size_t pending = 0;
  caf::typed_response_promise<result> promise;
  std::unordered_map<std::string, agent_actor> in_flight; // subtask id -> who works on it
  bool cancelled = false;
};

struct concurrent_state {
  concurrent_config cfg;
  monitor_actor monitor;
  std::unordered_map<std::string, std::shared_ptr<gathering>> running; // task id -> gathering
  uint64_t tasks_done = 0;
  supervisor sup; // the members' lives (coordination.hpp)

  static inline const char* name = "swarm.concurrent";
};

using concurrent_pointer = agent_actor::stateful_pointer<concurrent_state>;

void member_done(concurrent_pointer self, const std::shared_ptr<gathering>& g, size_t index,
                 result res) {
  g->results[index] = std::move(res);
  if (--g->pending > 0)
    return;
  auto out = combine_concurrent(self->state.cfg.id, g->request.id, std::move(g->results));
  if (g->cancelled) // the finished members' answers stay as the partial text
    out.error = cancelled_error(g->request.id);
  conclude(self, g, std::move(out));
}

agent_actor::behavior_type concurrent_behavior(concurrent_pointer self, concurrent_config cfg,
                                               monitor_actor monitor) {
  self->state.cfg = std::move(cfg);
  self->state.monitor = std::move(monitor);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        if (auto why = refusal(st, t))
          return refuse(self, t, std::move(why));
        auto g = std::make_shared<gathering>();
        g->request = t;
        g->promise = self->make_response_promise<result>();
        g->pending = st.cfg.members.size();
        g->results.resize(st.cfg.members.size());
        st.running.emplace(t.id, g);
        task_budget budget{st.cfg.guards};
        for (size_t i = 0; i < st.cfg.members.size(); ++i) {
          const auto& m = st.cfg.members[i];
          auto sub = subtask(t, m.name, t.text, st.cfg.id.name);
          if (!budget.take_message()) {
            emit_skipped(self, m.name, m.leaf, sub, describe(budget.exhausted()));
            member_done(self, g, i,
                        failed_result(sub, member_id(st.cfg.id, m.name), budget.exhausted()));
            continue;
          }
          auto sub_id = sub.id;
          g->in_flight.emplace(sub_id, m.handle);
          ask(self, m, std::move(sub), budget, [self, g, i, sub_id](result r) {
            g->in_flight.erase(sub_id);
            member_done(self, g, i, std::move(r));
          });
        }
        return g->promise;
      },
      [self](task_cancel& c) {
        if (auto g = find_running(self->state, c.task_id))
          cancel_run(self, *g);
      },
      // A message to the swarm as a whole reaches each member.
      [self](dm& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](broadcast& m) { forward(self, audience(self->state.cfg.members), m); },
      [self](health_probe& p) { return report_health(p, self); },
  };
}

} // namespace

agent_actor spawn_concurrent(caf::actor_system& sys, concurrent_config cfg, monitor_actor monitor) {
  return sys.spawn(concurrent_behavior, std::move(cfg), std::move(monitor));
}

} // namespace swarm::actors
