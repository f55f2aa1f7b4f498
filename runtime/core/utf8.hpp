// UTF-8 repair where text enters the runtime (task, spec, tool output, LLM replies): invalid
// byte sequences would make every request JSON that carries them invalid, so each one becomes
// U+FFFD once, at its entry, and everything further in can trust its text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace swarm {

/// The replacement character U+FFFD, UTF-8 encoded.
inline constexpr std::string_view utf8_replacement = "\xEF\xBF\xBD";

/// Length of the longest prefix of `text` that is well-formed UTF-8 (text.size(): all of it).
/// Well-formed as Unicode's table 3-7 says: no overlong forms, no surrogates (U+D800..U+DFFF),
/// nothing above U+10FFFF, no truncated sequence.
inline size_t valid_utf8_prefix(std::string_view text);

/// True if all of `text` is well-formed UTF-8.
inline bool is_valid_utf8(std::string_view text) {
  return valid_utf8_prefix(text) == text.size();
}

/// Replaces each maximal subpart of an ill-formed sequence in `text` by U+FFFD (Unicode's
/// "substitution of maximal subparts": a byte that cannot start a sequence is one subpart; a
/// valid start followed by fewer continuation bytes than it needs, or by one out of its range,
/// is one subpart up to the byte that breaks it). Returns how many were replaced; 0 when `text`
/// was valid, which leaves it untouched (no copy).
inline size_t repair_utf8(std::string& text);

// -- implementation (header only: the runtime's lowest layer uses it everywhere) --

namespace detail {

// The length of the sequence that starts at text[i]: `ok` when it is well-formed, else the
// length of its maximal subpart (at least 1), which becomes one U+FFFD.
inline size_t sequence_at(std::string_view text, size_t i, bool& ok) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  auto lead = byte(i);
  ok = false;
  if (lead < 0x80) {
    ok = true;
    return 1;
  }
  // Table 3-7: the continuation bytes each lead needs, and the range of the first of them (the
  // narrow ranges rule out overlongs, surrogates and code points above U+10FFFF).
  size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead == 0xE0) {
    need = 2;
    lo = 0xA0;
  } else if (lead == 0xED) {
    need = 2;
    hi = 0x9F;
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    need = 2;
  } else if (lead == 0xF0) {
    need = 3;
    lo = 0x90;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    need = 3;
  } else if (lead == 0xF4) {
    need = 3;
    hi = 0x8F;
  } else {
    return 1; // 80..C1 and F5..FF never start a sequence
  }
  size_t len = 1;
  for (size_t k = 0; k < need; ++k, ++len) {
    if (i + len >= text.size())
      return len;
    auto next = byte(i + len);
    if (next < lo || next > hi)
      return len;
    lo = 0x80;
    hi = 0xBF;
  }
  ok = true;
  return len;
}

} // namespace detail

inline size_t valid_utf8_prefix(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    // Most text is ASCII: eight bytes at a time while none has its high bit set.
    while (i + 8 <= n) {
      uint64_t word = 0;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ULL) != 0)
        break;
      i += 8;
    }
    if (i >= n)
      break;
    bool ok = false;
    auto len = detail::sequence_at(text, i, ok);
    if (!ok)
      return i;
    i += len;
  }
  return n;
}

inline size_t repair_utf8(std::string& text) {
  size_t i = valid_utf8_prefix(text);
  if (i == text.size())
    return 0;
  std::string out;
  out.reserve(text.size() + 16);
  out.append(text, 0, i);
  size_t replaced = 0;
  std::string_view rest{text};
  while (i < rest.size()) {
    bool ok = false;
    i += detail::sequence_at(rest, i, ok); // not ok: valid_utf8_prefix stopped here
    out.append(utf8_replacement);
    ++replaced;
    auto valid = valid_utf8_prefix(rest.substr(i));
    out.append(rest.substr(i, valid));
    i += valid;
  }
  text = std::move(out);
  return replaced;
}

} // namespace swarm
