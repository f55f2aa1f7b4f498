// LLM fallbacks against in-process mock servers: a call that still fails on its endpoint after
// its retries goes to the next fallback (one llm_fallback event per switch), is answered, counted
// and priced there; errors another endpoint would not fix (400, 401, budgets, cancels) stay.
#include <chrono>
#include <cmath>
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
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "runtime/llm_broker.hpp"
#include "runtime/llm_resolution.hpp"
#include "runtime/resource_pool.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/mock_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

const std::string always_500 = "faults:\n  - {kind: http_500}\ndefault: {reply: from primary}\n";

std::string answering(const std::string& text) {
  return "default: {reply: \"" + text + "\", usage: {prompt_tokens: 10, completion_tokens: 5}}\n";
}

runtime_options quick_retries() {
  runtime_options opts;
  opts.scheduler_threads = 2;
  opts.llm.max_retries = 1;
  opts.llm.backoff_base = 1ms;
  opts.llm.backoff_max = 5ms;
  return opts;
}

/// Events of the kinds a fallback run produces, collected from the runtime's stream.
struct fallback_events {
  std::mutex mtx;
  std::vector<event> switches; // llm_fallback
  std::vector<event> finished; // llm_call_finished

  void add(const event& e) {
    std::lock_guard<std::mutex> guard{mtx};
    if (e.kind == event_kind::llm_fallback)
      switches.push_back(e);
    else if (e.kind == event_kind::llm_call_finished)
      finished.push_back(e);
  }

  /// Waits (at most 5 s) until `n` llm_call_finished events have arrived.
  void wait_finished(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (finished.size() >= n)
          return;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
};

} // namespace

TEST_CASE("fallbacks: the primary always answers 500, the fallback answers and is counted and "
          "priced") {
  test::temp_dir dir;
  auto primary = test::start_mock(dir, always_500, {}, "primary.yaml");
  auto second = test::start_mock(dir, answering("from the fallback"), {}, "second.yaml");
  runtime rt{quick_retries()};
  fallback_events seen;
  auto watching = rt.on_event([&](const event& e) { seen.add(e); });
  auto spec = load_spec_text("name: fb\nllm:\n  url: " + primary->url() +
                             "\n  model: main\n  fallbacks:\n    - {url: " + second->url() +
                             ", model: backup}\nresources:\n  prices:\n"
                             "    - {model: main, prompt: 1, completion: 1}\n"
                             "    - {model: backup, prompt: 2, completion: 4}\n"
                             "agents:\n  - {name: a, system_prompt: You are a.}\n");
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto res = team->run({"hello"});
  REQUIRE(res);
  CHECK_THAT(res->text, Catch::Contains("from the fallback"));
  CHECK(res->use.prompt_tokens == 10);
  CHECK(res->use.completion_tokens == 5);
  CHECK(primary->stats().chat_requests == 2); // the call and its one retry
  CHECK(second->stats().chat_requests == 1);
  // The pool granted and settled the answer on the fallback's model: priced at its price.
  auto spent = team->spent();
  CHECK(spent.use.total_tokens() == 15);
  CHECK(std::abs(spent.cost_usd - (10 * 2 + 5 * 4) / 1e6) < 1e-12);
  CHECK(spent.cost_known);
  seen.wait_finished(1);
  std::lock_guard<std::mutex> guard{seen.mtx};
  REQUIRE(seen.switches.size() == 1);
  const auto& sw = seen.switches.front();
  CHECK(sw.agent.str() == "fb/a");
  CHECK_FALSE(sw.run_id.empty());
  CHECK(is(sw.error, errc::llm_http_error));
  CHECK_THAT(error_message(sw.error), Catch::Contains("model main at " + primary->url()));
  CHECK_THAT(error_message(sw.error), Catch::Contains("HTTP 500"));
  CHECK(sw.name == "backup");
  CHECK(sw.text == second->url());
  REQUIRE(seen.finished.size() == 1);
  const auto& call = seen.finished.front();
  CHECK_FALSE(call.error);
  CHECK(call.name == "backup");
  CHECK(call.text == second->url());
  CHECK(call.use.total_tokens() == 15);
  CHECK(std::abs(call.cost_usd - (10 * 2 + 5 * 4) / 1e6) < 1e-12);
}

