// The API's JSON forms and request readers.
#include "serve/api_json.hpp"

#include <charconv>

#include <boost/json.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/event_json.hpp"

namespace swarm::serve {

namespace json = boost::json;

namespace {

// "code: message" as the journal keeps an error, as {"code", "message"}.
json::value error_of(const std::string& described) {
  if (described.empty())
    return nullptr;
  auto colon = described.find(": ");
  auto code = described.substr(0, colon);
  bool is_code =
      colon != std::string::npos && !code.empty() &&
      code.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789()") == std::string::npos;
  if (!is_code)
    return json::object{{"code", "failed"}, {"message", described}};
  return json::object{{"code", code}, {"message", described.substr(colon + 2)}};
}

} // namespace

json::object error_body(std::string_view code, std::string_view message, json::object extra) {
  json::object e{{"code", code}, {"message", message}};
  for (auto& [k, v] : extra)
    e[k] = std::move(v);
  return json::object{{"error", std::move(e)}};
}

unsigned http_status_of(const caf::error& err) {
  if (err.category() != errc_category)
    return 500;
  switch (static_cast<errc>(err.code())) {
  case errc::invalid_spec:
  case errc::invalid_argument:
  case errc::no_endpoint:
    return 400;
  case errc::unknown_run:
  case errc::unknown_agent:
    return 404;
  case errc::run_exists:
    return 409;
  case errc::budget_exhausted:
    return 429;
  case errc::runtime_stopped:
    return 503;
  case errc::storage_full:
    return 507;
  default:
    return 500;
  }
}

json::object to_json(const run_info& r, bool with_members) {
  json::object out{
      {"id", r.run_id},     {"swarm", r.swarm},           {"task", r.task_text},
      {"status", r.status}, {"error", error_of(r.error)}, {"started_ms", r.started_ms}};
  out["finished_ms"] = r.finished_ms > 0 ? json::value(r.finished_ms) : json::value(nullptr);
  if (r.status == "done") {
    const auto& o = r.outcome;
    json::object res{{"text", o.text}, {"agent", o.agent.str()}, {"usage", to_json(o.use)}};
    res["confidence"] = o.confidence >= 0 ? json::value(o.confidence) : json::value(nullptr);
    out["result"] = std::move(res);
  } else {
    out["result"] = nullptr;
  }
  if (with_members) {
    json::array members;
    for (const auto& m : r.outcome.trace) {
      json::object x{{"agent", m.agent.str()}, {"text", m.text}, {"usage", to_json(m.use)}};
      x["error"] = m.error ? json::value(error_json(m.error)) : json::value(nullptr);
      members.push_back(std::move(x));
    }
    out["members"] = std::move(members);
  }
  return out;
}

namespace {

agent_id agent_of(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos)
    return agent_id{{}, std::string{s}};
  return agent_id{std::string{s.substr(0, slash)}, std::string{s.substr(slash + 1)}};
}

usage usage_of(const json::value* v) {
  usage u;
  const auto* o = v ? v->if_object() : nullptr;
  if (!o)
    return u;
  auto n = [&](const char* key) {
    const auto* x = o->if_contains(key);
    return x && x->is_number() ? x->to_number<uint64_t>() : uint64_t{0};
  };
  u.prompt_tokens = n("prompt_tokens");
  u.completion_tokens = n("completion_tokens");
  u.calls = n("calls");
  return u;
}

} // namespace

