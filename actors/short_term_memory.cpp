// Short-term memory: the bounded conversation window of one agent.
#include "actors/short_term_memory.hpp"

#include <algorithm>

namespace swarm::actors {

uint32_t estimate_tokens(std::string_view text) {
  return static_cast<uint32_t>((text.size() + 3) / 4);
}

// Per-message overhead of the chat format (role, separators), as OpenAI documents it (~4).
uint32_t short_term_memory::cost(const chat_message& msg) {
  uint32_t n = 4 + estimate_tokens(msg.content);
  for (const auto& call : msg.tool_calls)
    n += estimate_tokens(call.name) + estimate_tokens(call.arguments);
  return n;
}

short_term_memory::short_term_memory(std::string system_prompt, uint32_t budget)
    : system_{"system", std::move(system_prompt), {}, {}, {}}, budget_(budget),
      tokens_(cost(system_)) {}

void short_term_memory::add(chat_message msg) {
  tokens_ += cost(msg);
  entries_.push_back(std::move(msg));
  shrink();
}

void short_term_memory::shrink() {
  size_t drop = 0;
  // Keep at least the newest entry.
  while (tokens_ > budget_ && drop + 1 < entries_.size()) {
    tokens_ -= cost(entries_[drop]);
    ++drop;
  }
  if (drop > 0) {
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(drop));
    dropped_ += drop;
  }
}

std::vector<chat_message> short_term_memory::window() const {
  std::vector<chat_message> out;
  out.reserve(entries_.size() + 2);
  out.push_back(system_);
  out.insert(out.end(), entries_.begin(), entries_.end());
  return out;
}

std::vector<chat_message> short_term_memory::window_with(chat_message next) const {
  auto out = window();
  // The pending message must fit too: drop the oldest copied entries if it would overflow.
  uint32_t total = tokens_ + cost(next);
  size_t first = 1;
  while (total > budget_ && first < out.size()) {
    total -= cost(out[first]);
    ++first;
  }
  if (first > 1)
    out.erase(out.begin() + 1, out.begin() + static_cast<std::ptrdiff_t>(first));
  out.push_back(std::move(next));
  return out;
}

} // namespace swarm::actors
