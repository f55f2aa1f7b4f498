// A running swarm (swarm_handle): runs and their journal records, messages, health, spending,
// approvals.
#include "runtime/core/event_gate.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/detail/runtime_state.hpp"

namespace swarm {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Tells the run (after its run_started) that `where` was not valid UTF-8: `count` sequences
// became U+FFFD.
void tell_repaired(const monitor_actor& monitor, const event& started, const char* where,
                   size_t count) {
  if (count == 0)
    return;
  event e = started;
  e.kind = event_kind::input_repaired;
  e.name = where;
  e.text.clear();
  e.total = static_cast<uint32_t>(count);
  emit_event(monitor, std::move(e));
}

// A message from the user (dm, broadcast) is text entering the swarm outside any run: repaired
// here, told as input_repaired with no run id.
void repair_message(const monitor_actor& monitor, const std::string& swarm, std::string& text,
                    std::string where) {
  auto count = repair_utf8(text);
  if (count == 0)
    return;
  event e;
  e.kind = event_kind::input_repaired;
  e.agent = agent_id{{}, swarm};
  e.leaf = false;
  e.name = std::move(where);
  e.total = static_cast<uint32_t>(count);
  emit_event(monitor, std::move(e));
}

} // namespace

// -- swarm_handle -------------------------------------------------------------------------------

namespace {

// Marks a journaled run as run by this runtime while it lives (runtime::find_run); false from
// claimed() if it already was.
class active_run {
public:
  active_run(runtime::impl& rt, std::string id) : rt_(rt), id_(std::move(id)) {
    std::lock_guard<std::mutex> guard{rt_.mtx};
    claimed_ = rt_.active_runs.insert(id_).second;
  }
  ~active_run() {
    if (!claimed_)
      return;
    std::lock_guard<std::mutex> guard{rt_.mtx};
    rt_.active_runs.erase(id_);
  }
  active_run(const active_run&) = delete;
  active_run& operator=(const active_run&) = delete;
  bool claimed() const { return claimed_; }

private:
  runtime::impl& rt_;
  std::string id_;
  bool claimed_ = false;
};

// Makes a run cancellable (runtime::cancel_run) while it runs.
class cancellable_run {
public:
  cancellable_run(runtime::impl& rt, std::string run_id, const agent_actor& root,
                  const std::string& task_id)
      : rt_(rt), id_(std::move(run_id)) {
    std::lock_guard<std::mutex> guard{rt_.mtx};
    rt_.cancellable[id_] = {root, task_id};
  }
  ~cancellable_run() {
    std::lock_guard<std::mutex> guard{rt_.mtx};
    rt_.cancellable.erase(id_);
  }
  cancellable_run(const cancellable_run&) = delete;
  cancellable_run& operator=(const cancellable_run&) = delete;

private:
  runtime::impl& rt_;
  std::string id_;
};

} // namespace

