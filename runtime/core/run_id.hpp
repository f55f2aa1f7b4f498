// Which strings may name a run: a run id becomes a directory (the run's tool workspace) and a
// journal key, so it is checked once, where a run starts, instead of by every tool call.
#pragma once

#include <string>
#include <string_view>

namespace swarm {

/// The longest run id (characters).
inline constexpr size_t max_run_id_length = 128;

/// Why `id` cannot name a run, or empty if it can. A run id is 1 to `max_run_id_length`
/// characters of [A-Za-z0-9._-] and neither "." nor "..": it names a directory.
inline std::string run_id_problem(std::string_view id) {
  if (id.empty())
    return "a run id cannot be empty";
  if (id.size() > max_run_id_length)
    return "run id of " + std::to_string(id.size()) + " characters is longer than " +
           std::to_string(max_run_id_length);
  if (id == "." || id == "..")
    return "run id '" + std::string{id} + "' cannot name a directory";
  auto ok = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  for (size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    if (ok(id[i]))
      continue;
    std::string shown;
    if (c < 0x20 || c == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      shown = std::string{"the control character \\x"} + hex[c >> 4] + hex[c & 0xf];
    } else if (c == ' ') {
      shown = "a space";
    } else if (c < 0x80) {
      shown = std::string{"'"} + id[i] + "'";
    } else {
      shown = "a non-ASCII byte";
    }
    return "run id holds " + shown + " at position " + std::to_string(i + 1) +
           ": use only letters, digits, '.', '_' and '-'";
  }
  return {};
}

} // namespace swarm
