// The LLM broker (runtime/llm_broker) in front of the real LLM client and the in-process mock
// ("broker": its grant path): budgets that run out mid-way, slot limits seen from the server, 429
// storms, cancellation, and no slot leaks.
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/types.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/pool_options.hpp"
#include "runtime/resource_pool.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_broker.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

const agent_id alice{"demo", "alice"};

/// What one call through the broker came back with.
struct outcome {
  std::optional<chat_result> res;
  caf::error err;
};

/// The mock LLM (script from text, two I/O threads), the real client and LLM actor, a pool
/// (tests/support/mock_broker.hpp) and the broker before them.
struct broker_fixture : test::mock_broker {
  llm_actor broker;

  explicit broker_fixture(const std::string& script, resource_pool_options pool_opts = {},
                          llm_broker_options broker_opts = {}, uint32_t retries = 0)
      : mock_broker(script,
                    {.pool = std::move(pool_opts), .max_retries = retries, .mock = {.threads = 2}}),
        broker(spawn_broker(std::move(broker_opts))) {}

  chat_request request(uint64_t id, const std::string& user, int32_t max_tokens = 0) const {
    chat_request req;
    req.call_id = id;
    req.agent = alice;
    req.run_id = "r1";
    req.task_id = "t1";
    req.endpoint.url = mock->url();
    req.model = "mock";
    req.messages.push_back({"user", user, "", "", {}});
    req.max_tokens = max_tokens;
    req.timeout = 20s;
    return req;
  }

  /// Sends every request at once, then collects every answer.
  std::vector<outcome> call_all(std::vector<chat_request> reqs) {
    caf::scoped_actor self{*sys};
    using handle = decltype(self->request(broker, 30s, chat_request{}));
    std::vector<handle> pending;
    for (auto& req : reqs)
      pending.push_back(self->request(broker, 30s, std::move(req)));
    std::vector<outcome> out(pending.size());
    for (size_t i = 0; i < pending.size(); ++i)
      pending[i].receive([&](chat_result& res) { out[i].res = std::move(res); },
                         [&](caf::error& err) { out[i].err = std::move(err); });
    return out;
  }
};

/// Thread-safe record of the call ids answered, in answer order (0: an error).
struct call_log {
  std::mutex mx;
  std::vector<uint64_t> order;

  void add(uint64_t id) {
    std::lock_guard<std::mutex> guard{mx};
    order.push_back(id);
  }
};

/// Sends `reqs` to `broker` in order from one actor and logs each answer as it comes.
void send_in_order(caf::event_based_actor* self, llm_actor broker, std::vector<chat_request> reqs,
                   std::shared_ptr<call_log> log) {
  for (auto& req : reqs)
    self->request(broker, 30s, std::move(req))
        .then([log](const chat_result& res) { log->add(res.call_id); },
              [log](const caf::error&) { log->add(0); });
}

resource_pool_options slots(size_t n) {
  resource_pool_options opts;
  opts.default_endpoint.max_concurrent = n;
  return opts;
}

} // namespace

TEST_CASE("the broker estimates prompts by bytes over four plus four per message", "[broker]") {
  chat_request req;
  req.messages.push_back({"system", "12345678", "", "", {}});             // 8 bytes
  req.messages.push_back({"user", "abc", "bob", "", {}});                 // 6 bytes
  req.messages.push_back({"assistant", "", "", "", {{"id", "f", "{}"}}}); // 3 bytes
  // 17 bytes -> 5 tokens, plus 4 for each of the 3 messages.
  CHECK(estimate_prompt_tokens(req) == 5 + 12);
  req.tools.push_back({"tool", "does", "{}"}); // 10 bytes more: 27 -> 7
  CHECK(estimate_prompt_tokens(req) == 7 + 12);
  llm_broker_options opts;
  CHECK(estimate_completion_tokens(req, opts) == 1024);
  req.max_tokens = 50;
  CHECK(estimate_completion_tokens(req, opts) == 50);
  embedding_request emb;
  emb.input = {"abcd", "abcde", ""};
  CHECK(estimate_embedding_tokens(emb) == 1 + 2 + 0);
}

