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
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/short_term_memory.hpp"
#include "runtime/core/call_ids.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"
#include "runtime/core/step_log.hpp"

namespace swarm::actors {

double confidence_from_logprobs(const std::vector<token_logprob>& xs) {
  if (xs.empty())
    return -1;
  double sum = 0;
  for (const auto& x : xs)
    sum += x.logprob;
  return std::exp(sum / static_cast<double>(xs.size()));
}

namespace {

// Slack on top of the call's deadline (chat_request::timeout, which the path keeps), so the
// path's precise error (timeout, HTTP status) arrives first; past it the agent cancels the call
// itself (docs/decisions.md). Longer than the tape's own slack.
constexpr auto request_slack = std::chrono::seconds(2);

// The price of `u` at the spec's prices; < 0: the model has no price. `fallback_model`: a
// fallback answered, at its model's price.
double call_cost(const agent_config& cfg, const usage& u,
                 const std::string* fallback_model = nullptr) {
  auto prompt = cfg.prompt_price;
  auto completion = cfg.completion_price;
  if (fallback_model != nullptr) {
    auto i = std::find_if(cfg.fallback_prices.begin(), cfg.fallback_prices.end(),
                          [&](const model_price& p) { return p.model == *fallback_model; });
    if (i == cfg.fallback_prices.end())
      return -1;
    prompt = i->prompt;
    completion = i->completion;
  } else if (!cfg.priced) {
    return -1;
  }
  return (static_cast<double>(u.prompt_tokens) * prompt +
          static_cast<double>(u.completion_tokens) * completion) /
         1e6;
}

// True if the agent uses anything besides its LLM (tools, memory tiers, prices, summaries).
bool uses_extras(const agent_config& cfg) {
  return !cfg.tools.empty() || cfg.working || cfg.long_term || cfg.priced ||
         cfg.summarize_overflow || !cfg.fallback_prices.empty();
}

// One task being worked on: the conversation of its steps (tool calls and their answers), the
// context recalled for it, and the usage so far. A cancel marks it: no LLM call starts after
// that, answers still out (recalls, tools) are ignored, and it is answered exactly once.
struct task_run {
  task t;
  caf::typed_response_promise<result> rp;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::string context;                  // recalled notes and memories, sent as a system message
  std::vector<chat_message> transcript; // this task's assistant tool calls and tool answers
  uint32_t step = 0;
  usage use;
  size_t pending = 0; // recalls or tool calls still out
  std::vector<chat_message> tool_answers;
  uint64_t call = 0;      // the LLM call in flight (summary or step); 0: none
  bool cancelled = false; // a task_cancel arrived
  bool answered = false;  // the result was delivered (or is on its way)
};

using task_run_ptr = std::shared_ptr<task_run>;

// An agent's state. Kept small on purpose (a swarm may hold a million idle agents, see
// bench/messaging.cpp): the config is one shared pointer (the factory's respawn holds the same
// one), and the short-term memory is made when the agent first needs it.
struct agent_state {
  std::shared_ptr<const agent_config> cfg; ///< never null once initialised; never copied
  const agent_config* extras = nullptr;    ///< cfg if uses_extras(*cfg), else null
  const llm_target* target = nullptr;      ///< cfg->target (never null)
  llm_actor llm;
  monitor_actor monitor;
  // The conversation windows, one per run: a run's turns are its own, and a server's runs of
  // different clients never see each other's. Direct messages and broadcasts (no run) go to
  // every window and seed the windows of later runs. Made when first needed.
  struct conversations {
    std::vector<chat_message> notes; // the last dm and broadcast notes, oldest first
    std::vector<std::pair<std::string, std::unique_ptr<short_term_memory>>> runs; // newest last
  };
  static constexpr size_t max_notes = 32;
  static constexpr size_t max_runs = 8; // windows kept: a run beyond starts afresh
  mutable std::unique_ptr<conversations> memory_;
  std::vector<std::shared_ptr<task_run>> running; // tasks being worked on
  uint64_t tasks_done = 0;

  static inline const char* name = "swarm.agent";

  const agent_id& id() const { return cfg->id; }

