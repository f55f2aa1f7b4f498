// Tests of the LLM tape and the cassette: record then replay, keys, and failures (a missing
// recording entry, a malformed cassette). The run journal's cases are the broker's
// (tests/runtime/llm_broker_journal_test.cpp).
#include <chrono>
#include <fstream>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "net/cassette.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "net/llm_tape.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace swarm;

namespace {

struct tape_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<net::llm_client> client;
  std::unique_ptr<mock_llm::server> srv;
  llm_actor llm;
  test::temp_dir dir;

  tape_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    llm_client_options opts;
    opts.max_retries = 0;
    client = std::make_shared<net::llm_client>(opts);
    llm = net::spawn_llm_actor(*sys, client);
    auto script = dir.write("script.yaml", "default: {reply: \"reply #{{n}} to {{user}}\"}\n");
    mock_llm::server_options mo;
    mo.script_path = script;
    auto started = mock_llm::server::start(mo);
    REQUIRE(started);
    srv = std::move(*started);
  }

  ~tape_fixture() {
    client->stop();
    caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
    llm = nullptr;
    client.reset();
    sys.reset();
  }

  chat_request request(const std::string& user, const std::string& task = "t1",
                       uint32_t step = 0) const {
    chat_request req;
    req.call_id = net_call_id++;
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

  caf::expected<chat_result> call(const llm_actor& tape, const chat_request& req) {
    caf::expected<chat_result> out{make_error(errc::runtime_stopped, "no reply")};
    caf::scoped_actor self{*sys};
    self->request(tape, 20s, req)
        .receive([&](chat_result& r) { out = std::move(r); },
                 [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  mutable uint64_t net_call_id = 1;
};

} // namespace

TEST_CASE("journal keys name the run position, content keys the request") {
  chat_request a;
  a.run_id = "r";
  a.agent = agent_id{"s", "x"};
  a.task_id = "t1.x";
  a.step = 2;
  a.model = "m";
  a.messages.push_back({"user", "hi", "", "", {}});
  CHECK(net::journal_key(a, 0) == "r\ns/x\nt1.x\n2\n0");
  CHECK(net::journal_key(a, 3) == "r\ns/x\nt1.x\n2\n3");
  auto b = a;
  b.call_id = 99; // ids and positions do not change the content
  b.task_id = "other";
  CHECK(net::content_key(a, 0) == net::content_key(b, 0));
  CHECK(net::content_key(a, 0) != net::content_key(a, 1));
  b.messages[0].content = "hi!";
  CHECK(net::content_key(a, 0) != net::content_key(b, 0));
  b = a;
  b.temperature = 0.5;
  CHECK(net::content_key(a, 0) != net::content_key(b, 0));
  a.run_id.clear();
  CHECK(net::journal_key(a, 0).empty());
}

TEST_CASE_METHOD(tape_fixture, "a recording replays the same replies offline") {
  auto path = (dir.path() / "calls.jsonl").string();
  {
    auto rec = net::cassette::create(path);
    REQUIRE(rec);
    auto tape = net::spawn_llm_tape(*sys, llm, *rec, net::tape_mode::record);
    for (auto text : {"one", "two", "one"}) {
      auto r = call(tape, request(text));
      REQUIRE(r);
    }
    caf::anon_send_exit(tape, caf::exit_reason::user_shutdown);
  }
  CHECK(srv->stats().chat_requests == 3);
  auto loaded = net::cassette::load(path);
  REQUIRE(loaded);
  CHECK((*loaded)->size() == 3);
  auto replay = net::spawn_llm_tape(*sys, llm_actor{}, *loaded, net::tape_mode::replay);
  // Identical requests are told apart by their order: the second "one" gets reply #3.
  auto r1 = call(replay, request("one"));
  auto r2 = call(replay, request("two"));
  auto r3 = call(replay, request("one"));
  REQUIRE(r1);
  REQUIRE(r2);
  REQUIRE(r3);
  CHECK(r1->content == "reply #1 to one");
  CHECK(r2->content == "reply #2 to two");
  CHECK(r3->content == "reply #3 to one");
  CHECK(r1->use.prompt_tokens > 0);
  CHECK(srv->stats().chat_requests == 3); // nothing reached the endpoint
  auto missing = call(replay, request("never recorded"));
  REQUIRE(!missing);
  CHECK(is(missing.error(), errc::replay_missing));
  CHECK(describe(missing.error()).find("team/alice task t1") != std::string::npos);
  CHECK(describe(missing.error()).find("never recorded") != std::string::npos);
  CHECK(describe(missing.error()).find(path) != std::string::npos);
  caf::anon_send_exit(replay, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(tape_fixture, "a malformed recording is refused with its file and line") {
  auto path = dir.write("bad.jsonl", "{\"key\":\"k:0\",\"response\":{\"choices\":[{\"message\":"
                                     "{\"content\":\"x\"}}]}}\n{not json\n");
  auto loaded = net::cassette::load(path);
  REQUIRE(!loaded);
  CHECK(is(loaded.error(), errc::invalid_argument));
  CHECK(describe(loaded.error()).find(path + ":2") != std::string::npos);
  auto none = net::cassette::load((dir.path() / "absent.jsonl").string());
  REQUIRE(!none);
  CHECK(is(none.error(), errc::io_error));
}
