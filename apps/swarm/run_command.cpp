// `swarm run SPEC --task TEXT`: builds the swarm, runs one task, streams progress, prints result.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <poll.h>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "apps/swarm/commands.hpp"
#include "apps/swarm/logging.hpp"
#include "apps/swarm/run_checks.hpp"
#include "apps/swarm/run_report.hpp"
#include "apps/swarm/run_watch.hpp"
#include "net/api_client.hpp"
#include "net/cluster_tls.hpp"
#include "runtime/cluster_node.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_json.hpp"
#include "runtime/core/run_id.hpp"
#include "runtime/runtime.hpp"
#include "serve/api_json.hpp"

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
  bool no_memory = false;  // --no-memory: the spec's memory tiers and memory tools turned off
  bool fresh = false;      // --fresh: forget what the journal has of --run-id first
  std::string events_file; // --events: every event of the run as JSON lines
  bool stream = false;     // --stream: answers to stdout as their tokens arrive
  log_options log;         // -v, --log-level, --log-file
  // --keep-workspaces: leave <data-dir>/workspaces/<run id> when the run ends
  bool keep_workspaces = false;
  std::string cluster;   // --cluster HOST:PORT: the run goes to that node (docs/cluster.md)
  std::string server;    // --server URL: the run goes to that `swarm serve` (docs/api.md)
  net::tls_files tls;    // its link: mutual TLS,
  bool insecure = false; // or plain TCP on loopback
  int connect_timeout_ms = 5000;
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

// "$0.001234", or "cost unknown" when a model it used has no resources.prices entry.
std::string cost_text(const spending& s) {
  char usd[48];
  std::snprintf(usd, sizeof(usd), "$%.6f", s.cost_usd);
  if (s.cost_known)
    return usd;
  return s.cost_usd > 0 ? std::string{usd} + " + cost unknown" : std::string{"cost unknown"};
}

void print_spending(const swarm_handle& team) {
  auto total = team.spent();
  char line[160];
  std::snprintf(line, sizeof(line), "swarm run: spent %llu tokens, %s (resources.prices%s)\n",
                static_cast<unsigned long long>(total.use.total_tokens()), cost_text(total).c_str(),
                total.cost_known ? "" : " has no price for a model used");
  std::cerr << line;
  for (const auto& [name, s] : team.spent_per_agent()) {
    if (s.use.calls == 0)
      continue;
    std::snprintf(line, sizeof(line), "  %-20s %8llu tokens %4llu calls  %s\n", name.c_str(),
                  static_cast<unsigned long long>(s.use.total_tokens()),
                  static_cast<unsigned long long>(s.use.calls), cost_text(s).c_str());
    std::cerr << line;
  }
}

// The library's checks of the spec's LLM settings before anything is spawned: errors (a bad or
// missing URL) end the command, warnings (an unset api_key_env) are printed once each.
caf::error check_llm(const swarm_spec& spec, const llm_overrides& overrides) {
  auto checked = check_llm_settings(spec, overrides);
  if (!checked)
    return std::move(checked.error());
  for (const auto& w : *checked)
    std::cerr << "swarm run: warning: " << w << "\n";
  return {};
}

// With --json, the one JSON object of a run that never started (status "invalid",
// "data_dir_unavailable" or "failed", the error, the run id if any); else nothing.
void print_refusal(const run_args& args, const caf::error& err, int code) {
  if (args.json) {
    auto status = code == exit_usage      ? "invalid"
                  : code == exit_data_dir ? "data_dir_unavailable"
                                          : "failed";
    boost::json::object doc{{"run_id", !args.resume.empty() ? args.resume : args.run_id},
                            {"status", status},
                            {"error", error_json(err)},
                            {"data_dir", args.data_dir},
                            {"duration_ms", 0}};
    std::cout << boost::json::serialize(doc) << "\n";
  }
}

// Gives up before a run starts: says why on stderr and, with --json, prints the one JSON object
// anyway (print_refusal).
int refuse(const run_args& args, const caf::error& err, int code) {
  std::cerr << "swarm run: " << describe(err) << "\n";
  print_refusal(args, err, code);
  return code;
}

int refuse(const run_args& args, const std::string& why) {
  return refuse(args, make_error(errc::invalid_argument, why), exit_usage);
}

// One `swarm run`, step by step: each step that ends the command early returns its exit code.
class run_session {
public:
  explicit run_session(const run_args& args) : args_(args) {}

