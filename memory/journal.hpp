// The run journal: finished LLM calls and coordinator steps of each run, and one header per run,
// in the `journal` and `runs` column families of the memory database. A run killed at any
// moment resumes from it without repeating a finished call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "memory/database.hpp"
#include "runtime/core/call_store.hpp"
#include "runtime/core/messages.hpp"
#include "runtime/core/tool_store.hpp"

namespace swarm::memory {

/// One coordinator step of a run (a member's answer the coordinator acted on).
struct journaled_step {
  std::string task_id;
  std::string agent;
  std::string text;
  std::string error;
  double confidence = -1; ///< < 0: none
  usage use;
  int64_t time_ms = 0; ///< Unix milliseconds; put_step fills in "now" when 0

  friend bool operator==(const journaled_step& a, const journaled_step& b) {
    return a.task_id == b.task_id && a.agent == b.agent && a.text == b.text && a.error == b.error &&
           a.confidence == b.confidence && a.use.prompt_tokens == b.use.prompt_tokens &&
           a.use.completion_tokens == b.use.completion_tokens && a.use.calls == b.use.calls &&
           a.time_ms == b.time_ms;
  }
};

template <class F>
typename F::result_type inspect(F& f, journaled_step& x) {
  return f(caf::meta::type_name("journaled_step"), x.task_id, x.agent, x.text, x.error,
           x.confidence, x.use, x.time_ms);
}

/// One run, in the `runs` column family under its run id.
struct run_record {
  std::string run_id;
  std::string swarm;
  std::string spec_source; ///< where the spec came from, e.g. its file path
  std::string spec_text;   ///< the spec as it was when the run started
  std::string task_id;
  std::string task_text;
  std::string llm_url;     ///< the endpoint override (--llm-url) the run used; empty: none
  std::string model;       ///< the model override (--model) the run used; empty: none
  int64_t started_ms = 0;  ///< Unix milliseconds
  int64_t finished_ms = 0; ///< Unix milliseconds; 0 while running
  /// "running", "done", "failed", "cancelled", "interrupted" (the runtime was stopped during
  /// the run) or "budget_exhausted". A "running" run whose process is gone was interrupted too.
  std::string status;
  std::string result_text; ///< when done
  std::string error;       ///< when it did not finish
  // Since format 2 (empty or zero in headers written before):
  std::string spec_digest;   ///< "sha256:<hex>" of spec_text; empty for a spec built in code
  std::string env_base_url;  ///< OPENAI_BASE_URL when the run started (the endpoint fallback)
  std::string env_model;     ///< OPENAI_MODEL when the run started (the model fallback)
  bool env_recorded = false; ///< env_base_url and env_model hold the start's (empty: unset)
  agent_id result_agent;     ///< when done: who answered (the swarm's root)
  uint64_t result_prompt_tokens = 0;     ///< when done: the run's usage
  uint64_t result_completion_tokens = 0; ///< idem
  uint64_t result_calls = 0;             ///< idem: LLM calls
  double result_confidence = -1;         ///< when done; < 0: none
  /// When done: the result's members (its trace, one level deep: theirs are not kept).
  std::vector<journaled_step> result_trace;

  friend bool operator==(const run_record&, const run_record&) = default;
};

template <class F>
typename F::result_type inspect(F& f, run_record& x) {
  return f(caf::meta::type_name("run_record"), x.run_id, x.swarm, x.spec_source, x.spec_text,
           x.task_id, x.task_text, x.llm_url, x.model, x.started_ms, x.finished_ms, x.status,
           x.result_text, x.error, x.spec_digest, x.env_base_url, x.env_model, x.env_recorded,
           x.result_agent, x.result_prompt_tokens, x.result_completion_tokens, x.result_calls,
           x.result_confidence, x.result_trace);
}

/// One finished LLM call of a run, as the journal holds it.
struct journaled_call {
  std::string key;     ///< the call store key (`run \n agent \n task \n step \n n`)
  std::string agent;   ///< "swarm/name" of the agent that asked
  std::string task_id; ///< the task the call was made for
  uint32_t step = 0;   ///< the call's position within its task
  std::string model;   ///< the model asked for
  chat_result reply;
  int64_t time_ms = 0; ///< when it was journaled, Unix milliseconds
};

template <class F>
typename F::result_type inspect(F& f, journaled_call& x) {
  return f(caf::meta::type_name("journaled_call"), x.key, x.agent, x.task_id, x.step, x.model,
           x.reply, x.time_ms);
}

/// One finished tool call of a run, as the journal holds it.
struct journaled_tool_call {
  std::string key;       ///< the tool_key (`run \n agent \n task \n step \n call id`)
  std::string agent;     ///< "swarm/name" of the agent that asked
  std::string task_id;   ///< the task the call was made for
  uint32_t step = 0;     ///< the LLM step that asked for it
  std::string name;      ///< the tool
  std::string arguments; ///< as the model wrote them
  std::string decision;  ///< "approved", "rejected", or empty (no approval needed)
  tool_reply reply;      ///< what the model was told (content, or error)
  int64_t time_ms = 0;   ///< when it was journaled, Unix milliseconds
};

/// The run journal of a data directory. Every write is one WriteBatch through the WAL: when a
/// write returns without error it survives a crash of the process (and of the machine if the
/// database was opened with `sync`). Values carry a format version; one that cannot be decoded
/// is an `io_error` naming the run and the key. Thread-safe.
class journal final : public call_store, public tool_store {
public:
  /// A journal in `db`, which it keeps open.
  explicit journal(std::shared_ptr<database> db);

