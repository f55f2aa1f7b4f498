// The `swarm` subcommands: each registers its options on the CLI11 app and runs when chosen.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace CLI {
class App;
}

namespace swarm::net {
struct tls_files;
}

namespace swarm::cli {

/// A registered subcommand's body; returns the process exit code.
using command = std::function<int()>;

command add_run_command(CLI::App& app);
command add_mock_llm_command(CLI::App& app);
command add_memory_command(CLI::App& app);
command add_validate_command(CLI::App& app);
command add_architectures_command(CLI::App& app);
/// `swarm schema [--markdown]`: the spec's JSON Schema, or its reference (docs/spec.md).
command add_schema_command(CLI::App& app);
command add_init_command(CLI::App& app);
/// `swarm cert ca|node|check`: a test cluster CA, node certificates, the start-up TLS check.
command add_cert_command(CLI::App& app);
/// `swarm node`: a long-running cluster node (docs/cluster.md).
command add_node_command(CLI::App& app);
/// `swarm serve`: the HTTP API, OpenAI facade and dashboard over one runtime (docs/api.md).
command add_serve_command(CLI::App& app);
/// `swarm cluster status`: a cluster's nodes as one of them sees them.
command add_cluster_command(CLI::App& app);
/// `swarm bench`: the benchmark scenarios beside their floors and the peers
/// (docs/benchmarks.md).
command add_bench_command(CLI::App& app);
/// Adds --tls-cert, --tls-key and --tls-ca (a node's mutual TLS files) to `sub`.
void add_tls_flags(CLI::App& sub, net::tls_files& files);
/// `swarm completion bash|zsh`: scripts generated from `app`'s subcommands and options, so
/// register it last.
command add_completion_command(CLI::App& app);

/// "swarm 0.1.0 (CAF 0.17.6)": the CMake project version and the CAF headers built against.
std::string version_text();

/// If the command line names a subcommand `app` does not have (at any level), the error to print
/// ("unknown command 'rn'; did you mean 'run'?"); else empty.
std::string unknown_command(const CLI::App& app, int argc, const char* const* argv);

/// The task of `swarm run`: `task` as given, or standard input when it is "-", or the contents
/// of `task_file`. Empty (only white space) is an error, as is an unreadable file.
caf::expected<std::string> read_task(const std::string& task, const std::string& task_file);

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
  exit_failed = 1,   ///< the work ran and failed (e.g. every member of the swarm failed)
  exit_usage = 2,    ///< bad arguments, bad spec, bad script; a run id already taken
  exit_data_dir = 3, ///< the data directory is locked, read-only, corrupt or not ours
  exit_interrupted = 130,
};

} // namespace swarm::cli
