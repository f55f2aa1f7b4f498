// The far side of the two-process wire test: publishes an actor that echoes every message.
// Usage: wire_echo_server PORT_FILE   (writes the port once published; exits on "quit")
#include <cstdio>
#include <fstream>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scheduled_actor.hpp>

#include "actors/agent.hpp"
#include "runtime/core/types.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: wire_echo_server PORT_FILE\n";
    return 2;
  }
  caf::actor_system_config cfg;
  swarm::register_types(cfg);
  swarm::actors::register_agent_type(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  // The quit word is a spawn argument: CAF 0.17.6 dereferences a null pointer when a function
  // actor is spawned with no arguments.
  auto echo = sys.spawn(
      [](caf::event_based_actor* self, std::string quit_word) -> caf::behavior {
        self->set_default_handler(caf::reflect); // answers every other message with itself
        return {
            [self, quit_word](const std::string& cmd) {
              if (cmd == quit_word)
                self->quit();
              return cmd;
            },
        };
      },
      std::string{"quit"});
  auto port = sys.middleman().publish(echo, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "publish failed: " << sys.render(port.error()) << "\n";
    return 1;
  }
  std::string tmp = std::string{argv[1]} + ".tmp";
  std::ofstream{tmp} << *port << "\n";
  std::rename(tmp.c_str(), argv[1]);
  return 0; // ~actor_system waits until the echo actor quits
}
