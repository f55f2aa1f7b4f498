// Traces of runs as OpenTelemetry spans: the event stream folded into a span per run, member
// task, LLM call and tool call (pure: events in, spans out), their OTLP/HTTP JSON encoding, and
// the exporter that POSTs them in batches to a collector (`swarm serve --otlp URL`).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"

namespace swarm::serve {

/// One attribute of a span: a string, an integer or a boolean.
struct span_attribute {
  std::string key;
  std::variant<std::string, int64_t, bool> value;
};

/// OTLP span kinds used here.
enum class span_kind : int { internal = 1, client = 3 };

/// One ended span.
struct span {
  std::string trace_id;       ///< 32 hex digits: trace_id_of(run id)
  std::string span_id;        ///< 16 hex digits
  std::string parent_span_id; ///< empty for a run's span
  std::string name;           ///< "run SWARM", "member AGENT", "chat MODEL", "execute_tool TOOL"
  span_kind kind = span_kind::internal;
  int64_t start_ns = 0; ///< Unix nanoseconds
  int64_t end_ns = 0;
  std::vector<span_attribute> attributes;
  bool error = false;         ///< OTLP status ERROR (else UNSET)
  std::string status_message; ///< the error, when `error`

  /// The attribute `key`, or nullptr.
  const span_attribute* attribute(std::string_view key) const;
};

/// The trace id of a run: the first 16 bytes of the SHA-256 of its id, as 32 hex digits (the
/// same run id always gives the same trace, also when the run is resumed).
std::string trace_id_of(std::string_view run_id);

/// 8 random bytes as 16 hex digits, never all zero.
std::string random_span_id();

/// Folds events into spans. A span starts at its first event (run_started, member_started,
/// llm_call_started, tool_call_requested) and is returned by the `add` of the event that ends it
/// (run_finished, member_finished/failed/cancelled, llm_call_finished, tool_call_finished).
/// Parents: a run's span has none; a member task's is the span of the nearest task above it by
/// task id that has one (`t1.a.b` → `t1.a` → `t1`), else the run's; a later round of a member
/// (`t1.a.r2` with round 2, `.l2` for layers) hangs beside its first round, under `t1`; an LLM or
/// tool call's is its task's member span, else the nearest above it, else the run's. Spans still
/// open when their run ends end with it, marked `smolswarms.unfinished`; a run whose run_started
/// came before the builder is marked `smolswarms.partial`. Not thread-safe.
class span_builder {
public:
  /// `ids` makes span ids. Default: random_span_id.
  explicit span_builder(std::function<std::string()> ids = random_span_id);

  /// Folds `e` in; returns the spans it ended (none for most events).
  std::vector<span> add(const event& e);

  /// Ends every open span at `now_us` (Unix microseconds), marked `smolswarms.unfinished`, and
  /// forgets every run: a server stopping.
  std::vector<span> close_all(int64_t now_us);

  /// Spans started and not ended.
  size_t open() const;

private:
  struct open_span {
    span s;
    uint32_t round = 0;
  };
  struct run_state {
    open_span run;
    bool started = false;                               ///< its run_started was seen
    std::map<std::string, std::string> member_ids;      ///< task id → member span id, ended too
    std::map<std::string, open_span> members;           ///< open, by task id
    std::map<std::string, open_span> llm_calls;         ///< open, by "task id#step"
    std::map<std::string, std::deque<open_span>> tools; ///< open, by "task id#tool", oldest first
  };

  run_state& run_of(const event& e);
  std::string parent_of(const run_state& r, const std::string& task_id) const;
  open_span begin(const run_state& r, const event& e, std::string name, span_kind kind,
                  std::string parent);
  static void close_open(run_state& r, int64_t end_us, std::vector<span>& out);

  std::function<std::string()> ids_;
  std::map<std::string, run_state> runs_; ///< by run id
};

/// `spans` as the body of an OTLP/HTTP JSON export request (one resource, service.name
/// smolswarms; one scope).
std::string otlp_json(const std::vector<span>& spans);

/// Per exporter.
struct otlp_options {
  /// Where to POST the batches: an http:// URL, e.g. http://127.0.0.1:4318/v1/traces. Required.
  std::string url;
  /// Ended spans held for export at most; more are dropped. Default: 10,000.
  size_t max_queue = 10'000;
  /// Spans per POST at most; a full batch is sent at once. Default: 512.
  size_t batch = 512;
  /// A batch not full is sent after this. Default: 1 s.
  std::chrono::milliseconds interval{1000};
  /// Bounds one POST. Default: 5 s.
  std::chrono::milliseconds timeout{5000};
};

/// What an exporter did so far.
struct otlp_stats {
  uint64_t exported = 0; ///< spans a collector accepted (2xx)
  uint64_t dropped = 0;  ///< spans lost: the queue full, or their POST failed
  uint64_t failures = 0; ///< POSTs that failed
};

/// Sends the spans of the events given to `add` to a collector from a thread of its own. `add`
/// never waits for the network: a collector that is down or slow costs dropped spans (and one
/// warning line on stderr per streak of failures), never a slower run.
class otlp_exporter {
public:
  /// Starts the thread. Errors: invalid_argument (a URL that is not http://host[:port]/path).
  [[nodiscard]] static caf::expected<std::unique_ptr<otlp_exporter>> start(otlp_options opts);

  /// Ends every open span (unfinished), sends what is queued (giving up at the first failure),
  /// and joins the thread.
  ~otlp_exporter();
  otlp_exporter(const otlp_exporter&) = delete;
  otlp_exporter& operator=(const otlp_exporter&) = delete;

  /// Folds one event in (from any thread).
  void add(const event& e);

  otlp_stats stats() const;

  struct impl;

private:
  explicit otlp_exporter(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace swarm::serve
