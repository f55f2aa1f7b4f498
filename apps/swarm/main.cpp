// `swarm`: the command-line front of the runtime. Parses arguments and calls the library.
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/swarm/commands.hpp"

int main(int argc, char** argv) {
  namespace cli = swarm::cli;
  cli::block_stop_signals();
  CLI::App app{"swarm: runs swarms of LLM agents"};
  app.require_subcommand(1);
  app.set_version_flag("--version", cli::version_text());
  // Registered in this order (a braced list is evaluated left to right): the help lists them so.
  std::map<std::string, cli::command> commands{
      {"run", cli::add_run_command(app)},
      {"validate", cli::add_validate_command(app)},
      {"init", cli::add_init_command(app)},
      {"architectures", cli::add_architectures_command(app)},
      {"schema", cli::add_schema_command(app)},
      {"mock-llm", cli::add_mock_llm_command(app)},
      {"memory", cli::add_memory_command(app)},
      {"cert", cli::add_cert_command(app)},
      {"serve", cli::add_serve_command(app)},
      {"node", cli::add_node_command(app)},
      {"cluster", cli::add_cluster_command(app)},
      {"bench", cli::add_bench_command(app)},
      {"completion", cli::add_completion_command(app)}};
  if (auto error = cli::unknown_command(app, argc, argv); !error.empty()) {
    std::cerr << "swarm: " << error << "\n";
    return cli::exit_usage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? cli::exit_ok : cli::exit_usage;
  }
  for (const auto* sub : app.get_subcommands())
    return commands.at(sub->get_name())();
  return cli::exit_usage;
}
