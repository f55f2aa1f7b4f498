// The tool runner: permission check and approvals in the actor, tool execution in a detached
// worker actor per call (its own thread), so a slow program never stalls other calls.
#include "actors/tool_runner.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/builtin_tools.hpp"
#include "actors/sandbox.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"
#include "runtime/core/utf8.hpp"

namespace swarm::actors {

namespace {

using clock = std::chrono::steady_clock;
using run_tool_atom = caf::atom_constant<caf::atom("runtool")>;
using config_ptr = std::shared_ptr<const tool_runner_config>;

const tool_decl* find_decl(const tool_runner_config& cfg, const std::string& name) {
  auto i = std::find_if(cfg.tools.begin(), cfg.tools.end(),
                        [&](const tool_decl& d) { return d.name == name; });
  return i == cfg.tools.end() ? nullptr : &*i;
}

// The workspace of the call's run, from the config's provider or under its root.
caf::expected<workspace_lease> lend_workspace(const tool_runner_config& cfg,
                                              const std::string& run_id) {
  if (cfg.workspaces)
    return cfg.workspaces(run_id);
  auto dir = run_workspace(cfg.workspace_root, run_id);
  if (!dir)
    return std::move(dir.error());
  return workspace_lease{std::move(*dir), nullptr};
}

// Runs one call to completion; on a worker thread.
tool_reply execute(const tool_runner_config& cfg, const tool_request& req, const tool_decl& decl) {
  tool_reply reply;
  reply.call_id = req.call.id;
  caf::expected<std::string> out{std::string{}};
  if (auto hook = cfg.hooks.find(decl.name); hook != cfg.hooks.end() && hook->second) {
    out = hook->second(req);
  } else if (auto ws = lend_workspace(cfg, req.run_id); !ws) { // held until the call is done
    out = make_error(errc::tool_failed, decl.name + ": " + describe(ws.error()));
  } else {
    tool_context ctx{decl, ws->dir, cfg.workspace_mb, cfg.bwrap};
    out = run_tool(ctx, req.call.arguments);
  }
  if (out)
    reply.content = std::move(*out);
  else
    reply.error = std::move(out.error());
  return reply;
}

// One call, from its arrival to its reply.
struct job {
  tool_request req;
  caf::typed_response_promise<tool_reply> rp;
  clock::time_point started;
  std::string decision; // "approved" or "rejected" once a human decided
};

caf::behavior tool_worker(caf::event_based_actor* self, config_ptr cfg, tool_request req,
                          tool_decl decl) {
  return {
      [self, cfg, req, decl](run_tool_atom) -> tool_reply {
        auto reply = execute(*cfg, req, decl);
        self->quit();
        return reply;
      },
  };
}

struct tool_runner_state {
  config_ptr cfg;
  std::map<uint64_t, job> pending; // waiting for approval, by id (ids grow: oldest first)
  uint64_t next_approval = 1;
  std::deque<job> queue; // approved calls waiting for a slot
  size_t running = 0;

