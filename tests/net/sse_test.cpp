// Unit tests of the incremental SSE parser: every split of a recorded stream gives the same events.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "net/sse.hpp"

using swarm::net::sse_event;
using swarm::net::sse_parser;

namespace {

// A recorded stream with LF and CRLF line ends, a comment, multi-line data, an event name, an id,
// a retry field, an event without data (never dispatched) and multi-byte UTF-8.
const std::string recorded = ": keep-alive\n"
                             "data: {\"a\":1}\n\n"
                             "event: update\r\n"
                             "id: 7\r\n"
                             "data: line one\r\n"
                             "data:line two\r\n"
                             "\r\n"
                             "retry: 1000\n"
                             "event: nothing\n\n"
                             "data: h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\r\r"
                             "data\n\n"
                             "data: [DONE]\n\n";

std::vector<sse_event> expected_events() {
  return {
      {"", "{\"a\":1}", ""},
      {"update", "line one\nline two", "7"},
      {"", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", ""},
      {"", "", ""},
      {"", "[DONE]", ""},
  };
}

std::vector<sse_event> parse_pieces(const std::vector<std::string_view>& pieces) {
  sse_parser p;
  std::vector<sse_event> out;
  for (auto piece : pieces) {
    p.feed(piece);
    while (auto ev = p.next())
      out.push_back(std::move(*ev));
  }
  return out;
}

} // namespace

TEST_CASE("sse parser yields the recorded events from one chunk") {
  CHECK(parse_pieces({recorded}) == expected_events());
}

TEST_CASE("sse parser gives identical events for every split point") {
  std::string_view all = recorded;
  for (size_t i = 0; i <= all.size(); ++i) {
    INFO("split at " << i);
    REQUIRE(parse_pieces({all.substr(0, i), all.substr(i)}) == expected_events());
  }
}

TEST_CASE("sse parser gives identical events for every pair of split points") {
  std::string_view all = recorded;
  auto expected = expected_events();
  for (size_t i = 0; i <= all.size(); ++i)
    for (size_t j = i; j <= all.size(); ++j) {
      auto events = parse_pieces({all.substr(0, i), all.substr(i, j - i), all.substr(j)});
      if (events != expected) {
        INFO("split at " << i << " and " << j);
        REQUIRE(events == expected);
      }
    }
}

TEST_CASE("sse parser handles byte-by-byte input") {
  std::vector<std::string_view> pieces;
  std::string_view all = recorded;
  for (size_t i = 0; i < all.size(); ++i)
    pieces.push_back(all.substr(i, 1));
  CHECK(parse_pieces(pieces) == expected_events());
}

TEST_CASE("sse parser ignores comments and events without data") {
  auto events = parse_pieces({": ping\n\n:another\nevent: x\n\nid: 3\n\n"});
  CHECK(events.empty());
}

TEST_CASE("sse parser joins multi-line data with newlines and strips one leading space") {
  auto events = parse_pieces({"data:  two spaces\ndata:\ndata: end\n\n"});
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == " two spaces\n\nend");
}

TEST_CASE("sse parser finish returns data that lacks the closing blank line") {
  sse_parser p;
  p.feed("data: a\n\ndata: [DONE]");
  auto first = p.next();
  REQUIRE(first);
  CHECK(first->data == "a");
  CHECK_FALSE(p.next());
  auto last = p.finish();
  REQUIRE(last);
  CHECK(last->data == "[DONE]");
  CHECK_FALSE(p.finish());
}

TEST_CASE("sse parser reset forgets a partial event") {
  sse_parser p;
  p.feed("data: partial\n");
  p.reset();
  p.feed("data: fresh\n\n");
  auto ev = p.next();
  REQUIRE(ev);
  CHECK(ev->data == "fresh");
}

TEST_CASE("sse parser takes a long line in small pieces, each byte scanned once") {
  // 4 MiB of data in one line, fed 4 KiB at a time: the search for the line's end resumes where
  // the last feed's search stopped (it used to restart at the line's start: quadratic).
  const std::string payload(size_t{4} << 20, 'x');
  const std::string stream = "data: " + payload + "\n\n";
  sse_parser p;
  std::vector<sse_event> out;
  for (size_t at = 0; at < stream.size(); at += 4096) {
    p.feed(std::string_view{stream}.substr(at, 4096));
    while (auto ev = p.next())
      out.push_back(std::move(*ev));
  }
  REQUIRE(out.size() == 1);
  CHECK(out[0].data.size() == payload.size());
  CHECK_FALSE(p.overflowed());
}

TEST_CASE("sse parser refuses a line longer than its limit, and yields nothing after it") {
  sse_parser p{1000};
  p.feed("data: short\n\n");
  REQUIRE(p.next());
  p.feed("data: " + std::string(600, 'y'));
  CHECK_FALSE(p.next()); // no line end yet, within the limit
  CHECK_FALSE(p.overflowed());
  p.feed(std::string(600, 'y')); // the same line, now past 1,000 bytes
  CHECK_FALSE(p.next());
  CHECK(p.overflowed());
  p.feed("\n\ndata: later\n\n");
  CHECK_FALSE(p.next());
  CHECK_FALSE(p.finish());
  p.reset();
  p.feed("data: again\n\n");
  auto ev = p.next();
  REQUIRE(ev);
  CHECK(ev->data == "again");
}