TEST_CASE("a call through the broker is answered and its usage settled in the pool", "[broker]") {
  broker_fixture f{"rules:\n  - match: {user: hi}\n    reply: hello\n"
                   "    usage: {prompt_tokens: 9, completion_tokens: 3}\n"};
  auto out = f.call_all({f.request(1, "hi")});
  REQUIRE(out[0].res);
  CHECK(out[0].res->content == "hello");
  CHECK(out[0].res->call_id == 1);
  auto use = f.pool->usage_of(alice);
  REQUIRE(use);
  CHECK(use->use.prompt_tokens == 9);
  CHECK(use->use.completion_tokens == 3);
  CHECK(use->use.calls == 1);
  CHECK(use->reserved_tokens == 0);
  CHECK(f.occupancy().held == 0);
  // Embeddings pass through the broker too.
  caf::scoped_actor self{*f.sys};
  embedding_request emb;
  emb.call_id = 2;
  emb.endpoint.url = f.mock->url();
  emb.model = "mock";
  emb.input = {"a", "b"};
  self->request(f.broker, 30s, emb)
      .receive([&](const embedding_result& res) { CHECK(res.vectors.size() == 2); },
               [&](const caf::error& err) { FAIL("unexpected error: " << describe(err)); });
  CHECK(f.mock->stats().embedding_requests == 1);
  CHECK(f.occupancy().held == 0);
}

TEST_CASE("a budget that runs out mid-way ends exactly at the limit with exact accounting",
          "[broker]") {
  constexpr int32_t completion = 10;
  constexpr size_t calls = 10;
  constexpr uint64_t affordable = 4;
  broker_fixture probe_fixture{""};
  auto probe = probe_fixture.request(0, "count", completion);
  auto prompt = estimate_prompt_tokens(probe);
  // The server reports exactly what the broker estimates, so each call costs its reservation.
  auto script = "rules:\n  - match: {user: count}\n    reply: done\n    usage: {prompt_tokens: " +
                std::to_string(prompt) + ", completion_tokens: " + std::to_string(completion) +
                "}\n";
  auto per_call = prompt + completion;
  auto limit = affordable * per_call;
  auto run = [&](resource_pool_options opts, const std::string& refusal) {
    broker_fixture f{script, opts};
    std::vector<chat_request> reqs;
    for (size_t i = 0; i < calls; ++i)
      reqs.push_back(f.request(i + 1, "count", completion));
    auto out = f.call_all(std::move(reqs));
    size_t ok = 0;
    for (const auto& o : out) {
      if (o.res) {
        ++ok;
        continue;
      }
      CHECK(is(o.err, errc::budget_exhausted));
      CHECK(describe(o.err).find("call of agent 'demo/alice' refused: " + refusal) !=
            std::string::npos);
    }
    CHECK(ok == affordable);
    CHECK(f.mock->stats().chat_requests == affordable); // refused calls were never sent
    auto use = f.pool->usage_total();
    REQUIRE(use);
    CHECK(use->use.total_tokens() == limit);
    CHECK(use->use.calls == affordable);
    CHECK(use->reserved_tokens == 0);
    CHECK(f.occupancy().held == 0);
  };
  SECTION("agent level") {
    resource_pool_options opts;
    opts.budgets.per_agent.max_tokens = limit;
    run(opts, "agent 'demo/alice' token budget exhausted: " + std::to_string(limit) +
                  " committed + " + std::to_string(per_call) + " requested > limit " +
                  std::to_string(limit));
  }
  SECTION("swarm level") {
    resource_pool_options opts;
    opts.budgets.swarms["demo"].max_tokens = limit + per_call - 1;
    run(opts, "swarm 'demo' token budget exhausted");
  }
  SECTION("runtime level, in money") {
    resource_pool_options opts;
    // $1 per million tokens either way: a call costs per_call micro-dollars.
    opts.prices.models["mock"] = model_price{1.0, 1.0};
    opts.budgets.runtime.max_usd = static_cast<double>(limit) / 1e6;
    run(opts, "runtime money budget exhausted");
  }
}

