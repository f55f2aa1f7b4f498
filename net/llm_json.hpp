// The OpenAI wire format at the client's edge: URL parsing, request encoding, response decoding
// and the accumulator that folds streamed chunks into one chat_result. No Boost in this header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"

namespace swarm::net {

/// An endpoint base URL taken apart: "https://api.openai.com/v1" → tls, host, 443, "/v1".
struct parsed_url {
  bool tls = false;
  std::string host;      ///< without brackets for IPv6 literals
  uint16_t port = 0;     ///< explicit or the scheme's default
  std::string base_path; ///< without trailing '/', e.g. "/v1" or ""

  /// "scheme://host:port": what one connection pool serves.
  std::string pool_key() const;
  /// The value of the Host header ("host" or "host:port" when the port is not the default).
  std::string host_header() const;
};

/// Parses an http(s) base URL. Errors: errc::invalid_argument naming the defect.
caf::expected<parsed_url> parse_url(std::string_view url);

/// Encodes the body of POST /chat/completions. `tools[].parameters` and `response_format` are
/// JSON texts embedded as objects. Errors: errc::invalid_argument when one of them is not JSON.
caf::expected<std::string> encode_chat_request(const chat_request& req);

/// Encodes the body of POST /embeddings.
std::string encode_embedding_request(const embedding_request& req);

/// The largest token count a reply's `usage` may state for one call (10^9, far above any
/// context window); a larger one is taken as invalid.
inline constexpr uint64_t max_usage_tokens = 1'000'000'000;

/// Decodes a non-streamed chat completion (HTTP 200 body). Errors: errc::llm_invalid_response
/// naming what is wrong, with a short excerpt of the body.
caf::expected<chat_result> decode_chat_response(std::string_view body);

/// Encodes `res` as the body of a non-streamed chat completion (the inverse of
/// decode_chat_response): what the record/replay cassette stores.
std::string encode_chat_response(const chat_result& res);

/// Decodes an embeddings response; vectors come out in input order (by `index`). Errors:
/// errc::llm_invalid_response.
caf::expected<embedding_result> decode_embedding_response(std::string_view body);

/// The API's error text from an error body (`error.message`, or `error` as a string), else a
/// short excerpt of the body.
std::string api_error_message(std::string_view body);

/// At most `n` bytes of `body` for error messages, never splitting a UTF-8 sequence.
std::string excerpt(std::string_view body, size_t n = 120);

/// Folds the JSON chunks of a streamed chat completion into one chat_result: content deltas
/// appended, tool-call deltas merged by index (id and name first, arguments appended),
/// finish_reason, logprobs and the final usage chunk.
class stream_accumulator {
public:
  using delta_sink = std::function<void(std::string_view)>;

  stream_accumulator();
  ~stream_accumulator();
  stream_accumulator(stream_accumulator&&) noexcept;
  stream_accumulator& operator=(stream_accumulator&&) noexcept;

  /// Folds the data of one SSE event (not "[DONE]"). Content deltas also go to `on_delta`.
  /// Errors: errc::llm_invalid_response for non-JSON or wrong-shape chunks, errc::llm_http_error
  /// for an in-stream `error` object.
  caf::error add(std::string_view chunk_json, const delta_sink& on_delta = {});

  /// Number of content deltas folded so far.
  size_t deltas() const { return deltas_; }

  /// The result folded so far (moves it out; the accumulator is then empty).
  chat_result take();

  /// take() for a stream that ended with [DONE]: errc::invalid_reply naming it when no delta
  /// carried content (a string, even "") and none a tool call, as a non-streamed reply whose
  /// content is null; the accumulator is then empty either way.
  [[nodiscard]] caf::expected<chat_result> finish();

  /// Forgets everything folded (for a retried attempt).
  void reset();

private:
  struct state;
  std::unique_ptr<state> state_;
  size_t deltas_ = 0;
};

} // namespace swarm::net
