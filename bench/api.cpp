// Scenario `api` (issue H): the HTTP API of `swarm serve` under load, against `swarm mock-llm`
// answering at once, both child processes on the mock's cores (SWARM_BENCH_MOCK_CPUS). In one
// process run:
//  - runs: a swarm of A agents (`concurrent`, one LLM call each) served by the server; N runs
//    through `POST /v1/runs` with "wait": true from C keep-alive clients at once: runs/s, p50 and
//    p99 latency. Floor: the same spec run N times in this process through the embedding API
//    (swarm::runtime with the server's options: data directory, journal, event log), from C
//    threads, against the same mock; alternated with ours round by round.
//  - facade: the same N runs as `POST /v1/chat/completions` (model = the swarm's name):
//    completions/s and p99, floor the embedding API's runs/s of the same round.
//  - events: one run of a concurrent swarm of E agents started without waiting, S SSE clients on
//    `GET /v1/runs/{id}/events` from the first event: deliveries a second, from the first
//    subscriber connecting to the last one reading run_finished. A stream that ends before
//    run_finished is resumed with Last-Event-ID, as EventSource does, and counted (early_ends).
//    Every subscriber must get every event the server's log keeps for the run, once, else the
//    program records nothing and exits 1.
// Prints markdown tables and hands scenario "api" to `swarm bench` (bench/records.hpp). Usage:
// bench_api [--help].
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>

#include "bench/args.hpp"
#include "bench/mock_process.hpp"
#include "bench/records.hpp"
#include "bench/serve_process.hpp"
#include "net/api_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/runtime.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[xs.size() / 2];
}

/// CPU time this process used so far, in seconds.
double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

/// The q-quantile (0..1) of `xs`, nearest rank.
double quantile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto at = static_cast<size_t>(q * double(xs.size()));
  return xs[std::min(at, xs.size() - 1)];
}

/// A concurrent swarm of `agents` agents, one LLM call each; the same text goes to the server
/// and to the embedding API.
std::string spec_text(const std::string& name, size_t agents) {
  std::ostringstream out;
  out << "name: " << name << "\n"
      << "llm:\n  timeout_ms: 120000\n"
      << "swarm:\n  architecture: concurrent\n  member_timeout_ms: 120000\n"
      << "agents:\n";
  for (size_t i = 0; i < agents; ++i)
    out << "  - name: a" << i << "\n    system_prompt: You are agent a" << i << ".\n";
  return out.str();
}

/// One keep-alive HTTP/1.1 connection, one request at a time on the caller's thread (plain
/// blocking Beast); remade after a failure or a `Connection: close`.
class session {
public:
  explicit session(uint16_t port) : ep_(asio::ip::make_address("127.0.0.1"), port) {}

  /// POSTs `body` (JSON) to `target`; the status (0 when the exchange failed) and the body.
  std::pair<unsigned, std::string> post(const std::string& target, const std::string& body) {
    if (!stream_ && !connect())
      return {0, {}};
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    http::write(*stream_, req, ec);
    http::response<http::string_body> res;
    if (!ec)
      http::read(*stream_, buffer_, res, ec);
    if (ec) {
      stream_.reset();
      buffer_.clear();
      return {0, {}};
    }
    if (!res.keep_alive())
      stream_.reset();
    return {res.result_int(), std::move(res.body())};
  }

private:
  bool connect() {
    stream_.emplace(ioc_);
    beast::error_code ec;
    stream_->socket().connect(ep_, ec);
    if (ec) {
      stream_.reset();
      return false;
    }
    stream_->socket().set_option(tcp::no_delay{true});
    return true;
  }

