// Two processes, one wire: every project message type crosses CAF's middleman intact.
#include <chrono>
#include <fstream>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "runtime/core/types.hpp"
#include "tests/integration/wire_samples.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

using namespace std::chrono_literals;

namespace {

// The echo server as a child process, killed if the test leaves early.
struct child {
  pid_t pid = -1;
  ~child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

uint16_t wait_for_port(const std::string& file) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in{file};
    int port = 0;
    if (in >> port && port > 0)
      return static_cast<uint16_t>(port);
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

} // namespace

TEST_CASE("every message type crosses to another process and back unchanged") {
  swarm::test::temp_dir dir;
  auto port_file = (dir.path() / "port").string();
  child server;
  std::string exe = SWARM_BINARY_DIR "/tests/integration/wire_echo_server";
  char* argv[] = {exe.data(), port_file.data(), nullptr};
  REQUIRE(posix_spawn(&server.pid, exe.c_str(), nullptr, nullptr, argv, environ) == 0);
  auto port = wait_for_port(port_file);
  REQUIRE(port > 0);

  caf::actor_system_config cfg;
  swarm::register_types(cfg);
  swarm::actors::register_agent_type(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto echo = sys.middleman().remote_actor("127.0.0.1", port);
  REQUIRE(echo);
  caf::scoped_actor self{sys};
  auto count =
      swarm::test::for_each_wire_sample(caf::actor_cast<caf::actor>(self), [&](auto sample) {
        using type = decltype(sample);
        auto expected = caf::deep_to_string(sample);
        INFO("sample: " << expected);
        self->request(*echo, 10s, sample)
            .receive([&](type& back) { CHECK(caf::deep_to_string(back) == expected); },
                     [&](caf::error& err) { FAIL("round trip failed: " << sys.render(err)); });
      });
  // A type added to the block without a sample fails here.
  CHECK(count == (caf::id_block::swarm::end - caf::id_block::swarm::begin) +
                     (caf::id_block::swarm_cluster::end - caf::id_block::swarm_cluster::begin) +
                     (caf::id_block::swarm_actors::end - caf::id_block::swarm_actors::begin));
  self->request(*echo, 10s, std::string{"quit"})
      .receive([](const std::string&) {}, [](caf::error&) {});
  int status = 0;
  REQUIRE(waitpid(server.pid, &status, 0) == server.pid);
  server.pid = -1;
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
