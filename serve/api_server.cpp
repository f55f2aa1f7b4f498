// The API's routes: a table of method, path template and handler; auth before any of them; the
// swarms served and the runs going on, each run on a thread of its own that answers its waiting
// request (if any) when it ends.
#include "serve/api_server.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/event_json.hpp"
#include "runtime/core/events.hpp"
#include "runtime/core/run_id.hpp"
#include "runtime/runtime.hpp"
#include "serve/api_json.hpp"
#include "serve/metrics.hpp"
#include "serve/openai_facade.hpp"
#include "serve/otlp.hpp"
#include "serve/static_files.hpp"

namespace swarm::serve {

namespace json = boost::json;
using net::http_exchange;
using net::http_request;
using net::http_response;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// When a logged event happened (Unix ms), from its JSON; 0 if it does not say.
int64_t finished_at_ms(const std::string& event_json) {
  boost::system::error_code ec;
  auto v = json::parse(event_json, ec);
  const auto* t = !ec && v.is_object() ? v.as_object().if_contains("time_us") : nullptr;
  return t && t->is_number() ? t->to_number<int64_t>() / 1000 : 0;
}

bool wants_sse(const http_request& req) {
  return req.header("accept").find("text/event-stream") != std::string_view::npos ||
         req.param("stream") == "sse";
}

// The path's segments: "/v1/runs/x/cancel" -> v1, runs, x, cancel.
std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return out;
}

} // namespace

// -- state --------------------------------------------------------------------------------------

/// A swarm the server serves.
struct served_swarm {
  swarm_handle handle;
  std::string architecture;
  std::vector<std::string> agents;
  std::string spec_text;
};

/// A run this server started (or resumed) that has not ended yet.
struct live_run {
  std::string swarm;
  std::string task;
  int64_t started_ms = 0;
  std::optional<swarm_handle> own_team; ///< a resumed run's own swarm (approvals are asked there)
};

using route_params = std::map<std::string, std::string>;

struct api_server::impl : std::enable_shared_from_this<api_server::impl> {
  runtime& rt;
  api_options opts;
  std::unique_ptr<net::http_server> http;

  std::mutex add_mtx; // held while a swarm is added or replaced
  std::mutex mtx;
  std::map<std::string, served_swarm> swarms; // by name (guarded by mtx)
  std::map<std::string, live_run> runs;       // by run id (guarded by mtx)
  size_t threads = 0;                         // run threads not yet ended (guarded by mtx)
  /// What the run list filters and orders by, for every run the journal has: read once at
  /// start, then kept as runs start and end here, so that a list reads only its page's headers.
  struct listed_run {
    int64_t started_ms = 0;
    std::string swarm;
    std::string status;
  };
  std::map<std::string, listed_run> index; // by run id (guarded by mtx)
  std::condition_variable runs_ended;
  serve::metrics folded;                 // every event of the runtime, folded
  event_subscription metrics_events;     // feeds `folded`; declared after it, so it goes first
  std::unique_ptr<otlp_exporter> traces; // options::otlp_url set: sends spans of the events
  event_subscription trace_events;       // feeds `traces`; declared after it, so it goes first

  impl(runtime& r, api_options o) : rt(r), opts(std::move(o)) {}

  // -- answers ---------------------------------------------------------------------------------

  static void reply(http_exchange& ex, unsigned status, const json::value& body) {
    http_response r;
    r.status = status;
    r.body = json::serialize(body);
    ex.respond(std::move(r));
  }

  static void fail(http_exchange& ex, unsigned status, std::string_view code,
                   std::string_view message, json::object extra = {}) {
    reply(ex, status, error_body(code, message, std::move(extra)));
  }

  // An error of the runtime as an HTTP answer: its stable code, and the status it stands for.
  static void fail(http_exchange& ex, const caf::error& err) {
    fail(ex, http_status_of(err), error_code(err), error_message(err));
  }

  // -- auth ------------------------------------------------------------------------------------

  // True if `req` may go on; else it was answered 401 (and learns nothing else), or 403.
  bool authorized(const http_request& req, http_exchange& ex) const {
    if (opts.tokens.empty())
      return same_machine(req, ex);
    auto presented = bearer_token(req.header("authorization"));
    std::string from_query;
    if (presented.empty() && req.path.ends_with("/events")) {
      from_query = req.param("token"); // EventSource and WebSocket clients cannot set headers
      presented = from_query;
    }
    if (!presented.empty() && match_token(opts.tokens, presented))
      return true;
    http_response r;
    r.status = 401;
    r.body = json::serialize(error_body("unauthorized", "a valid bearer token is required"));
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    ex.respond(std::move(r));
    return false;
  }