  int operator()() {
    if (auto code = load())
      return *code;
    if (!args_.cluster.empty())
      return submit();
    if (!args_.server.empty())
      return hand_to_server();
    if (auto code = open())
      return *code;
    if (auto code = prepare())
      return *code;
    execute();
    return report();
  }

private:
  using file_ptr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

  // The log, the spec (or the run to resume) and the events file: nothing is started yet.
  std::optional<int> load() {
    if (auto err = start_logging(args_.log))
      return refuse(args_, err, exit_usage);
    if (args_.resume.empty()) {
      if (args_.spec_path.empty() || args_.task.empty())
        return refuse(args_, "a spec and --task are needed (or --resume RUN_ID)");
      auto loaded = load_spec(args_.spec_path);
      if (!loaded)
        return refuse(args_, loaded.error(), exit_usage);
      spec_ = std::move(*loaded);
      if (args_.no_memory)
        disable_memory(*spec_);
    } else if (!args_.spec_path.empty() || !args_.task.empty()) {
      return refuse(args_, "--resume takes the spec and the task from the journal; give neither");
    }
    if (!args_.events_file.empty()) {
      events_.reset(std::fopen(args_.events_file.c_str(), "w"));
      if (!events_)
        return refuse(args_,
                      "cannot write --events " + args_.events_file + ": " + std::strerror(errno));
    }
    return std::nullopt;
  }

  // The endpoint checks, the runtime on the data directory, a --run-id the journal has.
  std::optional<int> open() {
    runtime_options opts;
    opts.data_dir = args_.data_dir;
    opts.stream_tokens = args_.stream && !args_.json;
    opts.keep_workspaces = args_.keep_workspaces;
    opts.record_file = args_.record_file;
    opts.replay_file = args_.replay_file;
    llm_overrides overrides{args_.llm_url, args_.model, !args_.replay_file.empty()};
    if (spec_)
      if (auto err = check_llm(*spec_, overrides))
        return refuse(args_, err, exit_usage);
    auto rt = runtime::open(opts, overrides);
    if (!rt)
      return refuse(args_, rt.error(), run_exit_code(rt.error(), exit_usage));
    rt_ = std::move(*rt);
    for (const auto& damage : rt_->storage_damage())
      std::cerr << "swarm run: warning: the memory database of " << args_.data_dir
                << " is damaged: " << damage << " (`swarm memory check --data-dir "
                << args_.data_dir << "` reports it)\n";
    if (spec_ && !args_.fresh && !args_.run_id.empty())
      if (auto err = taken_run_id(*rt_, args_.run_id, args_.data_dir))
        return refuse(args_, err, exit_usage);
    return std::nullopt;
  }

  // The swarm: spawned from the spec, or rebuilt from the journal to resume (a run that is done
  // is printed from the journal, and nothing runs).
  std::optional<int> prepare() {
    auto mode = args_.fresh ? run_mode::fresh : run_mode::start;
    input_ = task_input{args_.task, args_.run_id.empty() ? new_run_id() : args_.run_id, {}, mode};
    if (spec_) {
      auto team = rt_->spawn(*spec_);
      if (!team)
        return refuse(args_, team.error(), exit_usage);
      team_ = std::move(*team);
      has_tools_ = !spec_->tools.empty();
      architecture_ = spec_->root.architecture;
      return std::nullopt;
    }
    if (auto done = finished_run(*rt_, args_.resume)) {
      run_end stored{args_.resume, done->agent.swarm, args_.data_dir};
      stored.out = std::move(*done);
      if (args_.json)
        std::cout << boost::json::serialize(report_json(stored, run_view{args_.resume}, nullptr))
                  << "\n";
      else
        std::cout << stored.out->text << "\n";
      return exit_ok;
    }
    auto prepared = rt_->prepare_resume(args_.resume);
    if (!prepared)
      return refuse(args_, prepared.error(), run_exit_code(prepared.error(), exit_failed));
    team_ = std::move(prepared->first);
    input_ = std::move(prepared->second);
    has_tools_ = true; // a resumed run may reach tools that need approval
    architecture_ = "resumed";
    return std::nullopt;
  }

