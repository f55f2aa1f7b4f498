// The built-in tools' arguments: the model's JSON object and its string arguments, with errors
// written for the model to act on.
#include <utility>

#include <boost/json.hpp>

#include "actors/detail/builtin_tool_impl.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::actors::detail {

namespace json = boost::json;

namespace {

const char* kind_of(const json::value& v) {
  switch (v.kind()) {
  case json::kind::null:
    return "null";
  case json::kind::bool_:
    return "a boolean";
  case json::kind::int64:
  case json::kind::uint64:
  case json::kind::double_:
    return "a number";
  case json::kind::string:
    return "a string";
  case json::kind::array:
    return "an array";
  case json::kind::object:
    return "an object";
  }
  return "a value";
}

} // namespace

std::string excerpt(std::string_view s, size_t n) {
  return s.size() <= n ? std::string{s} : std::string{s.substr(0, n)} + "...";
}

caf::error failed(const std::string& tool, const std::string& what) {
  return make_error(errc::tool_failed, tool + ": " + what);
}

caf::expected<json::object> parse_arguments(const std::string& tool, const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text.empty() ? std::string_view{"{}"} : std::string_view{text}, ec);
  if (ec)
    return failed(tool, "the arguments are not valid JSON (" + ec.message() +
                            "); send one JSON object, got: " + excerpt(text));
  if (!v.is_object())
    return failed(tool, "the arguments must be a JSON object, got: " + excerpt(text));
  return std::move(v.as_object());
}

caf::expected<std::string> string_arg(const json::object& args, const std::string& tool,
                                      const char* key, std::optional<std::string> fallback) {
  auto i = args.find(key);
  if (i == args.end()) {
    if (fallback)
      return *fallback;
    return failed(tool, std::string{"missing argument '"} + key + "' (a string)");
  }
  if (!i->value().is_string())
    return failed(tool, std::string{"argument '"} + key + "' must be a string, got " +
                            kind_of(i->value()));
  return std::string{i->value().as_string()};
}

} // namespace swarm::actors::detail