TEST_CASE("fallbacks: two fallbacks, the first fails too: the second answers after two switches") {
  test::temp_dir dir;
  auto primary = test::start_mock(dir, always_500, {}, "primary.yaml");
  auto second = test::start_mock(dir, always_500, {}, "second.yaml");
  auto third = test::start_mock(dir, answering("from the third"), {}, "third.yaml");
  runtime rt{quick_retries()};
  fallback_events seen;
  auto watching = rt.on_event([&](const event& e) { seen.add(e); });
  // The agent's own list; the second fallback keeps the agent's model.
  auto spec =
      load_spec_text("name: fb\nllm: {url: " + primary->url() +
                     ", model: main}\nagents:\n  - name: a\n    fallbacks:\n"
                     "      - {url: " +
                     second->url() + ", model: backup}\n      - {url: " + third->url() + "}\n");
  REQUIRE(spec);
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto res = team->run({"hello"});
  REQUIRE(res);
  CHECK_THAT(res->text, Catch::Contains("from the third"));
  CHECK(res->use.total_tokens() == 15);
  CHECK(primary->stats().chat_requests == 2);
  CHECK(second->stats().chat_requests == 2);
  CHECK(third->stats().chat_requests == 1);
  seen.wait_finished(1);
  std::lock_guard<std::mutex> guard{seen.mtx};
  REQUIRE(seen.switches.size() == 2);
  CHECK_THAT(error_message(seen.switches[0].error), Catch::Contains(primary->url()));
  CHECK(seen.switches[0].name == "backup");
  CHECK(seen.switches[0].text == second->url());
  CHECK_THAT(error_message(seen.switches[1].error),
             Catch::Contains("model backup at " + second->url()));
  CHECK(seen.switches[1].name == "main");
  CHECK(seen.switches[1].text == third->url());
  REQUIRE(seen.finished.size() == 1);
  CHECK(seen.finished.front().name == "main");
  CHECK(seen.finished.front().text == third->url());
  CHECK(seen.finished.front().cost_usd < 0); // no prices in this spec
}

TEST_CASE("fallbacks: a 400 is not fallen back from; a 404 and a refused connection are") {
  test::temp_dir dir;
  auto primary = test::start_mock(dir, "default: {reply: from primary}\n", {}, "primary.yaml");
  auto second = test::start_mock(dir, answering("from the fallback"), {}, "second.yaml");
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  llm_client_options client_opts;
  client_opts.max_retries = 1;
  client_opts.backoff_base = 1ms;
  client_opts.backoff_max = 5ms;
  auto client = std::make_shared<net::llm_client>(client_opts);
  auto llm = net::spawn_llm_actor(sys, client);
  resource_pool_client pool{sys, spawn_resource_pool(sys, {})};
  auto gate = spawn_llm_broker(sys, client, pool.handle(), {});
  auto call = [&](chat_request req) {
    caf::scoped_actor self{sys};
    std::optional<chat_result> res;
    caf::error err;
    self->request(gate, 30s, std::move(req))
        .receive([&](chat_result& x) { res = std::move(x); }, [&](caf::error& x) { err = x; });
    return std::make_pair(res, err);
  };
  chat_request req;
  req.call_id = 1;
  req.agent = agent_id{"fb", "a"};
  req.endpoint.url = primary->url();
  req.model = "main";
  req.timeout = 20s;
  llm_fallback_target next;
  next.endpoint.url = second->url();
  next.model = "backup";
  req.fallbacks.push_back(next);
  SECTION("400: a request without messages fails everywhere, it stays on the primary") {
    auto [res, err] = call(req);
    REQUIRE_FALSE(res);
    CHECK(is(err, errc::llm_http_error));
    CHECK_THAT(error_message(err), Catch::Contains("HTTP 400"));
    CHECK(second->stats().chat_requests == 0);
  }
  SECTION("404: the primary's path serves no such model, the fallback answers") {
    req.endpoint.url = primary->url() + "/nothing-here";
    req.messages.push_back({"user", "hello", "", "", {}});
    auto [res, err] = call(req);
    REQUIRE(res);
    CHECK(res->content == "from the fallback");
    CHECK(res->fallback == 1);
    CHECK(second->stats().chat_requests == 1);
  }
  SECTION("nothing listens on the primary's port: the fallback answers") {
    req.endpoint.url = "http://127.0.0.1:9/v1";
    req.messages.push_back({"user", "hello", "", "", {}});
    auto [res, err] = call(req);
    REQUIRE(res);
    CHECK(res->content == "from the fallback");
    CHECK(res->fallback == 1);
    CHECK(primary->stats().chat_requests == 0);
  }
  client->stop();
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(pool.handle(), caf::exit_reason::user_shutdown);
}

