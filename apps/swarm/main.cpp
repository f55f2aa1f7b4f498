// `swarm`: the command-line front of the runtime. Parses arguments and calls the library.
#include <CLI/CLI.hpp>

#include "apps/swarm/commands.hpp"

int main(int argc, char** argv) {
  swarm::cli::block_stop_signals();
  CLI::App app{"swarm: runs swarms of LLM agents"};
  app.require_subcommand(1);
  auto run = swarm::cli::add_run_command(app);
  auto mock = swarm::cli::add_mock_llm_command(app);
  auto memory = swarm::cli::add_memory_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? swarm::cli::exit_ok : swarm::cli::exit_usage;
  }
  if (app.got_subcommand("run"))
    return run();
  if (app.got_subcommand("memory"))
    return memory();
  return mock();
}
