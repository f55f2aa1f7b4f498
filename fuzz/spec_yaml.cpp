// Fuzz target: the spec loader (parse_spec) on YAML text. Invariant: a spec that loads still
// loads once disable_memory has rewritten its text (the text a resumed run is rebuilt from).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/core/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto res = swarm::parse_spec(text, "fuzz.yaml");
  if (!res.spec) {
    if (res.problems.empty())
      std::abort(); // a refused spec must say why
    return 0;
  }
  auto spec = *res.spec;
  swarm::disable_memory(spec);
  auto again = swarm::parse_spec(spec.text, "fuzz.yaml");
  if (!again.spec || again.spec->name != res.spec->name ||
      again.spec->agents.size() != res.spec->agents.size())
    std::abort(); // disable_memory wrote a text that is not the same spec
  return 0;
}
