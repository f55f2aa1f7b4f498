// A runtime's tool workspaces: where they live (`<data_dir>/workspaces/<run_id>`, or a
// temporary directory of the runtime's own without a data directory), which runs' tool calls
// may use them, and when they are removed (docs/tools.md, "Workspaces").
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/tool_runner.hpp"

namespace swarm {

/// The workspaces of one runtime's runs.
class run_workspaces : public std::enable_shared_from_this<run_workspaces> {
public:
  /// Workspaces go to `<data_dir>/workspaces`; with an empty `data_dir`, to a directory of this
  /// runtime under the system's temp directory, made on first use and removed by close(). A
  /// runtime running as root whose data directory the sandbox's user cannot reach (bubblewrap
  /// must search the path) keeps them in `<tmp>/smolswarms-workspaces-<digest of the data
  /// directory>`, with `<data_dir>/workspaces` a symbolic link to it.
  /// `keep`: a run's workspace stays when the run ends (runtime_options::keep_workspaces).
  run_workspaces(const std::string& data_dir, bool keep);
  /// Calls close().
  ~run_workspaces();
  run_workspaces(const run_workspaces&) = delete;
  run_workspaces& operator=(const run_workspaces&) = delete;

  /// Lends each tool call its run's workspace (tool_runner_config::workspaces): made on demand,
  /// held until the call is done. A call of a run that is not running (it ended) is refused.
  actors::workspace_provider provider();

  /// Run `run_id` begins: its calls may use its workspace from now on. `fresh`: whatever an
  /// earlier run of this id left there is removed first (io_error if it cannot be).
  caf::error begin(const std::string& run_id, bool fresh);

  /// Run `run_id` ended: its later calls are refused, and its workspace is removed (once the
  /// last call still running in it is done) unless workspaces are kept or `keep` (a run that
  /// can resume).
  void end(const std::string& run_id, bool keep);

  /// The runtime stops: no more calls; a temporary root is removed with everything in it (the
  /// workspaces under a data directory stay as their runs left them).
  void close();

private:
  struct run_state {
    int runs = 0;        // runs of this id going on (two swarms may run one id, without journal)
    int calls = 0;       // calls holding the workspace
    bool remove = false; // remove it once calls and runs are 0
  };

  caf::expected<actors::workspace_lease> lend(const std::string& run_id);
  void release(const std::string& run_id);
  caf::error make_root();                     // with mtx_ held
  void remove_now(const std::string& run_id); // with mtx_ held

  std::mutex mtx_;
  std::filesystem::path root_; // empty until a temporary root is made
  std::filesystem::path link_; // <data_dir>/workspaces when the root is aside (make_root)
  bool root_ready_ = false;    // made, and reachable by the sandbox's user
  bool temporary_;
  bool keep_;
  bool closed_ = false;
  std::map<std::string, run_state> runs_;
};

/// A run's use of its workspace in swarm_handle::run: begun when made, ended by end(); a run
/// that never gets there (an early return) ends keeping it.
class workspace_run {
public:
  workspace_run(std::shared_ptr<run_workspaces> store, std::string run_id, bool fresh);
  ~workspace_run();
  workspace_run(const workspace_run&) = delete;
  workspace_run& operator=(const workspace_run&) = delete;

  /// Why the run may not begin (its old workspace could not be removed); none: it began.
  const caf::error& error() const { return error_; }

  /// The run ended; `keep`: it can resume, so its workspace stays (run_workspaces::end).
  void end(bool keep);

private:
  std::shared_ptr<run_workspaces> store_;
  std::string run_id_;
  caf::error error_;
  bool open_ = false;
};

} // namespace swarm