  asio::io_context ioc_{1};
  tcp::endpoint ep_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

/// One batch: `n` calls from `clients` threads at once, each call's latency, the batch's wall.
struct batch {
  double wall_ms = 0;
  std::vector<double> latencies_ms;
  size_t failed = 0;
  double per_s() const { return wall_ms > 0 ? double(latencies_ms.size()) * 1000 / wall_ms : 0; }
};

/// Runs `call(client_index)` `n` times over `clients` threads (each its own client state, made
/// by `make_client`), returning per-call latencies; a call returns false when it failed.
template <class MakeClient, class Call>
batch run_batch(size_t n, size_t clients, MakeClient make_client, Call call) {
  batch out;
  std::atomic<size_t> next{0};
  std::mutex mtx;
  std::vector<std::thread> threads;
  auto t0 = clock_type::now();
  for (size_t c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      auto client = make_client();
      std::vector<double> mine;
      size_t failed = 0;
      while (next.fetch_add(1) < n) {
        auto s = clock_type::now();
        bool ok = call(client);
        mine.push_back(ms_since(s));
        failed += ok ? 0 : 1;
      }
      std::lock_guard lock{mtx};
      out.latencies_ms.insert(out.latencies_ms.end(), mine.begin(), mine.end());
      out.failed += failed;
    });
  for (auto& t : threads)
    t.join();
  out.wall_ms = ms_since(t0);
  return out;
}

/// A 2xx answer whose JSON is an object with `check(object)` true.
template <class Check>
bool json_ok(const std::pair<unsigned, std::string>& reply, Check check) {
  if (reply.first < 200 || reply.first >= 300)
    return false;
  boost::system::error_code ec;
  auto v = json::parse(reply.second, ec);
  return !ec && v.is_object() && check(v.as_object());
}

bool run_done(const json::object& o) {
  auto* s = o.if_contains("status");
  return s != nullptr && s->is_string() && s->as_string() == "done";
}

bool completion_ok(const json::object& o) {
  auto* c = o.if_contains("choices");
  return c != nullptr && c->is_array() && !c->as_array().empty();
}

struct options {
  std::string swarm_bin = SWARM_BINARY;
  size_t runs = 2000;
  size_t clients = 8;
  size_t agents = 3;
  int rounds = 3;
  size_t event_agents = 50;
  size_t subscribers = 100;
  int event_rounds = 3;
  bool do_runs = true, do_facade = true, do_events = true;
};

struct throughput_row {
  std::vector<double> ours_per_s, floor_per_s;
  std::vector<double> ours_lat, floor_lat;
  size_t failed = 0, floor_failed = 0;
};

struct event_row {
  std::vector<double> per_s;
  std::vector<double> run_ms;
  std::vector<double> client_cpu; // this process's CPU over the subscribers' wall, in cores
  size_t events = 0;              // per subscriber, last round
  size_t early_ends = 0;          // streams that ended before run_finished, all rounds
  std::string problem;
};

std::string run_body(const std::string& swarm, bool wait, size_t i) {
  json::object body{{"swarm", swarm}, {"task", "Answer question " + std::to_string(i) + "."}};
  body["wait"] = wait;
  return json::serialize(body);
}

std::string completion_body(const std::string& swarm, size_t i) {
  json::object body{{"model", swarm}};
  body["messages"] = json::array{
      json::object{{"role", "user"}, {"content", "Answer question " + std::to_string(i) + "."}}};
  return json::serialize(body);
}

/// The embedding API's batch: `n` runs of `team` from `clients` threads.
batch embedded_batch(const swarm::swarm_handle& team, size_t n, size_t clients) {
  std::atomic<size_t> seq{0};
  return run_batch(
      n, clients, [] { return 0; },
      [&](int&) {
        auto out = team.run({"Answer question " + std::to_string(seq++) + "."});
        return static_cast<bool>(out);
      });
}

/// N runs (or completions, `facade`) through the server from `clients` keep-alive clients.
batch served_batch(uint16_t port, const std::string& swarm, size_t n, size_t clients, bool facade) {
  std::atomic<size_t> seq{0};
  return run_batch(
      n, clients, [port] { return session{port}; },
      [&](session& s) {
        auto i = seq++;
        if (facade)
          return json_ok(s.post("/v1/chat/completions", completion_body(swarm, i)), completion_ok);
        return json_ok(s.post("/v1/runs", run_body(swarm, true, i)), run_done);
      });
}