  // The run, watched: progress and events while it goes, approvals asked, SIGINT/SIGTERM stop it.
  void execute() {
    end_ = run_end{input_.run_id, team_->name(), args_.data_dir};
    if (!args_.quiet)
      std::cerr << "swarm run: " << team_->name() << " (" << architecture_ << ", "
                << team_->agents().size() << " agents) | run " << end_.run_id << " | data "
                << args_.data_dir << " | if stopped: swarm run --resume " << end_.run_id
                << " --data-dir " << args_.data_dir << "\n";
    progress_ = std::make_shared<run_watch>(
        run_watch_options{args_.quiet, ::isatty(STDERR_FILENO) == 1, events_.get(),
                          args_.stream && !args_.json},
        end_.run_id, spec_ ? spec_->name : team_->name(), team_->agents());
    watching_ = rt_->on_event([progress = progress_](const event& e) { (*progress)(e); });
    std::atomic<bool> interrupted{false};
    signal_watch watch{[&] {
      interrupted = true;
      rt_->stop();
    }};
    auto started = std::chrono::steady_clock::now();
    {
      std::optional<approval_watcher> watcher;
      if (has_tools_)
        watcher.emplace(*team_, args_.approve);
      // run() turns a swarm-level failure into an error; the events keep every member's
      // outcome.
      end_.out = team_->run(std::move(input_));
    }
    end_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    end_.interrupted = interrupted;
    // Events still on their way (the last members' outcomes, run_finished) land first; a
    // stopped runtime sends no more.
    if (!interrupted)
      progress_->wait_finished(std::chrono::seconds(2));
    progress_->settle();
  }

  // A run another process owns (a cluster node, a server): where it runs and how to get its
  // result later on stderr, and the progress that its events, coming back here, will feed.
  void watch_elsewhere(const std::string& run_id, const std::string& swarm,
                       const std::string& where, const std::string& owner,
                       const std::string& flag) {
    if (!args_.quiet)
      std::cerr << "swarm run: " << swarm << " on " << where << " | run " << run_id
                << " | if this command stops, the " << owner << " goes on: swarm run --resume "
                << run_id << " " << flag << " gets its result\n";
    std::vector<std::string> agents;
    if (spec_)
      for (const auto& a : spec_->agents)
        agents.push_back(a.name);
    progress_ =
        std::make_shared<run_watch>(run_watch_options{args_.quiet, ::isatty(STDERR_FILENO) == 1,
                                                      events_.get(), args_.stream && !args_.json},
                                    run_id, swarm, agents);
  }

  // --cluster: the run goes to the node at that address, which owns it (its journal, its data
  // directory); its events come back here as they happen, then its result.
  int submit() {
    if (!args_.record_file.empty() || !args_.replay_file.empty() || args_.keep_workspaces ||
        args_.fresh)
      return refuse(args_, "--record, --replay, --keep-workspaces and --fresh are not for a run "
                           "on a cluster (--cluster): the node's own options decide them");
    cluster_link_options link{args_.tls.cert, args_.tls.key, args_.tls.ca, args_.insecure};
    auto where = parse_host_port(args_.cluster);
    if (!where)
      return refuse(args_, "--cluster: " + describe(where.error()));
    if (auto err = check_link_options(link, {where->first}))
      return refuse(args_, err, exit_usage);
    run_submission sub;
    sub.run_id =
        !args_.resume.empty() ? args_.resume : (args_.run_id.empty() ? new_run_id() : args_.run_id);
    sub.mode = static_cast<uint8_t>(args_.resume.empty() ? run_mode::start : run_mode::resume);
    if (spec_) {
      sub.spec_text = spec_->text;
      sub.spec_source = spec_->source;
      sub.task = args_.task;
      sub.no_memory = args_.no_memory;
    }
    sub.llm_url = args_.llm_url;
    sub.model = args_.model;
    sub.approve_tools = args_.approve == "yes"; // ask: nobody at the node can be asked
    sub.stream_tokens = args_.stream && !args_.json;
    auto swarm = spec_ ? spec_->name : std::string{"resumed"};
    end_ = run_end{sub.run_id, swarm, "node " + args_.cluster};
    watch_elsewhere(sub.run_id, swarm, "the cluster at " + args_.cluster, "node",
                    "--cluster " + args_.cluster);
    std::atomic<bool> interrupted{false};
    signal_watch watch{[&] { interrupted = true; }};
    auto started = std::chrono::steady_clock::now();
    end_.out = run_on_cluster(
        args_.cluster, link, std::move(sub),
        [progress = progress_](const event& e) { (*progress)(e); },
        std::chrono::milliseconds(args_.connect_timeout_ms), [&] { return interrupted.load(); });
    end_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    end_.interrupted = interrupted;
    if (!interrupted && end_.out)
      progress_->wait_finished(std::chrono::seconds(2));
    progress_->settle();
    if (!end_.out && is(end_.out.error(), errc::node_unreachable)) { // it never started
      std::cerr << "swarm run: " << describe(end_.out.error()) << "\n";
      print_refusal(args_, end_.out.error(), exit_failed);
      return exit_failed;
    }
    return report();
  }

