// Format checks of the spec's strings: names, environment variable names, hosts, and regexes
// that std::regex compiles safely; numbers as messages show them.
#include "runtime/core/detail/spec_formats.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <regex>
#include <vector>

namespace swarm::detail {

namespace {

// Regexes longer or larger than this are refused: std::regex compiles by recursion (one level a
// term) and copies a counted repetition's states, so a hostile pattern could exhaust the stack
// or take seconds.
constexpr size_t max_regex_chars = 1000;
constexpr size_t max_regex_states = 10'000;

/// A generous bound of the states std::regex builds for `pattern`: an atom counts one, a group
/// the sum of its atoms, and `{n,m}` repeats its atom max(n, m) + 1 times. Saturates at `cap`.
size_t regex_states(std::string_view pattern, size_t cap) {
  auto times = [cap](size_t a, size_t b) { return b != 0 && a > cap / b ? cap : a * b; };
  auto plus = [cap](size_t a, size_t b) { return std::min(cap, a + b); };
  std::vector<size_t> groups{0}; // states of each open group so far
  size_t last = 0;               // states of the last atom, for a quantifier
  auto atom = [&](size_t states) {
    last = states;
    groups.back() = plus(groups.back(), states);
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
      atom(1);
    } else if (c == '[') {
      // A class is one state; `]` first in it is literal, escapes may hide a `]`.
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '^')
        ++j;
      if (j < pattern.size() && pattern[j] == ']')
        ++j;
      while (j < pattern.size() && pattern[j] != ']')
        j += pattern[j] == '\\' ? 2 : 1;
      i = j;
      atom(1);
    } else if (c == '(') {
      groups.push_back(0);
    } else if (c == ')' && groups.size() > 1) {
      auto inner = plus(groups.back(), 2);
      groups.pop_back();
      atom(inner);
    } else if (c == '{') {
      size_t counts[2] = {0, 0}; // {n} or {n,} or {n,m}
      size_t which = 0;
      bool digits = false;
      size_t j = i + 1;
      for (; j < pattern.size(); ++j) {
        if (pattern[j] == ',' && which == 0) {
          which = 1;
        } else if (pattern[j] >= '0' && pattern[j] <= '9') {
          digits = true;
          counts[which] = plus(times(counts[which], 10), static_cast<size_t>(pattern[j] - '0'));
        } else {
          break;
        }
      }
      if (!digits || j >= pattern.size() || pattern[j] != '}') {
        atom(1); // a literal brace
        continue;
      }
      // The atom is copied max(n, m) + 1 times.
      auto extra = times(last, plus(std::max(counts[0], counts[1]), 1));
      groups.back() = plus(groups.back(), extra);
      last = plus(last, extra);
      i = j;
    } else {
      atom(1);
    }
  }
  size_t total = 0;
  for (auto states : groups)
    total = plus(total, states);
  return total;
}

/// Whether every `(` of a regex has its `)`, escapes and classes aside.
bool balanced_parentheses(std::string_view pattern) {
  int64_t open = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      for (++i; i < pattern.size() && pattern[i] != ']'; ++i)
        i += pattern[i] == '\\' ? 1 : 0;
    } else if (c == '(') {
      ++open;
    } else if (c == ')' && --open < 0) {
      return false;
    }
  }
  return open == 0;
}

/// What is wrong with a std::regex error, in words that do not depend on the standard library.
std::string regex_error_text(const std::regex_error& e, bool balanced) {
  namespace rc = std::regex_constants;
  auto code = e.code();
  if (code == rc::error_collate)
    return "invalid collating element";
  if (code == rc::error_ctype)
    return "invalid character class";
  if (code == rc::error_escape)
    return "invalid escape";
  if (code == rc::error_backref)
    return "invalid back reference";
  if (code == rc::error_brack)
    return "unbalanced [ ]";
  if (code == rc::error_paren) // libstdc++ also says so for a token out of place
    return balanced ? "unexpected *, +, ? or (?" : "unbalanced ( )";
  if (code == rc::error_brace)
    return "unbalanced { }";
  if (code == rc::error_badbrace)
    return "invalid repetition count in { }";
  if (code == rc::error_range)
    return "invalid character range";
  if (code == rc::error_badrepeat)
    return "nothing to repeat";
  if (code == rc::error_space || code == rc::error_complexity || code == rc::error_stack)
    return "too large";
  return "cannot be compiled";
}

} // namespace

/// Why `pattern` is not an ECMAScript regex with at least `groups` capture groups, or nothing.
std::optional<std::string> regex_problem(const std::string& pattern, unsigned groups) {
  if (pattern.size() > max_regex_chars)
    return "invalid regex: longer than " + std::to_string(max_regex_chars) + " characters";
  if (regex_states(pattern, max_regex_states + 1) > max_regex_states)
    return std::string{"invalid regex: too large"};
  try {
    std::regex compiled{pattern, std::regex::ECMAScript};
    if (compiled.mark_count() < groups)
      return std::string{"needs a capture group (group 1 is what is compared)"};
  } catch (const std::regex_error& e) {
    return "invalid regex: " + regex_error_text(e, balanced_parentheses(pattern));
  } catch (const std::exception&) {
    return std::string{"invalid regex: too large"};
  }
  return std::nullopt;
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
