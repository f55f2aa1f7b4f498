// A test fixture for actor tests: a real mock LLM on loopback, an actor system, the LLM actor,
// and helpers to spawn agents (recognised by the mock by their system prompt) and ask them.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/agent.hpp"
#include "actors/concurrent.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "net/llm_actor.hpp"
#include "net/llm_client.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/mock_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace swarm::test {

struct actor_fixture {
  temp_dir dir;
  std::unique_ptr<mock_llm::server> mock;
  caf::actor_system sys{actor_test_config()};
  std::shared_ptr<net::llm_client> client;
  llm_actor llm;
  std::vector<caf::actor> spawned; // stopped at the end

  /// Starts the mock with `script` (docs/mock-llm.md).
  explicit actor_fixture(const std::string& script, mock_llm::server_options opts = {})
      : mock(start_mock(dir, script, std::move(opts))) {
    llm_client_options copts;
    copts.backoff_base = std::chrono::milliseconds(1);
    copts.backoff_max = std::chrono::milliseconds(5);
    client = std::make_shared<net::llm_client>(copts);
    llm = net::spawn_llm_actor(sys, client);
  }

  ~actor_fixture() {
    client->stop();
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(llm, caf::exit_reason::user_shutdown);
  }

  /// Config of an agent whose system prompt is "You are NAME." (match it in mock rules with
  /// `system: '^You are NAME\.'`).
  actors::agent_config agent_config(const std::string& name, const std::string& swarm = "team") {
    actors::agent_config cfg;
    cfg.id = agent_id{swarm, name};
    cfg.system_prompt = "You are " + name + ".";
    cfg.model = "mock";
    cfg.endpoint.url = mock->url();
    cfg.llm_timeout = std::chrono::seconds(10);
    return cfg;
  }

  /// Spawns an agent and returns it as a member (with `skills`).
  actors::member agent(const std::string& name, std::vector<std::string> skills = {}) {
    auto handle = actors::spawn_agent(sys, agent_config(name), llm, {});
    spawned.push_back(caf::actor_cast<caf::actor>(handle));
    return actors::member{name, handle, std::move(skills)};
  }

  /// Keeps `a` to stop it with the fixture.
  template <class Handle>
  Handle keep(Handle a) {
    spawned.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  /// Sends a task of run `run` and waits (bounded) for its result; a CAF error fails the test.
  result ask(const agent_actor& who, std::string text, std::string id = "t1",
             std::chrono::seconds timeout = std::chrono::seconds(30), std::string run = "r1") {
    caf::scoped_actor self{sys};
    result out;
    self->request(who, timeout, task{std::move(id), std::move(run), std::move(text), "user", {}})
        .receive([&](result& r) { out = std::move(r); },
                 [&](caf::error& err) { FAIL("request failed: " << describe(err)); });
    return out;
  }
};

} // namespace swarm::test
