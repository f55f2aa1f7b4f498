// What the spec's strings must look like (names, hosts, regexes) and how numbers read in messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace swarm::detail {

/// [A-Za-z0-9_-]+
bool is_name(std::string_view x);

/// [A-Za-z_][A-Za-z0-9_]*
bool is_env_var_name(std::string_view x);

/// A host of an allow-list: a name or an address, with an optional port.
bool is_host(std::string_view x);

/// Why `pattern` is not a regex (RE2 syntax, swarm::pattern) with at least `groups` capture
/// groups, or nothing: "invalid regex: missing ): (a", "invalid regex: too large".
std::optional<std::string> regex_problem(const std::string& pattern, unsigned groups);

/// Shortest text that reads back as `x`: "2", "0.5", "1000000".
std::string number_text(double x);

} // namespace swarm::detail
