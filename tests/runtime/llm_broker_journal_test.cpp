// The LLM broker's journal and its mailbox deliveries, against the real client and the
// in-process mock: a resumed run's finished calls are answered from the journal, a reply the
// store cannot keep fails its call, a slow journal stalls no scheduler thread, and a call costs
// at most 4 deliveries (3 without a journal, 2 answered from the journal). Also its journal
// writer (drains on stop, may be destroyed from its own callback) and its bounded key counts.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/cassette.hpp"
#include "net/llm_client.hpp"
#include "net/llm_tape.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "runtime/detail/journal_keys.hpp"
#include "runtime/detail/journal_writer.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/resource_pool.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_broker.hpp"

using namespace std::chrono_literals;
using namespace swarm;

namespace {

/// A store whose puts wait until the test opens its gate (a disk that does not answer), and
/// that says how many puts began and how many returned.
class gated_store final : public call_store {
public:
  explicit gated_store(std::shared_ptr<call_store> inner) : inner_(std::move(inner)) {}

  caf::expected<std::optional<chat_result>> find(const std::string& key) override {
    return inner_->find(key);
  }

  caf::error put(const std::string& key, const chat_request& req,
                 const chat_result& reply) override {
    std::unique_lock<std::mutex> guard{mtx_};
    ++began_;
    changed_.notify_all();
    // Bounded: a test that never opens the gate fails here instead of hanging.
    if (!changed_.wait_for(guard, std::chrono::seconds(30), [this] { return open_; }))
      return make_error(errc::runtime_stopped, "test gate never opened");
    guard.unlock();
    auto err = inner_->put(key, req, reply);
    puts.fetch_add(1);
    return err;
  }

  std::string describe() const override { return inner_->describe(); }

  /// Waits (at most 20 s) until `n` puts began.
  bool wait_began(int n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return changed_.wait_for(guard, std::chrono::seconds(20), [&] { return began_ >= n; });
  }

  void open() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = true;
    changed_.notify_all();
  }

  std::atomic<int> puts{0}; ///< puts that returned

private:
  std::shared_ptr<call_store> inner_;
  std::mutex mtx_;
  std::condition_variable changed_;
  int began_ = 0;     // guarded by mtx_
  bool open_ = false; // guarded by mtx_
};

/// The mock, the client, a pool and a way to spawn brokers on them
/// (tests/support/mock_broker.hpp). One scheduler thread: a journal write on it would stall
/// every other call.
struct broker_fixture : test::mock_broker {
  uint64_t next_id = 1;

  broker_fixture()
      : mock_broker("default: {reply: \"reply #{{n}} to {{user}}\"}\n", {.scheduler_threads = 1}) {}