  // --server: the run goes to the `swarm serve` at that URL, which owns it (its journal, its
  // data directory); its events stream back here, then its result. SIGINT cancels it there.
  int hand_to_server() {
    if (!args_.record_file.empty() || !args_.replay_file.empty() || args_.keep_workspaces ||
        args_.fresh || !args_.cluster.empty() || !args_.llm_url.empty() || !args_.model.empty())
      return refuse(args_, "--record, --replay, --keep-workspaces, --fresh, --cluster, --llm-url "
                           "and --model are not for a run on a server (--server): the server's "
                           "own options and the spec decide them");
    auto ep = net::parse_api_url(args_.server);
    if (!ep)
      return refuse(args_, ep.error(), exit_usage);
    const char* token = std::getenv("SWARM_TOKEN");
    net::api_client api{*ep, token ? token : "", std::chrono::seconds(30)};
    // The run starts there: a new one with the spec's text, or a resumption.
    auto answered =
        args_.resume.empty()
            ? api.call("POST", "/v1/runs",
                       boost::json::serialize(boost::json::object{{"spec", spec_->text},
                                                                  {"spec_source", spec_->source},
                                                                  {"task", args_.task},
                                                                  {"run_id", args_.run_id}}))
            : api.call("POST", "/v1/runs/" + args_.resume + "/resume");
    if (!answered) {
      print_refusal(args_, answered.error(), exit_failed);
      std::cerr << "swarm run: " << describe(answered.error()) << "\n";
      return exit_failed;
    }
    boost::system::error_code ec;
    auto reply = boost::json::parse(answered->body, ec);
    if (ec || !reply.is_object())
      return refuse(args_, "--server: the answer of " + api.describe() + " is not JSON");
    if (answered->status >= 300) {
      const auto* e = reply.as_object().if_contains("error");
      auto err = e ? error_from_json(*e) : make_error(errc::invalid_argument, answered->body);
      if (const auto* code = e && e->is_object() ? e->as_object().if_contains("code") : nullptr;
          code && code->is_string() && code->as_string() == "invalid_spec")
        err = make_error(errc::invalid_spec, error_message(err));
      return refuse(args_,
                    make_error(errc::invalid_argument,
                               "the server at " + api.describe() + " refused the run (" +
                                   std::to_string(answered->status) + "): " + error_message(err)),
                    answered->status == 401 || answered->status == 400 ? exit_usage : exit_failed);
    }
    auto started = serve::run_info_from_json(reply.as_object());
    if (!started)
      return refuse(args_, started.error(), exit_failed);
    auto swarm = spec_ ? spec_->name : started->swarm;
    end_ = run_end{started->run_id, swarm, "server " + api.describe()};
    watch_elsewhere(started->run_id, swarm, "the server at " + api.describe(), "server",
                    "--server " + args_.server);
    std::atomic<bool> interrupted{false};
    signal_watch watch{[&] { interrupted = true; }};
    auto begun = std::chrono::steady_clock::now();
    bool finished = follow_server_run(api, started->run_id, interrupted);
    end_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
    end_.out = server_outcome(api, started->run_id, finished, end_.interrupted);
    progress_->settle();
    return report();
  }

