// The router coordinator: one member answers each task; an LLM router agent picks it (one re-ask
// after an invalid choice), else the route rules, else the fallback.
#include "actors/router.hpp"

#include <memory>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/coordination.hpp"
#include "actors/planning.hpp"

namespace swarm::actors {

namespace {

// One task in flight.
struct routing {
  routing(task t, const guard_options& guards) : request(std::move(t)), budget(guards) {}

  task request;
  caf::typed_response_promise<result> promise;
  task_budget budget;
  std::vector<result> trace; // router calls, the decision, the member's result
  std::string in_flight;     // task id being worked on; empty: none
  agent_actor worker;        // who works on it
  std::string chosen;        // the member chosen to answer
  bool cancelled = false;    // nothing is sent any more; ends when in_flight answers
  bool finished = false;
};

using routing_ptr = std::shared_ptr<routing>;

struct router_state {
  router_config cfg;
  std::vector<compiled_route> routes;
  monitor_actor monitor;
  std::unordered_map<std::string, routing_ptr> running; // task id -> routing
  uint64_t tasks_done = 0;
  supervisor sup; // the members' lives (coordination.hpp)

  static inline const char* name = "swarm.router";
};

using router_pointer = agent_actor::stateful_pointer<router_state>;

void finish(router_pointer self, const routing_ptr& r, result out) {
  if (r->finished)
    return;
  r->finished = true;
  if (!r->in_flight.empty())
    cancel_member(self, r->worker, r->in_flight);
  out.trace = std::move(r->trace);
  conclude(self, r, std::move(out));
}

void fail(router_pointer self, const routing_ptr& r, caf::error err) {
  result out;
  out.error = std::move(err);
  finish(self, r, std::move(out));
}

// Sends `t` to `who` within the budget; `done` runs with its result unless the run ended (at the
// deadline it ends the run instead). Returns the guard that refused the send, if any.
template <class Done>
caf::error send(router_pointer self, const routing_ptr& r, const member& who, task t, Done done) {
  if (r->budget.past_deadline() || !r->budget.take_message())
    return r->budget.exhausted();
  r->in_flight = t.id;
  r->worker = who.handle;
  ask(self, who, std::move(t), r->budget, [self, r, done](result res) mutable {
    r->in_flight.clear();
    if (r->finished)
      return;
    if (r->cancelled) {
      r->trace.push_back(std::move(res));
      fail(self, r, cancelled_error(r->request.id));
      return;
    }
    if (r->budget.past_deadline()) {
      r->trace.push_back(std::move(res));
      fail(self, r, r->budget.exhausted());
      return;
    }
    done(std::move(res));
  });
  return {};
}

void on_member(router_pointer self, const routing_ptr& r, result res) {
  result out;
  out.text = res.text;
  out.confidence = res.confidence;
  if (res.error)
    out.error =
        make_error(errc::member_failed, "member " + r->chosen + " failed: " + describe(res.error));
  r->trace.push_back(std::move(res));
  finish(self, r, std::move(out));
}

// Member `index` answers the task; the decision (and `reason`) goes into the trace.
void dispatch(router_pointer self, const routing_ptr& r, size_t index, const std::string& reason) {
  const auto& st = self->state;
  const auto& who = st.cfg.members[index];
  result decision;
  decision.task_id = r->request.id + ".route";
  decision.agent = st.cfg.id;
  decision.text = who.name + " (" + reason + ")";
  r->trace.push_back(std::move(decision));
  r->chosen = who.name;
  emit_decision(self, r->request, {"route", who.name + " (" + reason + ")"});
  for (const auto& m : st.cfg.members)
    if (m.name != who.name)
      emit_skipped(self, m.name, m.leaf, r->request, "routed to " + who.name);
  auto t = subtask(r->request, who.name, r->request.text, st.cfg.id.name);
  t.response_format = r->request.response_format;
  auto refused = send(self, r, who, std::move(t),
                      [self, r](result res) { on_member(self, r, std::move(res)); });
  if (refused)
    fail(self, r, std::move(refused));
}

// No (usable) router choice: the route rules, then the fallback. `why` prefixes the reason.
void route_by_rules(router_pointer self, const routing_ptr& r, const std::string& why) {
  const auto& st = self->state;
  auto choice = choose_route(r->request.text, st.routes, st.cfg.members, st.cfg.options.fallback);
  if (!choice.member) {
    fail(self, r, make_error(errc::no_route, why + choice.reason));
    return;
  }
  dispatch(self, r, *choice.member, why + choice.reason);
}

void ask_router(router_pointer self, const routing_ptr& r, std::string text,
                const std::string& suffix, int call);

void on_router(router_pointer self, const routing_ptr& r, result res, int call) {
  const auto& st = self->state;
  auto failed = res.error;
  auto text = res.text;
  r->trace.push_back(std::move(res));
  if (failed) {
    route_by_rules(self, r,
                   "router " + st.cfg.router.name + " failed (" + describe(failed) + "); ");
    return;
  }
  auto parsed = parse_router_reply(text, st.cfg.members);
  if (parsed.member) {
    dispatch(self, r, *parsed.member, "chosen by " + st.cfg.router.name);
    return;
  }
  if (call == 1) {
    ask_router(self, r, rerouting_prompt(parsed.problem, r->request.text, st.cfg.members),
               ".reroute", 2);
    return;
  }
  route_by_rules(self, r,
                 "router " + st.cfg.router.name + " chose no member twice (" + parsed.problem +
                     "); ");
}

// Asks the router agent to choose (call 1) or to choose again (call 2).
void ask_router(router_pointer self, const routing_ptr& r, std::string text,
                const std::string& suffix, int call) {
  const auto& st = self->state;
  task t{r->request.id + suffix, r->request.run_id, std::move(text), st.cfg.id.name,
         router_response_format(st.cfg.members)};
  auto refused = send(self, r, st.cfg.router, std::move(t),
                      [self, r, call](result res) { on_router(self, r, std::move(res), call); });
  if (refused)
    fail(self, r, std::move(refused));
}

agent_actor::behavior_type router_behavior(router_pointer self, router_config cfg,
                                           monitor_actor monitor) {
  self->state.routes = compile_routes(cfg.options.routes);
  self->state.cfg = std::move(cfg);
  self->state.monitor = std::move(monitor);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        if (auto why = refusal(st, t))
          return refuse(self, t, std::move(why));
        auto r = std::make_shared<routing>(t, st.cfg.guards);
        r->promise = self->make_response_promise<result>();
        st.running.emplace(t.id, r);
        if (st.cfg.router.handle)
          ask_router(self, r, router_prompt(t.text, st.cfg.members), ".route", 1);
        else
          route_by_rules(self, r, "");
        return r->promise;
      },
      [self](task_cancel& c) {
        auto r = find_running(self->state, c.task_id); // a copy: finishing erases the entry
        if (!r || r->cancelled)
          return;
        r->cancelled = true;
        if (r->in_flight.empty()) // nothing to wait for
          return fail(self, r, cancelled_error(r->request.id));
        cancel_member(self, r->worker, r->in_flight);
      },
      // A message to the swarm as a whole reaches each member and the router agent.
      [self](dm& m) {
        forward(self, audience(self->state.cfg.members, self->state.cfg.router.handle), m);
      },
      [self](broadcast& m) {
        forward(self, audience(self->state.cfg.members, self->state.cfg.router.handle), m);
      },
      [self](health_probe& p) { return report_health(p, self); },
  };
}

} // namespace

agent_actor spawn_router(caf::actor_system& sys, router_config cfg, monitor_actor monitor) {
  return sys.spawn(router_behavior, std::move(cfg), std::move(monitor));
}

} // namespace swarm::actors