  chat_request request(const std::string& user, const std::string& task = "t1", uint32_t step = 0) {
    chat_request req;
    req.call_id = next_id++;
    req.run_id = "run-1";
    req.agent = agent_id{"team", "alice"};
    req.task_id = task;
    req.step = step;
    req.endpoint.url = mock->url();
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
  auto first_broker = spawn_broker(opts);
  auto first = call(first_broker, request("plan", "t1", 0));
  REQUIRE(first);
  CHECK(mock->stats().chat_requests == 1);
  // A second broker over the same store: a resumed run. Same position -> the journaled reply,
  // even though the request text differs (context may differ on resume).
  auto resumed = spawn_broker(opts);
  auto again = call(resumed, request("plan, with other context", "t1", 0));
  REQUIRE(again);
  CHECK(again->content == first->content);
  CHECK(mock->stats().chat_requests == 1);
  // Answered before any grant: the pool saw only the first call.
  CHECK(pool->usage_of(agent_id{"team", "alice"})->use.calls == 1);
  // The next step of the task was not finished: it goes out.
  auto next = call(resumed, request("step two", "t1", 1));
  REQUIRE(next);
  CHECK(next->content == "reply #2 to step two");
  CHECK(mock->stats().chat_requests == 2);
  // A call outside a run passes through untouched, every time.
  auto outside = request("no run");
  outside.run_id.clear();
  REQUIRE(call(resumed, outside));
  REQUIRE(call(resumed, outside));
  CHECK(mock->stats().chat_requests == 4);
}

TEST_CASE_METHOD(broker_fixture, "a caller that dies leaves its finished calls to the next caller "
                                 "of the same step: answered from the journal, not sent again") {
  llm_broker_options opts;
  opts.journal = store("journal.jsonl");
  auto b = spawn_broker(opts);
  auto req = request("work", "t1", 0);
  auto first = call(b, req); // its caller (a scoped actor) is gone when call returns
  REQUIRE(first);
  CHECK(mock->stats().chat_requests == 1);
  // Its replacement asks the same step of the same task: the journal answers.
  caf::scoped_actor replacement{*sys};
  auto ask = [&](const chat_request& r) {
    caf::expected<chat_result> out{make_error(errc::runtime_stopped, "no reply")};
    replacement->request(b, 20s, r).receive([&](chat_result& x) { out = std::move(x); },
                                            [&](caf::error& err) { out = std::move(err); });
    return out;
  };
  req.call_id = next_id++;
  auto again = ask(req);
  REQUIRE(again);
  CHECK(again->content == first->content);
  CHECK(again->call_id == req.call_id);
  CHECK(mock->stats().chat_requests == 1);
  // A live caller asking the same step again (a retry) gets a key of its own: sent.
  req.call_id = next_id++;
  auto retried = ask(req);
  REQUIRE(retried);
  CHECK(retried->content != first->content);
  CHECK(mock->stats().chat_requests == 2);
}

TEST_CASE_METHOD(broker_fixture, "a call whose caller died while it was in flight is taken over by "
                                 "the next caller of the same step, not sent again") {
  auto inner = store("slow.jsonl");
  auto slow = std::make_shared<gated_store>(inner);
  llm_broker_options opts;
  opts.journal = slow;
  auto b = spawn_broker(opts);
  auto req = request("work", "t1", 0);
  {
    caf::scoped_actor dying{*sys};
    // Asked, then the caller dies before the answer.
    auto r = dying->request(b, 60s, req);
    (void)r;
  }
  REQUIRE(slow->wait_began(1)); // replied, being kept: still in flight
  caf::scoped_actor replacement{*sys};
  auto taken = req;
  taken.call_id = next_id++;
  auto pending = replacement->request(b, 60s, taken);
  slow->open();
  pending.receive(
      [&](chat_result& r) {
        CHECK(r.content == "reply #1 to work");
        CHECK(r.call_id == taken.call_id);
      },
      [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(mock->stats().chat_requests == 1);
}

TEST_CASE_METHOD(broker_fixture, "a reply the store cannot keep fails the call with the reason") {
  auto full = net::cassette::create("/dev/full");
  REQUIRE(full);
  llm_broker_options opts;
  opts.journal = *full;
  auto b = spawn_broker(opts);
  auto r = call(b, request("anything"));
  REQUIRE(!r);
  CHECK(is(r.error(), errc::storage_full));
  CHECK(describe(r.error()).find("/dev/full") != std::string::npos);
  // The call was made and its usage settled: nothing stays held.
  CHECK(mock->stats().chat_requests == 1);
  CHECK(pool->usage_of(agent_id{"team", "alice"})->reserved_tokens == 0);
}

TEST_CASE_METHOD(broker_fixture, "a slow journal disk stalls no scheduler thread") {
  auto inner = store("slow.jsonl");
  auto slow = std::make_shared<gated_store>(inner);
  llm_broker_options opts;
  opts.journal = slow;
  auto b = spawn_broker(opts);
  caf::scoped_actor self{*sys};
  auto first_req = request("kept slowly", "t1");
  auto first = self->request(b, 60s, first_req);
  REQUIRE(slow->wait_began(1)); // its put is under way, and stays so until the gate opens
  // On the only scheduler thread, while that put is blocked: a second journaled call goes out
  // and comes back (it then waits for its own put, behind the first) ...
  auto second_req = request("kept next", "t2");
  auto second = self->request(b, 60s, second_req);
  REQUIRE(test::eventually([&] { return mock->stats().chat_requests == 2; }));
  // ... and a call outside a run (not journaled) is answered.
  auto outside = request("meanwhile");
  outside.run_id.clear();
  REQUIRE(call(b, outside));
  CHECK(slow->puts == 0); // the first put is still blocked
  slow->open();
  // Each journaled call is answered once its entry is kept.
  first.receive([&](chat_result& r) { CHECK(r.content == "reply #1 to kept slowly"); },
                [&](caf::error& err) { FAIL(describe(err)); });
  second.receive([&](chat_result& r) { CHECK(r.content == "reply #2 to kept next"); },
                 [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(slow->puts == 2);
  auto kept1 = inner->find(net::journal_key(first_req, 0));
  auto kept2 = inner->find(net::journal_key(second_req, 0));
  REQUIRE(kept1);
  REQUIRE(kept2);
  CHECK(kept1->has_value());
  CHECK(kept2->has_value());
}

TEST_CASE_METHOD(broker_fixture, "an LLM call costs at most 4 mailbox deliveries") {
  auto handled = std::make_shared<std::atomic<uint64_t>>(0);
  SECTION("granted, without a journal: 3 (request, the client's completion, the answer)") {
    llm_broker_options opts;
    opts.handled = handled;
    auto b = spawn_broker(opts);
    REQUIRE(call(b, request("warm-up"))); // the pool's core arrives once, at the start
    auto n = deliveries(*this, b, handled, request("counted", "t1", 1));
    CHECK(n == 3);
    CHECK(n <= 3);
  }
  SECTION("granted and journaled: 4 (request, completion, the writer's kept, the answer)") {
    llm_broker_options opts;
    opts.handled = handled;
    opts.journal = store("journal.jsonl");
    auto b = spawn_broker(opts);
    REQUIRE(call(b, request("warm-up")));
    auto n = deliveries(*this, b, handled, request("counted", "t1", 1));
    CHECK(n == 4);
    CHECK(n <= 4);
  }
  SECTION("resumed, answered from the journal: 2 (request, answer)") {
    auto journal = store("journal.jsonl");
    llm_broker_options opts;
    opts.journal = journal;
    auto first = spawn_broker(opts);
    REQUIRE(call(first, request("warm-up")));
    REQUIRE(call(first, request("counted", "t1", 1)));
    opts.handled = handled;
    auto resumed = spawn_broker(opts);
    REQUIRE(call(resumed, request("warm-up")));
    auto sent = mock->stats().chat_requests;
    auto n = deliveries(*this, resumed, handled, request("counted", "t1", 1));
    CHECK(n == 2);
    CHECK(mock->stats().chat_requests == sent);
  }
}

namespace {

/// The journal writer's test bench: a gated store over a cassette and entries to put.
struct writer_fixture {
  test::temp_dir dir;
  std::shared_ptr<net::cassette> inner;
  std::shared_ptr<gated_store> gated;
  std::vector<std::shared_ptr<const chat_request>> reqs;

  explicit writer_fixture(int n) {
    auto made = net::cassette::create((dir.path() / "journal.jsonl").string());
    REQUIRE(made);
    inner = *made;
    gated = std::make_shared<gated_store>(inner);
    for (int i = 0; i < n; ++i) {
      auto req = std::make_shared<chat_request>();
      req->run_id = "run-1";
      req->task_id = "t" + std::to_string(i);
      req->agent = agent_id{"team", "alice"};
      req->model = "mock";
      req->messages.push_back({"user", "entry " + std::to_string(i), "", "", {}});
      reqs.push_back(std::move(req));
    }
  }

  static chat_result reply(size_t i) {
    chat_result r;
    r.content = "reply " + std::to_string(i);
    return r;
  }

  /// How many of the entries are in the cassette.
  int kept() const {
    int n = 0;
    for (const auto& req : reqs) {
      auto hit = inner->find(net::journal_key(*req, 0));
      if (hit && *hit)
        ++n;
    }
    return n;
  }
};

} // namespace

TEST_CASE("a journal writer destroyed with entries queued writes them all first") {
  constexpr int n = 5;
  writer_fixture f{n};
  auto writer = std::make_unique<detail::journal_writer>(f.gated);
  std::atomic<int> done_calls{0};
  for (size_t i = 0; i < f.reqs.size(); ++i)
    writer->put(net::journal_key(*f.reqs[i], 0), f.reqs[i], writer_fixture::reply(i),
                [&](caf::expected<chat_result>) { done_calls.fetch_add(1); });
  REQUIRE(f.gated->wait_began(1)); // the first put is blocked, the other n - 1 are queued
  // The gate opens once the destructor is under way (the pause only lets it get there first;
  // nothing here depends on how long anything takes).
  std::thread opener{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    f.gated->open();
  }};
  writer.reset(); // returns once the queue is drained
  opener.join();
  CHECK(f.gated->puts == n);
  CHECK(f.kept() == n);
  CHECK(done_calls <= 1); // only an entry taken before the stop is answered
}

TEST_CASE("a journal writer destroyed from its own callback finishes its queue detached") {
  // The broker's last handle may go on the writer thread: then the writer is destroyed there,
  // from inside a `done`, and must neither join itself nor lose the entries behind it.
  constexpr int n = 4;
  writer_fixture f{n};
  auto writer = std::make_unique<detail::journal_writer>(f.gated);
  auto* raw = writer.get();
  std::mutex mtx;
  std::unique_ptr<detail::journal_writer> owned = std::move(writer);
  raw->put(net::journal_key(*f.reqs[0], 0), f.reqs[0], writer_fixture::reply(0),
           [&](caf::expected<chat_result>) {
             std::lock_guard<std::mutex> guard{mtx};
             owned.reset(); // the writer goes on its own thread
           });
  for (size_t i = 1; i < f.reqs.size(); ++i)
    raw->put(net::journal_key(*f.reqs[i], 0), f.reqs[i], writer_fixture::reply(i),
             [](caf::expected<chat_result>) {});
  f.gated->open();
  REQUIRE(test::eventually([&] { return f.gated->puts == n; }));
  std::lock_guard<std::mutex> guard{mtx};
  CHECK(owned == nullptr);
  CHECK(f.kept() == n);
}

TEST_CASE("the broker forgets the key counts of runs long done, never those of a busy run") {
  detail::journal_keys keys{3};
  auto idle = [](const std::string&) { return false; };
  CHECK(keys.next("old", "step", idle) == 0);
  CHECK(keys.next("old", "step", idle) == 1); // a retried step: the next occurrence
  CHECK(keys.next("r1", "step", idle) == 0);
  CHECK(keys.next("r2", "step", idle) == 0); // 2 newer runs: "old" is still kept
  CHECK(keys.next("old", "step", idle) == 2);
  // "old" asked again: the most recent now. Three newer runs push it out ...
  for (int i = 3; i <= 5; ++i)
    keys.next("r" + std::to_string(i), "step", idle);
  CHECK(keys.runs() == 3);
  CHECK(keys.next("old", "step", idle) == 0); // forgotten: counts again from 0
  // ... unless a call of it is in flight: a busy run stays past the bound.
  auto old_busy = [](const std::string& run) { return run == "old"; };
  for (int i = 6; i <= 100; ++i)
    keys.next("r" + std::to_string(i), "step", old_busy);
  CHECK(keys.runs() == 4); // the 3 most recent and "old"
  CHECK(keys.next("old", "step", old_busy) == 1);
  // Bounded however many runs come and go.
  for (int i = 101; i <= 1000; ++i)
    keys.next("r" + std::to_string(i), "a", idle);
  CHECK(keys.runs() == 3);
  CHECK(keys.keys() == 3);
}
