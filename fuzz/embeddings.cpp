// Fuzz target: decode_embedding_response. Invariant: a decoded response has vectors of one
// dimension each.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/llm_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  auto res = swarm::net::decode_embedding_response(body);
  if (!res)
    return 0;
  for (const auto& v : res->vectors)
    if (v.size() != res->vectors.front().size())
      std::abort();
  return 0;
}
