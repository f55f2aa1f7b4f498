// The LLM broker's journal and its mailbox deliveries, against the real client and the
// in-process mock: a resumed run's finished calls are answered from the journal, a reply the
// store cannot keep fails its call, a slow journal stalls no scheduler thread, and a call costs
// at most 4 deliveries (3 without a journal, 2 answered from the journal).
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/cassette.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/resource_pool.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace swarm;

namespace {

/// A store that takes `delay` for every put (a slow disk) and remembers the thread it ran on.
class slow_store final : public call_store {
public:
  slow_store(std::shared_ptr<call_store> inner, std::chrono::milliseconds delay)
      : inner_(std::move(inner)), delay_(delay) {}

  caf::expected<std::optional<chat_result>> find(const std::string& key) override {
    return inner_->find(key);
  }

  caf::error put(const std::string& key, const chat_request& req,
                 const chat_result& reply) override {
    std::this_thread::sleep_for(delay_);
    puts.fetch_add(1);
    return inner_->put(key, req, reply);
  }

  std::string describe() const override { return inner_->describe(); }

  std::atomic<int> puts{0};

private:
  std::shared_ptr<call_store> inner_;
  std::chrono::milliseconds delay_;
};

/// The mock, the client, a pool and a way to spawn brokers on them. One scheduler thread: a
/// journal write on it would stall every other call.
struct broker_fixture {
  test::temp_dir dir;
  std::unique_ptr<mock_llm::server> srv;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<net::llm_client> client;
  std::optional<resource_pool_client> pool;
  std::vector<llm_actor> brokers;
  uint64_t next_id = 1;

  broker_fixture() {
    mock_llm::server_options mo;
    mo.script_path = dir.write("script.yaml", "default: {reply: \"reply #{{n}} to {{user}}\"}\n");
    auto started = mock_llm::server::start(mo);
    REQUIRE(started);
    srv = std::move(*started);
    register_types(cfg);
    cfg.set("scheduler.max-threads", 1);
    sys = std::make_unique<caf::actor_system>(cfg);
    llm_client_options opts;
    opts.max_retries = 0;
    client = std::make_shared<net::llm_client>(opts);
    pool.emplace(*sys, spawn_resource_pool(*sys, {}));
  }

  ~broker_fixture() {
    client->stop();
    for (auto& b : brokers)
      caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(pool->handle(), caf::exit_reason::user_shutdown);
    brokers.clear();
    pool.reset();
    client.reset();
    sys.reset();
    srv->stop();
  }

  llm_actor broker(llm_broker_options opts = {}) {
    brokers.push_back(spawn_llm_broker(*sys, client, pool->handle(), std::move(opts)));
    return brokers.back();
  }

  chat_request request(const std::string& user, const std::string& task = "t1", uint32_t step = 0) {
    chat_request req;
    req.call_id = next_id++;
    req.run_id = "run-1";
    req.agent = agent_id{"team", "alice"};
    req.task_id = task;
    req.step = step;
    req.endpoint.url = srv->url();
    req.model = "mock";
    req.messages.push_back({"user", user, "", "", {}});
    req.timeout = 10s;
    return req;
  }