/// One events round: starts a run of `swarm` without waiting, then `subscribers` SSE clients
/// read its events from the first one. Fills `row` or sets row.problem.
void events_round(uint16_t port, const std::string& swarm, size_t subscribers, event_row& row) {
  session s{port};
  auto started = s.post("/v1/runs", run_body(swarm, false, 0));
  std::string id;
  if (json_ok(started, [&](const json::object& o) {
        auto* v = o.if_contains("id");
        if (v != nullptr && v->is_string())
          id = std::string{v->as_string()};
        return !id.empty();
      }) == false) {
    row.problem = "POST /v1/runs answered " + std::to_string(started.first) + ": " +
                  started.second.substr(0, 300);
    return;
  }
  swarm::net::api_client client{swarm::net::api_endpoint{"127.0.0.1", std::to_string(port), ""}, "",
                                std::chrono::seconds(60)};
  auto target = "/v1/runs/" + id + "/events";
  std::vector<size_t> counts(subscribers, 0);
  std::vector<char> finished(subscribers, 0); // not vector<bool>: one thread each
  std::vector<clock_type::time_point> begins(subscribers), ends(subscribers);
  std::vector<std::string> errors(subscribers);
  std::vector<std::thread> threads;
  std::vector<size_t> early(subscribers, 0);
  auto cpu0 = process_cpu_s();
  for (size_t i = 0; i < subscribers; ++i)
    threads.emplace_back([&, i] {
      begins[i] = clock_type::now();
      // A stream that ends before run_finished is resumed with Last-Event-ID, as EventSource
      // does; each such end is counted (early_ends).
      std::string last_id;
      for (int attempt = 0; attempt < 200 && !finished[i]; ++attempt) {
        if (attempt > 0) {
          ++early[i];
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        auto err = client.stream(target, last_id,
                                 [&](const swarm::net::sse_event& e) {
                                   ++counts[i];
                                   last_id = e.id;
                                   if (e.event == "run_finished") {
                                     ends[i] = clock_type::now();
                                     finished[i] = 1;
                                     return false;
                                   }
                                   return true;
                                 },
                                 {});
        if (err) {
          errors[i] = swarm::describe(err);
          return;
        }
      }
    });
  for (auto& t : threads)
    t.join();
  for (size_t i = 0; i < subscribers; ++i) {
    if (!errors[i].empty()) {
      row.problem = "subscriber " + std::to_string(i) + ": " + errors[i];
      return;
    }
    if (!finished[i]) {
      row.problem = "subscriber " + std::to_string(i) + " saw no run_finished (" +
                    std::to_string(counts[i]) + " events)";
      return;
    }
  }
  // What the server's log keeps for the run: every subscriber must have had all of it.
  auto plain = client.call("GET", target + "?limit=10000");
  size_t kept = 0;
  if (!plain || plain->status != 200 || !json_ok({plain->status, plain->body}, [&](auto& o) {
        auto* d = o.if_contains("data");
        if (d != nullptr && d->is_array())
          kept = d->as_array().size();
        return d != nullptr;
      })) {
    row.problem = "GET " + target + " failed";
    return;
  }
  for (size_t i = 0; i < subscribers; ++i)
    if (counts[i] != counts[0] || counts[i] != kept) {
      row.problem = "subscribers got different counts of events: subscriber 0 got " +
                    std::to_string(counts[0]) + ", subscriber " + std::to_string(i) + " got " +
                    std::to_string(counts[i]) + ", the log keeps " + std::to_string(kept);
      return;
    }
  auto first = *std::min_element(begins.begin(), begins.end());
  auto last = *std::max_element(ends.begin(), ends.end());
  double secs = std::chrono::duration<double>(last - first).count();
  row.per_s.push_back(secs > 0 ? double(kept * subscribers) / secs : 0);
  row.client_cpu.push_back(secs > 0 ? (process_cpu_s() - cpu0) / secs : 0);
  row.events = kept;
  for (auto n : early)
    row.early_ends += n;
  // The run's own wall time, from the server.
  auto info = client.call("GET", "/v1/runs/" + id);
  if (info && info->status == 200) {
    boost::system::error_code ec;
    auto v = json::parse(info->body, ec);
    if (!ec && v.is_object()) {
      auto& o = v.as_object();
      auto* a = o.if_contains("started_ms");
      auto* b = o.if_contains("finished_ms");
      if (a != nullptr && b != nullptr && a->is_int64() && b->is_int64())
        row.run_ms.push_back(double(b->as_int64() - a->as_int64()));
    }
  }
}

int usage(bool ok) {
  std::cerr << "usage: bench_api [--only runs,facade,events] [--runs 2000] [--clients 8] "
               "[--agents 3] [--rounds 3] [--event-agents 50] [--subscribers 100] "
               "[--event-rounds 3] [--swarm PATH]\n";
  return ok ? 0 : 2;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string{argv[++i]}; };
    bool has = i + 1 < argc;
    if (a == "--swarm" && has)
      o.swarm_bin = next();
    else if (a == "--runs" && has)
      o.runs = std::stoul(next());
    else if (a == "--clients" && has)
      o.clients = std::stoul(next());
    else if (a == "--agents" && has)
      o.agents = std::stoul(next());
    else if (a == "--rounds" && has)
      o.rounds = std::stoi(next());
    else if (a == "--event-agents" && has)
      o.event_agents = std::stoul(next());
    else if (a == "--subscribers" && has)
      o.subscribers = std::stoul(next());
    else if (a == "--event-rounds" && has)
      o.event_rounds = std::stoi(next());
    else if (a == "--only" && has) {
      auto only = "," + next() + ",";
      o.do_runs = only.find(",runs,") != std::string::npos;
      o.do_facade = only.find(",facade,") != std::string::npos;
      o.do_events = only.find(",events,") != std::string::npos;
    } else
      return usage(a == "--help");
  }
  if (o.runs == 0 || o.clients == 0 || o.agents == 0 || o.rounds < 1 || o.event_agents == 0 ||
      o.subscribers == 0 || o.event_rounds < 1)
    return usage(false);
  swarm::bench::raise_fd_limit();

  swarm::bench::mock_process mock{o.swarm_bin, "latency: {fixed_ms: 0}\ndefault: {reply: 'done'}\n",
                                  "api-mock"};
  swarm::bench::serve_process server{o.swarm_bin, mock.url(), "mock", "api-serve"};
  const std::string team_name = "team", fan_name = "fan";
  auto team_text = spec_text(team_name, o.agents);
  {
    session s{server.port()};
    for (const auto& [name, text] : {std::pair{team_name, team_text},
                                     std::pair{fan_name, spec_text(fan_name, o.event_agents)}}) {
      auto r = s.post("/v1/swarms", text);
      if (r.first != 201) {
        std::cerr << "bench_api: POST /v1/swarms (" << name << ") answered " << r.first << ": "
                  << r.second << "\n";
        return 1;
      }
    }
  }

  std::vector<swarm::bench::figure> figures;
  std::vector<swarm::bench::param> params{{"agents", o.agents},
                                          {"architecture", "concurrent"},
                                          {"clients", o.clients},
                                          {"runs", o.runs},
                                          {"latency_ms", 0}};
  if (o.do_runs || o.do_facade) {
    // The floor: the embedding API with the server's runtime options, in this process.
    auto data = "/tmp/swarm-bench-api-embed-" + std::to_string(getpid());
    std::filesystem::remove_all(data);
    throughput_row runs_row, facade_row;
    {
      swarm::runtime_options opts;
      opts.data_dir = data;
      opts.event_log = true;
      swarm::runtime rt{opts, {mock.url(), "mock"}};
      auto spec = swarm::load_spec_text(team_text, "team");
      if (!spec) {
        std::cerr << "bench_api: " << swarm::describe(spec.error()) << "\n";
        return 1;
      }
      auto team = rt.spawn(*spec);
      if (!team) {
        std::cerr << "bench_api: " << swarm::describe(team.error()) << "\n";
        return 1;
      }
      size_t warm = std::min<size_t>(o.runs, 50);
      (void)embedded_batch(*team, warm, o.clients);
      if (o.do_runs)
        (void)served_batch(server.port(), team_name, warm, o.clients, false);
      if (o.do_facade)
        (void)served_batch(server.port(), team_name, warm, o.clients, true);
      for (int r = 0; r < o.rounds; ++r) {
        // One floor batch per mode of ours, alternating, so that both see the same machine.
        auto one = [&](throughput_row& row, bool facade) {
          auto floor = embedded_batch(*team, o.runs, o.clients);
          row.floor_per_s.push_back(floor.per_s());
          row.floor_lat.insert(row.floor_lat.end(), floor.latencies_ms.begin(),
                               floor.latencies_ms.end());
          row.floor_failed += floor.failed;
          auto ours = served_batch(server.port(), team_name, o.runs, o.clients, facade);
          row.ours_per_s.push_back(ours.per_s());
          row.ours_lat.insert(row.ours_lat.end(), ours.latencies_ms.begin(),
                              ours.latencies_ms.end());
          row.failed += ours.failed;
        };
        if (o.do_runs)
          one(runs_row, false);
        if (o.do_facade)
          one(facade_row, true);
      }
    }
    std::filesystem::remove_all(data);

    std::printf("\n| through | runs | clients | agents | runs/s (median of %d) | p50 ms | p99 ms "
                "| embedding runs/s | p50 ms | p99 ms | ours / embedding | failed (embedding) "
                "|\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
                o.rounds);
    auto report = [&](const throughput_row& row, const char* through, const char* rate_metric,
                      const char* rate_unit) {
      double ours = median(row.ours_per_s), floor = median(row.floor_per_s);
      double p50 = quantile(row.ours_lat, 0.5), p99 = quantile(row.ours_lat, 0.99);
      double fp50 = quantile(row.floor_lat, 0.5), fp99 = quantile(row.floor_lat, 0.99);
      std::printf("| %s | %zu | %zu | %zu | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f | %zu "
                  "(%zu) |\n",
                  through, o.runs, o.clients, o.agents, ours, p50, p99, floor, fp50, fp99,
                  floor > 0 ? ours / floor : 0, row.failed, row.floor_failed);
      std::fflush(stdout);
      auto p = params;
      p.emplace_back("through", through);
      figures.push_back({"api",
                         p,
                         rate_metric,
                         rate_unit,
                         swarm::bench::better::higher,
                         ours,
                         {{"embedding API", floor}}});
      figures.push_back(
          {"api", p, "p50_ms", "ms", swarm::bench::better::lower, p50, {{"embedding API", fp50}}});
      figures.push_back(
          {"api", p, "p99_ms", "ms", swarm::bench::better::lower, p99, {{"embedding API", fp99}}});
      figures.push_back({"api",
                         p,
                         "failed",
                         "requests",
                         swarm::bench::better::lower,
                         double(row.failed + row.floor_failed),
                         {}});
    };
    if (o.do_runs)
      report(runs_row, "POST /v1/runs", "runs_per_s", "runs/s");
    if (o.do_facade)
      report(facade_row, "POST /v1/chat/completions", "completions_per_s", "completions/s");
  }

  if (o.do_events) {
    event_row row;
    for (int r = 0; r < o.event_rounds && row.problem.empty(); ++r)
      events_round(server.port(), fan_name, o.subscribers, row);
    if (!row.problem.empty()) {
      std::cerr << "bench_api: events: " << row.problem << "\n";
      return 1;
    }
    double per_s = median(row.per_s);
    std::printf("\n| agents | subscribers | events each | deliveries/s (median of %d) | run ms "
                "| client CPU (cores) | streams ended early |\n|---|---|---|---|---|---|---|\n| "
                "%zu | %zu | %zu | %.0f | %.1f | %.2f | %zu |\n",
                o.event_rounds, o.event_agents, o.subscribers, row.events, per_s,
                median(row.run_ms), median(row.client_cpu), row.early_ends);
    std::fflush(stdout);
    figures.push_back({"api",
                       {{"agents", o.event_agents},
                        {"architecture", "concurrent"},
                        {"subscribers", o.subscribers},
                        {"latency_ms", 0}},
                       "events_per_s",
                       "events/s",
                       swarm::bench::better::higher,
                       per_s,
                       {}});
    figures.push_back({"api",
                       {{"agents", o.event_agents},
                        {"architecture", "concurrent"},
                        {"subscribers", o.subscribers},
                        {"latency_ms", 0}},
                       "early_ends",
                       "streams",
                       swarm::bench::better::lower,
                       double(row.early_ends),
                       {}});
  }
  for (const auto& f : figures)
    swarm::bench::record(f);
  return 0;
}
