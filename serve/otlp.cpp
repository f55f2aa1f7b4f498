// Spans from events, their OTLP/HTTP JSON form, and the exporter's thread: a bounded queue of
// ended spans, sent in batches by net::http_fetch, dropped when the collector does not answer.
#include "serve/otlp.hpp"

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <openssl/evp.h>
#include <random>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "net/http_fetch.hpp"
#include "net/llm_json.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::serve {

namespace json = boost::json;

namespace {

std::string hex(const unsigned char* bytes, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xf];
  }
  return out;
}

// The task one level up: "t1.a.b" -> "t1.a"; "t1" -> "".
std::string up(const std::string& task_id) {
  auto dot = task_id.rfind('.');
  return dot == std::string::npos ? std::string{} : task_id.substr(0, dot);
}

// Whether the last segment of `task_id` is the suffix a coordinator gives a member's later round
// or layer (".r2", ".l3") for the event's `round`.
bool round_suffix(const std::string& task_id, uint32_t round) {
  if (round < 2)
    return false;
  auto last = task_id.substr(task_id.rfind('.') + 1);
  auto n = std::to_string(round);
  return last == "r" + n || last == "l" + n;
}

void set_error(span& s, const caf::error& err) {
  if (!err)
    return;
  s.error = true;
  s.status_message = describe(err);
  s.attributes.push_back({"error.type", error_code(err)});
}

void add_usage(span& s, const usage& u) {
  s.attributes.push_back({"gen_ai.usage.input_tokens", static_cast<int64_t>(u.prompt_tokens)});
  s.attributes.push_back({"gen_ai.usage.output_tokens", static_cast<int64_t>(u.completion_tokens)});
}

} // namespace

const span_attribute* span::attribute(std::string_view key) const {
  for (const auto& a : attributes)
    if (a.key == key)
      return &a;
  return nullptr;
}

std::string trace_id_of(std::string_view run_id) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(run_id.data(), run_id.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, 16);
}

std::string random_span_id() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  uint64_t x = 0;
  while (x == 0)
    x = gen();
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<unsigned char>(x >> (8 * (7 - i)));
  return hex(bytes, 8);
}

// -- span_builder -------------------------------------------------------------------------------

span_builder::span_builder(std::function<std::string()> ids) : ids_(std::move(ids)) {}

size_t span_builder::open() const {
  size_t n = 0;
  for (const auto& [id, r] : runs_) {
    n += 1 + r.members.size() + r.llm_calls.size();
    for (const auto& [key, q] : r.tools)
      n += q.size();
  }
  return n;
}

span_builder::run_state& span_builder::run_of(const event& e) {
  auto [i, fresh] = runs_.try_emplace(e.run_id);
  if (fresh) {
    auto& s = i->second.run.s;
    s.trace_id = trace_id_of(e.run_id);
    s.span_id = ids_();
    s.name = "run " + (e.agent.swarm.empty() ? e.agent.name : e.agent.swarm);
    s.start_ns = e.time_us * 1000;
    s.attributes.push_back({"smolswarms.run.id", e.run_id});
    s.attributes.push_back(
        {"smolswarms.swarm", e.agent.swarm.empty() ? e.agent.name : e.agent.swarm});
  }
  return i->second;
}

std::string span_builder::parent_of(const run_state& r, const std::string& task_id) const {
  for (auto t = task_id; !t.empty(); t = up(t))
    if (auto i = r.member_ids.find(t); i != r.member_ids.end())
      return i->second;
  return r.run.s.span_id;
}

span_builder::open_span span_builder::begin(const run_state& r, const event& e, std::string name,
                                            span_kind kind, std::string parent) {
  open_span o;
  o.s.trace_id = r.run.s.trace_id;
  o.s.span_id = ids_();
  o.s.parent_span_id = std::move(parent);
  o.s.name = std::move(name);
  o.s.kind = kind;
  o.s.start_ns = e.time_us * 1000;
  o.s.attributes.push_back({"smolswarms.task_id", e.task_id});
  o.s.attributes.push_back({"smolswarms.agent", e.agent.str()});
  o.round = e.round;
  return o;
}