  // Without tokens only this machine may call, and a web page only from the server's own
  // origin: a page of another site (or a rebound DNS name) would otherwise drive the API from
  // the user's browser (a POST with a text/plain body needs no preflight). Answered 403.
  static bool same_machine(const http_request& req, http_exchange& ex) {
    auto host_ok = [](std::string_view hostport) {
      auto host = hostport;
      if (host.starts_with("[")) {
        host = host.substr(0, host.find(']') + 1);
      } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
      }
      return host == "localhost" || host == "[::1]" || is_loopback(host);
    };
    auto host = req.header("host");
    auto origin = req.header("origin");
    bool ok = (host.empty() || host_ok(host)) &&
              (origin.empty() || origin == "http://" + std::string{host});
    if (!ok)
      fail(ex, 403, "forbidden",
           "without a token file the API answers this machine only (Host 127.0.0.1, [::1] or "
           "localhost, and no other site's Origin)");
    return ok;
  }

  // -- swarms ----------------------------------------------------------------------------------

  caf::error add_swarm(const swarm_spec& spec, bool replace, bool keep) {
    // One at a time: two of the same name at once would both spawn.
    std::lock_guard adding{add_mtx};
    std::optional<served_swarm> old;
    {
      std::lock_guard guard{mtx};
      if (auto i = swarms.find(spec.name); i != swarms.end()) {
        if (!replace)
          return make_error(errc::run_exists, "a swarm named '" + spec.name +
                                                  "' is served already (POST with "
                                                  "?replace=true to replace it)");
        old = std::move(i->second);
        swarms.erase(i);
      }
    }
    // The old one stops first: the runtime names swarms by their spec, and the new one must
    // have the name (a second instance would be "NAME#2").
    if (old)
      old->handle.stop();
    auto team = rt.spawn(spec);
    if (!team) {
      if (old)
        if (auto back = load_spec_text(old->spec_text, spec.name))
          static_cast<void>(add_swarm(*back, false, false));
      return std::move(team.error());
    }
    if (keep && !opts.spec_dir.empty())
      if (auto err = keep_spec(spec)) {
        team->stop();
        return err;
      }
    std::lock_guard guard{mtx};
    swarms.insert_or_assign(spec.name,
                            served_swarm{*team, spec.root.architecture, team->agents(), spec.text});
    return {};
  }

  std::string spec_path(const std::string& name) const {
    return (std::filesystem::path{opts.spec_dir} / (name + ".spec")).string();
  }

  // Written to a temporary file first and renamed: a kept spec is whole or absent.
  caf::error keep_spec(const swarm_spec& spec) {
    std::error_code ec;
    std::filesystem::create_directories(opts.spec_dir, ec);
    auto path = spec_path(spec.name);
    auto tmp = path + ".tmp";
    {
      std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
      out << spec.text;
      out.flush();
      if (!out)
        return make_error(errc::io_error,
                          "cannot keep the spec of swarm '" + spec.name + "' in " + tmp);
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec)
      return make_error(errc::io_error, "cannot keep the spec of swarm '" + spec.name + "' as " +
                                            path + ": " + ec.message());
    return {};
  }

  caf::error load_kept_specs() {
    if (opts.spec_dir.empty() || !std::filesystem::is_directory(opts.spec_dir))
      return {};
    std::vector<std::filesystem::path> files;
    for (const auto& f : std::filesystem::directory_iterator{opts.spec_dir})
      if (f.path().extension() == ".spec")
        files.push_back(f.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto spec = load_spec(f.string());
      if (!spec)
        return std::move(spec.error());
      if (auto err = add_swarm(*spec, true, false))
        return make_error(errc::invalid_spec,
                          "the kept swarm in " + f.string() + " does not start: " + describe(err));
    }
    return {};
  }

  std::optional<served_swarm> find_swarm(const std::string& name) {
    std::lock_guard guard{mtx};
    auto i = swarms.find(name);
    if (i == swarms.end())
      return std::nullopt;
    return i->second;
  }

  size_t live_runs_of(const std::string& name) {
    std::lock_guard guard{mtx};
    return static_cast<size_t>(std::count_if(
        runs.begin(), runs.end(), [&](const auto& r) { return r.second.swarm == name; }));
  }

  json::object swarm_object(const std::string& name, const served_swarm& s, bool with_health) {
    swarm_summary sum;
    sum.name = name;
    sum.architecture = s.architecture;
    sum.agents = s.agents;
    sum.spent = s.handle.spent();
    sum.spent_per_agent = s.handle.spent_per_agent();
    sum.live_runs = live_runs_of(name);
    if (with_health)
      sum.health = s.handle.health_check(std::chrono::milliseconds(500));
    return to_json(sum, with_health);
  }

  // A spec that does not load: 400 invalid_spec with each problem's path and line.
  static void invalid_spec(http_exchange& ex, const spec_parse_result& parsed,
                           std::string_view source) {
    json::array problems;
    for (const auto& p : parsed.problems)
      problems.push_back({{"path", p.path}, {"line", p.line}, {"message", p.message}});
    fail(ex, 400, "invalid_spec", problems_text(source, parsed.problems),
         {{"problems", std::move(problems)}});
  }

  void post_swarm(const http_request& req, http_exchange& ex) {
    auto parsed = parse_spec(req.body, "request body");
    if (!parsed.spec)
      return invalid_spec(ex, parsed, "request body");
    auto& spec = *parsed.spec;
    if (auto err = add_swarm(spec, req.param("replace") == "true", true)) {
      fail(ex, err);
      return;
    }
    auto s = find_swarm(spec.name);
    if (!s) {
      fail(ex, 409, "conflict", "swarm '" + spec.name + "' was deleted as it was created");
      return;
    }
    reply(ex, 201, swarm_object(spec.name, *s, false));
  }

  void list_swarms(http_exchange& ex) {
    std::vector<std::pair<std::string, served_swarm>> all;
    {
      std::lock_guard guard{mtx};
      for (const auto& [name, s] : swarms)
        all.emplace_back(name, s);
    }
    json::array data;
    for (const auto& [name, s] : all)
      data.push_back(swarm_object(name, s, false));
    reply(ex, 200, json::object{{"data", std::move(data)}});
  }

  void get_swarm(const route_params& p, http_exchange& ex) {
    auto s = find_swarm(p.at("name"));
    if (!s)
      return unknown_swarm(ex, p.at("name"));
    reply(ex, 200, swarm_object(p.at("name"), *s, true));
  }

  static void unknown_swarm(http_exchange& ex, const std::string& name) {
    fail(ex, 404, "unknown_swarm", "no swarm '" + name + "' is served here");
  }

  void delete_swarm(const http_request& req, const route_params& p, http_exchange& ex) {
    const auto& name = p.at("name");
    if (live_runs_of(name) > 0 && req.param("force") != "true") {
      fail(ex, 409, "conflict",
           "swarm '" + name + "' has runs going on (cancel them, or DELETE with ?force=true)");
      return;
    }
    std::optional<served_swarm> gone;
    {
      std::lock_guard guard{mtx};
      if (auto i = swarms.find(name); i != swarms.end()) {
        gone = std::move(i->second);
        swarms.erase(i);
      }
    }
    if (!gone)
      return unknown_swarm(ex, name);
    gone->handle.stop();
    if (!opts.spec_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove(spec_path(name), ec);
    }
    http_response r;
    r.status = 204;
    r.content_type.clear();
    ex.respond(std::move(r));
  }

  // -- runs ------------------------------------------------------------------------------------

  /// Starts `team` on `in` on a thread of its own, as run `in.run_id` of swarm `swarm`; `done`
  /// gets its outcome there. false if too many runs go on (nothing started).
  bool launch(const std::string& swarm, swarm_handle team, task_input in, bool own_team,
              std::function<void(const caf::expected<result>&)> done) {
    {
      std::lock_guard guard{mtx};
      if (runs.size() >= opts.max_live_runs || runs.count(in.run_id))
        return false;
      live_run lr{swarm, in.text, now_ms(), std::nullopt};
      if (own_team)
        lr.own_team = team;
      auto& listed = index[in.run_id]; // a resumed run keeps its first start
      listed = {listed.started_ms > 0 ? listed.started_ms : lr.started_ms, swarm, "running"};
      runs.emplace(in.run_id, std::move(lr));
      ++threads;
    }
    std::thread{[self = shared_from_this(), team, in = std::move(in), own_team,
                 done = std::move(done)]() mutable {
      auto id = in.run_id;
      auto out = team.run(std::move(in));
      if (own_team)
        team.stop();
      auto kept = self->rt.find_run(id);
      {
        std::lock_guard guard{self->mtx};
        self->runs.erase(id);
        if (kept && *kept)
          self->index[id].status = (*kept)->status;
        else
          self->index.erase(id); // refused before the journal had it
      }
      if (done)
        done(out);
      {
        std::lock_guard guard{self->mtx};
        --self->threads;
      }
      self->runs_ended.notify_all();
    }}.detach();
    return true;
  }

  // The run as the journal keeps it, or as this server knows it before its header is written.
  std::optional<run_info> run_of(const std::string& id, caf::error& err) {
    auto known = rt.find_run(id);
    if (!known) {
      err = std::move(known.error());
      return std::nullopt;
    }
    if (*known) {
      auto info = std::move(**known);
      std::lock_guard guard{mtx};
      // Resumed here and its header not yet rewritten: the header is the earlier attempt's.
      if (auto i = runs.find(id); i != runs.end() && info.finished_ms < i->second.started_ms)
        info.status = "running";
      return info;
    }
    std::lock_guard guard{mtx};
    auto i = runs.find(id);
    if (i == runs.end())
      return std::nullopt;
    run_info info;
    info.run_id = id;
    info.swarm = i->second.swarm;
    info.task_text = i->second.task;
    info.status = "running";
    info.started_ms = i->second.started_ms;
    return info;
  }

  void post_run(const http_request& req, std::shared_ptr<http_exchange> ex) {
    auto body = parse_object(req.body);
    if (!body)
      return fail(*ex, 400, "bad_request", error_message(body.error()));
    auto swarm = string_field(*body, "swarm");
    auto spec_text = string_field(*body, "spec");
    auto task = string_field(*body, "task");
    if (swarm && spec_text)
      return fail(*ex, 400, "bad_request",
                  "the body gives \"swarm\" and \"spec\": a run is of one or the other");
    if ((!swarm || swarm->empty()) && !spec_text)
      return fail(*ex, 400, "bad_request",
                  "the body needs \"swarm\" (the name of a served swarm) or \"spec\" (a "
                  "spec's text: a swarm of its own for this run)");
    if (!task)
      return fail(*ex, 400, "bad_request", "the body needs \"task\": the task's text");
    auto run_id = string_field(*body, "run_id").value_or(std::string{});
    if (auto why = run_id.empty() ? std::string{} : run_id_problem(run_id); !why.empty())
      return fail(*ex, 400, "bad_request", "run_id: " + why);
    bool wait = bool_field(*body, "wait").value_or(false);
    if (!run_id.empty()) {
      caf::error err;
      if (auto known = run_of(run_id, err))
        return fail(*ex, 409, "conflict",
                    "run '" + run_id + "' exists (" + known->status +
                        "): resume it with POST /v1/runs/" + run_id + "/resume");
    }
    std::optional<swarm_handle> team;
    if (spec_text) {
      auto source = string_field(*body, "spec_source").value_or("spec");
      auto parsed = parse_spec(*spec_text, source);
      if (!parsed.spec)
        return invalid_spec(*ex, parsed, source);
      auto spawned = rt.spawn(*parsed.spec);
      if (!spawned)
        return fail(*ex, spawned.error());
      team = std::move(*spawned);
    } else if (auto s = find_swarm(*swarm)) {
      team = s->handle;
    } else {
      return unknown_swarm(*ex, *swarm);
    }
    task_input in{*task, run_id.empty() ? new_run_id() : run_id, {}, run_mode::start};
    auto id = in.run_id;
    std::function<void(const caf::expected<result>&)> done;
    if (wait)
      done = [self = shared_from_this(), ex, id](const caf::expected<result>&) {
        caf::error err;
        auto info = self->run_of(id, err);
        if (!info)
          return fail(*ex, 500, "internal", "run '" + id + "' ended but is not in the journal");
        reply(*ex, 200, to_json(*info));
      };
    bool own = spec_text.has_value();
    if (!launch(own ? team->name() : *swarm, *team, std::move(in), own, std::move(done))) {
      if (own)
        team->stop();
      return fail(*ex, 429, "too_many_runs",
                  "the server runs " + std::to_string(opts.max_live_runs) +
                      " runs already (or this run id is running): try again later");
    }
    if (wait)
      return; // answered by the run's thread
    caf::error err;
    auto info = run_of(id, err);
    reply(*ex, 202, info ? to_json(*info) : json::value{{"id", id}, {"status", "running"}});
  }

  void list_runs(const http_request& req, http_exchange& ex) {
    auto swarm = req.param("swarm");
    auto status = req.param("status");
    auto after = req.param("after");
    size_t limit = 50;
    if (auto l = req.param("limit"); !l.empty()) {
      auto n = parse_count(l);
      if (!n || *n == 0 || *n > 1000)
        return fail(ex, 400, "bad_request", "limit is a whole number from 1 to 1000");
      limit = *n;
    }
    // Newest first (ties by id, so that a page boundary is stable), filtered, from the index.
    std::vector<std::pair<int64_t, std::string>> order;
    {
      std::lock_guard guard{mtx};
      order.reserve(index.size());
      for (const auto& [id, r] : index)
        if ((swarm.empty() || r.swarm == swarm) && (status.empty() || r.status == status))
          order.emplace_back(r.started_ms, id);
    }
    std::sort(order.begin(), order.end(), std::greater<>{});
    auto from = order.begin();
    if (!after.empty()) {
      from = std::find_if(order.begin(), order.end(),
                          [&](const auto& x) { return x.second == after; });
      if (from != order.end())
        ++from;
    }
    json::array data;
    std::string next;
    for (auto i = from; i != order.end() && data.size() < limit; ++i) {
      caf::error err;
      if (auto info = run_of(i->second, err)) {
        data.push_back(to_json(*info, false));
        next = i->second;
      }
    }
    bool more = static_cast<size_t>(order.end() - from) > limit;
    json::object out{{"data", std::move(data)}, {"has_more", more}};
    out["next"] = more ? json::value(next) : json::value(nullptr);
    reply(ex, 200, out);
  }

  void get_run(const route_params& p, http_exchange& ex) {
    caf::error err;
    auto info = run_of(p.at("id"), err);
    if (err)
      return fail(ex, err);
    if (!info)
      return unknown_run(ex, p.at("id"));
    reply(ex, 200, to_json(*info));
  }

  static void unknown_run(http_exchange& ex, const std::string& id) {
    fail(ex, 404, "unknown_run", "no run '" + id + "' here");
  }

  void cancel_run(const route_params& p, http_exchange& ex) {
    const auto& id = p.at("id");
    if (auto err = rt.cancel_run(id)) {
      caf::error find_err;
      auto info = run_of(id, find_err);
      if (!info)
        return unknown_run(ex, id);
      if (info->status != "running")
        return fail(ex, 409, "conflict", "run '" + id + "' is not running (" + info->status + ")");
      // Started, but its task not yet handed to its swarm: asked again shortly.
      return fail(ex, 409, "conflict", "run '" + id + "' is starting; cancel it again");
    }
    caf::error err;
    auto info = run_of(id, err);
    reply(ex, 202, info ? to_json(*info) : json::value{{"id", id}, {"status", "running"}});
  }

  void resume_run(const route_params& p, http_exchange& ex) {
    const auto& id = p.at("id");
    caf::error err;
    auto info = run_of(id, err);
    if (err)
      return fail(ex, err);
    if (!info)
      return unknown_run(ex, id);
    if (info->status == "running")
      return fail(ex, 409, "conflict", "run '" + id + "' is running");
    if (info->status == "done")
      return reply(ex, 200, to_json(*info));
    if (auto started = resume(id); started)
      return fail(ex, started);
    auto now = run_of(id, err);
    reply(ex, 202, now ? to_json(*now) : json::value{{"id", id}, {"status", "running"}});
  }

  // Resumes run `id` as a run of this server.
  caf::error resume(const std::string& id) {
    auto prepared = rt.prepare_resume(id);
    if (!prepared)
      return std::move(prepared.error());
    auto& [team, in] = *prepared;
    auto name = team.name();
    if (!launch(name, team, std::move(in), true, {})) {
      team.stop();
      return make_error(errc::run_exists, "run '" + id + "' is running, or too many runs are");
    }
    return {};
  }

  // -- events ----------------------------------------------------------------------------------

  void run_events(const http_request& req, const route_params& p,
                  std::shared_ptr<http_exchange> ex) {
    const auto& id = p.at("id");
    caf::error err;
    auto info = run_of(id, err);
    if (err)
      return fail(*ex, err);
    if (!info)
      return unknown_run(*ex, id);
    uint64_t after = 0;
    auto from = std::string{req.header("last-event-id")};
    if (from.empty())
      from = req.param("after");
    if (!from.empty()) {
      auto n = parse_count(from);
      if (!n)
        return fail(*ex, 400, "bad_request", "after (or Last-Event-ID) is a whole number");
      after = *n;
    }
    if (!req.websocket && !wants_sse(req)) {
      size_t limit = 1000;
      if (auto l = req.param("limit"); !l.empty()) {
        auto n = parse_count(l);
        if (!n || *n == 0 || *n > 10000)
          return fail(*ex, 400, "bad_request", "limit is a whole number from 1 to 10000");
        limit = *n;
      }
      auto kept = rt.run_events(id, after, limit);
      if (!kept)
        return fail(*ex, kept.error());
      http_response r;
      r.body = events_page(*kept, after);
      ex->respond(std::move(r));
      return;
    }
    // A resumed run's log holds its earlier attempts' run_finished too: the stream ends at one
    // that is no older than the attempt running now.
    int64_t attempt_ms = 0;
    {
      std::lock_guard guard{mtx};
      if (auto i = runs.find(id); i != runs.end())
        attempt_ms = i->second.started_ms;
    }
    auto pager =
        std::make_shared<event_pager>(shared_from_this(), ex->stream(), id, after, !req.websocket,
                                      attempt_ms, info->status == "running");
    pager->next();
  }

  /// One event stream: the log sent a page at a time, each when the client has read the one
  /// before (a long backlog never meets the slow-reader limit), then, for a running run, its
  /// events as they come; the end after run_finished (an ended run: after the log).
  struct event_pager : std::enable_shared_from_this<event_pager> {
    static constexpr size_t page = 500;

    event_pager(std::shared_ptr<impl> a, std::shared_ptr<net::http_stream> s, std::string run,
                uint64_t from, bool as_sse, int64_t attempt, bool running)
        : api(std::move(a)), stream(std::move(s)), id(std::move(run)), after(from), sse(as_sse),
          attempt_ms(attempt), live(running) {}

    std::string format(const logged_event& e) const {
      return sse ? "id: " + std::to_string(e.run_seq) + "\nevent: " + to_string(e.kind) +
                       "\ndata: " + e.json + "\n\n"
                 : e.json;
    }

    bool ends_stream(const logged_event& e) const {
      return e.kind == event_kind::run_finished && finished_at_ms(e.json) + 1000 >= attempt_ms;
    }

    void next() {
      auto kept = api->rt.run_events(id, after, page);
      if (!kept) {
        stream->close();
        return;
      }
      for (const auto& e : *kept) {
        stream->send(format(e));
        after = e.run_seq;
        if (ends_stream(e)) {
          stream->close();
          return;
        }
      }
      if (kept->size() == page) {
        stream->on_drained([self = shared_from_this()] { self->next(); });
        return;
      }
      if (!live) {
        stream->close(); // ended or interrupted: the log is all there is
        return;
      }
      auto followed =
          api->rt.follow_run(id, after, [self = shared_from_this()](const logged_event& e) {
            self->stream->send(self->format(e));
            if (self->ends_stream(e))
              self->stream->close();
          });
      if (!followed) {
        stream->close();
        return;
      }
      // The subscription lives as long as the stream: the stream's end cancels it.
      auto held = std::make_shared<event_subscription>(std::move(*followed));
      stream->on_close([held] { held->cancel(); });
    }

    std::shared_ptr<impl> api;
    std::shared_ptr<net::http_stream> stream;
    std::string id;
    uint64_t after;
    bool sse;
    int64_t attempt_ms;
    bool live;
  };

  // -- approvals -------------------------------------------------------------------------------

  // Every swarm approvals may wait in: the served ones and resumed runs' own.
  std::vector<swarm_handle> teams() {
    std::vector<swarm_handle> out;
    std::lock_guard guard{mtx};
    for (const auto& [name, s] : swarms)
      out.push_back(s.handle);
    for (const auto& [id, r] : runs)
      if (r.own_team)
        out.push_back(*r.own_team);
    return out;
  }

  void list_approvals(http_exchange& ex) {
    json::array data;
    for (const auto& team : teams())
      for (const auto& a : team.pending_approvals())
        data.push_back(to_json(team.name(), a));
    reply(ex, 200, json::object{{"data", std::move(data)}});
  }

  void decide(const http_request& req, const route_params& p, http_exchange& ex) {
    auto body = parse_object(req.body);
    if (!body)
      return fail(ex, 400, "bad_request", error_message(body.error()));
    auto approve = bool_field(*body, "approve");
    if (!approve)
      return fail(ex, 400, "bad_request", "the body needs \"approve\": true or false");
    auto reason = string_field(*body, "reason").value_or(std::string{});
    auto id = parse_approval_id(p.at("id"));
    if (id)
      for (const auto& team : teams())
        if (team.name() == id->first) {
          if (auto err = team.decide(id->second, *approve, reason); !err)
            return reply(ex, 200, json::object{{"id", p.at("id")}, {"approved", *approve}});
          break;
        }
    fail(ex, 404, "unknown_approval", "no tool call '" + p.at("id") + "' waits for approval");
  }

  // -- metrics ---------------------------------------------------------------------------------

  /// Swarms with more agents are not probed at a scrape (no members_alive, mailbox_depth).
  static constexpr size_t max_probed_members = 5000;

  void scrape(http_exchange& ex) {
    scrape_gauges g;
    for (const auto& team : teams()) {
      g.agents.emplace_back(team.name(), team.agents().size());
      g.approvals_pending.emplace_back(team.name(), team.pending_approvals().size());
      g.pools.emplace_back(team.name(), team.occupancy());
      // Probed when small enough to probe at every scrape (a probe is a message to each).
      if (team.agents().size() <= max_probed_members) {
        size_t alive = 0, total = 0, most = 0;
        for (const auto& h : team.health_check(std::chrono::milliseconds(250))) {
          alive += h.alive;
          total += h.mailbox;
          most = std::max<size_t>(most, h.mailbox);
        }
        g.alive.emplace_back(team.name(), alive);
        g.mailbox_total.emplace_back(team.name(), total);
        g.mailbox_max.emplace_back(team.name(), most);
      }
    }
    {
      std::lock_guard guard{mtx};
      g.runs_live = runs.size();
    }
    g.runtime = rt.stats();
    g.http_connections = http ? http->connections() : 0;
    http_response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = folded.render(g);
    ex.respond(std::move(r));
  }

  // -- the OpenAI facade -----------------------------------------------------------------------

  void list_models(http_exchange& ex) {
    std::vector<std::string> names;
    {
      std::lock_guard guard{mtx};
      for (const auto& [name, s] : swarms)
        names.push_back(name);
    }
    reply(ex, 200, models_json(names));
  }

  void chat_completion(const http_request& req, std::shared_ptr<http_exchange> ex) {
    auto parsed = parse_chat_request(req.body);
    if (!parsed)
      return reply(*ex, 400, openai_error(error_message(parsed.error()), "invalid_request_error"));
    auto s = find_swarm(parsed->model);
    if (!s)
      return reply(*ex, 404,
                   openai_error("the model '" + parsed->model +
                                    "' does not exist: it names no swarm served here "
                                    "(GET /v1/models)",
                                "invalid_request_error", "model_not_found"));
    task_input in{parsed->task, new_run_id(), {}, run_mode::start};
    auto id = in.run_id;
    auto model = parsed->model;
    std::shared_ptr<net::http_stream> stream;
    if (parsed->stream) {
      stream = ex->stream({{"X-Swarm-Run-Id", id}});
      stream->send(completion_chunk_head(id, model));
    }
    auto include_usage = parsed->include_usage;
    auto done = [ex, stream, id, model, include_usage](const caf::expected<result>& out) {
      if (!stream) {
        if (!out) {
          auto [status, body] = completion_error(out.error());
          return reply(*ex, status, body);
        }
        return reply(*ex, 200, completion_json(id, model, *out));
      }
      if (!out)
        stream->send(completion_stream_error(out.error()));
      else
        for (auto& chunk : completion_chunks(id, model, *out, include_usage))
          stream->send(std::move(chunk));
      stream->send("data: [DONE]\n\n");
      stream->close();
    };
    if (!launch(parsed->model, s->handle, std::move(in), false, done)) {
      if (stream) {
        stream->send(completion_stream_error(
            make_error(errc::budget_exhausted, "the server runs too many runs")));
        stream->close();
        return;
      }
      reply(*ex, 429,
            openai_error("the server runs too many runs: try again later", "rate_limit_error"));
      return;
    }
    // A client that leaves a streamed completion does not want its answer: the run is
    // cancelled (after the answer, the stream's end finds no run to cancel).
    if (stream)
      stream->on_close([weak = weak_from_this(), id] {
        if (auto self = weak.lock())
          static_cast<void>(self->rt.cancel_run(id));
      });
  }

  // -- dispatch --------------------------------------------------------------------------------

  using handler_fn = std::function<void(impl&, const http_request&, const route_params&,
                                        const std::shared_ptr<http_exchange>&)>;

  struct route {
    route_info info;
    handler_fn fn;
  };

  static const std::vector<route>& table();

  void handle(http_request req, std::shared_ptr<http_exchange> ex) {
    if (req.method == "GET" && !req.path.starts_with("/v1/") && req.path != "/metrics") {
      if (auto f = static_file(req.path)) {
        http_response r;
        r.content_type = f->content_type;
        r.body = std::string{f->body};
        r.headers.emplace_back("Cache-Control", "no-cache");
        return ex->respond(std::move(r));
      }
    }
    if (!authorized(req, *ex))
      return;
    auto parts = segments(req.path);
    bool path_known = false;
    for (const auto& r : table()) {
      auto pattern = segments(r.info.path);
      if (pattern.size() != parts.size())
        continue;
      route_params params;
      bool match = true;
      for (size_t i = 0; i < parts.size() && match; ++i) {
        if (pattern[i].front() == '{')
          params[pattern[i].substr(1, pattern[i].size() - 2)] = parts[i];
        else
          match = pattern[i] == parts[i];
      }
      if (!match)
        continue;
      path_known = true;
      if (r.info.method != req.method)
        continue;
      return r.fn(*this, req, params, ex);
    }
    if (path_known)
      return fail(*ex, 405, "method_not_allowed",
                  req.method + " is not allowed on " + req.path + " (GET /v1/openapi.json)");
    fail(*ex, 404, "not_found",
         "no route " + req.method + " " + req.path + " (the API's routes: GET /v1/openapi.json)");
  }
};