  static inline const char* name = "swarm.tool_runner";
};

using runner_pointer = tool_runner_actor::stateful_pointer<tool_runner_state>;

// Tells the monitor (if any) about call `j`: `kind` with the tool's name and arguments.
event tool_event(const job& j, event_kind kind) {
  event e;
  e.kind = kind;
  e.run_id = j.req.run_id;
  e.agent = j.req.agent;
  e.task_id = j.req.task_id;
  e.name = j.req.call.name;
  e.arguments = j.req.call.arguments;
  return e;
}

void emit(runner_pointer self, event e) {
  emit_event(self->state.cfg->monitor, std::move(e));
}

/// What tool_call_finished keeps of a tool's output: the first 2,000 bytes.
constexpr size_t output_excerpt = 2000;

// A tool's output is text entering the run: each invalid UTF-8 sequence of its content, or of
// its error's message (a failed program's output), becomes U+FFFD here, where every tool's
// reply passes, and input_repaired counts them. Returns how many were replaced.
size_t repair_output(tool_reply& reply) {
  auto replaced = repair_utf8(reply.content);
  if (reply.error && reply.error.category() == errc_category) {
    auto message = error_message(reply.error);
    if (auto n = repair_utf8(message); n > 0) {
      reply.error = make_error(static_cast<errc>(reply.error.code()), std::move(message));
      replaced += n;
    }
  }
  return replaced;
}

// Every call ends here, exactly once: refused, rejected, failed or answered; repaired and
// journaled (when the runner has a journal and the call a run) before the agent hears it.
void finish(runner_pointer self, job& j, tool_reply reply) {
  if (auto replaced = repair_output(reply); replaced > 0) {
    auto e = tool_event(j, event_kind::input_repaired);
    e.name = "tool " + j.req.call.name;
    e.arguments.clear();
    e.total = static_cast<uint32_t>(replaced);
    emit(self, std::move(e));
  }
  const auto& journal = self->state.cfg->journal;
  if (journal && !j.req.run_id.empty())
    if (auto err = journal->put_tool(tool_key(j.req), j.req, reply, j.decision)) {
      reply.content.clear();
      reply.error = make_error(errc::io_error, j.req.call.name +
                                                   " ran, but its result could not "
                                                   "be journaled: " +
                                                   describe(err));
    }
  auto e = tool_event(j, event_kind::tool_call_finished);
  e.error = reply.error;
  e.duration = clock::now() - j.started;
  e.text = reply.content.substr(0, output_excerpt);
  emit(self, std::move(e));
  j.rp.deliver(std::move(reply));
}

// The journal's answer to `req`, if it has one; a journal that cannot be read answers with the
// error (the call is not run blind).
std::optional<tool_reply> journaled(const tool_runner_config& cfg, const tool_request& req) {
  if (!cfg.journal || req.run_id.empty())
    return std::nullopt;
  auto kept = cfg.journal->find_tool(tool_key(req));
  if (!kept) {
    tool_reply out;
    out.call_id = req.call.id;
    out.error = make_error(errc::io_error, "cannot look up " + req.call.name +
                                               " in the journal: " + describe(kept.error()));
    return out;
  }
  return std::move(*kept);
}

tool_reply error_reply(const job& j, caf::error err) {
  tool_reply reply;
  reply.call_id = j.req.call.id;
  reply.error = std::move(err);
  return reply;
}

void pump(runner_pointer self);

void start(runner_pointer self, job j) {
  auto& st = self->state;
  const auto* decl = find_decl(*st.cfg, j.req.call.name);
  ++st.running;
  auto worker = self->system().spawn<caf::detached>(tool_worker, st.cfg, j.req, *decl);
  auto shared = std::make_shared<job>(std::move(j));
  auto done = [self, shared](tool_reply reply) {
    --self->state.running;
    finish(self, *shared, std::move(reply));
    pump(self);
  };
  self->request(worker, caf::infinite, run_tool_atom::value)
      .then([done](tool_reply& reply) { done(std::move(reply)); },
            [done, shared](caf::error& err) {
              done(error_reply(
                  *shared, make_error(errc::tool_failed, "tool worker failed: " + describe(err))));
            });
}

void pump(runner_pointer self) {
  auto& st = self->state;
  while (!st.queue.empty() && st.running < std::max<size_t>(st.cfg->max_parallel, 1)) {
    auto j = std::move(st.queue.front());
    st.queue.pop_front();
    start(self, std::move(j));
  }
}

void enqueue(runner_pointer self, job j) {
  auto& st = self->state;
  if (st.running < std::max<size_t>(st.cfg->max_parallel, 1)) {
    start(self, std::move(j));
  } else if (st.queue.size() >= st.cfg->max_queued) {
    auto reply =
        error_reply(j, make_error(errc::tool_unavailable, "the tool runner is busy (" +
                                                              std::to_string(st.queue.size()) +
                                                              " calls waiting); try again later"));
    finish(self, j, std::move(reply));
  } else {
    st.queue.push_back(std::move(j));
  }
}

tool_runner_actor::behavior_type tool_runner(runner_pointer self, config_ptr cfg) {
  self->state.cfg = std::move(cfg);
  return {
      [self](tool_request& req) -> caf::typed_response_promise<tool_reply> {
        auto& st = self->state;
        job j{std::move(req), self->make_response_promise<tool_reply>(), clock::now()};
        auto rp = j.rp;
        emit(self, tool_event(j, event_kind::tool_call_requested));
        if (auto kept = journaled(*st.cfg, j.req)) {
          // A resumed run: the journal answers, nothing runs again.
          auto e = tool_event(j, event_kind::tool_call_finished);
          e.error = kept->error;
          e.text = kept->content.substr(0, output_excerpt);
          emit(self, std::move(e));
          j.rp.deliver(std::move(*kept));
        } else if (auto err = check_permission(*st.cfg, j.req.agent, j.req.call.name)) {
          auto rejected = tool_event(j, event_kind::tool_call_rejected);
          rejected.text = describe(err);
          emit(self, std::move(rejected));
          auto reply = error_reply(j, std::move(err));
          finish(self, j, std::move(reply));
        } else if (find_decl(*st.cfg, j.req.call.name)->needs_approval) {
          auto waiting = tool_event(j, event_kind::approval_waiting);
          waiting.approval = st.next_approval;
          emit(self, std::move(waiting));
          st.pending.emplace(st.next_approval++, std::move(j));
        } else {
          enqueue(self, std::move(j));
        }
        return rp;
      },
      [self](list_approvals) {
        std::vector<pending_approval> out;
        for (const auto& [id, j] : self->state.pending)
          out.push_back(pending_approval{id, j.req.run_id, j.req.agent, j.req.call});
        return out;
      },
      [self](approval_decision& d) -> caf::result<bool> {
        auto& st = self->state;
        auto i = st.pending.find(d.id);
        if (i == st.pending.end())
          return make_error(errc::invalid_argument,
                            "no tool call with approval id " + std::to_string(d.id) +
                                " is waiting (already decided, or never asked)");
        auto j = std::move(i->second);
        st.pending.erase(i);
        j.decision = d.approve ? "approved" : "rejected";
        if (d.approve) {
          auto approved = tool_event(j, event_kind::tool_call_approved);
          approved.approval = d.id;
          emit(self, std::move(approved));
          enqueue(self, std::move(j));
        } else {
          auto why = d.reason.empty() ? std::string{"no reason given"} : d.reason;
          auto rejected = tool_event(j, event_kind::tool_call_rejected);
          rejected.approval = d.id;
          rejected.text = "rejected by a human: " + why;
          emit(self, std::move(rejected));
          auto reply = error_reply(
              j, make_error(errc::approval_rejected,
                            "a human rejected this " + j.req.call.name + " call: " + why));
          finish(self, j, std::move(reply));
        }
        return true;
      },
  };
}

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out;
}

} // namespace

