// `swarm run`'s live progress and events file, from the run's typed events.
#include "apps/swarm/run_watch.hpp"

#include <algorithm>
#include <iostream>

#include "apps/swarm/logging.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/event_json.hpp"

namespace swarm::cli {

namespace {

std::string seconds(caf::timespan d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f s", std::chrono::duration<double>(d).count());
  return buf;
}

// At most `n` characters of `s` on one line, "..." marking a cut.
std::string clip(std::string s, size_t n) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (s.size() > n)
    s = s.substr(0, n) + "...";
  return s;
}

} // namespace

run_watch::run_watch(run_watch_options opts, std::string run_id, const std::string& swarm,
                     const std::vector<std::string>& agents)
    : opts_(opts), view_(std::move(run_id)) {
  view_.expect(swarm, agents);
  if (opts_.terminal && !opts_.quiet)
    ticker_ = std::thread{[this] {
      std::unique_lock<std::mutex> guard{mtx_};
      while (!tick_.wait_for(guard, std::chrono::milliseconds(250), [this] { return stopping_; }))
        if (status_shown_)
          draw_status();
    }};
}

run_watch::~run_watch() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  tick_.notify_all();
  if (ticker_.joinable())
    ticker_.join();
}

run_view run_watch::view() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return view_;
}

std::string run_watch::events_error() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return events_error_;
}

bool run_watch::wait_finished(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  return finished_.wait_for(guard, timeout, [this] { return view_.finished(); });
}

bool run_watch::streamed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return streamed_;
}

namespace {

std::string call_key(const event& e) {
  return e.task_id + "#" + std::to_string(e.step);
}

} // namespace

void run_watch::stream_token(const event& e) {
  auto key = call_key(e);
  if (streaming_.empty()) {
    clear_status();
    streaming_ = key;
    streamed_ = true;
    std::cout << "## " << e.agent.name << "\n";
  }
  if (key == streaming_) {
    std::cout << e.text << std::flush;
    return;
  }
  auto i = std::find_if(held_.begin(), held_.end(), [&](const auto& h) { return h.key == key; });
  if (i == held_.end())
    i = held_.insert(held_.end(), held_call{key, e.agent.name, {}, false});
  i->text += e.text;
}

// A call ended: if it was on stdout, the held calls come next, in the order they began.
void run_watch::stream_call_done(const event& e) {
  auto key = call_key(e);
  if (key != streaming_) {
    for (auto& h : held_)
      if (h.key == key)
        h.done = true;
    return;
  }
  std::cout << "\n\n" << std::flush;
  streaming_.clear();
  while (!held_.empty()) {
    auto next = std::move(held_.front());
    held_.erase(held_.begin());
    std::cout << "## " << next.agent << "\n" << next.text;
    if (!next.done) {
      streaming_ = next.key;
      std::cout << std::flush;
      return;
    }
    std::cout << "\n\n" << std::flush;
  }
}

void run_watch::settle() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    clear_status();
    stopping_ = true;
  }
  tick_.notify_all();
  if (ticker_.joinable())
    ticker_.join();
}

// "[2/3]": agents that have ended a task or been skipped, of all agents.
std::string run_watch::counter() const {
  size_t ended = 0;
  for (const auto* m : view_.agents())
    ended += m->ended > 0 || m->state == "skipped";
  return "[" + std::to_string(ended) + "/" + std::to_string(view_.total_agents()) + "] ";
}

void run_watch::clear_status() {
  if (status_shown_)
    std::cerr << "\r\033[K" << std::flush;
  status_shown_ = false;
}

void run_watch::draw_status() {
  if (!opts_.terminal || opts_.quiet || view_.finished() || approvals_waiting_ > 0 ||
      !streaming_.empty())
    return;
  std::string working;
  for (const auto* m : view_.agents())
    if (m->state == "running")
      working += (working.empty() ? "" : ", ") + m->agent.name;
  auto line = "  working: " + (working.empty() ? std::string{"-"} : working) + " | " +
              std::to_string(view_.llm_calls()) + " LLM calls, " +
              std::to_string(view_.llm_use().total_tokens()) + " tokens | " +
              seconds(std::chrono::steady_clock::now() - started_);
  std::cerr << "\r\033[K" << clip(line, 150) << std::flush;
  status_shown_ = true;
}