const std::vector<api_server::impl::route>& api_server::impl::table() {
  using R = const http_request&;
  using P = const route_params&;
  using X = const std::shared_ptr<http_exchange>&;
  static const std::vector<route> t{
      {{"GET", "/healthz"},
       [](impl&, R, P, X ex) {
         reply(*ex, 200, json::object{{"status", "ok"}});
       }},
      {{"GET", "/metrics"}, [](impl& s, R, P, X ex) { s.scrape(*ex); }},
      {{"GET", "/v1/openapi.json"},
       [](impl&, R, P, X ex) {
         http_response r;
         r.body = std::string{openapi_document()};
         ex->respond(std::move(r));
       }},
      {{"POST", "/v1/swarms"}, [](impl& s, R req, P, X ex) { s.post_swarm(req, *ex); }},
      {{"GET", "/v1/swarms"}, [](impl& s, R, P, X ex) { s.list_swarms(*ex); }},
      {{"GET", "/v1/swarms/{name}"}, [](impl& s, R, P p, X ex) { s.get_swarm(p, *ex); }},
      {{"DELETE", "/v1/swarms/{name}"},
       [](impl& s, R req, P p, X ex) { s.delete_swarm(req, p, *ex); }},
      {{"POST", "/v1/runs"}, [](impl& s, R req, P, X ex) { s.post_run(req, ex); }},
      {{"GET", "/v1/runs"}, [](impl& s, R req, P, X ex) { s.list_runs(req, *ex); }},
      {{"GET", "/v1/runs/{id}"}, [](impl& s, R, P p, X ex) { s.get_run(p, *ex); }},
      {{"POST", "/v1/runs/{id}/cancel"}, [](impl& s, R, P p, X ex) { s.cancel_run(p, *ex); }},
      {{"POST", "/v1/runs/{id}/resume"}, [](impl& s, R, P p, X ex) { s.resume_run(p, *ex); }},
      {{"GET", "/v1/runs/{id}/events"},
       [](impl& s, R req, P p, X ex) { s.run_events(req, p, ex); }},
      {{"GET", "/v1/approvals"}, [](impl& s, R, P, X ex) { s.list_approvals(*ex); }},
      {{"POST", "/v1/approvals/{id}"}, [](impl& s, R req, P p, X ex) { s.decide(req, p, *ex); }},
      {{"GET", "/v1/models"}, [](impl& s, R, P, X ex) { s.list_models(*ex); }},
      {{"POST", "/v1/chat/completions"},
       [](impl& s, R req, P, X ex) { s.chat_completion(req, ex); }},
  };
  return t;
}

