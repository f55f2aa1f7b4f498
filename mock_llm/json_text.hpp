// Hand-written JSON output for the mock's hot path: escaping and numbers without allocations.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace swarm::mock_llm::json_text {

/// Appends `s` as a JSON string literal (quotes included). Bytes >= 0x80 pass through (UTF-8).
inline void append_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0; // start of the pending run of bytes that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += "\\u00";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

/// Appends an unsigned integer.
inline void append_uint(std::string& out, uint64_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, res.ptr);
}

/// Appends a double in its shortest round-trip form ("-0.05", "1e-05"); never exponent-only
/// forms like Boost.JSON's "9.75E0". Non-finite values become 0.
inline void append_double(std::string& out, double x) {
  if (!(x == x) || x > 1.7e308 || x < -1.7e308)
    x = 0;
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, res.ptr);
}

/// Appends a float in its shortest round-trip form.
inline void append_float(std::string& out, float x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, res.ptr);
}

} // namespace swarm::mock_llm::json_text
