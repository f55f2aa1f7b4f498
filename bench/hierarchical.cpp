// Scenario `hierarchical` (issue B): a lead plans N independent subtasks, N workers answer them,
// the lead aggregates; against `swarm mock-llm` (own process) at a fixed latency. Compares the
// wall time with the critical-path floor (plan, one subtask, aggregation: 3 sequential calls)
// and with a bare Beast client making the same calls in the same dependency shape (one plan
// call, then the N worker calls in parallel over the same connection bound, then one
// aggregation call), in the same run. Prints a markdown table and hands scenario "hierarchical"
// (wall_ms, floor "bare Beast client"; failed) to `swarm bench` (bench/records.hpp). Usage:
// bench_hierarchical [--help].
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <memory>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>

#include "bench/args.hpp"
#include "bench/mock_process.hpp"
#include "bench/records.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"

extern char** environ;

namespace {

using clock_type = std::chrono::steady_clock;

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[xs.size() / 2];
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// The mock's script: the planning prompt gets a plan of `n` independent subtasks, the
// aggregation prompt a fixed answer, everything else (the workers) "done".
std::string script_text(size_t n, int latency_ms) {
  std::ostringstream out;
  out << "latency: {fixed_ms: " << latency_ms << "}\n"
      << "default: {reply: 'done'}\n"
      << "rules:\n"
      << "  - match: {user: '^Write the final answer'}\n"
      << "    reply: 'final answer'\n"
      << "  - match: {user: '^Plan the task'}\n"
      << "    json: {subtasks: [";
  for (size_t i = 0; i < n; ++i)
    out << (i ? ", " : "") << "{id: s" << i << ", text: 'Answer part " << i
        << " in one word.', skill: '', depends_on: []}";
  out << "]}\n";
  return out.str();
}

swarm::swarm_spec hierarchical_spec(size_t workers) {
  swarm::swarm_spec spec;
  spec.name = "hier";
  spec.root.architecture = "hierarchical";
  spec.root.hierarchical.lead = "lead";
  spec.root.hierarchical.max_subtasks = static_cast<uint32_t>(workers);
  spec.root.guards.member_timeout = std::chrono::minutes(2);
  spec.agents.resize(workers + 1);
  spec.agents[0].name = "lead";
  spec.agents[0].system_prompt = "You are the lead: plan, then aggregate.";
  for (size_t i = 1; i <= workers; ++i) {
    auto& a = spec.agents[i];
    a.name = "w" + std::to_string(i - 1);
    a.system_prompt = "You are worker " + a.name + ".";
    spec.root.members.push_back(a.name);
  }
  for (auto& a : spec.agents)
    a.llm.timeout = std::chrono::minutes(2);
  return spec;
}

// One agent behind a concurrent coordinator: the cost of one LLM call through our layers.
swarm::swarm_spec single_spec() {
  swarm::swarm_spec spec;
  spec.name = "single";
  spec.root.architecture = "concurrent";
  spec.agents.resize(1);
  spec.agents[0].name = "solo";
  spec.agents[0].system_prompt = "You are solo.";
  return spec;
}

// The bare client's requests: the same messages our agents send, in substance (system prompt and
// the prompt the planning code writes; the mock's rules match them the same way).
std::string chat_body(const std::string& system, const std::string& user) {
  boost::json::object body{{"model", "mock"}};
  body["messages"] =
      boost::json::array{boost::json::object{{"role", "system"}, {"content", system}},
                         boost::json::object{{"role", "user"}, {"content", user}}};
  return boost::json::serialize(body);
}

const char* task_text = "Answer the thousand questions of the benchmark.";
const char* lead_prompt = "You are the lead: plan, then aggregate.";

/// The floor's client: plain Beast, one I/O thread (the caller's), at most `bound` keep-alive
/// connections to the mock, kept between batches as our connection pool keeps its idle ones.
class bare_pool {
public:
  bare_pool(uint16_t port, size_t bound)
      : endpoint_(boost::asio::ip::make_address("127.0.0.1"), port), bound_(bound) {}

  /// Sends `n` chat completions with `body` over at most `bound` connections, parsing each
  /// answer's JSON; returns when all are answered, with the number that failed.
  size_t run(const std::string& body, size_t n) {
    body_ = boost::json::parse(body);
    n_ = n;
    next_ = 0;
    failed_ = 0;
    for (size_t i = 0; i < std::min(n, bound_); ++i) {
      if (i == conns_.size())
        conns_.push_back(std::make_unique<conn>(ioc_));
      start(*conns_[i]);
    }
    ioc_.run();
    ioc_.restart();
    return failed_ + (n_ - next_); // unsent when every connection failed
  }

private:
  struct conn {
    explicit conn(boost::asio::io_context& ioc) : stream(ioc) {}
    boost::beast::tcp_stream stream;
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::http::response<boost::beast::http::string_body> res;
    bool open = false;
  };

