// The agent actor: one LLM turn per task, short-term memory, dm/broadcast notes, health reports.
#include "actors/agent.hpp"

#include <atomic>
#include <cmath>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/short_term_memory.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::actors {

uint64_t next_call_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

double confidence_from_logprobs(const std::vector<token_logprob>& xs) {
  if (xs.empty())
    return -1;
  double sum = 0;
  for (const auto& x : xs)
    sum += x.logprob;
  return std::exp(sum / static_cast<double>(xs.size()));
}

namespace {

// Slack on top of the LLM client's own deadline, so the client's precise error (timeout,
// HTTP status) arrives before CAF's generic request_timeout.
constexpr auto request_slack = std::chrono::seconds(5);

struct agent_state {
  agent_config cfg;
  llm_actor llm;
  monitor_actor monitor;
  short_term_memory memory{"", 0};
  std::unordered_map<std::string, uint64_t> running; // task id -> LLM call id
  uint64_t tasks_done = 0;

  static inline const char* name = "swarm.agent";

  chat_request make_request(const task& t) const {
    chat_request req;
    req.call_id = next_call_id();
    req.endpoint = cfg.endpoint;
    req.model = cfg.model;
    req.messages = memory.window_with(chat_message{"user", t.text, t.from, {}, {}});
    req.temperature = cfg.temperature;
    req.max_tokens = cfg.max_tokens;
    req.stream = cfg.stream;
    req.response_format = t.response_format;
    req.top_logprobs = cfg.logprobs ? 0 : -1;
    req.timeout = cfg.llm_timeout;
    return req;
  }

  void emit(event e) const {
    if (monitor)
      caf::anon_send(monitor, std::move(e));
  }

  event make_event(event_kind kind, const task& t) const {
    event e;
    e.kind = kind;
    e.run_id = t.run_id;
    e.agent = cfg.id;
    e.task_id = t.id;
    e.leaf = true;
    return e;
  }
};

using agent_pointer = agent_actor::stateful_pointer<agent_state>;

// Turns the LLM's answer (or failure) into the task's result and updates memory.
result finish_task(agent_state& st, const task& t, caf::expected<chat_result> reply,
                   caf::timespan elapsed) {
  result res;
  res.task_id = t.id;
  res.agent = st.cfg.id;
  event call = st.make_event(event_kind::llm_call_completed, t);
  call.duration = elapsed;
  if (reply) {
    st.memory.add(chat_message{"user", t.text, t.from, {}, {}});
    st.memory.add(chat_message{"assistant", reply->content, {}, {}, reply->tool_calls});
    res.text = std::move(reply->content);
    res.confidence = confidence_from_logprobs(reply->logprobs);
    res.use = reply->use;
  } else if (is(reply.error(), errc::llm_cancelled)) {
    res.error = make_error(errc::cancelled, "task " + t.id + " cancelled");
  } else {
    res.error = std::move(reply.error());
  }
  res.use.calls = std::max<uint64_t>(res.use.calls, 1);
  call.use = res.use;
  call.error = res.error;
  st.emit(std::move(call));
  auto done = st.make_event(event_kind::task_completed, t);
  done.use = res.use;
  done.error = res.error;
  done.duration = elapsed;
  st.emit(std::move(done));
  ++st.tasks_done;
  return res;
}

agent_actor::behavior_type agent_behavior(agent_pointer self, agent_config cfg, llm_actor llm,
                                          monitor_actor monitor) {
  auto& st = self->state;
  st.memory = short_term_memory{cfg.system_prompt, cfg.short_term_tokens};
  st.cfg = std::move(cfg);
  st.llm = std::move(llm);
  st.monitor = std::move(monitor);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        auto rp = self->make_response_promise<result>();
        auto req = st.make_request(t);
        st.running.emplace(t.id, req.call_id);
        st.emit(st.make_event(event_kind::task_started, t));
        auto started = std::chrono::steady_clock::now();
        auto timeout = st.cfg.llm_timeout + request_slack;
        auto finish = [self, rp, t, started](caf::expected<chat_result> reply) mutable {
          auto& st = self->state;
          st.running.erase(t.id);
          auto elapsed = std::chrono::steady_clock::now() - started;
          rp.deliver(finish_task(st, t, std::move(reply), elapsed));
        };
        self->request(st.llm, timeout, std::move(req))
            .then([finish](chat_result& r) mutable { finish(std::move(r)); },
                  [finish](caf::error& err) mutable { finish(std::move(err)); });
        return rp;
      },
      [self](task_cancel& c) {
        auto& st = self->state;
        if (auto i = st.running.find(c.task_id); i != st.running.end())
          self->send(st.llm, chat_cancel{i->second});
      },
      [self](dm& m) {
        self->state.memory.add(
            chat_message{"user", "[direct message from " + m.from + "] " + m.text, m.from, {}, {}});
      },
      [self](broadcast& m) {
        self->state.memory.add(
            chat_message{"user", "[broadcast from " + m.from + "] " + m.text, m.from, {}, {}});
      },
      [self](health_probe& p) {
        const auto& st = self->state;
        return health_report{p.nonce, st.cfg.id, st.tasks_done, st.running.size()};
      },
  };
}

} // namespace

agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg, llm_actor llm,
                        monitor_actor monitor) {
  return sys.spawn(agent_behavior, std::move(cfg), std::move(llm), std::move(monitor));
}

} // namespace swarm::actors
