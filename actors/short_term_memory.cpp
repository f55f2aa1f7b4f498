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

short_term_memory::short_term_memory(std::string system_prompt, uint32_t budget, bool keep_overflow)
    : system_prompt_(std::move(system_prompt)), keep_overflow_(keep_overflow), budget_(budget),
      tokens_(4 + estimate_tokens(system_prompt_)) {}

std::vector<chat_message> short_term_memory::take_overflow() {
  std::vector<chat_message> out;
  out.swap(overflow_);
  return out;
}

void short_term_memory::set_summary(std::string text) {
  if (!summary_.empty())
    tokens_ -= 4 + estimate_tokens(summary_);
  summary_ = std::move(text);
  if (!summary_.empty())
    tokens_ += 4 + estimate_tokens(summary_);
  shrink();
}

void short_term_memory::add(chat_message msg) {
  tokens_ += cost(msg);
  entries_.push_back(std::move(msg));
  shrink();
}

void short_term_memory::shrink() {
  // Keep at least the newest entry.
  while (tokens_ > budget_ && first_ + 1 < entries_.size()) {
    tokens_ -= cost(entries_[first_]);
    if (keep_overflow_)
      overflow_.push_back(std::move(entries_[first_]));
    entries_[first_] = chat_message{}; // release its text now
    ++first_;
    ++dropped_;
  }
  if (first_ > 0 && first_ * 2 >= entries_.size()) {
    entries_.erase(entries_.begin(), entries_.begin() + first_);
    first_ = 0;
  }
}

std::vector<chat_message> short_term_memory::window() const {
  std::vector<chat_message> out;
  out.reserve(size() + 3);
  out.push_back(chat_message{"system", system_prompt_, {}, {}, {}});
  if (!summary_.empty())
    out.push_back(
        chat_message{"system", "Summary of the earlier conversation: " + summary_, {}, {}, {}});
  out.insert(out.end(), entries_.begin() + first_, entries_.end());
  return out;
}

std::vector<chat_message> short_term_memory::window_with(chat_message next) const {
  // The pending message must fit too: leave out the oldest entries if it would overflow.
  uint32_t total = tokens_ + cost(next);
  size_t first = first_;
  while (total > budget_ && first < entries_.size()) {
    total -= cost(entries_[first]);
    ++first;
  }
  std::vector<chat_message> out;
  out.reserve(entries_.size() - first + 3);
  out.push_back(chat_message{"system", system_prompt_, {}, {}, {}});
  if (!summary_.empty())
    out.push_back(
        chat_message{"system", "Summary of the earlier conversation: " + summary_, {}, {}, {}});
  out.insert(out.end(), entries_.begin() + static_cast<std::ptrdiff_t>(first), entries_.end());
  out.push_back(std::move(next));
  return out;
}

} // namespace swarm::actors