  // Feeds the run's events from the server to the progress until run_finished, the stream
  // resumed (Last-Event-ID) when it breaks; decides its approvals as --approve says; a signal
  // cancels the run there (once). True once run_finished came.
  bool follow_server_run(const net::api_client& api, const std::string& run_id,
                         const std::atomic<bool>& interrupted) {
    std::string last;
    bool finished = false;
    bool cancel_sent = false;
    int failures = 0;
    auto on_event = [&](const net::sse_event& sse) {
      last = sse.id;
      boost::system::error_code ec;
      auto j = boost::json::parse(sse.data, ec);
      if (ec || !j.is_object())
        return true;
      auto e = event_from_json(j.as_object());
      if (!e)
        return true;
      (*progress_)(*e);
      if (e->kind == event_kind::approval_waiting && args_.approve != "ask")
        decide_on_server(api, run_id, e->approval, args_.approve == "yes");
      if (e->kind == event_kind::approval_waiting && args_.approve == "ask" && !args_.quiet)
        std::cerr << "swarm run: tool " << e->name << " waits for approval: the dashboard or "
                  << "POST /v1/approvals/ID decides it (or run with --approve yes|no)\n";
      finished = e->kind == event_kind::run_finished;
      return !finished;
    };
    while (!finished) {
      auto err = api.stream("/v1/runs/" + run_id + "/events", last, on_event,
                            [&] { return interrupted && !cancel_sent; });
      if (interrupted && !cancel_sent) {
        cancel_sent = true;
        if (!args_.quiet)
          std::cerr << "swarm run: cancelling run " << run_id << " on the server\n";
        static_cast<void>(api.call("POST", "/v1/runs/" + run_id + "/cancel"));
        continue;
      }
      if (finished)
        break;
      // The stream ended early (the server restarts, a proxy dropped it): again from `last`.
      if (err && ++failures > 30) {
        std::cerr << "swarm run: " << describe(err) << "\n";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return true;
  }

  // How the run ended on the server: its result, or its error (as the server names it);
  // `still_running` when it did not end (this command stopped waiting).
  // `finished`: its run_finished came, so the server is writing its end: asked again (5 s at
  // most) while it still says running.
  static caf::expected<result> server_outcome(const net::api_client& api, const std::string& id,
                                              bool finished, bool& still_running) {
    boost::json::value j;
    caf::expected<run_info> info{make_error(errc::io_error, "no answer")};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      auto ended = api.call("GET", "/v1/runs/" + id);
      if (!ended)
        return std::move(ended.error());
      boost::system::error_code ec;
      j = boost::json::parse(ended->body, ec);
      if (ec || !j.is_object())
        return make_error(errc::io_error, "the answer of " + api.describe() + " is not JSON");
      info = serve::run_info_from_json(j.as_object());
      if (!info)
        return std::move(info.error());
      if (info->status != "running" || !finished)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    still_running = info->status == "running";
    if (info->status == "done")
      return std::move(info->outcome);
    if (const auto* e = j.as_object().if_contains("error"); e && !e->is_null())
      return error_from_json(*e);
    return make_error(errc::cancelled, "run " + id + " ended " + info->status);
  }

  static void decide_on_server(const net::api_client& api, const std::string& run_id,
                               uint64_t approval, bool approve) {
    auto listed = api.call("GET", "/v1/approvals");
    if (!listed)
      return;
    boost::system::error_code ec;
    auto j = boost::json::parse(listed->body, ec);
    const auto* data = !ec && j.is_object() ? j.as_object().if_contains("data") : nullptr;
    if (!data || !data->is_array())
      return;
    auto suffix = ":" + std::to_string(approval);
    for (const auto& a : data->as_array()) {
      const auto* o = a.if_object();
      if (!o)
        continue;
      auto id = serve::string_field(*o, "id").value_or("");
      if (serve::string_field(*o, "run_id") == run_id && id.ends_with(suffix))
        static_cast<void>(api.call(
            "POST", "/v1/approvals/" + id,
            boost::json::serialize(boost::json::object{
                {"approve", approve},
                {"reason", "swarm run --approve " + std::string{approve ? "yes" : "no"}}})));
    }
  }

  // The answer (or the JSON object) on stdout; the summary, spending and what to do next on
  // stderr.
  int report() {
    auto view = progress_->view();
    if (args_.json)
      std::cout << boost::json::serialize(report_json(end_, view, team_ ? &*team_ : nullptr))
                << "\n";
    else if (end_.out)
      std::cout << (progress_->streamed() ? "## answer\n" : "") << end_.out->text << "\n";
    if (auto problem = progress_->events_error(); !problem.empty())
      std::cerr << "swarm run: " << problem << " (" << args_.events_file << ")\n";
    auto resume_hint = "swarm run --resume " + end_.run_id +
                       (!args_.server.empty()   ? " --server " + args_.server
                        : args_.cluster.empty() ? " --data-dir " + args_.data_dir
                                                : " --cluster " + args_.cluster);
    bool remote = !args_.cluster.empty() || !args_.server.empty();
    if (end_.interrupted) {
      if (!remote)
        std::cerr << "swarm run: interrupted; continue with: " << resume_hint << "\n";
      else
        std::cerr << "swarm run: stopped waiting; the run goes on at "
                  << (args_.server.empty() ? args_.cluster : args_.server) << ": " << resume_hint
                  << " gets its result\n";
      return exit_interrupted;
    }
    if (!args_.quiet) {
      print_summary(end_, view);
      if (team_)
        print_spending(*team_);
    }
    if (!end_.out) {
      std::cerr << "swarm run: " << run_error_text(end_.out.error()) << "\n"
                << "swarm run: " << run_next_step(end_.out.error(), resume_hint) << "\n";
      return run_exit_code(end_.out.error(), exit_failed);
    }
    if (!args_.quiet && !remote)
      std::cerr << "swarm run: run " << end_.run_id << " is kept in " << args_.data_dir
                << ": swarm memory journal " << end_.run_id << " --data-dir " << args_.data_dir
                << "\n";
    return exit_ok;
  }

  const run_args& args_;
  std::optional<swarm_spec> spec_;
  file_ptr events_{nullptr, &std::fclose};
  std::unique_ptr<runtime> rt_;
  std::optional<swarm_handle> team_;
  task_input input_;
  bool has_tools_ = false;
  std::string architecture_;
  std::shared_ptr<run_watch> progress_;
  event_subscription watching_;
  run_end end_;
};

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
  sub->add_option("--run-id", args->run_id,
                  "name of the run (else one is made): 1-128 of [A-Za-z0-9._-], it names the run's "
                  "workspace directory")
      ->check([](const std::string& id) { return run_id_problem(id); });
  sub->add_flag("--fresh", args->fresh,
                "start --run-id anew: forget what the journal has of it (else a run id the "
                "journal has is refused)")
      ->needs("--run-id")
      ->excludes("--resume");
  sub->add_option("--approve", args->approve,
                  "tool calls that need approval: ask (a y/N prompt on stdin), yes, or no")
      ->check(CLI::IsMember({"ask", "yes", "no"}))
      ->capture_default_str();
  sub->add_option("--data-dir", args->data_dir, "directory for persistent state")
      ->capture_default_str();
  sub->add_flag("--keep-workspaces", args->keep_workspaces,
                "keep the run's tool workspace (<data-dir>/workspaces/<run id>) when the run "
                "ends, for debugging (else it is removed once the run is done)");
  sub->add_flag("--json", args->json,
                "print one JSON object however the run ends: status, error, every member's "
                "result or state, spending");
  add_log_options(*sub, args->log);
  sub->add_flag("--stream", args->stream,
                "print each agent's answer to stdout as its tokens arrive (one answer at a "
                "time), then the swarm's answer under '## answer'");
  sub->add_option("--events", args->events_file,
                  "write every event of the run to this file, one JSON object a line "
                  "(docs/events.md)");
  sub->add_flag("--quiet,-q", args->quiet, "no progress lines");
  sub->add_option("--cluster", args->cluster,
                  "HOST:PORT of a cluster node: the run goes there (that node keeps its journal), "
                  "its events and result come back here (docs/cluster.md)");
  add_tls_flags(*sub, args->tls);
  sub->add_flag("--insecure", args->insecure,
                "with --cluster: plain TCP without TLS (loopback addresses only)");
  sub->add_option("--connect-timeout-ms", args->connect_timeout_ms,
                  "with --cluster: how long the node may take to answer the link; a node silent "
                  "twice as long during the run is lost (default 5000)")
      ->check(CLI::Range(100, 600000));
  sub->add_option("--server", args->server,
                  "URL of a `swarm serve` (http://HOST:PORT): the run goes there (it keeps its "
                  "journal), its events and result come back here; SIGINT cancels it there; "
                  "the token from SWARM_TOKEN (docs/api.md)")
      ->excludes("--cluster");
  sub->get_option("--resume")->excludes("--task-file")->excludes("--no-memory");
  // A command line CLI11 refuses never reaches the command (main prints the failure through
  // app.exit): `swarm run ... --json` still owes its one JSON object.
  app.failure_message([sub, args](const CLI::App* from, const CLI::Error& e) {
    if (sub->parsed() > 0 && sub->count("--json") > 0) {
      args->json = true;
      print_refusal(*args, make_error(errc::invalid_argument, e.what()), exit_usage);
    }
    return CLI::FailureMessage::simple(from, e);
  });
  return [args] {
    if (args->resume.empty() && (!args->task.empty() || !args->task_file.empty())) {
      auto task = read_task(args->task, args->task_file);
      if (!task)
        return refuse(*args, task.error(), exit_usage);
      args->task = std::move(*task);
    }
    return run_session{*args}();
  };
}

} // namespace swarm::cli
