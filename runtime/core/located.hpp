// Located problems of a document (a spec, a mock script): path, message, line; the helpers that
// build paths and messages, and the "did you mean" suggestion for a misspelled key.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace swarm {

/// One problem of a document: `path` is like "agents[2].model" (empty: the whole document),
/// `line` is 1-based (0: unknown).
struct located_problem {
  std::string path;
  std::string message;
  int line = 0;
};

/// "agents[2].model: expected a string (line 14)"
std::string to_string(const located_problem& x);

/// "SOURCE: 2 problems:\n  a: ... (line 1)\n  b: ..." (one problem: "SOURCE: 1 problem:").
std::string problems_text(std::string_view source, const std::vector<located_problem>& problems);

/// "a.b" from "a" and "b"; "b" from "" and "b".
std::string join_path(std::string_view path, std::string_view key);

/// "a[3]" from "a" and 3.
std::string index_path(std::string_view path, size_t i);

/// User text quoted in a message: control bytes replaced, text past 60 bytes cut to "...", so a
/// message stays one readable line whatever the input.
std::string excerpt(std::string_view text);

/// "a, b, c"
std::string comma_list(std::span<const std::string_view> items);

/// Edit distance counting a swap of neighbours as one edit (optimal string alignment); gives up,
/// returning `cap + 1`, as soon as the lengths alone differ by more than `cap`.
size_t edit_distance(std::string_view a, std::string_view b, size_t cap);

/// The candidate closest to `word` within two edits (the first of equals), or empty.
std::string_view closest_word(std::string_view word, std::span<const std::string_view> candidates);

/// "unknown key (did you mean 'model'?)", or "unknown key" when no known key is close.
std::string unknown_key_message(std::string_view key, std::span<const std::string_view> known);

} // namespace swarm
