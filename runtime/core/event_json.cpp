// Events and run views as JSON.
#include "runtime/core/event_json.hpp"

#include <chrono>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

double millis(caf::timespan d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

} // namespace

boost::json::object to_json(const usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens()},
          {"calls", u.calls}};
}

boost::json::object error_json(const caf::error& err) {
  return {{"code", error_code(err)}, {"message", error_message(err)}};
}

boost::json::object to_json(const event& e) {
  boost::json::object out{{"seq", e.seq},       {"time_us", e.time_us}, {"kind", to_string(e.kind)},
                          {"run_id", e.run_id}, {"task_id", e.task_id}, {"agent", e.agent.str()},
                          {"leaf", e.leaf}};
  if (e.run_seq > 0)
    out["run_seq"] = e.run_seq;
  if (!e.name.empty())
    out["name"] = e.name;
  if (!e.text.empty())
    out["text"] = e.text;
  if (!e.arguments.empty())
    out["arguments"] = e.arguments;
  if (e.use.calls > 0 || e.use.total_tokens() > 0)
    out["usage"] = to_json(e.use);
  if (e.kind == event_kind::llm_call_finished) {
    if (e.cost_usd >= 0)
      out["cost_usd"] = e.cost_usd;
    else
      out["cost_usd"] = nullptr; // no price known for the model
  }
  if (e.confidence >= 0)
    out["confidence"] = e.confidence;
  if (e.error)
    out["error"] = error_json(e.error);
  if (e.duration.count() > 0)
    out["duration_ms"] = millis(e.duration);
  if (e.round > 0)
    out["round"] = e.round;
  if (e.kind == event_kind::llm_call_started || e.kind == event_kind::llm_call_finished ||
      e.kind == event_kind::llm_fallback)
    out["step"] = e.step;
  if (e.attempts > 0)
    out["attempts"] = e.attempts;
  if (e.total > 0)
    out["total"] = e.total;
  if (e.approval > 0)
    out["approval"] = e.approval;
  if (e.estimated)
    out["estimated"] = true;
  if (!e.scores.empty()) {
    boost::json::array scores;
    for (const auto& s : e.scores)
      scores.push_back(boost::json::object{{"option", s.option}, {"value", s.value}});
    out["scores"] = std::move(scores);
  }
  if (e.kind == event_kind::decision_made)
    out["line"] = decision_line(e);
  return out;
}

std::string to_json_line(const event& e) {
  return boost::json::serialize(to_json(e));
}

boost::json::array members_json(const run_view& v) {
  boost::json::array out;
  for (const auto& m : v.members()) {
    boost::json::object x{
        {"agent", m.agent.str()}, {"leaf", m.leaf}, {"state", m.state}, {"tasks", m.tasks}};
    if (m.round > 0)
      x["round"] = m.round;
    if (!m.text.empty())
      x["text"] = m.text;
    if (m.error)
      x["error"] = error_json(m.error);
    x["usage"] = to_json(m.use);
    x["busy_ms"] = millis(m.busy);
    if (m.restarts > 0)
      x["restarts"] = m.restarts;
    out.push_back(std::move(x));
  }
  return out;
}

} // namespace swarm
