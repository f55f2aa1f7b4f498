// What the built-in tools' files share (private to actors/): the argument helpers of
// tool_arguments.cpp and each tool's entry point, which run_tool (builtin_tools.cpp) calls.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/builtin_tools.hpp"

namespace swarm::actors::detail {

// -- arguments (tool_arguments.cpp) ---------------------------------------------------------------

/// The first `n` bytes of `s`, with "..." when cut.
std::string excerpt(std::string_view s, size_t n = 200);

/// tool_failed with the context "TOOL: WHAT".
caf::error failed(const std::string& tool, const std::string& what);

/// The model's arguments as a JSON object (empty text is `{}`); tool_failed naming the problem.
caf::expected<boost::json::object> parse_arguments(const std::string& tool,
                                                   const std::string& text);

/// The string argument `key`; `fallback` set: optional with that default. tool_failed when it is
/// missing (without a fallback) or not a string.
caf::expected<std::string> string_arg(const boost::json::object& args, const std::string& tool,
                                      const char* key,
                                      std::optional<std::string> fallback = std::nullopt);

// -- the tools: the content for the model, or an error written for it --------------------------

/// shell, python, and custom tools (program_tools.cpp).
caf::expected<std::string> shell_tool(const tool_context& ctx, const boost::json::object& args);
caf::expected<std::string> python_tool(const tool_context& ctx, const boost::json::object& args);
caf::expected<std::string> custom_tool(const tool_context& ctx, const boost::json::object& args);

/// read_file, write_file, list_files (file_tools.cpp).
caf::expected<std::string> read_file_tool(const tool_context& ctx, const boost::json::object& args);
caf::expected<std::string> write_file_tool(const tool_context& ctx,
                                           const boost::json::object& args);
caf::expected<std::string> list_files_tool(const tool_context& ctx,
                                           const boost::json::object& args);

/// http_get (http_get_tool.cpp).
caf::expected<std::string> http_get_tool(const tool_context& ctx, const boost::json::object& args);

} // namespace swarm::actors::detail
