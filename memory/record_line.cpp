// Decoding one line of a memory export (see record_line.hpp).
#include "memory/record_line.hpp"

#include <optional>

#include <boost/json.hpp>

#include "runtime/core/utf8.hpp"

namespace swarm::memory {

parsed_record parse_record_line(std::string_view line, int64_t now_ms) {
  auto bad = [](const std::string& what) { return parsed_record{{}, what}; };
  // An export writes only valid UTF-8 (memories come from text the runtime repaired where it
  // entered), so a line that is not is a damaged file: refused by name, not altered.
  if (auto valid = valid_utf8_prefix(line); valid != line.size())
    return bad("not valid UTF-8 (byte " + std::to_string(valid + 1) +
               "); an export never writes such a line");
  boost::system::error_code ec;
  auto value = boost::json::parse(line, ec);
  if (ec)
    return bad("not JSON: " + ec.message());
  auto* obj = value.if_object();
  if (obj == nullptr)
    return bad("not a JSON object");
  memory_record rec;
  rec.created = now_ms;
  for (const auto& [key, v] : *obj) {
    if (key == "id" || key == "ns" || key == "text") {
      if (!v.is_string())
        return bad("\"" + std::string{key} + "\" must be a string");
      auto s = std::string{v.get_string()};
      (key == "id" ? rec.id : key == "ns" ? rec.ns : rec.text) = std::move(s);
    } else if (key == "importance") {
      auto d = v.is_double()   ? std::optional<double>{v.get_double()}
               : v.is_int64()  ? std::optional<double>{static_cast<double>(v.get_int64())}
               : v.is_uint64() ? std::optional<double>{static_cast<double>(v.get_uint64())}
                               : std::nullopt;
      if (!d || !(*d >= 0.0 && *d <= 1.0))
        return bad("\"importance\" must be a number in [0, 1]");
      rec.importance = *d;
    } else if (key == "created") {
      if (v.is_int64())
        rec.created = v.get_int64();
      else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX))
        rec.created = static_cast<int64_t>(v.get_uint64());
      else
        return bad("\"created\" must be an integer (Unix milliseconds)");
    } else if (key == "tags") {
      auto* arr = v.if_array();
      if (arr == nullptr)
        return bad("\"tags\" must be an array of strings");
      for (const auto& t : *arr) {
        if (!t.is_string())
          return bad("\"tags\" must be an array of strings");
        rec.tags.emplace_back(t.get_string());
      }
    } else {
      return bad("unknown field \"" + std::string{key} + "\"");
    }
  }
  if (rec.id.empty())
    return bad("missing or empty \"id\"");
  if (rec.ns.empty())
    return bad("missing or empty \"ns\"");
  if (!obj->contains("text"))
    return bad("missing \"text\"");
  return parsed_record{std::move(rec), {}};
}

} // namespace swarm::memory
