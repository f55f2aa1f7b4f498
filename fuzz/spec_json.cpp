// Fuzz target: the spec loader (parse_spec) on JSON text, which it reads as YAML. Invariant: for
// input that is JSON, the same document re-serialized compactly loads to the same verdict.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "runtime/core/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto res = swarm::parse_spec(text, "fuzz.json");
  if (!res.spec && res.problems.empty())
    std::abort(); // a refused spec must say why
  boost::system::error_code ec;
  auto doc = boost::json::parse(text, ec);
  if (ec || !doc.is_object())
    return 0;
  auto compact = boost::json::serialize(doc);
  auto again = swarm::parse_spec(compact, "fuzz.json");
  if (res.spec.has_value() && !again.spec.has_value())
    std::abort(); // the same JSON document, only laid out otherwise, no longer loads
  if (res.spec && again.spec && res.spec->name != again.spec->name)
    std::abort();
  return 0;
}