caf::expected<result> swarm_handle::run(task_input in) const {
  auto& rt = *state_->rt;
  if (rt.stopped)
    return make_error(errc::runtime_stopped, "the runtime was stopped");
  if (auto why = in.run_id.empty() ? std::string{} : run_id_problem(in.run_id); !why.empty())
    return make_error(errc::invalid_argument, why); // it would name the run's workspace
  task t;
  t.run_id = in.run_id.empty() ? new_run_id() : std::move(in.run_id);
  t.text = std::move(in.text);
  // The task is text entering the run, from the CLI, the embedding API or a server alike:
  // repaired here, before the journal or any member sees it.
  auto task_repaired = repair_utf8(t.text);
  t.from = "user";
  memory::run_record header;
  std::optional<active_run> active;
  if (rt.store.journal) {
    active.emplace(rt, t.run_id);
    if (!active->claimed())
      return make_error(errc::run_exists, "run '" + t.run_id + "' is running now in this runtime");
    // What the journal has under this id decides (run_mode); a finished run is not run again.
    auto kept =
        check_run_start(*rt.store.journal, {t.run_id, in.task_id, t.text, state_->spec_digest},
                        in.mode, [&] { return rt.forget_run(t.run_id); });
    if (!kept)
      return std::move(kept.error());
    if (*kept && (*kept)->status == "done")
      return stored_result(**kept);
    if (*kept) {
      header = std::move(**kept);
      if (in.task_id.empty())
        in.task_id = header.task_id; // the keys of the journaled calls hold it
    } else {
      header.started_ms = now_ms();
    }
  }
  // A run that can resume (it did not finish, and the journal has it) keeps its workspace.
  workspace_run workspace{rt.workspaces, t.run_id, in.mode == run_mode::fresh};
  if (workspace.error())
    return workspace.error();
  t.id =
      in.task_id.empty() ? "t" + std::to_string(rt.next_task.fetch_add(1)) : std::move(in.task_id);
  if (rt.store.journal) {
    // The header first: a run the journal does not know could not be resumed.
    header.run_id = t.run_id;
    header.swarm = state_->swarm.name;
    header.spec_source = state_->spec_source;
    header.spec_text = state_->spec_text;
    header.spec_digest = state_->spec_digest;
    header.task_id = t.id;
    header.task_text = t.text;
    header.llm_url = state_->overrides.url;
    header.model = state_->overrides.model;
    header.env_base_url = state_->environment.base_url;
    header.env_model = state_->environment.model;
    header.env_recorded = true;
    header.status = "running";
    header.finished_ms = 0;
    header.error.clear();
    if (auto err = rt.store.journal->put_run(header))
      return err;
  }
  auto run_id = t.run_id;
  caf::expected<result> out{make_error(errc::runtime_stopped, "no reply")};
  caf::scoped_actor self{rt.sys};
  // Sent, not requested, and the root monitored: if the swarm is stopped while it works (its
  // actors exit with the answer still promised), the down message ends the wait.
  const auto& root = state_->swarm.root;
  event started;
  started.kind = event_kind::run_started;
  started.run_id = run_id;
  started.task_id = t.id;
  started.agent = agent_id{{}, state_->spec_name};
  started.leaf = false;
  started.text = t.text;
  started.total = static_cast<uint32_t>(state_->swarm.agents.size());
  auto finished = started; // run_finished, filled in at the end
  finished.kind = event_kind::run_finished;
  finished.text.clear();
  emit_event(rt.monitor, started);
  tell_repaired(rt.monitor, started, "spec", state_->spec_repaired);
  tell_repaired(rt.monitor, started, "task", task_repaired);
  auto run_started_at = std::chrono::steady_clock::now();
  cancellable_run cancellable{rt, run_id, root, t.id};
  self->monitor(root);
  self->send(root, std::move(t));
  bool waiting = true;
  self->receive_while(waiting)(
      [&](result& r) {
        out = std::move(r);
        waiting = false;
      },
      [&](caf::error& err) {
        out = rt.stopped ? make_error(errc::runtime_stopped, describe(err)) : err;
        waiting = false;
      },
      [&](caf::down_msg& down) {
        if (down.source != root.address())
          return;
        out = make_error(errc::runtime_stopped,
                         "swarm '" + state_->swarm.name + "' stopped before it answered");
        waiting = false;
      });
  if (rt.stopped) {
    // Stopping fails the LLM calls first, so members may answer (with those errors, or the
    // swarm with a partial result) before its actors exit: the run ends as stopped, whatever
    // they said; their answers are in the events.
    auto why = !out ? out.error() : out->error;
    if (!why || !is(why, errc::runtime_stopped))
      out =
          make_error(errc::runtime_stopped, "the runtime was stopped during the run" +
                                                (why ? " (" + describe(why) + ")" : std::string{}));
  }
  if (out && !out->error && state_->consolidate && rt.long_term) {
    // The run's salient working-memory notes become long-term memories of the swarm.
    self->request(rt.long_term, std::chrono::seconds(120),
                  ltm_consolidate{run_id, "swarm:" + state_->spec_name})
        .receive([](const consolidation_report&) {},
                 [&](caf::error& err) {
                   out = make_error(errc::io_error, "run " + run_id +
                                                        " finished, but consolidating its "
                                                        "working memory failed: " +
                                                        describe(err));
                 });
  }
  if (out) // a run the budget stopped ends budget_exhausted, whatever its coordinator wrapped
    out->error = run_error(out->error, out->trace);
  auto err = out ? out->error : out.error();
  workspace.end(err && rt.store.journal);
  finished.name = run_status(err);
  finished.error = err;
  finished.duration = std::chrono::steady_clock::now() - run_started_at;
  if (out) {
    finished.text = out->text;
    finished.use = out->use;
    finished.confidence = out->confidence;
  }
  emit_event(rt.monitor, std::move(finished));
  if (rt.store.events) {
    // The run ends (its journal header, its caller) only once its run_finished is in the event
    // log: whoever sees the run ended finds its whole log.
    self->request(rt.monitor, std::chrono::seconds(10), flush_events{})
        .receive([](bool) {}, [](caf::error&) {});
  }
  if (rt.store.journal) {
    // Also when the runtime was stopped: the run ends "interrupted" and can resume.
    header.finished_ms = now_ms();
    header.status = run_status(err);
    header.error = err ? describe(err) : std::string{};
    header.result_text = out ? out->text : std::string{};
    if (out && !err) {
      header.result_agent = out->agent;
      header.result_prompt_tokens = out->use.prompt_tokens;
      header.result_completion_tokens = out->use.completion_tokens;
      header.result_calls = out->use.calls;
      header.result_confidence = out->confidence;
      header.result_trace = journaled_trace(*out);
    }
    if (auto put_err = rt.store.journal->put_run(header); put_err && !err)
      return put_err;
  }
  if (out && out->error)
    return out->error;
  return out;
}

