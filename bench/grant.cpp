// Scenario `grant` (issue D): what the resource pool's grant adds to each LLM call. A fast inner
// llm_actor answers every chat_request at once; calls go to it directly, or through the LLM broker
// (spawn_llm_broker, sending to it as to a record/replay cassette) and the resource pool (budgets
// and prices set, slots never short). Same run, rounds alternate between the two; medians. Two
// shapes: one call at a time (latency) and K calls in flight (throughput). Prints a markdown table
// and hands each figure to `swarm bench` (bench/records.hpp).
// Usage: bench_grant [--calls N] [--rounds R] [--inflight K] [--policy stealing|sharing]
//                    [--no-caller-timeout]
// By default the driver sends each call with a 60 s request timeout, as an agent does (a CAF 0.17
// timer per call, through the clock thread, on both paths); --no-caller-timeout sends without one.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "bench/records.hpp"
#include "runtime/core/types.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/resource_pool.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using go_atom = caf::atom_constant<caf::atom("go")>;

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[xs.size() / 2];
}

/// An LLM that answers at once with a fixed usage: what is left is the cost of the messages.
swarm::llm_actor::behavior_type fast_llm(swarm::llm_actor::pointer, swarm::usage use) {
  return {
      [use](swarm::chat_request& req) {
        swarm::chat_result res;
        res.call_id = req.call_id;
        res.content = "ok";
        res.use = use;
        return res;
      },
      [use](swarm::embedding_request& req) {
        swarm::embedding_result res;
        res.call_id = req.call_id;
        res.use = use;
        return res;
      },
      [](const swarm::chat_cancel&) {},
  };
}

/// Sends `calls` copies of `proto` to `target`, `inflight` at a time, and fulfils `done` with
/// the seconds it took once every answer is in.
caf::behavior driver(caf::event_based_actor* self, swarm::llm_actor target,
                     swarm::chat_request proto, size_t calls, size_t inflight, bool timeout,
                     std::shared_ptr<std::promise<double>> done) {
  struct progress {
    size_t sent = 0;
    size_t answered = 0;
    size_t failed = 0;
    clock_type::time_point start;
  };
  auto p = std::make_shared<progress>();
  auto send_one = std::make_shared<std::function<void()>>();
  *send_one = [=] {
    auto req = proto;
    req.call_id = ++p->sent;
    auto next = [=] {
      if (++p->answered == calls) {
        auto s = std::chrono::duration<double>(clock_type::now() - p->start).count();
        done->set_value(p->failed == 0 ? s : -1.0);
        self->quit();
      } else if (p->sent < calls) {
        (*send_one)();
      }
    };
    auto wait = timeout ? caf::duration{std::chrono::seconds(60)} : caf::duration{caf::infinite};
    self->request(target, wait, std::move(req))
        .then([next](swarm::chat_result&) { next(); },
              [p, next](caf::error&) {
                ++p->failed;
                next();
              });
  };
  return {
      [=](go_atom) {
        p->start = clock_type::now();
        for (size_t i = 0; i < inflight && p->sent < calls; ++i)
          (*send_one)();
      },
  };
}

/// Microseconds per call of one round against `target`.
double round_us(caf::actor_system& sys, const swarm::llm_actor& target,
                const swarm::chat_request& proto, size_t calls, size_t inflight, bool timeout) {
  auto done = std::make_shared<std::promise<double>>();
  auto result = done->get_future();
  auto d = sys.spawn(driver, target, proto, calls, inflight, timeout, done);
  caf::anon_send(d, go_atom::value);
  auto seconds = result.get();
  if (seconds < 0) {
    std::fprintf(stderr, "calls failed\n");
    std::exit(1);
  }
  return seconds * 1e6 / static_cast<double>(calls);
}

} // namespace