TEST_CASE("a sub-swarm's budget refuses its agents' calls while a sibling sub-swarm goes on",
          "[broker]") {
  constexpr int32_t completion = 10;
  broker_fixture probe_fixture{""};
  auto prompt = estimate_prompt_tokens(probe_fixture.request(0, "count", completion));
  auto per_call = prompt + completion;
  auto script = "rules:\n  - match: {user: count}\n    reply: done\n    usage: {prompt_tokens: " +
                std::to_string(prompt) + ", completion_tokens: " + std::to_string(completion) +
                "}\n";
  auto spec = load_spec_text("name: demo\nswarms:\n  board: {members: [alice], budget: {tokens: " +
                             std::to_string(2 * per_call) +
                             "}}\n  free: {members: [bob]}\nswarm: {members: [board, free]}\n"
                             "agents: [{name: alice}, {name: bob}]\n");
  REQUIRE(spec);
  broker_fixture f{script, pool_options_from(*spec)};
  const agent_id bob{"demo", "bob"};
  std::vector<chat_request> reqs;
  for (uint64_t i = 1; i <= 10; ++i) {
    reqs.push_back(f.request(i, "count", completion));
    if (i % 2 == 0)
      reqs.back().agent = bob;
  }
  auto out = f.call_all(std::move(reqs));
  size_t alice_ok = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i % 2 == 1) {
      CHECK(out[i].res); // bob's sub-swarm has no limit
      continue;
    }
    if (out[i].res) {
      ++alice_ok;
      continue;
    }
    CHECK(is(out[i].err, errc::budget_exhausted));
    CHECK(describe(out[i].err)
              .find("call of agent 'demo/alice' refused: swarm 'demo/board' token budget "
                    "exhausted") != std::string::npos);
  }
  CHECK(alice_ok == 2);
  CHECK(f.mock->stats().chat_requests == 7);
  CHECK(f.pool->usage_of_swarm("demo/board")->use.total_tokens() == 2 * per_call);
  CHECK(f.pool->usage_of_swarm("demo/free")->use.total_tokens() == 5 * per_call);
  CHECK(f.pool->usage_of_swarm("demo")->use.total_tokens() == 7 * per_call);
  CHECK(f.pool->usage_of_swarm("demo")->reserved_tokens == 0);
  CHECK(f.occupancy().held == 0);
}

TEST_CASE("calls through the broker never exceed the endpoint's slots", "[broker]") {
  constexpr size_t max_concurrent = 3;
  broker_fixture f{"latency: {fixed_ms: 40}\n", slots(max_concurrent)};
  std::vector<chat_request> reqs;
  for (uint64_t i = 1; i <= 24; ++i)
    reqs.push_back(f.request(i, "parallel"));
  auto out = f.call_all(std::move(reqs));
  for (const auto& o : out)
    CHECK(o.res);
  auto stats = f.mock->stats();
  CHECK(stats.chat_requests == 24);
  CHECK(stats.peak_in_flight <= max_concurrent);
  CHECK(stats.peak_in_flight >= 2); // the calls did overlap: the limit was what held them
  CHECK(f.occupancy().held == 0);
  CHECK(f.occupancy().waiting == 0);
}

TEST_CASE("calls that wait for a slot behind the broker are sent in the order they came",
          "[broker]") {
  broker_fixture f{"latency: {fixed_ms: 10}\n", slots(1)};
  auto log = std::make_shared<call_log>();
  std::vector<chat_request> reqs;
  for (uint64_t i = 1; i <= 8; ++i)
    reqs.push_back(f.request(i, "in order"));
  // One sender: the broker sees the calls in this order; one slot: each answer is a grant.
  auto driver = f.sys->spawn(send_in_order, f.broker, std::move(reqs), log);
  REQUIRE(test::eventually([&] {
    std::lock_guard<std::mutex> guard{log->mx};
    return log->order.size() == 8;
  }));
  {
    std::lock_guard<std::mutex> guard{log->mx};
    CHECK(log->order == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8});
  }
  CHECK(f.mock->stats().peak_in_flight == 1);
  REQUIRE(test::eventually([&] { return f.occupancy().held == 0; }));
  CHECK(f.occupancy().waiting == 0);
  caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
}