TEST_CASE("fallbacks: which failures go on to the next endpoint") {
  auto http = [](int status) {
    return make_error(errc::llm_http_error, "HTTP " + std::to_string(status) +
                                                " from http://x/v1: nope (after 2 attempts)");
  };
  CHECK(llm_falls_back(http(500)));
  CHECK(llm_falls_back(http(503)));
  CHECK(llm_falls_back(http(404)));
  CHECK(llm_falls_back(http(408)));
  CHECK_FALSE(llm_falls_back(http(400)));
  CHECK_FALSE(llm_falls_back(http(401)));
  CHECK_FALSE(llm_falls_back(http(403)));
  CHECK_FALSE(llm_falls_back(http(422)));
  CHECK(llm_falls_back(make_error(errc::llm_timeout, "no reply")));
  CHECK(llm_falls_back(make_error(errc::llm_connect_failed, "refused")));
  CHECK(llm_falls_back(make_error(errc::llm_rate_limited, "HTTP 429 from x")));
  CHECK(llm_falls_back(make_error(errc::llm_stream_truncated, "cut")));
  CHECK_FALSE(llm_falls_back(make_error(errc::budget_exhausted, "agent budget")));
  CHECK_FALSE(llm_falls_back(make_error(errc::llm_cancelled, "cancelled")));
  CHECK_FALSE(llm_falls_back(make_error(errc::invalid_argument, "bad")));
}

TEST_CASE("fallbacks: a fallback's bad URL names the agent, its path and its spec line") {
  auto spec = load_spec_text("name: fb\nllm:\n  url: http://primary:1/v1\n  fallbacks:\n"
                             "    - {url: http://second:2/v1}\n    - {url: http://third:3}\n"
                             "agents:\n  - {name: a}\n");
  REQUIRE(spec);
  auto llm = resolve_llm(*spec, spec->agents[0], {}, [](const std::string&) { return ""; });
  REQUIRE_FALSE(llm);
  CHECK(is(llm.error(), errc::invalid_argument));
  CHECK_THAT(error_message(llm.error()),
             Catch::StartsWith("agent 'a', spec llm.fallbacks[1].url (line 6): bad endpoint URL "
                               "'http://third:3'"));
  CHECK_THAT(error_message(llm.error()), Catch::Contains("did you mean http://third:3/v1?"));
  // Well-formed, the fallbacks resolve in order; a model left out is the agent's.
  auto fixed = load_spec_text("name: fb\nllm:\n  url: http://primary:1/v1\n  model: main\n"
                              "  fallbacks:\n    - {url: http://second:2/v1/, api_key_env: K2}\n"
                              "agents:\n  - {name: a}\n");
  REQUIRE(fixed);
  auto ok = resolve_llm(*fixed, fixed->agents[0], {}, [](const std::string& name) {
    return name == "K2" ? std::string{"secret-2"} : std::string{};
  });
  REQUIRE(ok);
  REQUIRE(ok->fallbacks.size() == 1);
  CHECK(ok->fallbacks[0].endpoint.url == "http://second:2/v1");
  CHECK(ok->fallbacks[0].endpoint.api_key == "secret-2");
  CHECK(ok->fallbacks[0].model == "main");
}
