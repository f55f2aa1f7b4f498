// Bearer tokens of the HTTP API: the token file, and the check of a presented token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace swarm::serve {

/// One token a client may present. `name` says whose it is (in logs and metrics, never the
/// secret).
struct api_token {
  std::string name;
  std::string secret;
};

/// The tokens of a token file's text: one a line, either `TOKEN` (named `token-N`, N its line)
/// or `NAME TOKEN` (whitespace between); blank lines and lines starting with `#` are skipped.
/// A token is 16 to 512 visible ASCII characters. Errors (invalid_argument) name `source`, the
/// line and what is wrong, never the secret; a file with no token is one too.
[[nodiscard]] caf::expected<std::vector<api_token>> parse_tokens(std::string_view text,
                                                                 const std::string& source);

/// parse_tokens of the file at `path` (io_error naming it if it cannot be read).
[[nodiscard]] caf::expected<std::vector<api_token>> read_tokens(const std::string& path);

/// The token of `tokens` equal to `presented`, or nullptr. Every token is compared over its
/// whole length whatever matched before, so the time taken tells nothing of the secrets.
const api_token* match_token(const std::vector<api_token>& tokens, std::string_view presented);

/// The token of an `Authorization: Bearer TOKEN` header value; empty for any other scheme.
std::string_view bearer_token(std::string_view authorization);

/// True for an address only this machine reaches: 127.0.0.0/8, ::1, "localhost".
bool is_loopback(std::string_view host);

} // namespace swarm::serve