  /// Run `run_id`'s conversation window, made (with the system prompt and the notes) on first
  /// use; the least recently used of more than max_runs windows goes.
  short_term_memory& memory(const std::string& run_id) const {
    if (!memory_)
      memory_ = std::make_unique<conversations>();
    auto& runs = memory_->runs;
    auto i =
        std::find_if(runs.begin(), runs.end(), [&](const auto& x) { return x.first == run_id; });
    if (i == runs.end()) {
      auto m = std::make_unique<short_term_memory>(cfg->system_prompt, cfg->short_term_tokens,
                                                   cfg->summarize_overflow);
      for (const auto& n : memory_->notes)
        m->add(n);
      runs.emplace_back(run_id, std::move(m));
      if (runs.size() > max_runs)
        runs.erase(runs.begin());
      return *runs.back().second;
    }
    std::rotate(i, i + 1, runs.end()); // most recently used last
    return *runs.back().second;
  }

  /// A message from outside any run (dm, broadcast): in every window, and in later ones.
  void add_note(chat_message note) const {
    if (!memory_)
      memory_ = std::make_unique<conversations>();
    for (auto& [run, m] : memory_->runs)
      m->add(note);
    auto& notes = memory_->notes;
    notes.push_back(std::move(note));
    if (notes.size() > max_notes)
      notes.erase(notes.begin());
  }

  chat_request make_request(const task_run& r, uint64_t call_id) const {
    chat_request req;
    req.call_id = call_id;
    req.run_id = r.t.run_id;
    req.agent = id();
    req.task_id = r.t.id;
    req.step = r.step;
    req.endpoint = target->endpoint;
    req.model = target->model;
    req.fallbacks = target->fallbacks;
    req.messages = memory(r.t.run_id).window_with(chat_message{"user", r.t.text, r.t.from, {}, {}});
    if (!r.context.empty()) // just before the task
      req.messages.insert(req.messages.end() - 1, chat_message{"system", r.context, {}, {}, {}});
    req.messages.insert(req.messages.end(), r.transcript.begin(), r.transcript.end());
    if (extras)
      req.tools = extras->tools;
    req.temperature = cfg->temperature;
    req.max_tokens = cfg->max_tokens;
    req.stream = cfg->stream;
    req.stream_tokens = cfg->stream_tokens;
    req.response_format = r.t.response_format;
    req.top_logprobs = cfg->logprobs ? 0 : -1;
    req.timeout = cfg->llm_timeout;
    return req;
  }

  void erase_running(const task_run* r) {
    auto i =
        std::find_if(running.begin(), running.end(), [&](const auto& x) { return x.get() == r; });
    if (i != running.end())
      running.erase(i);
  }

  void emit(event e) const {
    emit_event(monitor, std::move(e)); // no listener: no delivery to the monitor
  }

  event make_event(event_kind kind, const task& t) const {
    event e;
    e.kind = kind;
    e.run_id = t.run_id;
    e.agent = id();
    e.task_id = t.id;
    e.leaf = true;
    return e;
  }

