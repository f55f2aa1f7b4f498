// A run's record in the journal as the runtime uses it: the spec digest, the checks before a
// run id is used again (run_mode), the stored result of a finished run, and the LLM settings
// (overrides, environment) a resumed run keeps from its first attempt.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "memory/journal.hpp"
#include "runtime/llm_resolution.hpp"
#include "runtime/runtime.hpp"

namespace swarm {

/// "sha256:<hex>" of a spec's text; empty for an empty text (a spec built in code).
std::string spec_digest(std::string_view spec_text);

/// The digest a header stands for: its spec_digest, or for a header written before digests
/// were kept, the digest of its spec_text.
std::string spec_digest_of(const memory::run_record& h);

/// The environment's LLM fallbacks a swarm resolves with (llm_resolution.hpp): a run records
/// them so that its resumption resolves as the first attempt did.
struct llm_environment {
  std::string base_url; ///< OPENAI_BASE_URL; empty: unset
  std::string model;    ///< OPENAI_MODEL; empty: unset

  /// The values `env` reads now.
  static llm_environment current(const env_reader& env = read_env);

  /// What a resumption of `h` resolves with: the recorded values, or the current ones for a
  /// header that has none.
  static llm_environment of(const memory::run_record& h, const env_reader& env = read_env);

  /// An env_reader that answers OPENAI_BASE_URL and OPENAI_MODEL from these values and every
  /// other variable (API keys: never recorded) from `env`.
  env_reader reader(env_reader env = read_env) const;
};

/// The overrides a resumption of `h` uses: each field set in `now` (a flag given to the
/// resuming process) wins, else the run's recorded one.
llm_overrides merge_overrides(const llm_overrides& now, const memory::run_record& h);

/// What a run asks for under its run id (swarm_handle::run).
struct run_request {
  std::string run_id;
  std::string task_id; ///< empty: any (a resumption takes the journaled one)
  std::string task_text;
  std::string spec_digest;
};

/// Checks `req` against the journal as `mode` says (see run_mode) and returns the header of the
/// run to continue, or none for a new run. fresh calls `forget` to drop the old run first.
/// Errors: errc::run_exists (start: the id is taken; resume: another task or spec), those of
/// the journal and of `forget`.
caf::expected<std::optional<memory::run_record>>
check_run_start(memory::journal& journal, const run_request& req, run_mode mode,
                const std::function<caf::error()>& forget);

/// `r`'s members as a header keeps them (run_record::result_trace).
std::vector<memory::journaled_step> journaled_trace(const result& r);

/// The result a finished run's header keeps: text, task id, agent, usage, confidence, and its
/// members' results (their own traces are not kept; errors keep their code and message).
result stored_result(const memory::run_record& h);

/// The header's view for callers of the runtime; `running_now`: a swarm of this runtime runs
/// it (else a "running" header was interrupted).
run_info to_run_info(const memory::run_record& h, bool running_now);

} // namespace swarm
