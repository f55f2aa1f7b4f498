// Runs one program under bubblewrap + seccomp with rlimits, a wall-clock timeout, output caps
// and a workspace quota. Blocking: call it from a worker thread (the tool runner does).
// docs/tools.md describes the mounts, limits and filter.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/spec.hpp"

namespace swarm::actors {

/// Where bubblewrap lives on Debian (package `bubblewrap`).
inline constexpr const char* default_bwrap = "/usr/bin/bwrap";

/// One program to run sandboxed.
struct sandbox_request {
  /// Program and arguments; the program is looked up on the sandbox's PATH. Must not be empty.
  std::vector<std::string> argv;
  /// Written to the program's standard input, which is then closed. At most 1 MiB.
  std::string stdin_text;
  /// Host directory mounted read-write at /workspace, the program's working directory. Must
  /// exist. When the runtime runs as root it is handed to the sandbox user (see sandbox_user).
  std::filesystem::path workspace;
  /// Variables added to the clean environment (PATH, HOME=/tmp, TMPDIR=/tmp, LANG=C.UTF-8);
  /// nothing is inherited from the runtime, so no credentials leak in. Default: none.
  std::vector<std::pair<std::string, std::string>> env;
  /// Network, timeout, CPU, memory, processes, file size and output caps.
  sandbox_spec limits;
  /// The workspace may not hold more than this many MiB (allocated blocks of all files): checked
  /// every 20 ms while the program runs (it is killed when over) and once more when it ended; a
  /// program that leaves the workspace over it has every entry that changed while it ran
  /// deleted, and its call fails (docs/tools.md, "Disk"). 0: no cap. Default: 256.
  uint64_t workspace_mb = 256;
  /// The same for entries (files, directories). 0: no cap. Default: 20,000.
  uint64_t workspace_entries = 20'000;
  /// Programs running against one workspace at once, in this process (counted per directory);
  /// a later one waits for a turn, at most `limits.timeout` (then tool_timeout). 0: no limit.
  /// Default: 4.
  size_t workspace_parallel = 4;
  /// Size of the sandbox's private /tmp (a tmpfs), in MiB. Default: 64.
  uint64_t tmp_mb = 64;
  /// The bubblewrap binary. Default: /usr/bin/bwrap.
  std::string bwrap = default_bwrap;
};

/// How a sandboxed program ended and what it printed.
struct sandbox_result {
  /// Exit status of the program; 128+N when it was killed by signal N inside the sandbox.
  int exit_code = -1;
  /// Signal that ended the sandbox from outside (SIGKILL after an output overflow); else 0.
  int signal = 0;
  std::string out;            ///< standard output, at most limits.max_output_kb KiB
  std::string err;            ///< standard error, at most limits.max_output_kb KiB
  bool out_truncated = false; ///< stdout was longer than the cap
  bool err_truncated = false; ///< stderr was longer than the cap
  /// Killed because a stream kept going far past its cap (16x the cap, at least 1 MiB).
  bool output_overflow = false;
  /// Bytes one stream may write before the program is killed (`output_overflow`).
  uint64_t output_limit = 0;
  std::chrono::milliseconds elapsed{0}; ///< wall time from start to exit
};

/// Runs `req.argv` in the sandbox and waits for it. Errors: tool_unavailable when bubblewrap is
/// missing or cannot create namespaces here (checked once per binary, then cached; never falls
/// back to running unsandboxed); tool_timeout when it ran past limits.timeout (the whole
/// sandbox is killed); tool_failed when it left the workspace over its quota (what changed while
/// it ran is deleted: "workspace quota: workspace DIR ..."), was killed for growing it past the
/// quota or stopped by another program's breach, or could not be started; invalid_argument for an
/// empty argv, a missing workspace, too much stdin, or a command too long to execute (E2BIG: an
/// argument over 128 KiB, or all of them over ARG_MAX).
[[nodiscard]] caf::expected<sandbox_result> run_sandboxed(const sandbox_request& req);

/// Checks, once per `bwrap` path, that a trivial program runs in the sandbox; cached for the
/// process. No error: sandboxed tools can run. Else errc::tool_unavailable saying why.
caf::error probe_sandbox(const std::string& bwrap = default_bwrap);

/// What a workspace holds: disk use (allocated blocks) and entries, symbolic links not followed.
struct workspace_usage {
  uint64_t bytes = 0;
  uint64_t entries = 0;
};

/// Measures the tree under `dir` (the quota run_sandboxed enforces counts the same way).
workspace_usage measure_workspace(const std::filesystem::path& dir);

/// The user sandboxed programs run as.
struct sandbox_identity {
  uid_t uid;
  gid_t gid;
};

/// 65534:65534 when the runtime runs as root (the kernel exempts uid 0 from RLIMIT_NPROC, so
/// sandboxes never run as root), else the runtime's own user.
sandbox_identity sandbox_user();

/// When running as root, makes the sandbox user own the open file or directory `fd`, so
/// sandboxed programs can write what the runtime created. No-op otherwise.
void hand_to_sandbox(int fd);

} // namespace swarm::actors