  /// input_repaired for a reply whose body the client had to repair (chat_result::repaired).
  void tell_repaired(const task& t, const chat_result& reply) const {
    if (reply.repaired == 0)
      return;
    auto e = make_event(event_kind::input_repaired, t);
    e.name = "llm reply";
    e.total = reply.repaired;
    emit(std::move(e));
  }
};

using agent_pointer = agent_actor::stateful_pointer<agent_state>;

void run_step(agent_pointer self, const task_run_ptr& r);

/// What the task's LLM call ends with when the path let its deadline pass without an answer:
/// the call is cancelled on the path (its slot and its spending stop there), and the error says
/// so. Other errors pass unchanged.
caf::error on_call_error(agent_pointer self, uint64_t call_id, caf::error err) {
  if (err != caf::sec::request_timeout)
    return err;
  self->send(self->state.llm, chat_cancel{call_id});
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(self->state.cfg->llm_timeout).count();
  return make_error(errc::llm_timeout, "no answer from the LLM within the call's timeout of " +
                                           std::to_string(ms) + " ms; the call was cancelled");
}

// Ends a task, once: memory, working memory, events, the result. A cancelled task is answered
// with errc::cancelled whatever `reply` holds, its usage so far kept.
void finish_task(agent_pointer self, const task_run_ptr& r, caf::expected<chat_result> reply) {
  auto& st = self->state;
  if (r->answered)
    return;
  r->answered = true;
  st.erase_running(r.get());
  result res;
  res.task_id = r->t.id;
  res.agent = st.id();
  if (r->cancelled) {
    res.error = make_error(errc::cancelled, "task " + r->t.id + " cancelled");
  } else if (reply) {
    auto& window = st.memory(r->t.run_id);
    window.add(chat_message{"user", r->t.text, r->t.from, {}, {}});
    window.add(chat_message{"assistant", reply->content, {}, {}, {}});
    res.text = std::move(reply->content);
    res.confidence = confidence_from_logprobs(reply->logprobs);
  } else if (is(reply.error(), errc::llm_cancelled)) {
    res.error = make_error(errc::cancelled, "task " + r->t.id + " cancelled");
  } else {
    res.error = std::move(reply.error());
  }
  res.use = r->use;
  res.use.calls = std::max<uint64_t>(res.use.calls, 1);
  auto deliver = [self, r](result out) {
    ++self->state.tasks_done;
    r->rp.deliver(std::move(out));
  };
  const auto* x = st.extras;
  if (res.error || x == nullptr || !x->working || r->t.run_id.empty())
    return deliver(std::move(res));
  // The answer goes on the run's blackboard first (keyed by task: a resumed run that answers
  // the task again replaces the note instead of adding one); the result leaves once it is durable.
  wm_write w{r->t.run_id, st.id(), "result", res.text, 0.5, r->t.id};
  self->request(x->working, std::chrono::seconds(30), std::move(w))
      .then([deliver, res](const wm_note&) mutable { deliver(std::move(res)); },
            [deliver, res](caf::error& err) mutable {
              res.error =
                  make_error(errc::io_error, "answer not kept in working memory: " + describe(err));
              deliver(std::move(res));
            });
}

// The model asked for tools: run them all (in parallel), answer each, then take the next step.
void call_tools(agent_pointer self, const task_run_ptr& r, chat_result reply) {
  auto& st = self->state;
  const auto& x = *st.extras;
  r->transcript.push_back(chat_message{"assistant", reply.content, {}, {}, reply.tool_calls});
  r->tool_answers.assign(reply.tool_calls.size(), chat_message{});
  r->pending = reply.tool_calls.size();
  for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
    const auto& call = reply.tool_calls[i];
    r->tool_answers[i] = chat_message{"tool", "", "", call.id, {}};
    auto answer = [self, r, i](std::string content) {
      if (r->answered)
        return; // cancelled meanwhile: the answer is not used
      r->tool_answers[i].content = std::move(content);
      if (--r->pending > 0)
        return;
      for (auto& m : r->tool_answers)
        r->transcript.push_back(std::move(m));
      r->tool_answers.clear();
      ++r->step;
      run_step(self, r);
    };
    self->request(x.tool_runner, caf::infinite,
                  tool_request{r->t.run_id, st.id(), r->t.id, call, r->step})
        .then(
            [answer](tool_reply& out) mutable {
              // The model learns why a call failed (refused, rejected, timed out...) and may
              // try something else.
              answer(out.error ? "error: " + describe(out.error) : std::move(out.content));
            },
            [answer](caf::error& err) mutable { answer("error: " + describe(err)); });
  }
}

// One LLM call of the task; a reply with tool calls leads to the tools and another step.
void run_step(agent_pointer self, const task_run_ptr& r) {
  auto& st = self->state;
  if (r->answered)
    return;
  if (r->cancelled)
    return finish_task(self, r, make_error(errc::cancelled, "task cancelled"));
  auto req = st.make_request(*r, new_call_id(self->system()));
  r->call = req.call_id;
  auto call_id = req.call_id;
  auto timeout = st.cfg->llm_timeout + request_slack;
  auto call = st.make_event(event_kind::llm_call_started, r->t);
  call.name = req.model;
  call.step = req.step;
  st.emit(call);
  call.kind = event_kind::llm_call_finished;
  call.text = st.target->endpoint.url; // the endpoint asked (a fallback that answers: its own)
  auto started = std::chrono::steady_clock::now();
  self->request(st.llm, timeout, std::move(req))
      .then(
          [self, r, started, call](chat_result& reply) mutable {
            auto& st = self->state;
            r->call = 0;
            r->use += reply.use; // the client counts the call in reply.use.calls
            call.duration = std::chrono::steady_clock::now() - started;
            call.use = reply.use;
            call.attempts = reply.attempts;
            call.estimated = reply.usage_estimated;
            // A fallback answered: the event names its model and endpoint, priced as its model.
            const llm_fallback_target* fb = nullptr;
            if (reply.fallback > 0 && reply.fallback <= st.target->fallbacks.size()) {
              fb = &st.target->fallbacks[reply.fallback - 1];
              call.name = fb->model;
              call.text = fb->endpoint.url;
            }
            call.cost_usd =
                st.extras ? call_cost(*st.extras, reply.use, fb ? &fb->model : nullptr) : -1;
            st.emit(std::move(call));
            st.tell_repaired(r->t, reply);
            const auto* x = st.extras;
            if (r->cancelled || reply.tool_calls.empty() || x == nullptr || !x->tool_runner)
              return finish_task(self, r, std::move(reply));
            auto max_steps = std::max<uint32_t>(1, x->max_tool_steps);
            if (r->step + 1 >= max_steps)
              return finish_task(
                  self, r,
                  make_error(errc::max_tool_steps, st.id().str() + " still calling tools after " +
                                                       std::to_string(max_steps) + " steps"));
            call_tools(self, r, std::move(reply));
          },
          [self, r, started, call, call_id](caf::error& err) mutable {
            auto& st = self->state;
            r->call = 0;
            err = on_call_error(self, call_id, std::move(err));
            r->use.calls += 1;
            call.duration = std::chrono::steady_clock::now() - started;
            call.use.calls = 1;
            call.error = err;
            st.emit(std::move(call));
            if (is(err, errc::budget_exhausted)) {
              auto spent = st.make_event(event_kind::budget_exhausted, r->t);
              spent.error = err;
              st.emit(std::move(spent));
            }
            finish_task(self, r, std::move(err));
          });
}

// Context for the task: the run's notes and the agent's long-term memories that match it, asked
// for in parallel; a tier that fails is left out (the task goes on without it).
void recall_then_run(agent_pointer self, const task_run_ptr& r) {
  const auto* x = self->state.extras;
  bool working = x != nullptr && x->working && !r->t.run_id.empty();
  bool long_term = x != nullptr && x->long_term;
  r->pending = (working ? 1 : 0) + (long_term ? 1 : 0);
  if (r->pending == 0)
    return run_step(self, r);
  auto one_done = [self, r] {
    if (--r->pending == 0 && !r->answered) // after a cancel the task is answered already
      run_step(self, r);
  };
  constexpr auto recall_timeout = std::chrono::seconds(10);
  if (working)
    self->request(x->working, recall_timeout, wm_query{r->t.run_id, r->t.text, x->recall_k})
        .then(
            [r, one_done](const std::vector<wm_note>& notes) {
              if (!notes.empty()) {
                r->context += "Notes of this run's working memory (author: text):\n";
                for (const auto& n : notes)
                  r->context += "- " + n.author.str() + ": " + n.text + "\n";
              }
              one_done();
            },
            [one_done](caf::error&) { one_done(); });
  if (long_term)
    self->request(x->long_term, recall_timeout, ltm_recall{r->t.text, x->recall_from, x->recall_k})
        .then(
            [r, one_done](const std::vector<ltm_hit>& hits) {
              if (!hits.empty()) {
                r->context += "What you remember from earlier runs:\n";
                for (const auto& h : hits)
                  r->context += "- " + h.text + "\n";
              }
              one_done();
            },
            [one_done](caf::error&) { one_done(); });
}

// With summarize_overflow: turns that left the window are folded into the summary by one LLM
// call before the task (a failed summary leaves them dropped: the stated fallback).
void summarize_then_run(agent_pointer self, const task_run_ptr& r) {
  auto& st = self->state;
  if (!st.extras || !st.extras->summarize_overflow || !st.memory(r->t.run_id).has_overflow())
    return recall_then_run(self, r);
  auto& window = st.memory(r->t.run_id);
  auto turns = window.take_overflow();
  std::string text = "Summarize this earlier conversation in at most 120 words. Keep facts, "
                     "decisions, names and open questions.\n";
  if (!window.summary().empty())
    text += "\nSummary so far: " + window.summary() + "\n";
  text += "\nConversation:\n";
  for (const auto& m : turns)
    text += m.role + (m.name.empty() ? "" : " (" + m.name + ")") + ": " + m.content + "\n";
  chat_request req;
  req.call_id = new_call_id(self->system());
  req.run_id = r->t.run_id;
  req.agent = st.id();
  req.task_id = r->t.id + "~summary"; // its own journal position
  req.endpoint = st.target->endpoint;
  req.model = st.target->model;
  req.fallbacks = st.target->fallbacks;
  req.messages = {chat_message{"system", "You condense conversations faithfully.", {}, {}, {}},
                  chat_message{"user", std::move(text), {}, {}, {}}};
  req.max_tokens = 256;
  req.timeout = st.cfg->llm_timeout;
  r->call = req.call_id;
  auto call_id = req.call_id;
  self->request(st.llm, st.cfg->llm_timeout + request_slack, std::move(req))
      .then(
          [self, r](chat_result& reply) {
            r->call = 0;
            r->use += reply.use;
            self->state.tell_repaired(r->t, reply);
            self->state.memory(r->t.run_id).set_summary(std::move(reply.content));
            if (r->cancelled)
              return finish_task(self, r, make_error(errc::cancelled, "task cancelled"));
            recall_then_run(self, r);
          },
          [self, r, call_id](caf::error& err) {
            r->call = 0;
            on_call_error(self, call_id, std::move(err)); // a timed-out call is cancelled
            if (r->cancelled)
              return finish_task(self, r, make_error(errc::cancelled, "task cancelled"));
            recall_then_run(self, r);
          });
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

// `cfg` as a shared config with a target: its own, made from the endpoint, model and fallbacks
// it names, unless it shares one.
std::shared_ptr<const agent_config> with_own_target(agent_config cfg) {
  if (!cfg.target)
    cfg.target = std::make_shared<const llm_target>(
        llm_target{std::move(cfg.endpoint), std::move(cfg.model), std::move(cfg.fallbacks)});
  return std::make_shared<const agent_config>(std::move(cfg));
}

// The agent actor. Its handlers are one behavior shared by every agent (CAF's behavior for five
// handlers is 256 B, built at each actor's first message in a worker's arena between that
// message's mailbox elements): they find their agent through `current`, which `resume` sets,
// the only place CAF runs an event-based actor's handlers. What a handler starts (requests and
// their continuations) captures the agent as usual.
class agent_impl : public agent_actor::stateful_base<agent_state> {
public:
  using super = agent_actor::stateful_base<agent_state>;

  /// Spawned by another node (register_agent_type): a portable config of its own.
  agent_impl(caf::actor_config& cfg, agent_config conf, llm_actor llm, monitor_actor monitor)
      : agent_impl(cfg, with_own_target(std::move(conf)), std::move(llm), std::move(monitor)) {}

  agent_impl(caf::actor_config& cfg, std::shared_ptr<const agent_config> conf, llm_actor llm,
             monitor_actor monitor)
      : super(cfg) {
    // A cluster node counts the agents its process runs (its load in heartbeats).
    const auto* sc = dynamic_cast<const swarm_config*>(&this->system().config());
    if (sc != nullptr && sc->hosted_agents) {
      sc->hosted_agents->fetch_add(1);
      this->attach_functor([hosted = sc->hosted_agents] { hosted->fetch_sub(1); });
    }
    auto& st = this->state;
    st.extras = uses_extras(*conf) ? conf.get() : nullptr;
    st.target = conf->target.get();
    st.cfg = std::move(conf);
    st.llm = std::move(llm);
    st.monitor = std::move(monitor);
  }

  resume_result resume(caf::execution_unit* eu, size_t max_throughput) override {
    auto* outer = current; // CAF does not nest resumes; restoring costs nothing regardless
    current = this;
    auto res = super::resume(eu, max_throughput);
    current = outer;
    return res;
  }

  behavior_type make_behavior() override { return shared_behavior(); }

private:
  static inline thread_local agent_impl* current = nullptr;

  static agent_pointer self() { return current; }

  // Cancels every task of `self` with id `id`: an LLM call in flight is cancelled on its path,
  // and its answer ends the task (its usage counted); in any other phase (recall, tools) the task
  // ends now.
  static void cancel_task(agent_pointer self, const std::string& id) {
    auto& st = self->state;
    std::vector<std::shared_ptr<task_run>> cut;
    for (const auto& r : st.running)
      if (r->t.id == id && !r->cancelled)
        cut.push_back(r);
    for (const auto& r : cut) {
      r->cancelled = true;
      if (r->call != 0)
        self->send(st.llm, chat_cancel{r->call});
      else
        finish_task(self, r, make_error(errc::cancelled, "task cancelled"));
    }
  }

  static const behavior_type& shared_behavior() {
    static const behavior_type bhvr{
        [](task& t) -> caf::typed_response_promise<result> {
          auto self = agent_impl::self();
          auto& st = self->state;
          // The same id still running here was asked by a coordinator that died and was spawned
          // again (it asks anew): the orphan stops spending.
          cancel_task(self, t.id);
          auto r = std::make_shared<task_run>();
          r->rp = self->make_response_promise<result>();
          r->t = std::move(t);
          st.running.push_back(r);
          summarize_then_run(self, r);
          return r->rp;
        },
        [](task_cancel& c) { cancel_task(agent_impl::self(), c.task_id); },
        // const&: a broadcast's message is shared by every member; a mutable reference would
        // make CAF copy it for each one (copy on write).
        [](const dm& m) {
          agent_impl::self()->state.add_note(note("[direct message from ", m.from, m.text));
        },
        [](const broadcast& m) {
          agent_impl::self()->state.add_note(note("[broadcast from ", m.from, m.text));
        },
        [](health_probe& p) {
          auto* self = agent_impl::self();
          const auto& st = self->state;
          return health_report{p.nonce, st.id(), st.tasks_done, st.running.size(),
                               self->mailbox().size()};
        },
    };
    return bhvr;
  }
};

} // namespace

agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg, llm_actor llm,
                        monitor_actor monitor) {
  return spawn_agent(sys, with_own_target(std::move(cfg)), std::move(llm), std::move(monitor));
}

agent_config portable_config(const agent_config& cfg) {
  auto out = cfg;
  if (out.target) {
    out.endpoint = out.target->endpoint;
    out.model = out.target->model;
    out.fallbacks = out.target->fallbacks;
    out.target = nullptr;
  }
  return out;
}

void register_agent_type(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::swarm_actors>();
  cfg.add_actor_type<agent_impl, agent_config&, llm_actor&, monitor_actor&>(agent_type_name);
}

agent_actor spawn_agent(caf::actor_system& sys, std::shared_ptr<const agent_config> cfg,
                        llm_actor llm, monitor_actor monitor) {
  if (!cfg->target) // rare (the factory always shares a target): a copy that has its own
    return spawn_agent(sys, agent_config{*cfg}, std::move(llm), std::move(monitor));
  // lazy_init: an agent is scheduled when its first message arrives, so spawning a large swarm
  // costs little until its agents are used (docs/decisions.md). Its state is a shared pointer
  // and two handles, set at spawn; its behavior is shared.
  return sys.spawn<agent_impl, caf::lazy_init>(std::move(cfg), std::move(llm), std::move(monitor));
}

} // namespace swarm::actors
