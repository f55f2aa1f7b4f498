// An incremental parser of Server-Sent Events (text/event-stream): bytes in, whole events out.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::net {

/// One dispatched event. `data` joins multiple `data:` lines with '\n'.
struct sse_event {
  std::string event; ///< the `event:` field; empty means "message"
  std::string data;
  std::string id;

  friend bool operator==(const sse_event&, const sse_event&) = default;
};

/// Accepts a byte stream split anywhere (inside a field name, a CRLF, a UTF-8 sequence) and yields
/// complete events. Lines end with CRLF, LF or CR; lines starting with ':' are comments; an event
/// is dispatched at an empty line if it has data (per the WHATWG EventSource rules).
class sse_parser {
public:
  /// Default longest line: 8 MiB.
  static constexpr size_t default_max_line = size_t{8} << 20;

  /// A parser that refuses lines longer than `max_line` bytes (see overflowed()).
  explicit sse_parser(size_t max_line = default_max_line) : max_line_(max_line) {}

  /// Appends bytes. Then call next() until it returns nothing. Each byte is scanned once for
  /// the end of its line, however the stream is split.
  void feed(std::string_view bytes);

  /// The next complete event, if one is buffered. Nothing once overflowed().
  std::optional<sse_event> next();

  /// True once a line grew past the longest allowed: the stream is not SSE as we accept it, and
  /// the parser yields nothing more until reset().
  bool overflowed() const { return overflowed_; }

  size_t max_line() const { return max_line_; }

  /// At end of input: the event whose data lines arrived without the closing empty line, if any.
  /// Lenient servers end the stream with "data: [DONE]\n" and no blank line.
  std::optional<sse_event> finish();

  /// Bytes buffered but not yet consumed as lines.
  size_t buffered() const { return buf_.size() - pos_; }

  /// Forgets all state (for a retried attempt); keeps the buffer's capacity.
  void reset();

private:
  void process_line(std::string_view line);

  std::string buf_;
  size_t pos_ = 0;
  size_t scan_ = 0; ///< bytes before it (from pos_) hold no line end: where the search resumes
  size_t max_line_;
  bool overflowed_ = false;
  bool skip_lf_ = false; ///< the previous line ended with CR: a leading LF belongs to it
  bool has_data_ = false;
  sse_event cur_;
  std::optional<sse_event> ready_;
};

} // namespace swarm::net
