// Structured output from servers that refuse `response_format`: llama.cpp's server answers 400 to
// a JSON schema it cannot compile, older vLLM and Ollama reject the field. The client then sends
// the call once more without it, the schema put in the prompt; callers validate the reply as
// they do any structured reply.
#pragma once

#include <optional>
#include <string>

#include "runtime/core/messages.hpp"

namespace swarm::net {

/// The prompt text that stands in for `response_format` (an OpenAI response_format object as
/// JSON): "Answer with JSON only, following this JSON schema: {...}" for a json_schema, a plain
/// "Answer with JSON only" for json_object.
std::string schema_instruction(const std::string& response_format);

/// `req` without its response_format, with schema_instruction appended to its first system
/// message (or in a system message of its own in front when it has none). Nothing when `req` has
/// no response_format.
std::optional<chat_request> without_response_format(const chat_request& req);

} // namespace swarm::net
