// `swarm mock-llm`: serves the deterministic OpenAI-compatible mock until SIGINT/SIGTERM.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "apps/swarm/commands.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::cli {

command add_mock_llm_command(CLI::App& app) {
  auto opts = std::make_shared<mock_llm::server_options>();
  auto port_file = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("mock-llm", "serve the scriptable OpenAI-compatible mock LLM");
  sub->add_option("--host", opts->host, "address to bind")->capture_default_str();
  sub->add_option("--port", opts->port, "port; 0 picks a free one")->capture_default_str();
  sub->add_option("--script", opts->script_path, "script file (docs/mock-llm.md)");
  sub->add_option("--threads", opts->threads, "I/O threads")->capture_default_str();
  sub->add_option("--tls-cert", opts->tls_cert, "PEM certificate: serve HTTPS");
  sub->add_option("--tls-key", opts->tls_key, "PEM private key of --tls-cert");
  sub->add_option("--request-log", opts->request_log,
                  "append one JSON line per chat request to this file (docs/mock-llm.md)");
  sub->add_option("--port-file", *port_file, "write the bound port to this file once serving");
  return [opts, port_file] {
    auto srv = mock_llm::server::start(*opts);
    if (!srv) {
      std::cerr << "swarm mock-llm: " << describe(srv.error()) << "\n";
      return static_cast<int>(exit_usage);
    }
    std::cout << "mock-llm serving " << (*srv)->url() << std::endl;
    if (!port_file->empty()) {
      // Write then rename, so a reader never sees a half-written file.
      auto tmp = *port_file + ".tmp";
      std::ofstream{tmp} << (*srv)->port() << "\n";
      std::rename(tmp.c_str(), port_file->c_str());
    }
    wait_for_stop_signal();
    auto st = (*srv)->stats();
    (*srv)->stop();
    std::cout << "mock-llm stopped after " << st.requests << " requests" << std::endl;
    return static_cast<int>(exit_ok);
  };
}

} // namespace swarm::cli
