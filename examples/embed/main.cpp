// Embedding SmolSwarms in a C++ program: load a spec, spawn the swarm, run one task.
// Usage: swarm_embed_example SPEC LLM_URL "task text"
#include <iostream>

#include "runtime/core/errc.hpp"
#include "runtime/runtime.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " SPEC LLM_URL TASK\n";
    return 2;
  }
  swarm::runtime rt{swarm::runtime_options{.data_dir = "state"}, {.url = argv[2]}};
  auto spec = swarm::load_spec(argv[1]); // expected<swarm_spec>
  if (!spec) {
    std::cerr << swarm::describe(spec.error()) << "\n";
    return 2;
  }
  auto team = rt.spawn(*spec); // expected<swarm_handle>
  if (!team) {
    std::cerr << swarm::describe(team.error()) << "\n";
    return 2;
  }
  team->broadcast("Keep every answer under 100 words.");
  auto reply = team->run({.text = argv[3]}); // expected<result>, blocking
  if (!reply) {
    std::cerr << swarm::describe(reply.error()) << "\n";
    return 1;
  }
  std::cout << reply->text << "\n";
  for (const auto& member : reply->trace)
    std::cout << "-- " << member.agent.name << ": " << member.use.total_tokens() << " tokens"
              << (member.error ? " (failed: " + swarm::describe(member.error) + ")" : "") << "\n";
  return 0;
}
