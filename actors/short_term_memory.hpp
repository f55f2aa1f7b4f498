// An agent's own conversation window, bounded by an estimated token budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/messages.hpp"

namespace swarm::actors {

/// Estimated tokens of a text: ceil(bytes / 4), the usual rule of thumb for English BPE.
uint32_t estimate_tokens(std::string_view text);

/// The system prompt plus the most recent turns that fit in `budget` estimated tokens.
/// Rule when full: the oldest entries after the system prompt leave the window first; the system
/// prompt and the newest entry are always kept, even if they alone exceed the budget. Entries
/// that leave are dropped, or (with `keep_overflow`) kept aside until `take_overflow`, so that
/// the agent can summarise them into `summary` (one message after the system prompt).
class short_term_memory {
public:
  short_term_memory(std::string system_prompt, uint32_t budget, bool keep_overflow = false);

  /// Appends an entry and drops the oldest ones until the window fits.
  void add(chat_message msg);

  /// The messages to send: system prompt first, then the window, oldest first.
  std::vector<chat_message> window() const;

  /// The window followed by `next` (not stored): what one LLM turn sends.
  std::vector<chat_message> window_with(chat_message next) const;

  /// Estimated tokens of the window (system prompt included).
  uint32_t tokens() const { return tokens_; }

  /// Entries currently held (system prompt excluded).
  size_t size() const { return entries_.size() - first_; }

  /// Entries dropped so far to stay within the budget.
  uint64_t dropped() const { return dropped_; }

  /// Entries that left the window since the last call (only with keep_overflow), oldest first.
  std::vector<chat_message> take_overflow();

  /// True if entries left the window and wait to be summarised.
  bool has_overflow() const { return !overflow_.empty(); }

  /// Replaces the summary of earlier turns (sent as a system message after the prompt).
  void set_summary(std::string text);

  const std::string& summary() const { return summary_; }

  uint32_t budget() const { return budget_; }

private:
  static uint32_t cost(const chat_message& msg);
  void shrink();

  // Memory per agent matters (a swarm may hold a million idle agents): the system prompt is
  // kept as text only, and the window is a vector that allocates nothing until the first entry
  // (std::deque allocates ~600 bytes when constructed). Entries [first_, end) are live; dropped
  // ones are erased in bulk once they are half the vector, so drops stay amortised O(1).
  std::string system_prompt_;
  std::string summary_;
  std::vector<chat_message> entries_;
  std::vector<chat_message> overflow_;
  bool keep_overflow_ = false;
  uint32_t first_ = 0;
  uint32_t budget_;
  uint32_t tokens_;
  uint64_t dropped_ = 0;
};

} // namespace swarm::actors
