// A compiled regex from a user or a model (router routes, `normalize: regex`, graph `when`, the
// mock's `match`): RE2 syntax, matched in time linear in the text, so no pattern can hang a run.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
} // namespace re2

namespace swarm {

class pattern;

/// What pattern::compile gives: the pattern, or why not ("invalid regex: missing ): (a").
struct pattern_result;

/// A regex compiled once (RE2 syntax: no back references, no lookaround). Searched, not
/// anchored; case-sensitive unless it says `(?i)`. Copies share the compiled program.
class pattern {
public:
  /// Patterns longer than this are refused ("invalid regex: longer than 1000 characters").
  static constexpr size_t max_chars = 1000;
  /// The bound of the compiled program and its matching caches; a pattern needing more is
  /// refused ("invalid regex: too large").
  static constexpr int64_t max_memory_bytes = int64_t{2} << 20;

  /// Compiles `text`, which must have at least `min_capture_groups` capture groups.
  [[nodiscard]] static pattern_result compile(std::string_view text,
                                              unsigned min_capture_groups = 0);

  /// Why `text` does not compile with `min_capture_groups` groups, or nothing.
  [[nodiscard]] static std::optional<std::string> problem(std::string_view text,
                                                          unsigned min_capture_groups = 0);

  /// Whether the pattern matches somewhere in `text`.
  [[nodiscard]] bool search(std::string_view text) const;

  /// Capture group 1 of the first (leftmost) match; nothing when there is no match, no group 1,
  /// or group 1 took no part in the match.
  [[nodiscard]] std::optional<std::string> first_group(std::string_view text) const;

  /// The whole first match then every capture group (one that took no part: empty); nothing
  /// when there is no match.
  [[nodiscard]] std::optional<std::vector<std::string>> groups(std::string_view text) const;

  /// The pattern as written.
  [[nodiscard]] const std::string& text() const noexcept { return text_; }

  /// The number of capture groups.
  [[nodiscard]] size_t group_count() const noexcept { return group_count_; }

private:
  pattern(std::string text, std::shared_ptr<const re2::RE2> re, size_t groups);

  std::string text_;
  std::shared_ptr<const re2::RE2> re_;
  size_t group_count_ = 0;
};

struct pattern_result {
  std::optional<pattern> value;
  std::string problem; ///< set when `value` is not

  explicit operator bool() const noexcept { return value.has_value(); }
};

} // namespace swarm