const std::vector<route_info>& routes() {
  static const std::vector<route_info> out = [] {
    std::vector<route_info> xs;
    for (const auto& r : api_server::impl::table())
      xs.push_back(r.info);
    return xs;
  }();
  return out;
}

// -- api_server ---------------------------------------------------------------------------------

api_server::api_server(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

api_server::~api_server() {
  stop();
}

caf::expected<std::unique_ptr<api_server>> api_server::start(runtime& rt, api_options opts) {
  if (opts.tokens.empty() && !is_loopback(opts.http.host))
    return make_error(errc::invalid_argument,
                      "serving on " + opts.http.host +
                          " reaches beyond this machine: give a token file (--token-file) so "
                          "that only clients with a token get in");
  auto p = std::make_shared<impl>(rt, std::move(opts));
  if (auto all = rt.runs())
    for (const auto& r : *all)
      p->index[r.run_id] = {r.started_ms, r.swarm, r.status};
  p->metrics_events = rt.on_event([m = &p->folded](const event& e) { m->add(e); });
  if (!p->opts.otlp_url.empty()) {
    auto traces = otlp_exporter::start({.url = p->opts.otlp_url});
    if (!traces)
      return std::move(traces.error());
    p->traces = std::move(*traces);
    p->trace_events = rt.on_event([t = p->traces.get()](const event& e) { t->add(e); });
  }
  if (auto err = p->load_kept_specs())
    return err;
  std::weak_ptr<impl> weak = p;
  auto http = net::http_server::start(
      p->opts.http, [weak](http_request req, std::shared_ptr<http_exchange> ex) {
        if (auto self = weak.lock())
          self->handle(std::move(req), std::move(ex));
        else
          impl::fail(*ex, 503, "unavailable", "the server is stopping");
      });
  if (!http)
    return std::move(http.error());
  p->http = std::move(*http);
  return std::unique_ptr<api_server>{new api_server(std::move(p))};
}

uint16_t api_server::port() const {
  return impl_->http ? impl_->http->port() : 0;
}

caf::error api_server::add_swarm(const swarm_spec& spec, bool replace, bool keep) {
  return impl_->add_swarm(spec, replace, keep);
}

size_t api_server::resume_interrupted() {
  std::vector<std::string> interrupted;
  {
    std::lock_guard guard{impl_->mtx};
    for (const auto& [id, r] : impl_->index)
      if (r.status == "interrupted")
        interrupted.push_back(id);
  }
  size_t n = 0;
  for (const auto& id : interrupted)
    if (!impl_->resume(id))
      ++n;
  return n;
}

void api_server::stop() {
  if (impl_->http)
    impl_->http->stop();
}

bool api_server::wait_for_runs(std::chrono::milliseconds timeout) {
  std::unique_lock guard{impl_->mtx};
  return impl_->runs_ended.wait_for(guard, timeout, [&] { return impl_->threads == 0; });
}

} // namespace swarm::serve
