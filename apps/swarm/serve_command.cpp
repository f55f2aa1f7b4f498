// `swarm serve`: one long-lived runtime over a data directory, served over HTTP (docs/api.md):
// the REST API, the OpenAI-compatible facade, metrics and the dashboard. SIGINT/SIGTERM stop
// serving, interrupt the runs going on (journaled: the next start resumes them) and exit 0.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/swarm/commands.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"
#include "serve/api_server.hpp"

namespace swarm::cli {

namespace {

struct serve_args {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string port_file;
  std::string data_dir = "state";
  std::string token_file;
  std::string llm_url;
  std::string model;
  std::vector<std::string> specs;
  size_t max_body_kib = 8192;
  int read_timeout_s = 30;
  int event_days = 7;
  size_t max_live_runs = 1000;
  bool no_resume = false;
  bool stream = false;
  std::string otlp;
};

int run_serve(const serve_args& a) {
  serve::api_options api;
  if (!a.token_file.empty()) {
    auto tokens = serve::read_tokens(a.token_file);
    if (!tokens) {
      std::cerr << "swarm serve: " << describe(tokens.error()) << std::endl;
      return exit_usage;
    }
    api.tokens = std::move(*tokens);
  }
  api.http.host = a.host;
  api.http.port = static_cast<uint16_t>(a.port);
  api.http.max_body = a.max_body_kib * 1024;
  api.http.read_timeout = std::chrono::seconds(a.read_timeout_s);
  api.spec_dir = a.data_dir + "/swarms";
  api.max_live_runs = a.max_live_runs;
  api.otlp_url = a.otlp;
  if (api.tokens.empty() && !serve::is_loopback(a.host)) {
    std::cerr << "swarm serve: --host " << a.host
              << " reaches beyond this machine: give --token-file too" << std::endl;
    return exit_usage;
  }
  std::vector<swarm_spec> preload;
  for (const auto& path : a.specs) {
    auto spec = load_spec(path);
    if (!spec) {
      std::cerr << "swarm serve: " << describe(spec.error()) << std::endl;
      return exit_usage;
    }
    preload.push_back(std::move(*spec));
  }
  runtime_options opts;
  opts.data_dir = a.data_dir;
  opts.event_log = true;
  opts.event_log_retention = std::chrono::hours(24 * a.event_days);
  opts.stream_tokens = a.stream;
  auto rt = runtime::open(opts, llm_overrides{a.llm_url, a.model});
  if (!rt) {
    std::cerr << "swarm serve: " << describe(rt.error()) << std::endl;
    return is(rt.error(), errc::data_dir_unusable) ? exit_data_dir : exit_usage;
  }
  for (const auto& damage : (*rt)->storage_damage())
    std::cerr << "swarm serve: warning: " << damage << std::endl;
  auto server = serve::api_server::start(**rt, std::move(api));
  if (!server) {
    std::cerr << "swarm serve: " << describe(server.error()) << std::endl;
    return exit_usage;
  }
  for (const auto& spec : preload)
    if (auto err = (*server)->add_swarm(spec, true, true)) {
      std::cerr << "swarm serve: " << spec.source << ": " << describe(err) << std::endl;
      return exit_usage;
    }
  auto port = (*server)->port();
  std::cerr << "swarm serve: serving on http://"
            << (a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) << ":" << port
            << " (data in " << a.data_dir << ", "
            << (a.token_file.empty() ? "no token needed" : "bearer tokens required") << ")"
            << std::endl;
  if (!a.port_file.empty()) {
    // Written whole under another name, then renamed: a reader never sees half a port.
    auto tmp = a.port_file + ".tmp";
    std::ofstream{tmp} << port << "\n";
    std::rename(tmp.c_str(), a.port_file.c_str());
  }
  if (!a.no_resume)
    if (auto n = (*server)->resume_interrupted(); n > 0)
      std::cerr << "swarm serve: resumed " << n << " interrupted run(s)" << std::endl;
  int sig = wait_for_stop_signal();
  std::cerr << "swarm serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": stopping; runs going on are interrupted and resume at the next start"
            << std::endl;
  (*server)->stop();
  (*rt)->stop();
  if (!(*server)->wait_for_runs(std::chrono::seconds(30))) {
    // Their threads still use the runtime: it is not destroyed under them. What they did is in
    // the journal's write-ahead log already, which the next start replays.
    std::cerr << "swarm serve: some runs did not end within 30 s; exiting without waiting"
              << std::endl;
    std::_Exit(exit_ok);
  }
  server->reset();
  rt->reset();
  std::cerr << "swarm serve: stopped" << std::endl;
  return exit_ok;
}

} // namespace

command add_serve_command(CLI::App& app) {
  auto a = std::make_shared<serve_args>();
  auto* sub = app.add_subcommand("serve", "serve swarms over HTTP: API, OpenAI facade, dashboard "
                                          "(docs/api.md)");
  sub->add_option("specs", a->specs, "swarm specs to serve from the start (also POST /v1/swarms)");
  sub->add_option("--host", a->host,
                  "address to listen on (default 127.0.0.1; beyond loopback "
                  "needs --token-file)");
  sub->add_option("--port", a->port, "port (default 8080; 0: any free port, see --port-file)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--port-file", a->port_file, "write the port to this file once listening");
  sub->add_option("--data-dir", a->data_dir,
                  "directory of the runs, their events, memory and served specs (default state)");
  sub->add_option("--token-file", a->token_file,
                  "bearer tokens, one a line (`TOKEN` or `NAME TOKEN`): every route needs one");
  sub->add_option("--llm-url", a->llm_url,
                  "OpenAI-compatible base URL for every agent (else spec, else OPENAI_BASE_URL)");
  sub->add_option("--model", a->model, "model for every agent (else spec, else OPENAI_MODEL)");
  sub->add_option("--max-body-kib", a->max_body_kib, "largest request body (default 8192 KiB)")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--read-timeout-s", a->read_timeout_s,
                  "a request not read whole within this is dropped (default 30)")
      ->check(CLI::Range(1, 3600));
  sub->add_option("--event-days", a->event_days,
                  "days a run's events are kept after its last one (default 7)")
      ->check(CLI::Range(1, 3650));
  sub->add_option("--max-live-runs", a->max_live_runs, "runs going at once (default 1000)")
      ->check(CLI::Range(1, 1000000));
  sub->add_flag("--no-resume", a->no_resume,
                "do not resume the runs a previous server left interrupted");
  sub->add_flag("--stream", a->stream, "stream LLM answers: llm_token events as they are written");
  sub->add_option("--otlp", a->otlp,
                  "send traces of the runs (OTLP/HTTP JSON) to this URL, e.g. "
                  "http://127.0.0.1:4318/v1/traces (default: none leave)");
  return [a] { return run_serve(*a); };
}

} // namespace swarm::cli
