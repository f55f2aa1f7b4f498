// Reading the event stream: run status, decision lines, the run_view fold.
#include "runtime/core/events.hpp"

#include <algorithm>
#include <cstdio>

#include "runtime/core/errc.hpp"

namespace swarm {

std::string run_status(const caf::error& err) {
  if (!err)
    return "done";
  if (is(err, errc::cancelled))
    return "cancelled";
  if (is(err, errc::runtime_stopped))
    return "interrupted";
  if (is(err, errc::budget_exhausted))
    return "budget_exhausted";
  return "failed";
}

namespace {

bool budget_refused(const std::vector<result>& trace) {
  return std::any_of(trace.begin(), trace.end(), [](const result& m) {
    return is(m.error, errc::budget_exhausted) || budget_refused(m.trace);
  });
}

} // namespace

caf::error run_error(const caf::error& err, const std::vector<result>& trace) {
  // Coordinators wrap their members' errors in their own codes (all_members_failed,
  // member_failed): the run's end looks through them, once, for the budget that stopped it.
  if (run_status(err) != "failed" || !budget_refused(trace))
    return err;
  return make_error(errc::budget_exhausted, describe(err));
}

namespace {

// A number as people write it: "4", "8.5", "0.80" for confidences.
std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

std::string fraction(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", x);
  return buf;
}

// "408 (4 of 5, confidence 0.80)": the winner with its share of the tally.
std::string tallied(const event& e) {
  double sum = 0;
  for (const auto& s : e.scores)
    sum += s.value;
  std::string out = e.text;
  if (!e.scores.empty())
    out += " (" + number(e.scores.front().value) + " of " + number(sum);
  if (e.confidence >= 0)
    out += (e.scores.empty() ? " (" : ", ") + std::string{"confidence "} + fraction(e.confidence);
  if (!e.scores.empty() || e.confidence >= 0)
    out += ")";
  return out;
}

} // namespace

std::string decision_line(const event& e) {
  const auto& m = e.name;
  if (m == "majority" || m == "weighted")
    return m + ": " + tallied(e);
  if (m == "consensus")
    return "consensus in round " + std::to_string(e.round) + ": " + tallied(e);
  if (m == "judge")
    return "judge: " + e.text + " wins" +
           (e.scores.empty() ? std::string{} : " " + number(e.scores.front().value) + "/10");
  if (m == "confidence")
    return "confidence: " + e.text + " wins" +
           (e.confidence >= 0 ? " (" + fraction(e.confidence) + ")" : std::string{});
  if (m == "route")
    return "routed to " + e.text;
  if (e.text.empty())
    return m;
  return m + ": " + e.text;
}

// -- run_view -----------------------------------------------------------------------------------

run_view::run_view(std::string run_id) : run_id_(std::move(run_id)) {}

void run_view::expect(const std::string& swarm, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    event e;
    e.agent = agent_id{swarm, n};
    member(e);
  }
  if (total_ == 0)
    total_ = static_cast<uint32_t>(names.size());
}

std::vector<const member_view*> run_view::agents() const {
  std::vector<const member_view*> out;
  for (const auto& m : members_)
    if (m.leaf)
      out.push_back(&m);
  return out;
}

member_view& run_view::member(const event& e) {
  auto i = std::find_if(members_.begin(), members_.end(),
                        [&](const member_view& m) { return m.agent == e.agent; });
  if (i != members_.end()) {
    i->leaf = e.leaf;
    return *i;
  }
  member_view m;
  m.agent = e.agent;
  m.leaf = e.leaf;
  members_.push_back(std::move(m));
  return members_.back();
}

// The first call of `e`'s agent, task, tool and arguments that has not finished yet.
tool_call_view* run_view::open_tool_call(const event& e) {
  for (auto& t : tools_)
    if (!t.finished && t.agent == e.agent && t.task_id == e.task_id && t.name == e.name &&
        t.arguments == e.arguments)
      return &t;
  return nullptr;
}

bool run_view::apply(const event& e) {
  if (run_id_.empty() && e.kind == event_kind::run_started)
    run_id_ = e.run_id;
  if (e.run_id != run_id_)
    return false;
  switch (e.kind) {
  case event_kind::run_started:
    if (e.total > 0)
      total_ = e.total;
    break;
  case event_kind::run_finished:
    finished_ = true;
    status_ = e.name;
    finish_ = e;
    break;
  case event_kind::member_started: {
    auto& m = member(e);
    m.state = "running";
    m.round = e.round;
    ++m.tasks;
    break;
  }
  case event_kind::member_finished:
  case event_kind::member_failed:
  case event_kind::member_cancelled: {
    auto& m = member(e);
    m.state = e.kind == event_kind::member_finished ? "done"
              : e.kind == event_kind::member_failed ? "failed"
                                                    : "cancelled";
    if (e.kind == event_kind::member_finished)
      m.text = e.text;
    m.error = e.error;
    ++m.ended;
    m.use += e.use;
    m.busy += e.duration;
    break;
  }
  case event_kind::member_restarted: {
    auto& m = member(e);
    m.state = "running"; // asked again
    m.error = e.error;
    ++m.restarts;
    ++restarts_;
    break;
  }
  case event_kind::member_skipped: {
    auto& m = member(e);
    if (m.state == "pending") // skipped in one branch, it may still have worked in another
      m.state = "skipped";
    m.text = e.text;
    break;
  }
  case event_kind::llm_call_finished:
    ++llm_calls_;
    if (e.error)
      ++llm_failures_;
    llm_use_ += e.use;
    if (e.cost_usd < 0)
      cost_unknown_ = cost_unknown_ || e.use.total_tokens() > 0;
    else
      cost_usd_ += e.cost_usd;
    break;
  case event_kind::tool_call_requested:
    tools_.push_back({e.agent, e.task_id, e.name, e.arguments});
    break;
  case event_kind::tool_call_approved:
  case event_kind::tool_call_rejected:
    if (auto* t = open_tool_call(e))
      t->decision = e.kind == event_kind::tool_call_approved ? "approved" : "rejected";
    break;
  case event_kind::tool_call_finished:
    ++tool_calls_;
    if (e.error)
      ++tool_failures_;
    if (auto* t = open_tool_call(e)) {
      t->finished = true;
      t->output = e.text;
      t->error = e.error;
      t->duration = e.duration;
    }
    break;
  case event_kind::decision_made:
    decisions_.push_back(e);
    break;
  default:
    break;
  }
  return true;
}

} // namespace swarm