  void start(conn& c) {
    if (c.open)
      return send(c);
    c.stream.async_connect(endpoint_, [this, &c](boost::beast::error_code ec) {
      if (ec)
        return fail(c);
      c.stream.socket().set_option(boost::asio::ip::tcp::no_delay{true});
      c.open = true;
      send(c);
    });
  }

  void send(conn& c) {
    if (next_ >= n_)
      return;
    ++next_;
    namespace http = boost::beast::http;
    c.req = {http::verb::post, "/v1/chat/completions", 11};
    c.req.set(http::field::host, "127.0.0.1");
    c.req.set(http::field::content_type, "application/json");
    c.req.body() = boost::json::serialize(body_); // encoded per request, as any client must
    c.req.prepare_payload();
    http::async_write(c.stream, c.req, [this, &c](boost::beast::error_code ec, size_t) {
      if (ec)
        return fail(c);
      c.res = {};
      http::async_read(c.stream, c.buffer, c.res,
                       [this, &c](boost::beast::error_code ec2, size_t) { on_read(c, ec2); });
    });
  }

  void on_read(conn& c, boost::beast::error_code ec) {
    if (ec)
      return fail(c);
    boost::system::error_code jec;
    auto v = boost::json::parse(c.res.body(), jec);
    if (jec || c.res.result() != boost::beast::http::status::ok || !v.is_object())
      ++failed_;
    if (!c.res.keep_alive()) {
      c.stream.socket().close();
      c.open = false;
      return start(c);
    }
    send(c);
  }

  // The connection's request fails and the connection is dropped; the others take the rest.
  void fail(conn& c) {
    ++failed_;
    boost::beast::error_code ignored;
    c.stream.socket().close(ignored);
    c.open = false;
    c.buffer.clear();
  }

  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::endpoint endpoint_;
  size_t bound_;
  std::vector<std::unique_ptr<conn>> conns_;
  boost::json::value body_;
  size_t n_ = 0, next_ = 0, failed_ = 0;
};

struct bare_bodies {
  std::string plan, worker, aggregate;
};

bare_bodies bare_requests(size_t workers) {
  bare_bodies out;
  std::string plan = "Plan the task below as subtasks for the members of your team.\n\nMembers "
                     "and their skills:\n";
  for (size_t i = 0; i < workers; ++i)
    plan += "- w" + std::to_string(i) + "\n";
  plan += "\nAnswer with JSON only: {\"subtasks\": [{\"id\": \"s1\", \"text\": \"...\", "
          "\"skill\": \"...\", \"depends_on\": []}]}.\n\nTask: ";
  plan += task_text;
  out.plan = chat_body(lead_prompt, plan);
  out.worker = chat_body("You are worker w0.", "Answer part 0 in one word.");
  std::string aggregate = "Write the final answer to the task from your team's answers to its "
                          "subtasks.\n\nTask: ";
  aggregate += task_text;
  for (size_t i = 0; i < workers; ++i)
    aggregate += "\n\n## Subtask s" + std::to_string(i) + ": Answer part " + std::to_string(i) +
                 " in one word.\nAnswer (from w" + std::to_string(i) + "):\ndone";
  out.aggregate = chat_body(lead_prompt, aggregate);
  return out;
}

struct row {
  size_t workers = 0;
  int latency_ms = 0;
  size_t max_connections = 0;
  double wall_ms = 0;   // median of the runs
  double single_ms = 0; // median of single-call runs
  double bare_ms = 0;   // median wall of the bare client's runs
  size_t bare_failed = 0;
  size_t llm_calls = 0; // of the last run (usage.calls)
  size_t failed = 0;    // failed members over all runs
  int runs = 0;
};

row measure(const std::string& swarm_bin, size_t workers, int latency_ms, size_t max_connections,
            int runs) {
  swarm::bench::mock_process mock{swarm_bin, script_text(workers, latency_ms), "hier"};
  row r;
  r.workers = workers;
  r.latency_ms = latency_ms;
  r.max_connections = max_connections;
  r.runs = runs;
  swarm::runtime_options opts;
  opts.scheduler_threads = 2;
  opts.llm.max_connections_per_endpoint = max_connections;
  opts.llm.max_idle_per_endpoint = max_connections; // keep the connections between runs
  swarm::runtime rt{opts, {mock.url(), "mock"}};
  auto single = rt.spawn(single_spec());
  auto team = rt.spawn(hierarchical_spec(workers));
  if (!single || !team)
    throw std::runtime_error("spawn failed");
  (void)single->run({"warm-up"});
  std::vector<double> singles;
  for (int i = 0; i < std::max(runs, 5); ++i) {
    auto t0 = clock_type::now();
    auto out = single->run({"one call"});
    singles.push_back(ms_since(t0));
    if (!out)
      ++r.failed;
  }
  r.single_ms = median(singles);
  // The bare client: the lead's plan call, the workers' calls in parallel, the aggregation call,
  // over at most `max_connections` keep-alive connections kept between runs.
  auto bodies = bare_requests(workers);
  bare_pool bare{mock.port(), max_connections};
  auto bare_run = [&] {
    auto t0 = clock_type::now();
    size_t failed = bare.run(bodies.plan, 1);
    failed += bare.run(bodies.worker, workers);
    failed += bare.run(bodies.aggregate, 1);
    return std::pair{ms_since(t0), failed};
  };
  (void)bare_run();             // warm-up
  (void)team->run({task_text}); // warm-up: connections, allocator
  std::vector<double> walls, bare_walls;
  for (int i = 0; i < runs; ++i) {
    // Alternating with ours, so that both see the same machine.
    auto [bare_ms, bare_failed] = bare_run();
    bare_walls.push_back(bare_ms);
    r.bare_failed += bare_failed;
    auto t0 = clock_type::now();
    auto out = team->run({task_text});
    walls.push_back(ms_since(t0));
    if (!out) {
      std::cerr << "run failed: " << swarm::describe(out.error()) << "\n";
      r.failed += workers;
      continue;
    }
    r.llm_calls = out->use.calls;
    for (const auto& m : out->trace)
      r.failed += m.error ? 1 : 0;
    if (out->text != "final answer")
      std::cerr << "unexpected final answer: " << out->text.substr(0, 200) << "\n";
  }
  r.wall_ms = median(walls);
  r.bare_ms = median(bare_walls);
  return r;
}

} // namespace

