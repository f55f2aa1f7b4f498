// Short-term memory: the window stays within its token budget by dropping the oldest turns.
#include <catch2/catch.hpp>

#include "actors/short_term_memory.hpp"

using swarm::chat_message;
using swarm::actors::estimate_tokens;
using swarm::actors::short_term_memory;

namespace {

chat_message user(std::string text) {
  return chat_message{"user", std::move(text), {}, {}, {}};
}

} // namespace

TEST_CASE("token estimate rounds bytes over four up") {
  CHECK(estimate_tokens("") == 0);
  CHECK(estimate_tokens("abc") == 1);
  CHECK(estimate_tokens("abcd") == 1);
  CHECK(estimate_tokens("abcde") == 2);
}

TEST_CASE("the window starts with the system prompt and keeps turns in order") {
  short_term_memory mem{"be brief", 1000};
  mem.add(user("one"));
  mem.add(user("two"));
  auto w = mem.window();
  REQUIRE(w.size() == 3);
  CHECK(w[0].role == "system");
  CHECK(w[0].content == "be brief");
  CHECK(w[1].content == "one");
  CHECK(w[2].content == "two");
  CHECK(mem.dropped() == 0);
}

TEST_CASE("a full window drops its oldest turns first and stays within budget") {
  // Each 40-byte message costs 4 + 10 tokens; the system prompt 4 + 1.
  short_term_memory mem{"sys", 50};
  for (int i = 0; i < 10; ++i)
    mem.add(user(std::string(39, 'a') + std::to_string(i)));
  CHECK(mem.tokens() <= 50);
  auto w = mem.window();
  CHECK(w.front().role == "system");
  CHECK(w.back().content.back() == '9');
  CHECK(w[1].content.back() == '7'); // 5 + 3 * 14 = 47 fits, a fourth would not
  CHECK(mem.size() == 3);
  CHECK(mem.dropped() == 7);
}

TEST_CASE("the newest turn is kept even when it alone exceeds the budget") {
  short_term_memory mem{"sys", 10};
  mem.add(user(std::string(400, 'x')));
  CHECK(mem.size() == 1);
  mem.add(user(std::string(400, 'y')));
  CHECK(mem.size() == 1);
  CHECK(mem.window().back().content.front() == 'y');
}

TEST_CASE("the window sent with a pending message fits the budget without storing it") {
  short_term_memory mem{"sys", 50};
  mem.add(user(std::string(40, 'a')));
  mem.add(user(std::string(40, 'b')));
  auto w = mem.window_with(user(std::string(40, 'c')));
  REQUIRE(w.size() == 4);
  CHECK(w.back().content.front() == 'c');
  auto tight = mem.window_with(user(std::string(80, 'd'))); // 24 tokens: one old turn must go
  REQUIRE(tight.size() == 3);
  CHECK(tight[1].content.front() == 'b');
  CHECK(mem.size() == 2); // nothing stored
}
