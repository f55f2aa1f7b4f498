// A swarm's tool runner (see swarm_tools.hpp).
#include "runtime/swarm_tools.hpp"

#include <atomic>
#include <chrono>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/tool_runner.hpp"
#include "runtime/core/errc.hpp"

namespace swarm {

namespace json = boost::json;

void agent_directory::add(const std::string& name, agent_actor handle) {
  std::lock_guard<std::mutex> guard{mtx_};
  agents_[name] = std::move(handle);
}

agent_actor agent_directory::find(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = agents_.find(name);
  return i == agents_.end() ? agent_actor{} : i->second;
}

namespace {

constexpr auto memory_timeout = std::chrono::seconds(30);
constexpr auto delegate_timeout = std::chrono::seconds(300);

caf::error bad_arguments(const tool_request& req, const std::string& why) {
  return make_error(errc::tool_failed, req.call.name + ": " + why);
}

// The call's arguments as a JSON object, or an error the model can act on.
caf::expected<json::object> arguments(const tool_request& req) {
  boost::system::error_code ec;
  auto v = json::parse(req.call.arguments.empty() ? "{}" : req.call.arguments, ec);
  if (ec || !v.is_object())
    return bad_arguments(req, "arguments are not a JSON object");
  return std::move(v.as_object());
}

caf::expected<std::string> string_arg(const tool_request& req, const json::object& args,
                                      const char* key) {
  auto* v = args.if_contains(key);
  if (v == nullptr || !v->is_string() || v->get_string().empty())
    return bad_arguments(req, std::string{"argument '"} + key + "' must be a non-empty string");
  return std::string{v->get_string()};
}

std::string agent_ns(const agent_id& who) {
  return "agent:" + who.str();
}

// Blocking request from a tool worker thread (never from an actor).
template <class Handle, class Request, class Reply>
caf::error ask(caf::actor_system& sys, const Handle& h, caf::timespan timeout, Request req,
               Reply& out) {
  caf::error err;
  caf::scoped_actor self{sys};
  self->request(h, timeout, std::move(req))
      .receive([&](Reply& r) { out = std::move(r); }, [&](caf::error& e) { err = std::move(e); });
  return err;
}

actors::tool_hook memory_search(caf::actor_system* sys, long_term_memory_actor ltm,
                                std::string swarm_ns) {
  return [sys, ltm, swarm_ns](const tool_request& req) -> caf::expected<std::string> {
    auto args = arguments(req);
    if (!args)
      return std::move(args.error());
    auto query = string_arg(req, *args, "query");
    if (!query)
      return std::move(query.error());
    uint32_t k = 5;
    if (auto* v = args->if_contains("k"); v != nullptr && v->is_int64())
      k = static_cast<uint32_t>(std::clamp<int64_t>(v->get_int64(), 1, 50));
    std::vector<ltm_hit> hits;
    if (auto err = ask(*sys, ltm, memory_timeout,
                       ltm_recall{*query, {agent_ns(req.agent), swarm_ns}, k}, hits))
      return err;
    if (hits.empty())
      return std::string{"no memories match"};
    std::string out;
    for (const auto& h : hits)
      out += "- [" + h.id + "] " + h.text + "\n";
    return out;
  };
}

// "ltm-c" + 16 hex digits of a FNV-1a hash of the call's tool_key: the same for the same call
// of the same run, whatever process makes it.
std::string call_memory_id(const tool_request& req) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : tool_key(req)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "ltm-c";
  for (int i = 15; i >= 0; --i)
    id.push_back(hex[(h >> (4 * i)) & 0xf]);
  return id;
}

actors::tool_hook memory_write(caf::actor_system* sys, long_term_memory_actor ltm) {
  return [sys, ltm](const tool_request& req) -> caf::expected<std::string> {
    auto args = arguments(req);
    if (!args)
      return std::move(args.error());
    auto text = string_arg(req, *args, "text");
    if (!text)
      return std::move(text.error());
    double importance = 0.5;
    if (auto* v = args->if_contains("importance"); v != nullptr && v->is_number())
      importance = v->to_number<double>();
    if (importance < 0 || importance > 1)
      return bad_arguments(req, "importance must be in [0, 1]");
    // One id per tool call of a run: if the process dies after the write but before the call
    // is journaled, the resumed run's call writes the same record again instead of a second one.
    auto id = req.run_id.empty() ? std::string{} : call_memory_id(req);
    if (auto err =
            ask(*sys, ltm, memory_timeout,
                ltm_write{agent_ns(req.agent), *text, importance, "run:" + req.run_id, id}, id))
      return err;
    return "remembered as " + id;
  };
}

actors::tool_hook delegate(caf::actor_system* sys, std::shared_ptr<agent_directory> directory) {
  auto counter = std::make_shared<std::atomic<uint64_t>>(0);
  return [sys, directory, counter](const tool_request& req) -> caf::expected<std::string> {
    auto args = arguments(req);
    if (!args)
      return std::move(args.error());
    auto name = string_arg(req, *args, "agent");
    if (!name)
      return std::move(name.error());
    auto text = string_arg(req, *args, "task");
    if (!text)
      return std::move(text.error());
    if (*name == req.agent.name)
      return bad_arguments(req, "an agent cannot delegate to itself");
    auto handle = directory->find(*name);
    if (!handle)
      return make_error(errc::unknown_agent,
                        "delegate: no agent '" + *name + "' in swarm '" + req.agent.swarm + "'");
    task t;
    t.id = req.task_id + ".delegate." + *name + "." + std::to_string(++*counter);
    t.run_id = req.run_id;
    t.text = *text;
    t.from = req.agent.name;
    result r;
    if (auto err = ask(*sys, handle, delegate_timeout, std::move(t), r))
      return err;
    if (r.error)
      return r.error;
    return r.text;
  };
}

} // namespace

bool uses_memory_tools(const swarm_spec& spec) {
  for (const auto& a : spec.agents)
    for (const auto& t : a.tools)
      if (t == "memory_search" || t == "memory_write")
        return true;
  return false;
}

swarm_tools spawn_swarm_tools(caf::actor_system& sys, const swarm_spec& spec,
                              actors::workspace_provider workspaces, monitor_actor monitor,
                              long_term_memory_actor long_term,
                              std::shared_ptr<agent_directory> directory,
                              std::shared_ptr<tool_store> journal) {
  actors::tool_runner_config cfg;
  cfg.tools = spec.tools;
  for (const auto& a : spec.agents)
    cfg.permissions[agent_id{spec.name, a.name}.str()] = a.tools;
  cfg.workspaces = std::move(workspaces);
  cfg.monitor = std::move(monitor);
  cfg.journal = std::move(journal);
  if (long_term) {
    cfg.hooks["memory_search"] = memory_search(&sys, long_term, "swarm:" + spec.name);
    cfg.hooks["memory_write"] = memory_write(&sys, long_term);
  }
  cfg.hooks["delegate"] = delegate(&sys, std::move(directory));
  swarm_tools out;
  auto shared = std::make_shared<const actors::tool_runner_config>(cfg);
  out.specs = [shared](const agent_id& who) { return actors::tool_specs_for(*shared, who); };
  out.runner = actors::spawn_tool_runner(sys, std::move(cfg));
  return out;
}

} // namespace swarm