int main(int argc, char** argv) {
  std::string swarm_bin = SWARM_BINARY;
  size_t workers = 1000;
  int latency = 20;
  int runs = 5;
  std::vector<size_t> pools{1024, 256};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--swarm" && i + 1 < argc)
      swarm_bin = argv[++i];
    else if (a == "--runs" && i + 1 < argc)
      runs = std::stoi(argv[++i]);
    else if (a == "--workers" && i + 1 < argc)
      workers = std::stoul(argv[++i]);
    else if (a == "--latency" && i + 1 < argc)
      latency = std::stoi(argv[++i]);
    else if (a == "--pools" && i + 1 < argc) {
      pools = swarm::bench::parse_sizes(argv[++i]);
    } else {
      std::cerr << "usage: bench_hierarchical [--workers 1000] [--latency 20] [--runs 5] "
                   "[--pools 1024,256] [--swarm PATH]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  swarm::bench::raise_fd_limit();

  std::vector<row> rows;
  std::printf("| workers | latency | max conns/endpoint | wall ms (median of %d) | one call ms | "
              "floor ms (3 calls) | wall / floor | bare Beast ms | wall / bare | LLM calls | "
              "failed (bare) |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
              runs);
  for (auto pool : pools) {
    auto r = measure(swarm_bin, workers, latency, pool, runs);
    rows.push_back(r);
    double floor = 3 * r.single_ms;
    std::printf(
        "| %zu | %d ms | %zu | %.1f | %.1f | %.1f | %.2f | %.1f | %.2f | %zu | %zu (%zu) |\n",
        r.workers, r.latency_ms, r.max_connections, r.wall_ms, r.single_ms, floor,
        r.wall_ms / floor, r.bare_ms, r.wall_ms / r.bare_ms, r.llm_calls, r.failed, r.bare_failed);
    std::fflush(stdout);
    std::vector<swarm::bench::param> params{
        {"workers", r.workers}, {"latency_ms", r.latency_ms}, {"max_conns", r.max_connections}};
    swarm::bench::record({"hierarchical",
                          params,
                          "wall_ms",
                          "ms",
                          swarm::bench::better::lower,
                          r.wall_ms,
                          {{"bare Beast client", r.bare_ms}, {"3 sequential calls", floor}}});
    swarm::bench::record({"hierarchical",
                          params,
                          "failed",
                          "",
                          swarm::bench::better::lower,
                          static_cast<double>(r.failed),
                          {}});
  }
  return 0;
}
