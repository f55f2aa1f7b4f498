// `swarm run` around the library's runs: the exit code and message of an error, and a resumed
// run that was already done.
#pragma once

#include <optional>
#include <string>

#include <caf/error.hpp>

#include "runtime/runtime.hpp"

namespace swarm::cli {

/// The exit code of a run that could not start or ended with `err`: exit_data_dir for a data
/// directory that cannot be used (errc::data_dir_unusable), exit_usage for a run id the journal
/// has (errc::run_exists) or lacks (errc::unknown_run), else `otherwise`.
int run_exit_code(const caf::error& err, int otherwise);

/// Why a run ended without an answer, for "swarm run: <this>": "failed: <error>", or the error
/// alone when its code says what happened (cancelled, budget_exhausted, run_exists, ...: a
/// cancelled run did not fail).
std::string run_error_text(const caf::error& err);

/// What to do after a run that ended with `err`, for "swarm run: <this>": a run the budget
/// stopped (errc::budget_exhausted) names the budget to raise, since resuming it would meet the
/// same budget; any other: "try again with: <resume_command>".
std::string run_next_step(const caf::error& err, const std::string& resume_command);

/// A new run (not --fresh) under `run_id`, a run id the journal of `data_dir` already has:
/// errc::run_exists saying how to resume or restart it; else none. The library refuses it too;
/// this says so before anything is spawned, in the command line's terms.
caf::error taken_run_id(runtime& rt, const std::string& run_id, const std::string& data_dir);

/// If the journal says run `run_id` is done: says so on stderr and returns its stored result
/// (nothing needs to run). Else none; errors reading the journal are left to prepare_resume.
std::optional<result> finished_run(runtime& rt, const std::string& run_id);

} // namespace swarm::cli
