// Tests of the LLM actor: a chat_request answered through a response promise, and chat_cancel.
#include <chrono>
#include <memory>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_server.hpp"

using namespace std::chrono_literals;
using namespace swarm;

namespace {

struct actor_fixture {
  test::temp_dir dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<net::llm_client> client;
  std::unique_ptr<mock_llm::server> srv;
  llm_actor llm;

  actor_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    llm_client_options opts;
    opts.max_retries = 0;
    client = std::make_shared<net::llm_client>(opts);
    llm = net::spawn_llm_actor(*sys, client);
  }

  ~actor_fixture() {
    client->stop();
    caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
    llm = nullptr;
    client.reset();
    sys.reset();
  }

  /// Starts the mock with `script` (empty: default replies).
  void start_mock(const std::string& script) { srv = test::start_mock(dir, script); }

  chat_request request(uint64_t id, const std::string& user) const {
    chat_request req;
    req.call_id = id;
    req.endpoint.url = srv->url();
    req.model = "mock";
    req.messages.push_back({"user", user, "", "", {}});
    req.timeout = 10s;
    return req;
  }
};

} // namespace

TEST_CASE_METHOD(actor_fixture, "the llm actor answers a chat request with a chat result") {
  start_mock("");
  caf::scoped_actor self{*sys};
  bool answered = false;
  self->request(llm, 10s, request(1, "hello actor"))
      .receive(
          [&](const chat_result& res) {
            answered = true;
            CHECK(res.call_id == 1);
            CHECK(res.content == "Mock answer from mock to: hello actor");
          },
          [&](const caf::error& err) { FAIL("unexpected error: " << describe(err)); });
  CHECK(answered);
  embedding_request ereq;
  ereq.call_id = 2;
  ereq.endpoint.url = srv->url();
  ereq.model = "mock";
  ereq.input = {"a", "b"};
  self->request(llm, 10s, ereq)
      .receive([&](const embedding_result& res) { CHECK(res.vectors.size() == 2); },
               [&](const caf::error& err) { FAIL("unexpected error: " << describe(err)); });
}

TEST_CASE_METHOD(actor_fixture, "the llm actor reports client errors as errors") {
  caf::scoped_actor self{*sys};
  chat_request req;
  req.call_id = 3;
  req.endpoint.url = "not a url";
  self->request(llm, 10s, req)
      .receive([&](const chat_result&) { FAIL("expected an error"); },
               [&](const caf::error& err) { CHECK(is(err, errc::invalid_argument)); });
}

TEST_CASE_METHOD(actor_fixture, "chat_cancel makes the llm actor answer with llm_cancelled") {
  start_mock("latency: {fixed_ms: 5000}\n");
  std::thread canceller{[this] {
    (void)test::eventually([this] { return srv->stats().in_flight != 0; }, 5s);
    caf::anon_send(llm, chat_cancel{7});
  }};
  caf::scoped_actor self{*sys};
  auto start = std::chrono::steady_clock::now();
  self->request(llm, 10s, request(7, "slow"))
      .receive([&](const chat_result&) { FAIL("expected llm_cancelled"); },
               [&](const caf::error& err) { CHECK(is(err, errc::llm_cancelled)); });
  canceller.join();
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  (void)test::eventually([&] { return srv->stats().cancels != 0; }, 2s);
  CHECK(srv->stats().cancels == 1);
}
