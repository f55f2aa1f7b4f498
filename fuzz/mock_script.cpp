// Fuzz target: the mock LLM's script loader (parse_script). Invariant: a refused script comes
// with an error that names the source.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mock_llm/script.hpp"
#include "runtime/core/errc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto res = swarm::mock_llm::parse_script(text, "fuzz.yaml");
  if (!res && swarm::describe(res.error()).find("fuzz.yaml") == std::string::npos)
    std::abort();
  return 0;
}
