// `swarm run`'s view of its run while it goes on: the events folded into a run_view, progress on
// stderr (redrawn in place on a terminal, plain lines when piped), the `--events` JSON-lines file.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/core/events.hpp"

namespace swarm::cli {

struct run_watch_options {
  bool quiet = false;          ///< no progress at all
  bool terminal = false;       ///< stderr is a terminal: keep a status line redrawn in place
  std::FILE* events = nullptr; ///< every event of the run as one JSON line, flushed; not owned
  bool stream = false; ///< print answers to stdout as their tokens arrive (llm_token events)
};

/// Watches run `run_id` of swarm `swarm` (its agents `agents`, in spec order). Events arrive on
/// a runtime thread; every member function is thread-safe.
class run_watch {
public:
  run_watch(run_watch_options opts, std::string run_id, const std::string& swarm,
            const std::vector<std::string>& agents);
  ~run_watch();

  run_watch(const run_watch&) = delete;
  run_watch& operator=(const run_watch&) = delete;

  /// Folds `e` in (events of other runs are ignored), prints what a person should see of it
  /// and appends it to the events file.
  void operator()(const event& e);

  /// Waits up to `timeout` for the run's run_finished event (events still on their way when the
  /// run's result came back); true when it arrived.
  bool wait_finished(std::chrono::milliseconds timeout);

  /// Erases the status line, so that the caller can print below the progress.
  void settle();

  /// A copy of the view as it stands.
  run_view view() const;

  /// The first error writing the events file, if any ("" when none).
  std::string events_error() const;

  /// Some answer was streamed to stdout.
  bool streamed() const;

private:
  void print(const std::string& line);
  void stream_token(const event& e);
  void stream_call_done(const event& e);
  void draw_status();
  void clear_status();
  std::string counter() const;

  run_watch_options opts_;
  mutable std::mutex mtx_;
  std::condition_variable finished_;
  run_view view_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool status_shown_ = false;
  int approvals_waiting_ = 0;
  std::string events_error_;
  // --stream: one call's answer goes to stdout at a time; the others wait in `held_` (by call:
  // task id and step), so answers written in parallel do not interleave.
  struct held_call {
    std::string key;
    std::string agent;
    std::string text;
    bool done = false;
  };
  std::string streaming_; // the call on stdout now; empty: none
  std::vector<held_call> held_;
  bool streamed_ = false;
  // On a terminal: redraws the status line four times a second, so its clock moves while
  // everyone waits on a slow endpoint. Last: starts once the rest exists.
  bool stopping_ = false;
  std::condition_variable tick_;
  std::thread ticker_;
};

} // namespace swarm::cli
