// UTF-8 repair (runtime/core/utf8): maximal subparts become U+FFFD, valid text is left alone.
#include <string>

#include <catch2/catch.hpp>

#include "runtime/core/utf8.hpp"

using namespace swarm;

namespace {

const std::string fffd{utf8_replacement};

std::string repaired(std::string text, size_t expected_count) {
  CHECK(repair_utf8(text) == expected_count);
  CHECK(is_valid_utf8(text));
  return text;
}

} // namespace

TEST_CASE("utf8: valid text is left untouched and counts nothing") {
  std::string ascii(1000, 'a');
  const auto* before = ascii.data();
  CHECK(repair_utf8(ascii) == 0);
  CHECK(ascii.data() == before); // no copy on the fast path
  CHECK(repaired("", 0).empty());
  // 2, 3 and 4 byte forms at the edges of their ranges.
  std::string multi = "\xC2\x80 \xDF\xBF \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF "
                      "\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF caf\xC3\xA9 \xE2\x82\xAC";
  CHECK(repaired(multi, 0) == multi);
  CHECK(valid_utf8_prefix(multi) == multi.size());
}

TEST_CASE("utf8: the issue's tool output") {
  CHECK(repaired("ok \377\376 done", 2) == "ok " + fffd + fffd + " done");
}

TEST_CASE("utf8: Unicode table 3-8, maximal subparts") {
  // 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64: F1 80 80, E1 80 and C2 are truncated sequences
  // (one U+FFFD each), the lone continuation bytes one each.
  CHECK(repaired("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", 6) ==
        "a" + fffd + fffd + fffd + "b" + fffd + "c" + fffd + fffd + "d");
}

TEST_CASE("utf8: overlongs, surrogates and code points past U+10FFFF") {
  // Overlong '/': C0 and C1 never start a sequence; E0 80 and F0 80 break at the second byte.
  CHECK(repaired("\xC0\xAF", 2) == fffd + fffd);
  CHECK(repaired("\xE0\x80\xAF", 3) == fffd + fffd + fffd);
  CHECK(repaired("\xF0\x80\x80\xAF", 4) == fffd + fffd + fffd + fffd);
  // U+D800 and U+DFFF.
  CHECK(repaired("\xED\xA0\x80", 3) == fffd + fffd + fffd);
  CHECK(repaired("x\xED\xBF\xBFy", 3) == "x" + fffd + fffd + fffd + "y");
  // U+110000, and leads F5..FF.
  CHECK(repaired("\xF4\x90\x80\x80", 4) == fffd + fffd + fffd + fffd);
  CHECK(repaired("\xF5\xF8\xFC\xFF", 4) == fffd + fffd + fffd + fffd);
}

TEST_CASE("utf8: truncated sequences, at the end and before ASCII") {
  CHECK(repaired("ab\xE2\x82", 1) == "ab" + fffd);
  CHECK(repaired("\xF0\x9F\x98", 1) == fffd);
  CHECK(repaired("\xF0\x9F\x98x\xF0\x9F\x98\x80", 1) == fffd + "x\xF0\x9F\x98\x80");
  CHECK(repaired("\xC3", 1) == fffd);
}

TEST_CASE("utf8: an invalid byte deep in long ASCII is found past the eight-byte scan") {
  std::string text(37, 'q');
  text += '\x80';
  text += std::string(40, 'r');
  CHECK(valid_utf8_prefix(text) == 37);
  auto out = repaired(text, 1);
  CHECK(out == std::string(37, 'q') + fffd + std::string(40, 'r'));
  // Repair is idempotent: the replacement is valid.
  CHECK(repair_utf8(out) == 0);
}
