// `swarm run`'s report at the end of a run: JSON and the summary lines.
#include "apps/swarm/run_report.hpp"

#include <cstdio>
#include <iostream>

#include <boost/json/array.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/event_json.hpp"

namespace swarm::cli {

std::string status_of(const run_end& end) {
  if (end.interrupted)
    return "interrupted";
  return run_status(end.out ? end.out->error : end.out.error());
}

boost::json::object result_json(const result& r) {
  boost::json::object out{{"agent", r.agent.str()}, {"task_id", r.task_id}, {"text", r.text}};
  out["usage"] = to_json(r.use);
  if (r.confidence >= 0)
    out["confidence"] = r.confidence;
  if (r.error)
    out["error"] = describe(r.error);
  if (!r.trace.empty()) {
    boost::json::array trace;
    for (const auto& m : r.trace)
      trace.push_back(result_json(m));
    out["trace"] = std::move(trace);
  }
  return out;
}

namespace {

// The swarm's spending as its resource pool accounted it: total and per agent. A cost is null
// when a model used has no price (resources.prices).
boost::json::object spending_json(const swarm_handle& team) {
  auto cost = [](const spending& s) -> boost::json::value {
    if (!s.cost_known)
      return nullptr;
    return s.cost_usd;
  };
  auto total = team.spent();
  boost::json::object out{{"total_tokens", total.use.total_tokens()},
                          {"calls", total.use.calls},
                          {"cost_usd", cost(total)}};
  boost::json::object agents;
  for (const auto& [name, s] : team.spent_per_agent())
    agents[name] = boost::json::object{
        {"total_tokens", s.use.total_tokens()}, {"calls", s.use.calls}, {"cost_usd", cost(s)}};
  out["agents"] = std::move(agents);
  return out;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f s", s);
  return buf;
}

} // namespace

boost::json::object report_json(const run_end& end, const run_view& view,
                                const swarm_handle* team) {
  boost::json::object doc;
  if (end.out)
    doc = result_json(*end.out);
  doc["run_id"] = end.run_id;
  doc["status"] = status_of(end);
  doc["swarm"] = end.swarm;
  doc["data_dir"] = end.data_dir;
  doc["duration_ms"] = end.seconds * 1000;
  auto err = end.out ? end.out->error : end.out.error();
  if (err)
    doc["error"] = error_json(err);
  else
    doc["error"] = nullptr;
  if (!end.out) {
    doc["text"] = "";
    doc["usage"] = to_json(view.llm_use());
  }
  doc["members"] = members_json(view);
  doc["restarts"] = view.restarts();
  boost::json::array decisions;
  for (const auto& d : view.decisions())
    decisions.push_back(boost::json::object{
        {"agent", d.agent.str()}, {"method", d.name}, {"line", decision_line(d)}});
  doc["decisions"] = std::move(decisions);
  doc["llm"] = boost::json::object{{"calls", view.llm_calls()},
                                   {"failed", view.llm_failures()},
                                   {"usage", to_json(view.llm_use())}};
  boost::json::array tool_calls;
  for (const auto& t : view.tool_call_list()) {
    boost::json::object x{{"agent", t.agent.str()}, {"task_id", t.task_id},
                          {"name", t.name},         {"arguments", t.arguments},
                          {"decision", t.decision}, {"finished", t.finished},
                          {"output", t.output}};
    x["error"] = t.error ? boost::json::value(error_json(t.error)) : boost::json::value(nullptr);
    tool_calls.push_back(std::move(x));
  }
  doc["tools"] = boost::json::object{
      {"calls", view.tool_calls()}, {"failed", view.tool_failures()}, {"list", tool_calls}};
  if (team)
    doc["spending"] = spending_json(*team);
  return doc;
}

void print_summary(const run_end& end, const run_view& view) {
  size_t counts[5] = {0, 0, 0, 0, 0}; // done, failed, cancelled, skipped, not reached
  for (const auto* m : view.agents()) {
    const auto& s = m->state;
    counts[s == "done" ? 0 : s == "failed" ? 1 : s == "cancelled" ? 2 : s == "skipped" ? 3 : 4]++;
  }
  std::string agents = std::to_string(counts[0]) + " done";
  const char* names[] = {"done", "failed", "cancelled", "skipped", "not reached"};
  for (int i = 1; i < 5; ++i)
    if (counts[i] > 0)
      agents += ", " + std::to_string(counts[i]) + " " + names[i];
  const auto& u = view.llm_use();
  std::string llm = std::to_string(view.llm_calls()) + " LLM calls";
  if (view.llm_failures() > 0)
    llm += " (" + std::to_string(view.llm_failures()) + " failed)";
  llm += ", " + std::to_string(u.total_tokens()) + " tokens (prompt " +
         std::to_string(u.prompt_tokens) + ", completion " + std::to_string(u.completion_tokens) +
         ")";
  std::cerr << "swarm run: " << status_of(end) << " in " << seconds_text(end.seconds)
            << " | agents: " << agents << " of " << view.total_agents() << " | " << llm;
  if (view.restarts() > 0)
    std::cerr << " | " << view.restarts() << (view.restarts() == 1 ? " restart" : " restarts");
  if (view.tool_calls() > 0)
    std::cerr << " | " << view.tool_calls() << " tool calls"
              << (view.tool_failures() > 0
                      ? " (" + std::to_string(view.tool_failures()) + " failed)"
                      : std::string{});
  std::cerr << "\n";
}

} // namespace swarm::cli
