// Fuzz target: the line decoder of `swarm memory import` (parse_record_line), line by line as the
// command reads a file. Invariant: a record that decodes, written back as a JSON object, decodes
// to the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "memory/record_line.hpp"

namespace {

void check(std::string_view line) {
  auto parsed = swarm::memory::parse_record_line(line, 1'700'000'000'000);
  if (!parsed.error.empty())
    return;
  const auto& r = parsed.rec;
  boost::json::array tags;
  for (const auto& t : r.tags)
    tags.emplace_back(t);
  boost::json::object obj{{"id", r.id},           {"ns", r.ns},
                          {"text", r.text},       {"importance", r.importance},
                          {"created", r.created}, {"tags", tags}};
  auto again = swarm::memory::parse_record_line(boost::json::serialize(obj), 0);
  if (!again.error.empty() || !(again.rec == r))
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  while (!text.empty()) {
    auto nl = text.find('\n');
    check(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return 0;
}
