// The agent actor: one LLM turn per task, short-term memory, dm/broadcast notes, health reports.
#include "actors/agent.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

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

// Endpoint and model are the same for most agents of a swarm: each distinct pair is stored once
// and shared (immutable), so a million agents do not hold a million copies of the URL.
struct llm_target {
  llm_endpoint endpoint;
  std::string model;
};

std::shared_ptr<const llm_target> intern_target(llm_endpoint endpoint, std::string model) {
  using key = std::tuple<std::string, std::string, std::string>;
  static std::mutex mtx;
  static std::map<key, std::weak_ptr<const llm_target>> known;
  key k{endpoint.url, endpoint.api_key, model};
  std::lock_guard<std::mutex> guard{mtx};
  auto& slot = known[k];
  if (auto hit = slot.lock())
    return hit;
  auto fresh =
      std::make_shared<const llm_target>(llm_target{std::move(endpoint), std::move(model)});
  slot = fresh;
  if (known.size() > 1024) // forget targets no agent uses any more
    std::erase_if(known, [](const auto& kv) { return kv.second.expired(); });
  return fresh;
}

// What an agent keeps of its agent_config: the system prompt lives in `memory` only, endpoint
// and model in a shared llm_target. Kept small on purpose (see bench/messaging.cpp).
struct agent_state {
  agent_id id;
  std::shared_ptr<const llm_target> target;
  llm_actor llm;
  monitor_actor monitor;
  short_term_memory memory{"", 0};
  std::vector<std::pair<std::string, uint64_t>> running; // task id -> LLM call id
  uint64_t tasks_done = 0;
  caf::timespan llm_timeout{0};
  double temperature = -1;
  int32_t max_tokens = 0;
  bool stream = false;
  bool logprobs = false;

  static inline const char* name = "swarm.agent";

  chat_request make_request(const task& t) const {
    chat_request req;
    req.call_id = next_call_id();
    req.run_id = t.run_id;
    req.agent = id;
    req.task_id = t.id;
    req.endpoint = target->endpoint;
    req.model = target->model;
    req.messages = memory.window_with(chat_message{"user", t.text, t.from, {}, {}});
    req.temperature = temperature;
    req.max_tokens = max_tokens;
    req.stream = stream;
    req.response_format = t.response_format;
    req.top_logprobs = logprobs ? 0 : -1;
    req.timeout = llm_timeout;
    return req;
  }

  auto find_running(const std::string& task_id) {
    return std::find_if(running.begin(), running.end(),
                        [&](const auto& x) { return x.first == task_id; });
  }

  void erase_running(const std::string& task_id) {
    if (auto i = find_running(task_id); i != running.end())
      running.erase(i);
  }

  void emit(event e) const {
    if (monitor)
      caf::anon_send(monitor, std::move(e));
  }

  event make_event(event_kind kind, const task& t) const {
    event e;
    e.kind = kind;
    e.run_id = t.run_id;
    e.agent = id;
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
  res.agent = st.id;
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

// A dm or broadcast as it lands in memory: "PREFIXFROM] TEXT", built with one allocation.
chat_message note(std::string_view prefix, const std::string& from, const std::string& text) {
  chat_message msg;
  msg.role = "user";
  msg.content.reserve(prefix.size() + from.size() + 2 + text.size());
  msg.content.append(prefix).append(from).append("] ").append(text);
  msg.name = from;
  return msg;
}

agent_actor::behavior_type agent_behavior(agent_pointer self, agent_config cfg, llm_actor llm,
                                          monitor_actor monitor) {
  auto& st = self->state;
  st.memory = short_term_memory{std::move(cfg.system_prompt), cfg.short_term_tokens};
  st.id = std::move(cfg.id);
  st.target = intern_target(std::move(cfg.endpoint), std::move(cfg.model));
  st.llm_timeout = cfg.llm_timeout;
  st.temperature = cfg.temperature;
  st.max_tokens = cfg.max_tokens;
  st.stream = cfg.stream;
  st.logprobs = cfg.logprobs;
  st.llm = std::move(llm);
  st.monitor = std::move(monitor);
  return {
      [self](task& t) -> caf::typed_response_promise<result> {
        auto& st = self->state;
        auto rp = self->make_response_promise<result>();
        auto req = st.make_request(t);
        st.running.emplace_back(t.id, req.call_id);
        st.emit(st.make_event(event_kind::task_started, t));
        auto started = std::chrono::steady_clock::now();
        auto timeout = st.llm_timeout + request_slack;
        auto finish = [self, rp, t, started](caf::expected<chat_result> reply) mutable {
          auto& st = self->state;
          st.erase_running(t.id);
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
        if (auto i = st.find_running(c.task_id); i != st.running.end())
          self->send(st.llm, chat_cancel{i->second});
      },
      // const&: a broadcast's message is shared by every member; a mutable reference would make
      // CAF copy it for each one (copy on write).
      [self](const dm& m) {
        self->state.memory.add(note("[direct message from ", m.from, m.text));
      },
      [self](const broadcast& m) {
        self->state.memory.add(note("[broadcast from ", m.from, m.text));
      },
      [self](health_probe& p) {
        const auto& st = self->state;
        return health_report{p.nonce, st.id, st.tasks_done, st.running.size()};
      },
  };
}

} // namespace

agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg, llm_actor llm,
                        monitor_actor monitor) {
  // lazy_init: an agent's state is built when its first message arrives, so spawning a large
  // swarm costs little until its agents are used (docs/decisions.md).
  return sys.spawn<caf::lazy_init>(agent_behavior, std::move(cfg), std::move(llm),
                                   std::move(monitor));
}

} // namespace swarm::actors
