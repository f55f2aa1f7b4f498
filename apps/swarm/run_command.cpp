// `swarm run SPEC --task TEXT`: builds the swarm, runs one task, streams progress, prints result.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <poll.h>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "apps/swarm/commands.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"

namespace swarm::cli {

namespace {

struct run_args {
  std::string spec_path;
  std::string task;
  std::string task_file; // --task-file; read into `task` before run()
  std::string llm_url;
  std::string model;
  std::string run_id;
  std::string resume; // run id to continue
  std::string record_file;
  std::string replay_file;
  std::string data_dir = "state";
  std::string approve = "ask"; // ask | yes | no
  bool json = false;
  bool quiet = false;
  bool no_memory = false; // --no-memory: the spec's memory tiers and memory tools turned off
};

boost::json::object usage_json(const usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens()},
          {"calls", u.calls}};
}

boost::json::object result_json(const result& r) {
  boost::json::object out{{"agent", r.agent.str()}, {"task_id", r.task_id}, {"text", r.text}};
  out["usage"] = usage_json(r.use);
  if (r.confidence >= 0)
    out["confidence"] = r.confidence;
  if (r.error)
    out["error"] = describe(r.error);
  if (!r.trace.empty()) {
    boost::json::array trace;
    for (const auto& m : r.trace)
      trace.push_back(result_json(m));
    out["trace"] = std::move(trace);
  }
  return out;
}

// Counts agents' tasks (started and done) and tokens; prints one line per finished agent task
// to stderr. "[2/3]" is done/started: a lead or judge may take several tasks in one run.
class progress_printer {
public:
  explicit progress_printer(bool quiet) : quiet_(quiet) {}

  void operator()(const event& e) {
    if (!e.leaf)
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    if (e.kind == event_kind::task_started) {
      ++started_;
      return;
    }
    if (e.kind != event_kind::task_completed)
      return;
    ++done_;
    tokens_ += e.use.total_tokens();
    if (quiet_)
      return;
    auto secs = std::chrono::duration<double>(e.duration).count();
    char head[64];
    std::snprintf(head, sizeof(head), "[%zu/%zu] ", done_, std::max(done_, started_));
    std::cerr << head << e.agent.name;
    if (e.error)
      std::cerr << " FAILED: " << describe(e.error);
    else
      std::cerr << " done";
    char tail[96];
    std::snprintf(tail, sizeof(tail), " (%.2f s, %llu tokens; total %llu tokens)\n", secs,
                  static_cast<unsigned long long>(e.use.total_tokens()),
                  static_cast<unsigned long long>(tokens_));
    std::cerr << tail;
  }

private:
  std::mutex mtx_;
  bool quiet_;
  size_t started_ = 0;
  size_t done_ = 0;
  uint64_t tokens_ = 0;
};

// One line from stdin, waiting at most until `done`; none if stdin closed or the run ended.
std::optional<std::string> read_answer(const std::atomic<bool>& done) {
  while (!done) {
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR)
      return std::nullopt;
    if (ready > 0) {
      std::string line;
      if (!std::getline(std::cin, line))
        return std::nullopt;
      return line;
    }
  }
  return std::nullopt;
}

// Decides the swarm's pending tool approvals while a run is going on: asks on the terminal (one
// line from stdin: y approves) or answers every call the same way (--approve yes|no). Stops and
// joins when destroyed (the run is over).
class approval_watcher {
public:
  approval_watcher(swarm_handle team, std::string mode)
      : thread_{[this, team = std::move(team), mode = std::move(mode)] { loop(team, mode); }} {}

  ~approval_watcher() {
    done_ = true;
    thread_.join();
  }

