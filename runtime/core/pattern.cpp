// swarm::pattern on RE2: compiling with bounded size, the problems in our words, matching.
#include "runtime/core/pattern.hpp"

#include <re2/re2.h>
#include <utility>

namespace swarm {

namespace {

/// At most 40 characters of an offending piece, for a message.
std::string excerpt(std::string_view x) {
  constexpr size_t max = 40;
  return x.size() <= max ? std::string{x} : std::string{x.substr(0, max)} + "...";
}

/// `what` followed by ": piece" when RE2 named a piece.
std::string with_piece(std::string what, std::string_view piece) {
  if (!piece.empty()) {
    what += ": ";
    what += excerpt(piece);
  }
  return what;
}

/// Why RE2 refused `text`, in words that do not depend on RE2's.
std::string compile_problem(const re2::RE2& re, std::string_view text) {
  std::string_view piece = re.error_arg();
  switch (re.error_code()) {
  case re2::RE2::ErrorBadEscape:
    // ECMAScript and Perl habits that RE2 leaves out on purpose get their own words.
    if (piece.size() == 2 && piece[0] == '\\' && piece[1] >= '1' && piece[1] <= '9')
      return with_piece("back references are not supported (RE2 syntax)", piece);
    return with_piece("invalid escape", piece);
  case re2::RE2::ErrorBadCharClass:
    return with_piece("invalid character class", piece);
  case re2::RE2::ErrorBadCharRange:
    // RE2 also says so for an unknown \p{...} or [:...:] class.
    if (piece.starts_with("\\p") || piece.starts_with("\\P") || piece.starts_with("[:"))
      return with_piece("invalid character class", piece);
    return with_piece("invalid character range", piece);
  case re2::RE2::ErrorMissingBracket:
    return with_piece("missing ]", piece);
  case re2::RE2::ErrorMissingParen:
    return with_piece("missing )", piece);
  case re2::RE2::ErrorUnexpectedParen:
    return with_piece("unexpected )", piece);
  case re2::RE2::ErrorTrailingBackslash:
    return "trailing \\";
  case re2::RE2::ErrorRepeatArgument:
    return with_piece("nothing to repeat", piece);
  case re2::RE2::ErrorRepeatSize:
    return with_piece("invalid repetition count (at most 1000)", piece);
  case re2::RE2::ErrorRepeatOp:
    return with_piece("invalid repetition operator", piece);
  case re2::RE2::ErrorBadPerlOp: {
    // RE2 names "(?=", "(?!" or "(?<"; the text tells a lookbehind from a named group.
    auto at = text.find(piece);
    auto next = at == std::string_view::npos || at + piece.size() >= text.size()
                    ? '\0'
                    : text[at + piece.size()];
    if (piece == "(?=" || piece == "(?!" || (piece == "(?<" && (next == '=' || next == '!')))
      return with_piece("lookaround is not supported (RE2 syntax)", piece);
    if (piece == "(?<")
      return with_piece("named groups are written (?P<name>...)", piece);
    return with_piece("invalid (? group", piece);
  }
  case re2::RE2::ErrorBadUTF8:
    return "invalid UTF-8";
  case re2::RE2::ErrorBadNamedCapture:
    return with_piece("invalid named group", piece);
  case re2::RE2::ErrorPatternTooLarge:
    return "too large";
  default:
    return "cannot be compiled";
  }
}

} // namespace

pattern::pattern(std::string text, std::shared_ptr<const re2::RE2> re, size_t groups)
    : text_(std::move(text)), re_(std::move(re)), group_count_(groups) {}

pattern_result pattern::compile(std::string_view text, unsigned min_capture_groups) {
  if (text.size() > max_chars)
    return {std::nullopt,
            "invalid regex: longer than " + std::to_string(max_chars) + " characters"};
  re2::RE2::Options options;
  options.set_log_errors(false); // the problem is returned, not printed
  options.set_max_mem(max_memory_bytes);
  auto re = std::make_shared<const re2::RE2>(re2::StringPiece{text.data(), text.size()}, options);
  if (!re->ok())
    return {std::nullopt, "invalid regex: " + compile_problem(*re, text)};
  auto groups = static_cast<size_t>(re->NumberOfCapturingGroups());
  if (groups < min_capture_groups)
    return {std::nullopt, min_capture_groups == 1
                              ? std::string{"needs a capture group (group 1 is what is compared)"}
                              : "needs " + std::to_string(min_capture_groups) + " capture groups"};
  return {pattern{std::string{text}, std::move(re), groups}, {}};
}

std::optional<std::string> pattern::problem(std::string_view text, unsigned min_capture_groups) {
  auto result = compile(text, min_capture_groups);
  if (result)
    return std::nullopt;
  return std::move(result.problem);
}

bool pattern::search(std::string_view text) const {
  return re_->Match(re2::StringPiece{text.data(), text.size()}, 0, text.size(),
                    re2::RE2::UNANCHORED, nullptr, 0);
}

std::optional<std::string> pattern::first_group(std::string_view text) const {
  if (group_count_ < 1)
    return std::nullopt;
  re2::StringPiece found[2];
  if (!re_->Match(re2::StringPiece{text.data(), text.size()}, 0, text.size(), re2::RE2::UNANCHORED,
                  found, 2) ||
      found[1].data() == nullptr)
    return std::nullopt;
  return std::string{found[1].data(), found[1].size()};
}

std::optional<std::vector<std::string>> pattern::groups(std::string_view text) const {
  std::vector<re2::StringPiece> found(group_count_ + 1);
  if (!re_->Match(re2::StringPiece{text.data(), text.size()}, 0, text.size(), re2::RE2::UNANCHORED,
                  found.data(), static_cast<int>(found.size())))
    return std::nullopt;
  std::vector<std::string> out;
  out.reserve(found.size());
  for (const auto& g : found)
    out.emplace_back(g.data() == nullptr ? std::string{} : std::string{g.data(), g.size()});
  return out;
}

} // namespace swarm