void span_builder::close_open(run_state& r, int64_t end_us, std::vector<span>& out) {
  auto close = [&](open_span& o) {
    o.s.end_ns = std::max(o.s.start_ns, end_us * 1000);
    o.s.attributes.push_back({"smolswarms.unfinished", true});
    out.push_back(std::move(o.s));
  };
  for (auto& [key, o] : r.llm_calls)
    close(o);
  for (auto& [key, q] : r.tools)
    for (auto& o : q)
      close(o);
  for (auto& [key, o] : r.members)
    close(o);
  r.llm_calls.clear();
  r.tools.clear();
  r.members.clear();
}

std::vector<span> span_builder::add(const event& e) {
  std::vector<span> out;
  if (e.run_id.empty())
    return out;
  auto& r = run_of(e);
  auto ended = [&](open_span& o) -> span& {
    o.s.end_ns = std::max(o.s.start_ns, e.time_us * 1000);
    return o.s;
  };
  switch (e.kind) {
  case event_kind::run_started:
    r.started = true;
    r.run.s.name = "run " + e.agent.str();
    r.run.s.start_ns = e.time_us * 1000;
    break;
  case event_kind::run_finished: {
    close_open(r, e.time_us, out);
    auto& s = ended(r.run);
    s.attributes.push_back({"smolswarms.run.status", e.name});
    s.attributes.push_back({"smolswarms.tokens", static_cast<int64_t>(e.use.total_tokens())});
    s.attributes.push_back({"smolswarms.llm_calls", static_cast<int64_t>(e.use.calls)});
    add_usage(s, e.use);
    if (!r.started)
      s.attributes.push_back({"smolswarms.partial", true});
    set_error(s, e.error);
    out.push_back(std::move(s));
    runs_.erase(e.run_id);
    break;
  }
  case event_kind::member_started: {
    if (r.members.contains(e.task_id))
      break; // asked again (a restart): the first span goes on
    auto above = round_suffix(e.task_id, e.round) ? up(up(e.task_id)) : up(e.task_id);
    auto o = begin(r, e, "member " + e.agent.str(), span_kind::internal, parent_of(r, above));
    if (e.round > 0)
      o.s.attributes.push_back({"smolswarms.round", static_cast<int64_t>(e.round)});
    r.member_ids[e.task_id] = o.s.span_id;
    r.members.emplace(e.task_id, std::move(o));
    break;
  }
  case event_kind::member_finished:
  case event_kind::member_failed:
  case event_kind::member_cancelled: {
    auto i = r.members.find(e.task_id);
    if (i == r.members.end())
      break;
    auto& s = ended(i->second);
    s.attributes.push_back({"smolswarms.status", e.kind == event_kind::member_finished ? "done"
                                                 : e.kind == event_kind::member_failed
                                                     ? "failed"
                                                     : "cancelled"});
    if (e.kind != event_kind::member_cancelled)
      add_usage(s, e.use);
    set_error(s, e.error);
    out.push_back(std::move(s));
    r.members.erase(i);
    break;
  }
  case event_kind::llm_call_started: {
    auto o = begin(r, e, "chat " + e.name, span_kind::client, parent_of(r, e.task_id));
    o.s.attributes.push_back({"gen_ai.operation.name", "chat"});
    o.s.attributes.push_back({"gen_ai.request.model", e.name});
    o.s.attributes.push_back({"smolswarms.step", static_cast<int64_t>(e.step)});
    r.llm_calls.insert_or_assign(e.task_id + "#" + std::to_string(e.step), std::move(o));
    break;
  }
  case event_kind::llm_call_finished: {
    auto key = e.task_id + "#" + std::to_string(e.step);
    auto i = r.llm_calls.find(key);
    if (i == r.llm_calls.end()) // its start came before this builder: it began `duration` ago
      i = r.llm_calls
              .emplace(
                  key,
                  [&] {
                    auto o =
                        begin(r, e, "chat " + e.name, span_kind::client, parent_of(r, e.task_id));
                    o.s.start_ns -=
                        std::chrono::duration_cast<std::chrono::nanoseconds>(e.duration).count();
                    o.s.attributes.push_back({"gen_ai.operation.name", "chat"});
                    o.s.attributes.push_back({"gen_ai.request.model", e.name});
                    o.s.attributes.push_back({"smolswarms.step", static_cast<int64_t>(e.step)});
                    return o;
                  }())
              .first;
    auto& s = ended(i->second);
    s.attributes.push_back({"gen_ai.response.model", e.name});
    add_usage(s, e.use);
    s.attributes.push_back({"smolswarms.attempts", static_cast<int64_t>(e.attempts)});
    if (e.estimated)
      s.attributes.push_back({"smolswarms.usage_estimated", true});
    set_error(s, e.error);
    out.push_back(std::move(s));
    r.llm_calls.erase(i);
    break;
  }
  case event_kind::tool_call_requested: {
    auto o = begin(r, e, "execute_tool " + e.name, span_kind::internal, parent_of(r, e.task_id));
    o.s.attributes.push_back({"gen_ai.operation.name", "execute_tool"});
    o.s.attributes.push_back({"gen_ai.tool.name", e.name});
    r.tools[e.task_id + "#" + e.name].push_back(std::move(o));
    break;
  }
  case event_kind::tool_call_finished: {
    auto i = r.tools.find(e.task_id + "#" + e.name);
    if (i == r.tools.end() || i->second.empty())
      break;
    auto& s = ended(i->second.front());
    set_error(s, e.error);
    out.push_back(std::move(s));
    i->second.pop_front();
    if (i->second.empty())
      r.tools.erase(i);
    break;
  }
  default:
    break;
  }
  return out;
}

