// Token files and constant-time token checks.
#include "serve/auth.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "runtime/core/errc.hpp"

namespace swarm::serve {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

} // namespace

caf::expected<std::vector<api_token>> parse_tokens(std::string_view text,
                                                   const std::string& source) {
  std::vector<api_token> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#')
      continue;
    auto where = source + ":" + std::to_string(line_no);
    api_token t;
    auto gap = line.find_first_of(" \t");
    if (gap == std::string_view::npos) {
      t.name = "token-" + std::to_string(line_no);
      t.secret = std::string{line};
    } else {
      t.name = std::string{line.substr(0, gap)};
      t.secret = std::string{trim(line.substr(gap))};
      if (t.secret.find_first_of(" \t") != std::string::npos)
        return make_error(errc::invalid_argument,
                          where + ": a line is `TOKEN` or `NAME TOKEN`, this one has more fields");
    }
    if (t.secret.size() < 16 || t.secret.size() > 512)
      return make_error(errc::invalid_argument,
                        where + ": token '" + t.name + "' is " + std::to_string(t.secret.size()) +
                            " characters long; tokens are 16 to 512 characters");
    for (char c : t.secret)
      if (c < 0x21 || c > 0x7e)
        return make_error(errc::invalid_argument,
                          where + ": token '" + t.name +
                              "' has a character that is not visible ASCII");
    for (const auto& other : out)
      if (other.name == t.name)
        return make_error(errc::invalid_argument,
                          where + ": a second token named '" + t.name + "'");
    out.push_back(std::move(t));
  }
  if (out.empty())
    return make_error(errc::invalid_argument, source + ": no token in the file");
  return out;
}

caf::expected<std::vector<api_token>> read_tokens(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::io_error, "cannot read the token file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_tokens(text.str(), path);
}

const api_token* match_token(const std::vector<api_token>& tokens, std::string_view presented) {
  const api_token* found = nullptr;
  for (const auto& t : tokens) {
    // Every byte of both is looked at; a length mismatch is folded into the difference.
    unsigned diff = t.secret.size() == presented.size() ? 0u : 1u;
    auto n = std::max(t.secret.size(), presented.size());
    for (size_t i = 0; i < n; ++i) {
      auto a = i < t.secret.size() ? static_cast<unsigned char>(t.secret[i]) : 0u;
      auto b = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0u;
      diff |= a ^ b;
    }
    if (diff == 0 && !found)
      found = &t;
  }
  return found;
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size())
    return {};
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
      return {};
  return trim(authorization.substr(scheme.size()));
}

bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

} // namespace swarm::serve
