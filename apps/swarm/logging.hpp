// The CLI's log (spdlog): off unless asked for with -v, --log-level or --log-file; what it
// records of a run comes from the run's events, like everything else the CLI shows.
#pragma once

#include <string>

#include <caf/error.hpp>

#include "runtime/core/messages.hpp"

namespace CLI {
class App;
}

namespace swarm::cli {

/// What -v, --log-level and --log-file asked for.
struct log_options {
  bool verbose = false; ///< -v: debug to stderr
  std::string level;    ///< trace, debug, info, warn, error, critical or off; empty: see below
  std::string file;     ///< append to this file instead of stderr
};

/// Registers -v, --log-level and --log-file on `sub`, into `opts`.
void add_log_options(CLI::App& sub, log_options& opts);

/// Installs the log: to `opts.file` if given (default level info), else stderr (default level
/// off, debug with -v). An unknown level or a file that cannot be opened is an error naming it.
[[nodiscard]] caf::error start_logging(const log_options& opts);

/// Logs `e`: failures at warn, run starts and ends and decisions at info, every event as its
/// JSON line at debug.
void log_event(const event& e);

} // namespace swarm::cli
