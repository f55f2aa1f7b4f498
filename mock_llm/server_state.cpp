// The mock server's shared state (see detail/server_state.hpp): resetting and reading the
// counters, and the request log's lines.
#include "mock_llm/detail/server_state.hpp"

#include <string>

#include "mock_llm/json_text.hpp"

namespace swarm::mock_llm::detail {

void counters::reset() {
  for (auto* x : {&requests, &chat_requests, &stream_requests, &embedding_requests, &cancels,
                  &faults, &prompt_tokens, &completion_tokens})
    x->store(0, relaxed);
  peak_in_flight.store(in_flight.load(relaxed), relaxed);
  for (auto& x : status)
    x.store(0, relaxed);
}

mock_llm::stats counters::snapshot() const {
  mock_llm::stats s;
  s.requests = requests.load(relaxed);
  s.chat_requests = chat_requests.load(relaxed);
  s.stream_requests = stream_requests.load(relaxed);
  s.embedding_requests = embedding_requests.load(relaxed);
  s.cancels = cancels.load(relaxed);
  s.faults = faults.load(relaxed);
  s.prompt_tokens = prompt_tokens.load(relaxed);
  s.completion_tokens = completion_tokens.load(relaxed);
  s.in_flight = in_flight.load(relaxed);
  s.peak_in_flight = peak_in_flight.load(relaxed);
  for (size_t i = 0; i < status.size(); ++i)
    if (auto x = status[i].load(relaxed))
      s.status_counts[static_cast<int>(i)] = x;
  return s;
}

void shared_state::log_request(uint64_t n, std::string_view body, const chat_request& req) {
  if (request_log == nullptr)
    return;
  uint64_t h = 1469598103934665603ull; // FNV-1a 64
  for (unsigned char c : body)
    h = (h ^ c) * 1099511628211ull;
  char digest[17];
  std::snprintf(digest, sizeof(digest), "%016llx", static_cast<unsigned long long>(h));
  std::string line = "{\"n\":" + std::to_string(n) + ",\"model\":";
  json_text::append_string(line, req.model);
  line += ",\"digest\":\"";
  line += digest;
  line += "\",\"user\":";
  json_text::append_string(line, req.user);
  line += req.response_format ? ",\"response_format\":true}\n" : ",\"response_format\":false}\n";
  std::lock_guard<std::mutex> guard{log_mtx};
  std::fwrite(line.data(), 1, line.size(), request_log);
  std::fflush(request_log);
}

} // namespace swarm::mock_llm::detail