int main(int argc, char** argv) {
  size_t calls = 100'000;
  size_t rounds = 5;
  size_t inflight = 64;
  std::string policy = "stealing";
  bool timeout = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&] { return i + 1 < argc ? std::string{argv[++i]} : std::string{}; };
    if (arg == "--calls")
      calls = std::stoul(value());
    else if (arg == "--rounds")
      rounds = std::stoul(value());
    else if (arg == "--inflight")
      inflight = std::stoul(value());
    else if (arg == "--policy")
      policy = value();
    else if (arg == "--no-caller-timeout")
      timeout = false;
    else {
      std::printf("usage: bench_grant [--calls N] [--rounds R] [--inflight K] "
                  "[--policy stealing|sharing] [--no-caller-timeout]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  caf::actor_system_config cfg;
  swarm::register_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  cfg.set("scheduler.policy", caf::atom_from_string(policy));
  caf::actor_system sys{cfg};

  auto inner = sys.spawn(fast_llm, swarm::usage{120, 30, 1});
  swarm::resource_pool_options opts;
  opts.default_endpoint.max_concurrent = 1'000'000; // never short: the grant path alone
  opts.budgets.per_agent.max_tokens = 1'000'000'000'000;
  opts.budgets.runtime.max_usd = 1'000'000;
  opts.prices.models["gpt-4o-mini"] = swarm::model_price{0.15, 0.6};
  auto pool = swarm::spawn_resource_pool(sys, opts);
  swarm::llm_broker_options broker_opts;
  broker_opts.inner = inner; // the broker's grant path alone: no client, no journal
  auto gate = swarm::spawn_llm_broker(sys, nullptr, pool, broker_opts);

  swarm::chat_request proto;
  proto.run_id = "r1";
  proto.agent = swarm::agent_id{"bench", "worker"};
  proto.task_id = "t1";
  proto.endpoint.url = "http://127.0.0.1:8089/v1";
  proto.model = "gpt-4o-mini";
  proto.messages.push_back({"system", "You are worker, a careful analyst.", "", "", {}});
  proto.messages.push_back(
      {"user",
       "Summarise the quarterly report in three sentences, citing the figures.",
       "",
       "",
       {}});
  proto.max_tokens = 256;
  proto.timeout = std::chrono::seconds(60);

  std::printf(
      "calls per round %zu, rounds %zu, policy %s, 2 scheduler threads, caller timeout %s\n\n",
      calls, rounds, policy.c_str(), timeout ? "60 s" : "none");
  std::printf("| shape | inner alone (us/call) | broker + pool + inner (us/call) | grant overhead "
              "(us/call) | gated / alone |\n|---|---|---|---|---|\n");
  for (size_t k : {size_t{1}, inflight}) {
    // Warm-up of both paths.
    round_us(sys, inner, proto, std::min<size_t>(calls, 10'000), k, timeout);
    round_us(sys, gate, proto, std::min<size_t>(calls, 10'000), k, timeout);
    std::vector<double> bare;
    std::vector<double> gated;
    std::vector<double> overhead;
    for (size_t r = 0; r < rounds; ++r) {
      auto b = round_us(sys, inner, proto, calls, k, timeout);
      auto g = round_us(sys, gate, proto, calls, k, timeout);
      bare.push_back(b);
      gated.push_back(g);
      overhead.push_back(g - b);
    }
    auto shape = std::to_string(k) + " in flight";
    std::printf("| %s | %.2f | %.2f | %.2f | %.2f |\n",
                k == 1 ? "1 in flight (latency)" : shape.c_str(), median(bare), median(gated),
                median(overhead), median(gated) / median(bare));
    std::fflush(stdout);
    using swarm::bench::better;
    using swarm::bench::figure;
    swarm::bench::record(figure{"grant",
                                {{"shape", shape}},
                                "us_per_call",
                                "us",
                                better::lower,
                                median(gated),
                                {{"LLM actor alone", median(bare)}}});
    swarm::bench::record(figure{"grant",
                                {{"shape", shape}},
                                "grant_overhead_us",
                                "us",
                                better::lower,
                                median(overhead),
                                {}});
  }
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(inner, caf::exit_reason::user_shutdown);
  return 0;
}
