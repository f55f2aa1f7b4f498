// A swarm as an OpenAI model: the chat-completions request it reads (the conversation as one
// task), the completion, chunks and errors it answers, and the model list.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"

namespace swarm::serve {

/// What a chat-completions request asks of a swarm.
struct chat_task {
  std::string model; ///< the swarm's name
  std::string task;  ///< the conversation as one task text
  bool stream = false;
  bool include_usage = false; ///< stream_options.include_usage
};

/// Reads a `POST /v1/chat/completions` body: `model`, `messages` (roles system, developer, user,
/// assistant, tool; content a string or an array of text parts), `stream`, `stream_options`.
/// Other parameters (temperature, tools, ...) belong to the swarm's own agents and are ignored.
/// A single user message is the task as it is; a longer conversation becomes the task "the
/// conversation so far" followed by the last user message. Errors (invalid_argument) say what
/// is missing or malformed.
caf::expected<chat_task> parse_chat_request(std::string_view body);

/// `{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}`.
boost::json::object models_json(const std::vector<std::string>& swarms);

/// An OpenAI error body: `{"error": {"message", "type", "param": null, "code"}}`.
boost::json::object openai_error(std::string_view message, std::string_view type,
                                 std::string_view code = {});

/// The `chat.completion` of run `run_id`'s result `r` (usage: the whole swarm's).
boost::json::object completion_json(const std::string& run_id, const std::string& model,
                                    const result& r);

/// The status and OpenAI error body of a run that failed with `err`.
std::pair<unsigned, boost::json::object> completion_error(const caf::error& err);

/// The first SSE event of a streamed completion: a chunk with the assistant role.
std::string completion_chunk_head(const std::string& run_id, const std::string& model);

/// The answer of `r` as SSE chunk events (pieces of at most a few words), the finish_reason
/// chunk, and with `include_usage` a last chunk with the usage; `data: [DONE]` is not included.
std::vector<std::string> completion_chunks(const std::string& run_id, const std::string& model,
                                           const result& r, bool include_usage);

/// An SSE event with the OpenAI error body of `err` (a stream that already answered 200).
std::string completion_stream_error(const caf::error& err);

} // namespace swarm::serve