  approval_watcher(const approval_watcher&) = delete;
  approval_watcher& operator=(const approval_watcher&) = delete;

private:
  void loop(const swarm_handle& team, const std::string& mode) {
    while (!done_) {
      for (const auto& p : team.pending_approvals()) {
        bool yes = mode == "yes";
        std::string reason = "rejected by --approve no";
        if (mode == "ask") {
          std::cerr << "swarm run: approve tool call #" << p.id << " by " << p.agent.str() << ": "
                    << p.call.name << " " << p.call.arguments << " ? [y/N] " << std::flush;
          auto line = read_answer(done_);
          if (done_)
            return;
          yes = line && !line->empty() && ((*line)[0] == 'y' || (*line)[0] == 'Y');
          reason = line ? "rejected by the operator" : "no answer (standard input closed)";
        }
        if (auto err = team.decide(p.id, yes, reason))
          std::cerr << "swarm run: " << describe(err) << "\n";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::atomic<bool> done_{false};
  std::thread thread_; // last: starts after done_ exists
};

// The swarm's spending as the resource pool accounted it: total and per agent.
boost::json::object spending_json(const swarm_handle& team) {
  auto total = team.spent();
  boost::json::object out{{"total_tokens", total.use.total_tokens()},
                          {"calls", total.use.calls},
                          {"cost_usd", total.cost_usd}};
  boost::json::object agents;
  for (const auto& [name, s] : team.spent_per_agent())
    agents[name] = boost::json::object{
        {"total_tokens", s.use.total_tokens()}, {"calls", s.use.calls}, {"cost_usd", s.cost_usd}};
  out["agents"] = std::move(agents);
  return out;
}

void print_spending(const swarm_handle& team) {
  auto total = team.spent();
  char line[160];
  std::snprintf(line, sizeof(line), "swarm run: spent %llu tokens, $%.6f (resources.prices)\n",
                static_cast<unsigned long long>(total.use.total_tokens()), total.cost_usd);
  std::cerr << line;
  for (const auto& [name, s] : team.spent_per_agent()) {
    if (s.use.calls == 0)
      continue;
    std::snprintf(line, sizeof(line), "  %-20s %8llu tokens %4llu calls  $%.6f\n", name.c_str(),
                  static_cast<unsigned long long>(s.use.total_tokens()),
                  static_cast<unsigned long long>(s.use.calls), s.cost_usd);
    std::cerr << line;
  }
}

void print_summary(const result& r, double secs) {
  size_t failed = 0;
  for (const auto& m : r.trace)
    if (m.error)
      ++failed;
  char line[200];
  std::snprintf(line, sizeof(line),
                "swarm run: %zu/%zu members ok, %llu tokens (prompt %llu, completion %llu), "
                "%llu LLM calls, %.2f s\n",
                r.trace.size() - failed, r.trace.size(),
                static_cast<unsigned long long>(r.use.total_tokens()),
                static_cast<unsigned long long>(r.use.prompt_tokens),
                static_cast<unsigned long long>(r.use.completion_tokens),
                static_cast<unsigned long long>(r.use.calls), secs);
  std::cerr << line;
}

// Runs `args.task` through the spec, or resumes run `args.resume`.
int run(const run_args& args) {
  std::optional<swarm_spec> spec;
  if (args.resume.empty()) {
    if (args.spec_path.empty() || args.task.empty()) {
      std::cerr << "swarm run: a spec and --task are needed (or --resume RUN_ID)\n";
      return exit_usage;
    }
    auto loaded = load_spec(args.spec_path);
    if (!loaded) {
      std::cerr << "swarm run: " << describe(loaded.error()) << "\n";
      return exit_usage;
    }
    spec = std::move(*loaded);
    if (args.no_memory)
      disable_memory(*spec);
  } else if (!args.spec_path.empty() || !args.task.empty()) {
    std::cerr << "swarm run: --resume takes the spec and the task from the journal; give "
                 "neither\n";
    return exit_usage;
  }
  runtime_options opts;
  opts.data_dir = args.data_dir;
  opts.record_file = args.record_file;
  opts.replay_file = args.replay_file;
  auto rt = runtime::open(opts, llm_overrides{args.llm_url, args.model});
  if (!rt) {
    std::cerr << "swarm run: " << describe(rt.error()) << "\n";
    return exit_usage;
  }
  auto printer = std::make_shared<progress_printer>(args.quiet);
  (*rt)->on_event([printer](const event& e) { (*printer)(e); });
  std::atomic<bool> interrupted{false};
  signal_watch watch{[&] {
    interrupted = true;
    (*rt)->stop();
  }};
  auto started = std::chrono::steady_clock::now();
  caf::expected<result> out{make_error(errc::runtime_stopped, "no run")};
  caf::expected<swarm_handle> team{make_error(errc::unknown_run, "no swarm")};
  task_input input{args.task, args.run_id, {}};
  bool has_tools = false;
  if (spec) {
    team = (*rt)->spawn(*spec);
    if (!team) {
      std::cerr << "swarm run: " << describe(team.error()) << "\n";
      return exit_usage;
    }
    has_tools = !spec->tools.empty();
    if (!args.quiet)
      std::cerr << "swarm run: " << spec->name << " (" << spec->root.architecture << ", "
                << team->agents().size() << " agents)\n";
  } else {
    auto prepared = (*rt)->prepare_resume(args.resume);
    if (!prepared) {
      std::cerr << "swarm run: " << describe(prepared.error()) << "\n";
      return is(prepared.error(), errc::unknown_run) ? exit_usage : exit_failed;
    }
    team = std::move(prepared->first);
    input = std::move(prepared->second);
    has_tools = true; // a resumed run may reach tools that need approval
    if (!args.quiet)
      std::cerr << "swarm run: resuming " << args.resume << " (" << team->name() << ")\n";
  }
  {
    std::optional<approval_watcher> watcher;
    if (has_tools)
      watcher.emplace(*team, args.approve);
    // run() turns a swarm-level failure into an error; keep the whole result for the report.
    out = team->run(std::move(input));
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (interrupted) {
    std::cerr << "swarm run: interrupted\n";
    return exit_interrupted;
  }
  if (!out) {
    std::cerr << "swarm run: failed: " << describe(out.error()) << "\n";
    return exit_failed;
  }
  if (args.json) {
    auto doc = result_json(*out);
    if (team)
      doc["spending"] = spending_json(*team);
    std::cout << boost::json::serialize(doc) << "\n";
  } else {
    std::cout << out->text << "\n";
  }
  if (!args.quiet) {
    print_summary(*out, secs);
    if (team)
      print_spending(*team);
  }
  return exit_ok;
}

} // namespace

command add_run_command(CLI::App& app) {
  auto args = std::make_shared<run_args>();
  auto* sub = app.add_subcommand("run", "run one task through a swarm spec");
  sub->add_option("spec", args->spec_path, "swarm spec (YAML or JSON)");
  auto* task = sub->add_option("--task,-t", args->task, "the task text; - reads it from stdin");
  sub->add_option("--task-file", args->task_file, "read the task from this file")->excludes(task);
  sub->add_flag("--no-memory", args->no_memory,
                "neither recall nor store memories: turns off the spec's memory tiers and tools");
  sub->add_option("--resume", args->resume,
                  "continue this run from the journal in --data-dir (finished LLM calls are not "
                  "sent again)");
  sub->add_option("--record", args->record_file,
                  "write every LLM request and reply to this JSON-lines file");
  sub->add_option("--replay", args->replay_file,
                  "answer every LLM request from this recording (offline)")
      ->excludes("--record");
  sub->add_option("--llm-url", args->llm_url,
                  "OpenAI-compatible base URL for every agent (else spec, else OPENAI_BASE_URL)");
  sub->add_option("--model", args->model, "model for every agent (else spec, else OPENAI_MODEL)");
  sub->add_option("--run-id", args->run_id, "name of the run (else one is made)");
  sub->add_option("--approve", args->approve,
                  "tool calls that need approval: ask (a y/N prompt on stdin), yes, or no")
      ->check(CLI::IsMember({"ask", "yes", "no"}))
      ->capture_default_str();
  sub->add_option("--data-dir", args->data_dir, "directory for persistent state")
      ->capture_default_str();
  sub->add_flag("--json", args->json, "print the result (with every member's) as JSON");
  sub->add_flag("--quiet,-q", args->quiet, "no progress lines");
  sub->get_option("--resume")->excludes("--task-file")->excludes("--no-memory");
  return [args] {
    if (args->resume.empty() && (!args->task.empty() || !args->task_file.empty())) {
      auto task = read_task(args->task, args->task_file);
      if (!task) {
        std::cerr << "swarm run: " << describe(task.error()) << "\n";
        return static_cast<int>(exit_usage);
      }
      args->task = std::move(*task);
    }
    return run(*args);
  };
}

} // namespace swarm::cli
