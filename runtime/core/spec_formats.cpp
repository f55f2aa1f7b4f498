// Format checks of the spec's strings: names, environment variable names, hosts, and regexes
// (swarm::pattern, RE2 syntax); numbers as messages show them.
#include "runtime/core/detail/spec_formats.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "runtime/core/pattern.hpp"

namespace swarm::detail {

/// Why `pattern` is not a regex swarm::pattern compiles with at least `groups` capture groups.
std::optional<std::string> regex_problem(const std::string& pattern, unsigned groups) {
  return swarm::pattern::problem(pattern, groups);
}

bool is_host(std::string_view x) {
  return !x.empty() && std::all_of(x.begin(), x.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
  });
}

bool is_name(std::string_view x) {
  return !x.empty() && std::all_of(x.begin(), x.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool is_env_var_name(std::string_view x) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !x.empty() && letter(x[0]) && std::all_of(x.begin() + 1, x.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9');
  });
}

/// Shortest text that reads back as `x`: "2", "0.5".
std::string number_text(double x) {
  char buffer[32];
  // Whole numbers in full ("1000000", not "1e+06").
  auto format = x == std::floor(x) && std::fabs(x) < 1e15 ? std::chars_format::fixed
                                                          : std::chars_format::general;
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, x, format);
  return ec == std::errc{} ? std::string(buffer, end) : std::to_string(x);
}

} // namespace swarm::detail
