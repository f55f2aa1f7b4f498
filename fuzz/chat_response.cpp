// Fuzz target: decode_chat_response (a chat completion body: content, tool calls, logprobs,
// usage). Invariant: what decodes re-encodes (encode_chat_response, what the cassette stores) to
// a body that decodes to the same encoding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/llm_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  auto res = swarm::net::decode_chat_response(body);
  if (!res)
    return 0;
  auto once = swarm::net::encode_chat_response(*res);
  auto again = swarm::net::decode_chat_response(once);
  if (!again)
    std::abort(); // our own encoding does not decode
  if (swarm::net::encode_chat_response(*again) != once)
    std::abort(); // decode and encode do not agree
  if (again->content != res->content || again->tool_calls.size() != res->tool_calls.size())
    std::abort();
  return 0;
}
