// Fuzz target: the streamed chat completion decoder (stream_accumulator). Each input line is the
// data of one SSE event. Invariant: the content deltas handed out add up to the folded content.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/llm_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  swarm::net::stream_accumulator acc;
  std::string streamed;
  size_t deltas = 0;
  auto sink = [&](std::string_view d) {
    streamed.append(d);
    ++deltas;
  };
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto chunk = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (auto err = acc.add(chunk, sink))
      break; // the client fails the attempt here
  }
  if (acc.deltas() != deltas)
    std::abort();
  auto res = acc.take();
  if (res.content != streamed)
    std::abort(); // the answer shown while streaming is not the answer returned
  return 0;
}