std::vector<span> span_builder::close_all(int64_t now_us) {
  std::vector<span> out;
  for (auto& [id, r] : runs_) {
    close_open(r, now_us, out);
    auto& s = r.run.s;
    s.end_ns = std::max(s.start_ns, now_us * 1000);
    s.attributes.push_back({"smolswarms.unfinished", true});
    out.push_back(std::move(s));
  }
  runs_.clear();
  return out;
}

// -- encoding -----------------------------------------------------------------------------------

std::string otlp_json(const std::vector<span>& spans) {
  json::array list;
  list.reserve(spans.size());
  for (const auto& s : spans) {
    json::array attrs;
    for (const auto& a : s.attributes) {
      json::object value;
      if (auto* str = std::get_if<std::string>(&a.value))
        value["stringValue"] = *str;
      else if (auto* n = std::get_if<int64_t>(&a.value))
        value["intValue"] = std::to_string(*n); // int64 is a string in OTLP's JSON
      else
        value["boolValue"] = std::get<bool>(a.value);
      attrs.push_back(json::object{{"key", a.key}, {"value", std::move(value)}});
    }
    json::object status{{"code", s.error ? 2 : 0}};
    if (s.error)
      status["message"] = s.status_message;
    json::object o{{"traceId", s.trace_id},
                   {"spanId", s.span_id},
                   {"name", s.name},
                   {"kind", static_cast<int>(s.kind)},
                   {"startTimeUnixNano", std::to_string(s.start_ns)},
                   {"endTimeUnixNano", std::to_string(s.end_ns)},
                   {"attributes", std::move(attrs)},
                   {"status", std::move(status)}};
    if (!s.parent_span_id.empty())
      o["parentSpanId"] = s.parent_span_id;
    list.push_back(std::move(o));
  }
  json::object resource{
      {"attributes",
       json::array{json::object{{"key", "service.name"},
                                {"value", json::object{{"stringValue", "smolswarms"}}}}}}};
  json::object scope{{"scope", json::object{{"name", "smolswarms"}}}, {"spans", std::move(list)}};
  json::object body{
      {"resourceSpans", json::array{json::object{{"resource", std::move(resource)},
                                                 {"scopeSpans", json::array{std::move(scope)}}}}}};
  return json::serialize(body);
}

// -- otlp_exporter ------------------------------------------------------------------------------