  /// The reply journaled under `key`, or none.
  [[nodiscard]] caf::expected<std::optional<chat_result>> find(const std::string& key) override;

  /// Journals `reply` under `key` (an empty key is `invalid_argument`) with `req`'s agent,
  /// task, step and model; replaces an existing entry.
  [[nodiscard]] caf::error put(const std::string& key, const chat_request& req,
                               const chat_result& reply) override;

  /// "journal in <data_dir>/memory".
  std::string describe() const override;

  /// Inserts or replaces the header of `run.run_id` (non-empty, no newline).
  [[nodiscard]] caf::error put_run(const run_record& run);

  /// The header of `run_id`, or none.
  [[nodiscard]] caf::expected<std::optional<run_record>> get_run(const std::string& run_id) const;

  /// Every run's header, newest (latest `started_ms`) first.
  [[nodiscard]] caf::expected<std::vector<run_record>> runs() const;

  /// The tool reply journaled under `key` (a tool_key), or none.
  [[nodiscard]] caf::expected<std::optional<tool_reply>> find_tool(const std::string& key) override;

  /// Journals `reply` to `req` under `key` (non-empty) with the human's `decision`, if any;
  /// replaces an existing entry.
  [[nodiscard]] caf::error put_tool(const std::string& key, const tool_request& req,
                                    const tool_reply& reply, const std::string& decision) override;

  /// The tool calls journaled for `run_id`, in key order.
  [[nodiscard]] caf::expected<std::vector<journaled_tool_call>>
  tool_calls(const std::string& run_id) const;

  /// Appends a coordinator step to `run_id`; steps read back in the order they were put, also
  /// across reopening.
  [[nodiscard]] caf::error put_step(const std::string& run_id, const journaled_step& step);

  /// The calls journaled for `run_id`, in key order.
  [[nodiscard]] caf::expected<std::vector<journaled_call>> calls(const std::string& run_id) const;

  /// The steps journaled for `run_id`, in the order they were put.
  [[nodiscard]] caf::expected<std::vector<journaled_step>> steps(const std::string& run_id) const;

  /// Removes the run's header, calls, tool calls and steps in one batch; returns how many entries
  /// went.
  [[nodiscard]] caf::expected<size_t> forget_run(const std::string& run_id);

  /// The database this journal lives in.
  const database& db() const;

private:
  std::shared_ptr<database> db_;
  std::mutex mtx_;                                ///< orders step appends
  std::map<std::string, uint64_t> next_step_seq_; ///< run id -> sequence of its next step
};

/// The journal's stored values (without their keys) as bytes, both ways: what the journal writes
/// and reads back. decode_* is false for bytes that are no value of a known format (the journal
/// reports those as undecodable); encode_* writes the current format. For tests and fuzzing.
namespace journal_values {
bool decode_call(std::string_view bytes, journaled_call& x);
std::string encode_call(const journaled_call& x);
bool decode_tool_call(std::string_view bytes, journaled_tool_call& x);
std::string encode_tool_call(const journaled_tool_call& x);
bool decode_step(std::string_view bytes, journaled_step& x);
std::string encode_step(const journaled_step& x);
bool decode_run(std::string_view bytes, run_record& x);
std::string encode_run(const run_record& x);
} // namespace journal_values

} // namespace swarm::memory
