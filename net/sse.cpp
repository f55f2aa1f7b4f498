// The incremental Server-Sent Events parser.
#include "net/sse.hpp"

#include <algorithm>

namespace swarm::net {

void sse_parser::feed(std::string_view bytes) {
  // Drop consumed bytes before growing, so the buffer stays about one line long.
  if (overflowed_)
    return;
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= 4096)) {
    buf_.erase(0, pos_);
    scan_ = scan_ > pos_ ? scan_ - pos_ : 0;
    pos_ = 0;
  }
  buf_.append(bytes);
}

std::optional<sse_event> sse_parser::next() {
  while (!ready_ && !overflowed_) {
    if (skip_lf_ && pos_ < buf_.size()) {
      skip_lf_ = false;
      if (buf_[pos_] == '\n')
        ++pos_;
    }
    auto end = buf_.find_first_of("\r\n", std::max(pos_, scan_));
    if (end == std::string::npos) {
      scan_ = buf_.size(); // scanned: the next feed's bytes are searched, not these again
      if (buf_.size() - pos_ > max_line_)
        overflowed_ = true;
      return std::nullopt;
    }
    if (end - pos_ > max_line_) {
      overflowed_ = true;
      return std::nullopt;
    }
    auto line = std::string_view{buf_}.substr(pos_, end - pos_);
    if (buf_[end] == '\r')
      skip_lf_ = true; // a CRLF may be split across two feeds
    pos_ = end + 1;
    scan_ = pos_;
    process_line(line);
  }
  if (!ready_)
    return std::nullopt;
  auto out = std::move(ready_);
  ready_.reset();
  return out;
}

std::optional<sse_event> sse_parser::finish() {
  if (auto ev = next())
    return ev;
  if (overflowed_)
    return std::nullopt;
  if (pos_ < buf_.size()) {
    auto line = std::string_view{buf_}.substr(pos_);
    pos_ = buf_.size();
    process_line(line);
  }
  if (ready_)
    return next();
  if (!has_data_)
    return std::nullopt;
  process_line({});
  return next();
}

void sse_parser::reset() {
  buf_.clear();
  pos_ = 0;
  scan_ = 0;
  overflowed_ = false;
  skip_lf_ = false;
  has_data_ = false;
  cur_ = {};
  ready_.reset();
}

void sse_parser::process_line(std::string_view line) {
  if (line.empty()) {
    if (has_data_) {
      if (!cur_.data.empty() && cur_.data.back() == '\n')
        cur_.data.pop_back();
      ready_ = std::move(cur_);
    }
    cur_ = {};
    has_data_ = false;
    return;
  }
  if (line.front() == ':')
    return; // comment (keep-alive)
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
  }
  if (field == "data") {
    cur_.data.append(value);
    cur_.data.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    cur_.event.assign(value);
  } else if (field == "id") {
    cur_.id.assign(value);
  } // "retry" and unknown fields are ignored
}

} // namespace swarm::net