caf::expected<run_info> run_info_from_json(const json::object& o) {
  run_info r;
  auto id = string_field(o, "id");
  auto status = string_field(o, "status");
  if (!id || !status)
    return make_error(errc::invalid_argument, "the server's answer is no run (no id or status)");
  r.run_id = *id;
  r.status = *status;
  r.swarm = string_field(o, "swarm").value_or("");
  r.task_text = string_field(o, "task").value_or("");
  for (auto [key, field] :
       {std::pair{"started_ms", &r.started_ms}, std::pair{"finished_ms", &r.finished_ms}})
    if (const auto* v = o.if_contains(key); v && v->is_number())
      *field = v->to_number<int64_t>();
  if (const auto* e = o.if_contains("error"); e && !e->is_null())
    r.error = describe(error_from_json(*e));
  if (const auto* res = o.if_contains("result"); res && res->is_object()) {
    const auto& x = res->as_object();
    r.outcome.text = string_field(x, "text").value_or("");
    r.outcome.agent = agent_of(string_field(x, "agent").value_or(""));
    r.outcome.use = usage_of(x.if_contains("usage"));
    if (const auto* c = x.if_contains("confidence"); c && c->is_number())
      r.outcome.confidence = c->to_number<double>();
  }
  if (const auto* ms = o.if_contains("members"); ms && ms->is_array())
    for (const auto& m : ms->as_array()) {
      const auto* mo = m.if_object();
      if (!mo)
        continue;
      result member;
      member.agent = agent_of(string_field(*mo, "agent").value_or(""));
      member.text = string_field(*mo, "text").value_or("");
      member.use = usage_of(mo->if_contains("usage"));
      if (const auto* e = mo->if_contains("error"); e && !e->is_null())
        member.error = error_from_json(*e);
      r.outcome.trace.push_back(std::move(member));
    }
  return r;
}

json::object to_json(const swarm_summary& s, bool with_health) {
  json::array agents;
  for (const auto& name : s.agents) {
    json::object a{{"name", name}};
    for (const auto& [who, spent] : s.spent_per_agent)
      if (who == name) {
        a["usage"] = to_json(spent.use);
        // Unknown (a model without a price) is not free: null.
        a["cost_usd"] = spent.cost_known ? json::value(spent.cost_usd) : json::value(nullptr);
      }
    if (with_health)
      for (const auto& h : s.health)
        if (!h.coordinator && h.agent.name == name)
          a["alive"] = h.alive;
    agents.push_back(std::move(a));
  }
  json::object out{{"name", s.name},
                   {"architecture", s.architecture},
                   {"agents", std::move(agents)},
                   {"usage", to_json(s.spent.use)},
                   {"cost_usd", s.spent.cost_usd},
                   {"cost_known", s.spent.cost_known},
                   {"runs_active", s.live_runs}};
  if (with_health) {
    size_t alive = 0;
    json::array members;
    for (const auto& h : s.health) {
      alive += h.alive;
      json::object m{{"agent", h.agent.str()},       {"alive", h.alive},
                     {"coordinator", h.coordinator}, {"tasks_running", h.tasks_running},
                     {"tasks_done", h.tasks_done},   {"mailbox", h.mailbox}};
      if (h.alive)
        m["rtt_us"] = h.rtt.count();
      else
        m["error"] = error_json(h.error);
      members.push_back(std::move(m));
    }
    out["health"] =
        json::object{{"alive", alive}, {"total", s.health.size()}, {"members", std::move(members)}};
  }
  return out;
}

json::object to_json(const std::string& swarm, const pending_approval& a) {
  return {{"id", swarm + ":" + std::to_string(a.id)},
          {"swarm", swarm},
          {"run_id", a.run_id},
          {"agent", a.agent.str()},
          {"tool", a.call.name},
          {"arguments", a.call.arguments},
          {"call_id", a.call.id}};
}

std::optional<std::pair<std::string, uint64_t>> parse_approval_id(std::string_view id) {
  auto colon = id.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::nullopt;
  auto n = parse_count(id.substr(colon + 1));
  if (!n)
    return std::nullopt;
  return std::pair<std::string, uint64_t>{std::string{id.substr(0, colon)}, *n};
}

std::string events_page(const std::vector<logged_event>& events, uint64_t after) {
  // The kept JSON goes in as it is: it was written by to_json_line.
  std::string out = R"({"data":[)";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0)
      out += ',';
    out += events[i].json;
  }
  out += R"(],"next":)";
  out += std::to_string(events.empty() ? after : events.back().run_seq);
  out += '}';
  return out;
}

caf::expected<json::object> parse_object(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec)
    return make_error(errc::invalid_argument, "the body is not JSON: " + ec.message());
  if (!v.is_object())
    return make_error(errc::invalid_argument, "the body is JSON but not an object");
  return std::move(v.as_object());
}

std::optional<std::string> string_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string())
    return std::nullopt;
  return std::string{v->as_string()};
}

std::optional<bool> bool_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_bool())
    return std::nullopt;
  return v->as_bool();
}

std::optional<uint64_t> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return n;
}

} // namespace swarm::serve