struct otlp_exporter::impl {
  otlp_options opts;
  net::http_fetch_request request; // the POST without its body

  mutable std::mutex mtx;
  std::condition_variable wake;
  span_builder builder;   // guarded by mtx
  std::deque<span> queue; // ended spans not sent yet (guarded by mtx)
  otlp_stats stats;       // guarded by mtx
  bool stopping = false;  // guarded by mtx
  bool failing = false;   // the last POST failed (only the thread touches it)
  std::thread thread;

  void push(std::vector<span> spans) {
    for (auto& s : spans) {
      if (queue.size() >= opts.max_queue) {
        ++stats.dropped;
        continue;
      }
      queue.push_back(std::move(s));
    }
  }

  void add(const event& e) {
    std::lock_guard guard{mtx};
    if (stopping)
      return;
    push(builder.add(e));
    if (queue.size() >= opts.batch)
      wake.notify_one();
  }

  // Takes a batch off the queue, POSTs it without the lock, and counts the outcome.
  bool send_one(std::unique_lock<std::mutex>& lock) {
    auto n = std::min(queue.size(), opts.batch);
    std::vector<span> batch{std::make_move_iterator(queue.begin()),
                            std::make_move_iterator(queue.begin() + static_cast<ptrdiff_t>(n))};
    queue.erase(queue.begin(), queue.begin() + static_cast<ptrdiff_t>(n));
    lock.unlock();
    auto req = request;
    req.body = otlp_json(batch);
    auto answer = net::http_fetch(req);
    std::string why;
    if (!answer)
      why = describe(answer.error());
    else if (answer->status / 100 != 2)
      why = "it answered " + answer->status_line;
    if (!why.empty() && !failing)
      std::cerr << "swarm serve: warning: cannot export traces to " << opts.url << ": " << why
                << "; their spans are dropped until it answers" << std::endl;
    failing = !why.empty();
    lock.lock();
    if (failing) {
      ++stats.failures;
      stats.dropped += n;
    } else {
      stats.exported += n;
    }
    return !failing;
  }

  void loop() {
    std::unique_lock lock{mtx};
    while (!stopping) {
      wake.wait_for(lock, opts.interval, [this] { return stopping || queue.size() >= opts.batch; });
      if (stopping)
        break;
      // Batches go while the collector takes them; after a failure the rest waits a tick.
      while (!queue.empty() && !stopping && send_one(lock)) {
      }
    }
    auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    push(builder.close_all(now_us));
    while (!queue.empty())
      if (!send_one(lock)) {
        stats.dropped += queue.size();
        queue.clear();
      }
  }
};

caf::expected<std::unique_ptr<otlp_exporter>> otlp_exporter::start(otlp_options opts) {
  auto url = net::parse_url(opts.url);
  if (!url)
    return make_error(errc::invalid_argument,
                      "--otlp '" + opts.url + "': " + describe(url.error()));
  if (url->tls)
    return make_error(errc::invalid_argument,
                      "--otlp '" + opts.url +
                          "': only http:// is supported (a collector on this machine or network)");
  if (opts.batch == 0 || opts.max_queue == 0)
    return make_error(errc::invalid_argument, "otlp: batch and max_queue must be positive");
  auto p = std::make_unique<impl>();
  p->request.host = url->host;
  p->request.port = std::to_string(url->port);
  p->request.target = url->base_path.empty() ? "/" : url->base_path;
  p->request.method = "POST";
  p->request.content_type = "application/json";
  p->request.timeout = opts.timeout;
  p->request.body_cap = 4096;
  p->opts = std::move(opts);
  auto* raw = p.get();
  p->thread = std::thread{[raw] { raw->loop(); }};
  return std::unique_ptr<otlp_exporter>{new otlp_exporter(std::move(p))};
}

otlp_exporter::otlp_exporter(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

otlp_exporter::~otlp_exporter() {
  {
    std::lock_guard guard{impl_->mtx};
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  impl_->thread.join();
}

void otlp_exporter::add(const event& e) {
  impl_->add(e);
}

otlp_stats otlp_exporter::stats() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->stats;
}

} // namespace swarm::serve
