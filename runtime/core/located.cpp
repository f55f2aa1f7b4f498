// Located problems and the helpers shared by the spec reader and the mock LLM's script reader.
#include "runtime/core/located.hpp"

#include <algorithm>

namespace swarm {

std::string to_string(const located_problem& x) {
  std::string out;
  if (!x.path.empty()) {
    out = x.path;
    out += ": ";
  }
  out += x.message;
  if (x.line > 0) {
    out += " (line ";
    out += std::to_string(x.line);
    out += ')';
  }
  return out;
}

std::string problems_text(std::string_view source, const std::vector<located_problem>& problems) {
  std::string out{source};
  out += ": ";
  out += std::to_string(problems.size());
  out += problems.size() == 1 ? " problem:" : " problems:";
  for (const auto& problem : problems) {
    out += "\n  ";
    out += to_string(problem);
  }
  return out;
}

std::string join_path(std::string_view path, std::string_view key) {
  std::string out{path};
  if (!out.empty())
    out += '.';
  out += key;
  return out;
}

std::string index_path(std::string_view path, size_t i) {
  std::string out{path};
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

std::string excerpt(std::string_view text) {
  constexpr size_t limit = 60;
  std::string out;
  for (char c : text.substr(0, limit))
    out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  if (text.size() > limit)
    out += "...";
  return out;
}

std::string comma_list(std::span<const std::string_view> items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty())
      out += ", ";
    out += item;
  }
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b, size_t cap) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > cap)
    return cap + 1;
  auto n = b.size();
  std::vector<size_t> before_previous(n + 1), previous(n + 1), current(n + 1);
  for (size_t j = 0; j <= n; ++j)
    previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= n; ++j) {
      size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before_previous[j - 2] + 1);
    }
    std::swap(before_previous, previous);
    std::swap(previous, current);
  }
  return previous[n];
}

std::string_view closest_word(std::string_view word, std::span<const std::string_view> candidates) {
  constexpr size_t cap = 2;
  std::string_view best;
  size_t best_distance = cap + 1;
  for (auto candidate : candidates) {
    auto d = edit_distance(word, candidate, cap);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string unknown_key_message(std::string_view key, std::span<const std::string_view> known) {
  auto suggestion = closest_word(key, known);
  if (suggestion.empty())
    return "unknown key";
  return "unknown key (did you mean '" + std::string{suggestion} + "'?)";
}

} // namespace swarm