  caf::expected<chat_result> call(const llm_actor& broker, const chat_request& req) {
    caf::expected<chat_result> out{make_error(errc::runtime_stopped, "no reply")};
    caf::scoped_actor self{*sys};
    self->request(broker, 20s, req)
        .receive([&](chat_result& r) { out = std::move(r); },
                 [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  std::shared_ptr<net::cassette> store(const std::string& name) {
    auto made = net::cassette::create((dir.path() / name).string());
    REQUIRE(made);
    return *made;
  }
};

/// Mailbox deliveries of one call: the messages its broker handled for it plus the answer.
uint64_t deliveries(broker_fixture& f, const llm_actor& broker,
                    const std::shared_ptr<std::atomic<uint64_t>>& handled,
                    const chat_request& req) {
  auto before = handled->load();
  auto res = f.call(broker, req);
  REQUIRE(res);
  // Everything the broker handled for the call came before the answer it sent last.
  return handled->load() - before + 1;
}

} // namespace

TEST_CASE_METHOD(broker_fixture,
                 "the journal answers a finished call instead of sending it again") {
  auto journal = store("journal.jsonl");
  llm_broker_options opts;
  opts.journal = journal;
  auto first_broker = broker(opts);
  auto first = call(first_broker, request("plan", "t1", 0));
  REQUIRE(first);
  CHECK(srv->stats().chat_requests == 1);
  // A second broker over the same store: a resumed run. Same position -> the journaled reply,
  // even though the request text differs (context may differ on resume).
  auto resumed = broker(opts);
  auto again = call(resumed, request("plan, with other context", "t1", 0));
  REQUIRE(again);
  CHECK(again->content == first->content);
  CHECK(srv->stats().chat_requests == 1);
  // Answered before any grant: the pool saw only the first call.
  CHECK(pool->usage_of(agent_id{"team", "alice"})->use.calls == 1);
  // The next step of the task was not finished: it goes out.
  auto next = call(resumed, request("step two", "t1", 1));
  REQUIRE(next);
  CHECK(next->content == "reply #2 to step two");
  CHECK(srv->stats().chat_requests == 2);
  // A call outside a run passes through untouched, every time.
  auto outside = request("no run");
  outside.run_id.clear();
  REQUIRE(call(resumed, outside));
  REQUIRE(call(resumed, outside));
  CHECK(srv->stats().chat_requests == 4);
}

TEST_CASE_METHOD(broker_fixture, "a reply the store cannot keep fails the call with the reason") {
  auto full = net::cassette::create("/dev/full");
  REQUIRE(full);
  llm_broker_options opts;
  opts.journal = *full;
  auto b = broker(opts);
  auto r = call(b, request("anything"));
  REQUIRE(!r);
  CHECK(is(r.error(), errc::storage_full));
  CHECK(describe(r.error()).find("/dev/full") != std::string::npos);
  // The call was made and its usage settled: nothing stays held.
  CHECK(srv->stats().chat_requests == 1);
  CHECK(pool->usage_of(agent_id{"team", "alice"})->reserved_tokens == 0);
}

TEST_CASE_METHOD(broker_fixture, "a slow journal disk stalls no scheduler thread") {
  auto slow = std::make_shared<slow_store>(store("slow.jsonl"), 600ms);
  llm_broker_options opts;
  opts.journal = slow;
  auto b = broker(opts);
  caf::scoped_actor self{*sys};
  auto journaled = self->request(b, 20s, request("kept slowly"));
  REQUIRE(test::eventually([&] { return srv->stats().chat_requests == 1; }));
  // On the only scheduler thread, a call outside a run (not journaled) is answered while the
  // first call's put still takes its time on the writer thread.
  auto outside = request("meanwhile");
  outside.run_id.clear();
  auto t0 = std::chrono::steady_clock::now();
  auto quick = call(b, outside);
  REQUIRE(quick);
  CHECK(std::chrono::steady_clock::now() - t0 < 400ms);
  CHECK(slow->puts == 0); // the put was still under way
  // The journaled call is answered only once its entry is kept.
  journaled.receive([&](chat_result& r) { CHECK(r.content == "reply #1 to kept slowly"); },
                    [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(slow->puts == 1);
}

TEST_CASE_METHOD(broker_fixture, "an LLM call costs at most 4 mailbox deliveries") {
  auto handled = std::make_shared<std::atomic<uint64_t>>(0);
  SECTION("granted, without a journal: 3 (request, the client's completion, the answer)") {
    llm_broker_options opts;
    opts.handled = handled;
    auto b = broker(opts);
    REQUIRE(call(b, request("warm-up"))); // the pool's core arrives once, at the start
    auto n = deliveries(*this, b, handled, request("counted", "t1", 1));
    CHECK(n == 3);
    CHECK(n <= 3);
  }
  SECTION("granted and journaled: 4 (request, completion, the writer's kept, the answer)") {
    llm_broker_options opts;
    opts.handled = handled;
    opts.journal = store("journal.jsonl");
    auto b = broker(opts);
    REQUIRE(call(b, request("warm-up")));
    auto n = deliveries(*this, b, handled, request("counted", "t1", 1));
    CHECK(n == 4);
    CHECK(n <= 4);
  }
  SECTION("resumed, answered from the journal: 2 (request, answer)") {
    auto journal = store("journal.jsonl");
    llm_broker_options opts;
    opts.journal = journal;
    auto first = broker(opts);
    REQUIRE(call(first, request("warm-up")));
    REQUIRE(call(first, request("counted", "t1", 1)));
    opts.handled = handled;
    auto resumed = broker(opts);
    REQUIRE(call(resumed, request("warm-up")));
    auto sent = srv->stats().chat_requests;
    auto n = deliveries(*this, resumed, handled, request("counted", "t1", 1));
    CHECK(n == 2);
    CHECK(srv->stats().chat_requests == sent);
  }
}
