// The `swarm` subcommands: each registers its options on the CLI11 app and runs when chosen.
#pragma once

#include <functional>
#include <memory>

namespace CLI {
class App;
}

namespace swarm::cli {

/// A registered subcommand's body; returns the process exit code.
using command = std::function<int()>;

command add_run_command(CLI::App& app);
command add_mock_llm_command(CLI::App& app);
command add_memory_command(CLI::App& app);

/// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts afterwards), so
/// that wait_for_stop_signal() can take them. Call first thing in main.
void block_stop_signals();

/// Waits for SIGINT or SIGTERM; returns the signal number.
int wait_for_stop_signal();

/// Runs `on_signal` on a background thread when SIGINT or SIGTERM arrives; the thread exits
/// when the returned guard is destroyed.
struct signal_watch {
  explicit signal_watch(std::function<void()> on_signal);
  ~signal_watch();
  signal_watch(const signal_watch&) = delete;
  signal_watch& operator=(const signal_watch&) = delete;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Exit codes shared by all subcommands.
enum exit_code : int {
  exit_ok = 0,
  exit_failed = 1, ///< the work ran and failed (e.g. every member of the swarm failed)
  exit_usage = 2,  ///< bad arguments, bad spec, bad script
  exit_interrupted = 130,
};

} // namespace swarm::cli
