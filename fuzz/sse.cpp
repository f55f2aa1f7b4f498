// Fuzz target: the SSE parser. Invariant: the events do not depend on how the stream is split
// (whole, in two at a point chosen by the input's first byte, byte by byte).
#include "net/sse.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

using swarm::net::sse_event;
using swarm::net::sse_parser;

/// Every event of `chunks` fed in order, then finish()'s; overflow as a last empty event.
std::vector<sse_event> run(const std::vector<std::string_view>& chunks, size_t max_line) {
  sse_parser p{max_line};
  std::vector<sse_event> out;
  for (auto c : chunks) {
    p.feed(c);
    while (auto ev = p.next())
      out.push_back(std::move(*ev));
  }
  if (auto ev = p.finish())
    out.push_back(std::move(*ev));
  if (p.overflowed())
    out.push_back(sse_event{"<overflowed>", {}, {}});
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  // The first byte picks the split point and a small line limit (to reach the overflow path).
  size_t cut = data[0] % size;
  size_t max_line = data[0] & 0x80 ? 64 : sse_parser::default_max_line;
  std::string_view text{reinterpret_cast<const char*>(data) + 1, size - 1};
  cut = cut > text.size() ? text.size() : cut;
  auto whole = run({text}, max_line);
  auto two = run({text.substr(0, cut), text.substr(cut)}, max_line);
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < text.size(); ++i)
    bytes.push_back(text.substr(i, 1));
  auto single = run(bytes, max_line);
  if (whole != two || whole != single)
    std::abort();
  return 0;
}
