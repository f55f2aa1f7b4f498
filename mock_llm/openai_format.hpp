// OpenAI wire format of the mock: parses request bodies and writes reply bodies (no Beast here).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "mock_llm/mock_llm_server.hpp"
#include "mock_llm/script.hpp"

namespace swarm::mock_llm {

/// `created` of every completion: fixed, so replies are byte-for-byte deterministic.
constexpr uint64_t created_time = 1700000000;

/// Parses a POST /v1/chat/completions body. Errors: errc::invalid_argument whose message is
/// the `error.message` of the 400 reply.
[[nodiscard]] caf::expected<chat_request> parse_chat_request(std::string_view body);

/// A POST /v1/embeddings request.
struct embedding_request {
  std::string model = "mock-embedding";
  std::vector<std::string> inputs;
  std::optional<size_t> dimensions; ///< overrides the script's embeddings.dimensions
};

/// Parses a POST /v1/embeddings body; errors as parse_chat_request.
[[nodiscard]] caf::expected<embedding_request> parse_embedding_request(std::string_view body);

/// Writes (replacing `out`) the `chat.completion` object answering chat request `n`.
void write_completion(std::string& out, const chat_request& req, const reply_plan& plan,
                      uint64_t n);

/// Writes (replacing `out`) the SSE events of a streamed reply, each `data: ...\n\n`, the last
/// `data: [DONE]\n\n`; `ends` receives the end offset of each event in `out`.
void write_completion_stream(std::string& out, std::vector<size_t>& ends, const chat_request& req,
                             const reply_plan& plan, uint64_t n);

/// The deterministic unit vector of `input` (a hash of its bytes seeds the components).
void embedding_vector(std::string_view input, size_t dimensions, std::vector<float>& out);

/// Writes (replacing `out`) the embeddings list answering `req`.
void write_embeddings(std::string& out, const embedding_request& req, size_t dimensions);

/// Writes (replacing `out`) the GET /v1/models list: "mock" and the script's models.
void write_models(std::string& out, const script& s);

/// Writes (replacing `out`) the counters; status_counts is an object keyed by status string.
void write_stats(std::string& out, const stats& st);

/// Writes (replacing `out`) `{"error":{"message":...,"type":...,"code":...}}`; code null if empty.
void write_error(std::string& out, std::string_view message, std::string_view type,
                 std::string_view code = {});

} // namespace swarm::mock_llm