caf::error check_permission(const tool_runner_config& cfg, const agent_id& agent,
                            const std::string& tool) {
  auto who = agent.str();
  auto i = cfg.permissions.find(who);
  if (i == cfg.permissions.end() ||
      std::find(i->second.begin(), i->second.end(), tool) == i->second.end()) {
    auto may = i == cfg.permissions.end() || i->second.empty()
                   ? std::string{"it may call no tools"}
                   : "it may call: " + joined(i->second);
    return make_error(errc::tool_refused,
                      "agent '" + who + "' may not call tool '" + tool + "' (" + may + ")");
  }
  if (find_decl(cfg, tool) == nullptr)
    return make_error(errc::tool_unavailable,
                      "tool '" + tool + "' is not declared in the swarm's tools");
  return caf::error{};
}

std::vector<tool_spec> tool_specs_for(const tool_runner_config& cfg, const agent_id& agent) {
  std::vector<tool_spec> out;
  auto i = cfg.permissions.find(agent.str());
  if (i == cfg.permissions.end())
    return out;
  for (const auto& name : i->second)
    if (const auto* decl = find_decl(cfg, name))
      out.push_back(spec_of(*decl));
  return out;
}

caf::expected<std::filesystem::path> run_workspace(const std::filesystem::path& root,
                                                   const std::string& run_id) {
  if (run_id.empty() || run_id == "." || run_id == ".." ||
      run_id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789._-") != std::string::npos)
    return make_error(errc::invalid_argument,
                      "run id '" + run_id + "' cannot name a workspace (use [A-Za-z0-9._-])");
  if (root.empty())
    return make_error(errc::invalid_argument, "the tool runner has no workspace root");
  auto dir = root / run_id;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return make_error(errc::io_error,
                      "cannot create workspace " + dir.string() + ": " + ec.message());
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return make_error(errc::io_error, "workspace " + dir.string() + " is not a directory");
  hand_to_sandbox(fd);
  ::close(fd);
  return dir;
}

tool_runner_actor spawn_tool_runner(caf::actor_system& sys, tool_runner_config cfg) {
  return sys.spawn(tool_runner, std::make_shared<const tool_runner_config>(std::move(cfg)));
}

} // namespace swarm::actors