void swarm_handle::broadcast(std::string text) const {
  repair_message(state_->rt->monitor, state_->spec_name, text, "broadcast");
  state_->swarm.channel->send(swarm::broadcast{"user", std::move(text)});
}

std::vector<agent_health> swarm_handle::health_check(std::chrono::milliseconds timeout) const {
  const auto& sw = state_->swarm;
  std::vector<health_target> targets;
  for (const auto& m : sw.agents)
    targets.push_back({agent_id{sw.name, m.name}, sw.live->get(true, m.name, m.handle), false});
  for (const auto& m : sw.swarms)
    targets.push_back({agent_id{sw.name, m.name}, sw.live->get(false, m.name, m.handle), true});
  auto out = probe_health(state_->rt->sys, std::move(targets), timeout);
  event e;
  e.kind = event_kind::health_checked;
  e.agent = agent_id{{}, state_->spec_name};
  e.leaf = false;
  e.total = static_cast<uint32_t>(out.size());
  size_t alive = 0;
  std::string silent;
  for (const auto& h : out) {
    alive += h.alive;
    if (!h.alive)
      silent += (silent.empty() ? "; not answering: " : ", ") + h.agent.name + " (" +
                error_code(h.error) + ")";
  }
  e.text = std::to_string(alive) + " of " + std::to_string(out.size()) + " alive" + silent;
  emit_event(state_->rt->monitor, std::move(e));
  return out;
}

namespace {

spending to_spending(const caf::expected<usage_report>& r) {
  spending out;
  if (r) {
    out.use = r->use;
    out.cost_usd = r->cost_usd;
    out.reserved_tokens = r->reserved_tokens;
    out.cost_known = r->unpriced_calls == 0;
  }
  return out;
}

} // namespace

spending swarm_handle::spent() const {
  resource_pool_client pool{state_->rt->sys, state_->pool};
  return to_spending(pool.usage_total());
}

pool_occupancy swarm_handle::occupancy() const {
  resource_pool_client pool{state_->rt->sys, state_->pool};
  auto r = pool.occupancy({});
  return r ? pool_occupancy{r->held, r->waiting, r->reclaimed} : pool_occupancy{};
}

std::vector<std::pair<std::string, spending>> swarm_handle::spent_per_agent() const {
  resource_pool_client pool{state_->rt->sys, state_->pool};
  std::vector<std::pair<std::string, spending>> out;
  for (const auto& m : state_->swarm.agents)
    out.emplace_back(m.name, to_spending(pool.usage_of(agent_id{state_->spec_name, m.name})));
  return out;
}

std::vector<pending_approval> swarm_handle::pending_approvals() const {
  std::vector<pending_approval> out;
  if (!state_->tool_runner)
    return out;
  caf::scoped_actor self{state_->rt->sys};
  self->request(state_->tool_runner, std::chrono::seconds(10), list_approvals{})
      .receive([&](std::vector<pending_approval>& xs) { out = std::move(xs); }, [](caf::error&) {});
  return out;
}

caf::error swarm_handle::decide(uint64_t id, bool approve, std::string reason) const {
  if (!state_->tool_runner)
    return make_error(errc::invalid_argument, "swarm '" + state_->swarm.name + "' has no tools");
  caf::error err;
  caf::scoped_actor self{state_->rt->sys};
  self->request(state_->tool_runner, std::chrono::seconds(10),
                approval_decision{id, approve, std::move(reason)})
      .receive([](bool) {}, [&](caf::error& e) { err = std::move(e); });
  return err;
}

void swarm_handle::stop() const {
  state_->rt->stop_swarm(state_->swarm.name);
}

caf::error swarm_handle::dm(const std::string& name, std::string text) const {
  for (const auto& m : state_->swarm.agents)
    if (m.name == name) {
      repair_message(state_->rt->monitor, state_->spec_name, text, "dm " + name);
      caf::anon_send(state_->swarm.live->get(true, name, m.handle),
                     swarm::dm{"user", std::move(text)});
      return {};
    }
  return make_error(errc::unknown_agent,
                    "no agent '" + name + "' in swarm '" + state_->swarm.name + "'");
}

caf::error swarm_handle::kill(const std::string& name) const {
  const auto& sw = state_->swarm;
  for (const auto& group : {&sw.agents, &sw.swarms})
    for (const auto& m : *group)
      if (m.name == name && m.handle != sw.root) {
        caf::anon_send_exit(sw.live->get(m.leaf, name, m.handle), caf::exit_reason::kill);
        return {};
      }
  return make_error(errc::unknown_agent,
                    "no agent or sub-swarm '" + name + "' in swarm '" + sw.name + "'");
}

const std::string& swarm_handle::name() const {
  return state_->swarm.name;
}

std::vector<std::string> swarm_handle::agents() const {
  std::vector<std::string> out;
  for (const auto& m : state_->swarm.agents)
    out.push_back(m.name);
  return out;
}

} // namespace swarm