TEST_CASE("a 429 storm slows calls down but every call succeeds", "[broker]") {
  broker_fixture f{
      "seed: 3\nfaults:\n  - {kind: http_429, rate: 0.5, retry_after_s: 0}\n", slots(4), {}, 12};
  std::vector<chat_request> reqs;
  for (uint64_t i = 1; i <= 30; ++i)
    reqs.push_back(f.request(i, "storm " + std::to_string(i)));
  auto out = f.call_all(std::move(reqs));
  size_t retried = 0;
  for (const auto& o : out) {
    REQUIRE(o.res);
    retried += o.res->attempts > 1 ? 1 : 0;
  }
  auto stats = f.mock->stats();
  CHECK(stats.status_counts[429] > 0);
  CHECK(retried > 0);
  CHECK(stats.peak_in_flight <= 4); // retries stay inside the grant's slot
  auto use = f.pool->usage_of(alice);
  REQUIRE(use);
  CHECK(use->use.calls == 30);
  CHECK(use->use.total_tokens() == stats.prompt_tokens + stats.completion_tokens);
  CHECK(f.occupancy().held == 0);
}

TEST_CASE("a call cancelled while waiting for its grant is withdrawn and never sent", "[broker]") {
  broker_fixture f{"rules:\n  - match: {user: slow}\n    reply: late\n    latency_ms: 1500\n",
                   slots(1)};
  caf::scoped_actor self{*f.sys};
  auto slow = self->request(f.broker, 30s, f.request(1, "slow"));
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  auto waiting = self->request(f.broker, 30s, f.request(2, "quick", 5));
  REQUIRE(test::eventually([&] { return f.occupancy().waiting == 1; }));
  CHECK(f.pool->usage_of(alice)->reserved_tokens > 0);
  caf::anon_send(f.broker, chat_cancel{2});
  bool cancelled = false;
  waiting.receive([&](const chat_result&) { FAIL("the cancelled call was answered"); },
                  [&](const caf::error& err) { cancelled = is(err, errc::llm_cancelled); });
  CHECK(cancelled);
  REQUIRE(test::eventually([&] { return f.occupancy().waiting == 0; }));
  slow.receive([&](const chat_result& res) { CHECK(res.content == "late"); },
               [&](const caf::error& err) { FAIL("unexpected error: " << describe(err)); });
  REQUIRE(test::eventually([&] { return f.occupancy().held == 0; }));
  CHECK(f.mock->stats().chat_requests == 1);
  auto use = f.pool->usage_of(alice);
  CHECK(use->use.calls == 1);
  CHECK(use->reserved_tokens == 0);
}

TEST_CASE("a cancel of a forwarded call reaches the client and frees the slot", "[broker]") {
  broker_fixture f{"latency: {fixed_ms: 5000}\n", slots(1)};
  caf::scoped_actor self{*f.sys};
  auto call = self->request(f.broker, 30s, f.request(1, "long"));
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  caf::anon_send(f.broker, chat_cancel{1});
  bool cancelled = false;
  call.receive([&](const chat_result&) { FAIL("the cancelled call was answered"); },
               [&](const caf::error& err) { cancelled = is(err, errc::llm_cancelled); });
  CHECK(cancelled);
  REQUIRE(test::eventually([&] { return f.occupancy().held == 0; }));
  CHECK(f.pool->usage_of(alice)->reserved_tokens == 0);
  CHECK(test::eventually([&] { return f.mock->stats().cancels == 1; }));
}

