// The prompt-side stand-in for response_format (see structured_fallback.hpp).
#include "net/structured_fallback.hpp"

#include <boost/json.hpp>

namespace swarm::net {

namespace json = boost::json;

std::string schema_instruction(const std::string& response_format) {
  boost::system::error_code ec;
  auto rf = json::parse(response_format, ec);
  const auto* obj = ec ? nullptr : rf.if_object();
  const json::value* type = obj ? obj->if_contains("type") : nullptr;
  if (type && type->is_string() && type->get_string() == "json_object")
    return "Answer with JSON only: one JSON object, no other text.";
  if (type && type->is_string() && type->get_string() == "json_schema")
    if (const auto* js = obj->if_contains("json_schema"); js && js->is_object())
      if (const auto* schema = js->get_object().if_contains("schema"))
        return "Answer with JSON only, no other text, following this JSON schema: " +
               json::serialize(*schema);
  return "Answer with JSON only, no other text, following this response format: " + response_format;
}

std::optional<chat_request> without_response_format(const chat_request& req) {
  if (req.response_format.empty())
    return std::nullopt;
  auto out = req;
  auto instruction = schema_instruction(req.response_format);
  out.response_format.clear();
  for (auto& m : out.messages)
    if (m.role == "system") {
      // Appended: scripted servers and prompt caches key on how the system prompt starts.
      m.content += m.content.empty() ? instruction : "\n\n" + instruction;
      return out;
    }
  chat_message system;
  system.role = "system";
  system.content = std::move(instruction);
  out.messages.insert(out.messages.begin(), std::move(system));
  return out;
}

} // namespace swarm::net
