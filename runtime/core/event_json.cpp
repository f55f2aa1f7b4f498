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

namespace {

caf::error bad_field(const char* key) {
  return make_error(errc::invalid_argument,
                    std::string{"an event's \""} + key + "\" is missing or of the wrong type");
}

// Reads `o[key]` into `out` when present; false if present with another type.
bool read(const boost::json::object& o, const char* key, std::string& out) {
  const auto* v = o.if_contains(key);
  if (!v)
    return true;
  if (!v->is_string())
    return false;
  out = std::string{v->as_string()};
  return true;
}

template <class T>
bool read_number(const boost::json::object& o, const char* key, T& out) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null())
    return true;
  if (v->is_uint64())
    out = static_cast<T>(v->as_uint64());
  else if (v->is_int64())
    out = static_cast<T>(v->as_int64());
  else if (v->is_double())
    out = static_cast<T>(v->as_double());
  else
    return false;
  return true;
}

} // namespace

caf::error error_from_json(const boost::json::value& v) {
  const auto* o = v.if_object();
  std::string code;
  std::string message;
  if (!o || !read(*o, "code", code) || !read(*o, "message", message))
    return make_error(errc::member_failed, "an undecodable error");
  for (int x = 1; x <= static_cast<int>(errc::node_unreachable); ++x)
    if (to_string(static_cast<errc>(x)) == code)
      return make_error(static_cast<errc>(x), message);
  return make_error(errc::member_failed, code + ": " + message);
}

caf::expected<event> event_from_json(const boost::json::object& o) {
  event e;
  std::string kind;
  if (!read(o, "kind", kind))
    return bad_field("kind");
  bool known = false;
  for (int x = 0; x <= static_cast<int>(event_kind::input_repaired) && !known; ++x)
    if (to_string(static_cast<event_kind>(x)) == kind) {
      e.kind = static_cast<event_kind>(x);
      known = true;
    }
  if (!known)
    return make_error(errc::invalid_argument, "an event of unknown kind '" + kind + "'");
  std::string agent;
  for (auto [key, field] : {std::pair{"run_id", &e.run_id}, std::pair{"task_id", &e.task_id},
                            std::pair{"name", &e.name}, std::pair{"text", &e.text},
                            std::pair{"arguments", &e.arguments}, std::pair{"agent", &agent}})
    if (!read(o, key, *field))
      return bad_field(key);
  if (auto slash = agent.find('/'); slash != std::string::npos)
    e.agent = agent_id{agent.substr(0, slash), agent.substr(slash + 1)};
  else
    e.agent = agent_id{{}, agent};
  double duration_ms = 0;
  if (!read_number(o, "seq", e.seq) || !read_number(o, "run_seq", e.run_seq) ||
      !read_number(o, "time_us", e.time_us) || !read_number(o, "confidence", e.confidence) ||
      !read_number(o, "round", e.round) || !read_number(o, "step", e.step) ||
      !read_number(o, "attempts", e.attempts) || !read_number(o, "total", e.total) ||
      !read_number(o, "approval", e.approval) || !read_number(o, "duration_ms", duration_ms))
    return bad_field("a number");
  e.duration = std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double, std::milli>(duration_ms));
  if (const auto* c = o.if_contains("cost_usd"))
    e.cost_usd = c->is_null() ? -1 : (c->is_number() ? c->to_number<double>() : 0);
  if (const auto* l = o.if_contains("leaf"); l && l->is_bool())
    e.leaf = l->as_bool();
  if (const auto* x = o.if_contains("estimated"); x && x->is_bool())
    e.estimated = x->as_bool();
  if (const auto* u = o.if_contains("usage"); u && u->is_object())
    if (!read_number(u->as_object(), "prompt_tokens", e.use.prompt_tokens) ||
        !read_number(u->as_object(), "completion_tokens", e.use.completion_tokens) ||
        !read_number(u->as_object(), "calls", e.use.calls))
      return bad_field("usage");
  if (const auto* err = o.if_contains("error"); err && !err->is_null())
    e.error = error_from_json(*err);
  if (const auto* scores = o.if_contains("scores"); scores && scores->is_array())
    for (const auto& s : scores->as_array()) {
      const auto* so = s.if_object();
      decision_score d;
      if (!so || !read(*so, "option", d.option) || !read_number(*so, "value", d.value))
        return bad_field("scores");
      e.scores.push_back(std::move(d));
    }
  return e;
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