TEST_CASE("no slot leaks after failed calls, refusals and a grant timeout", "[broker]") {
  broker_fixture f{"rules:\n  - match: {user: slow}\n    reply: late\n    latency_ms: 1500\n"
                   "faults:\n  - {kind: http_500, match: {user: broken}}\n"
                   "  - {kind: invalid_json, match: {user: garbled}}\n",
                   slots(1), llm_broker_options{50ms}};
  auto out = f.call_all({f.request(1, "broken"), f.request(2, "garbled")});
  CHECK(is(out[0].err, errc::llm_http_error));
  CHECK(is(out[1].err, errc::llm_invalid_response));
  // A call that fails before it is sent.
  auto bad = f.request(3, "x");
  bad.endpoint.url = "not a url";
  auto failed = f.call_all({bad});
  CHECK(is(failed[0].err, errc::invalid_argument));
  CHECK(f.occupancy().held == 0);
  auto bad_occupancy = f.pool->occupancy("not a url");
  CHECK(bad_occupancy->held == 0);
  // Failed calls carry no usage: nothing settled, nothing left reserved.
  auto use = f.pool->usage_of(alice);
  CHECK(use->use.total_tokens() == 0);
  CHECK(use->reserved_tokens == 0);
  // A call that gets no slot within grant_timeout fails without being sent.
  caf::scoped_actor self{*f.sys};
  auto slow = self->request(f.broker, 30s, f.request(4, "slow"));
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 1; }));
  auto late = f.call_all({f.request(5, "quick")});
  CHECK(is(late[0].err, errc::llm_timeout));
  CHECK(describe(late[0].err)
            .find("agent 'demo/alice' got no slot on " + f.mock->url() + " within 50 ms") !=
        std::string::npos);
  slow.receive([](const chat_result&) {},
               [&](const caf::error& err) { FAIL("unexpected error: " << describe(err)); });
  REQUIRE(test::eventually([&] { return f.occupancy().held == 0; }));
  CHECK(f.occupancy().waiting == 0);
  CHECK(f.mock->stats().chat_requests == 3);
  CHECK(f.pool->usage_of(alice)->reserved_tokens == 0);
}

TEST_CASE("a call id already in flight through the broker is refused", "[broker]") {
  broker_fixture f{"latency: {fixed_ms: 300}\n"};
  auto out = f.call_all({f.request(1, "a"), f.request(1, "b")});
  CHECK(out[0].res);
  CHECK(is(out[1].err, errc::invalid_argument));
  REQUIRE(test::eventually([&] { return f.occupancy().held == 0; }));
}

TEST_CASE("when the LLM actor dies its forwarded calls fail and their slots are freed",
          "[broker]") {
  broker_fixture f{"latency: {fixed_ms: 5000}\n", slots(2)};
  // The broker's second path (a record/replay cassette): calls go to an LLM actor, not the client.
  llm_broker_options through;
  through.inner = f.llm;
  caf::anon_send_exit(f.broker, caf::exit_reason::user_shutdown);
  f.broker = f.spawn_broker(through);
  caf::scoped_actor self{*f.sys};
  auto a = self->request(f.broker, 30s, f.request(1, "a"));
  auto b = self->request(f.broker, 30s, f.request(2, "b"));
  REQUIRE(test::eventually([&] { return f.mock->stats().in_flight == 2; }));
  caf::anon_send_exit(f.llm, caf::exit_reason::kill);
  for (auto* call : {&a, &b}) {
    bool failed = false;
    call->receive([&](const chat_result&) { FAIL("answered by a dead actor"); },
                  [&](const caf::error& err) { failed = is(err, errc::llm_connect_failed); });
    CHECK(failed);
  }
  REQUIRE(test::eventually([&] { return f.occupancy().held == 0; }));
  // Later calls fail at once, and leave nothing held either.
  auto later = f.call_all({f.request(3, "c")});
  CHECK(later[0].err);
  REQUIRE(test::eventually([&] { return f.occupancy().held == 0; }));
  CHECK(f.pool->usage_of(alice)->reserved_tokens == 0);
}

TEST_CASE("a broker that stops releases the grants it holds", "[broker]") {
  broker_fixture f{"latency: {fixed_ms: 5000}\n", slots(1)};
  caf::scoped_actor self{*f.sys};
  self->send(f.broker, f.request(1, "held"));
  self->send(f.broker, f.request(2, "waiting"));
  REQUIRE(test::eventually([&] { return f.occupancy().held == 1 && f.occupancy().waiting == 1; }));
  caf::anon_send_exit(f.broker, caf::exit_reason::kill);
  f.broker = nullptr;
  REQUIRE(test::eventually([&] { return f.occupancy().held == 0 && f.occupancy().waiting == 0; }));
  CHECK(f.pool->usage_of(alice)->reserved_tokens == 0);
}