void run_watch::print(const std::string& line) {
  if (opts_.quiet)
    return;
  clear_status();
  std::cerr << line << "\n";
}

void run_watch::operator()(const event& e) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!view_.apply(e))
    return;
  log_event(e);
  if (opts_.events != nullptr && events_error_.empty()) {
    auto line = to_json_line(e);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), opts_.events) != line.size() ||
        std::fflush(opts_.events) != 0)
      events_error_ = "cannot write the events file (disk full?)";
  }
  const auto& who = e.agent.name;
  auto round = e.round > 0 ? ", " + e.name + " " + std::to_string(e.round) : std::string{};
  switch (e.kind) {
  case event_kind::member_finished:
  case event_kind::member_failed:
  case event_kind::member_cancelled: {
    auto head = e.leaf ? counter() + who : "swarm " + who;
    auto tail = " (" + seconds(e.duration) + ", " + std::to_string(e.use.total_tokens()) +
                " tokens" + round + ")";
    if (e.kind == event_kind::member_finished)
      print(head + " done" + tail);
    else if (e.kind == event_kind::member_cancelled)
      print(head + " cancelled: " + clip(error_message(e.error), 120) + tail);
    else
      print(head + " FAILED: " + clip(describe(e.error), 160) + tail);
    break;
  }
  case event_kind::member_skipped:
    print((e.leaf ? counter() + who : "swarm " + who) + " skipped: " + clip(e.text, 120));
    break;
  case event_kind::member_restarted:
    print((e.leaf ? "  " + who : "swarm " + who) + " restarted (" + clip(describe(e.error), 120) +
          "; restart " + std::to_string(e.attempts) + " in its window), asked again");
    break;
  case event_kind::decision_made:
    print("  -> " + clip(decision_line(e), 160));
    break;
  case event_kind::tool_call_requested:
    print("  tool " + e.name + " by " + who + ": " + clip(e.arguments, 100));
    break;
  case event_kind::approval_waiting:
    ++approvals_waiting_;
    print("  tool " + e.name + " by " + who + " waits for approval #" + std::to_string(e.approval));
    break;
  case event_kind::tool_call_approved:
    approvals_waiting_ = std::max(0, approvals_waiting_ - 1);
    print("  tool " + e.name + " by " + who + " approved");
    break;
  case event_kind::tool_call_rejected:
    if (e.approval > 0)
      approvals_waiting_ = std::max(0, approvals_waiting_ - 1);
    print("  tool " + e.name + " by " + who + " rejected: " + clip(e.text, 120));
    break;
  case event_kind::tool_call_finished:
    print("  tool " + e.name + " by " + who +
          (e.error ? " failed: " + clip(describe(e.error), 120) : std::string{" ok"}) + " (" +
          seconds(e.duration) + ")");
    break;
  case event_kind::budget_warning:
    print("  budget warning: " + e.text);
    break;
  case event_kind::llm_fallback:
    print("  " + who + ": LLM fallback to " + e.name + " at " + e.text + " (" +
          clip(describe(e.error), 140) + ")");
    break;
  case event_kind::budget_exhausted:
    print("  budget exhausted for " + who + ": " + clip(error_message(e.error), 120));
    break;
  case event_kind::llm_token:
    if (opts_.stream)
      stream_token(e);
    return;
  case event_kind::llm_call_finished:
    if (opts_.stream)
      stream_call_done(e);
    break;
  case event_kind::input_repaired:
    print("  " + who + ": " + e.name + " was not valid UTF-8: " + std::to_string(e.total) +
          " sequence(s) replaced by U+FFFD");
    break;
  case event_kind::run_finished:
    clear_status();
    finished_.notify_all();
    return;
  default:
    break;
  }
  draw_status();
}

} // namespace swarm::cli
