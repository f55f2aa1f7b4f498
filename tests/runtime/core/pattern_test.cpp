// swarm::pattern: the one matcher of user- and model-supplied regexes (RE2): problems in our words,
// bounded size, matching in time linear in the text (no catastrophic backtracking, no recursion).
#include <catch2/catch.hpp>

#include "runtime/core/pattern.hpp"
#include "tests/support/small_stack.hpp"

using swarm::pattern;

namespace {

/// 45 `a`s then a `c`: std::regex needs about 2^45 steps to find that `(a+)+$` does not match.
const std::string many_a_then_c = std::string(45, 'a') + "c";

std::string problem(std::string_view text, unsigned groups = 0) {
  return pattern::problem(text, groups).value_or("(none)");
}

} // namespace

TEST_CASE("pattern: a catastrophic pattern fails at once on a text that would hang a backtracker") {
  auto p = pattern::compile("(a+)+$");
  REQUIRE(p);
  CHECK_FALSE(p.value->search(many_a_then_c));
  CHECK(p.value->search(std::string(45, 'a')));
  auto nested = pattern::compile("((a|aa)+)+b");
  REQUIRE(nested);
  CHECK_FALSE(nested.value->first_group(many_a_then_c));
  CHECK_FALSE(nested.value->groups(many_a_then_c));
}

TEST_CASE("pattern: a long text is searched without recursion") {
  // std::regex recursed once a character here and overflowed a small stack.
  std::string text(200'000, 'a');
  bool found = true;
  std::optional<std::string> group;
  swarm::test::run_on_small_stack(128 * 1024, [&] {
    auto p = pattern::compile("(a|b)*c");
    found = p && p.value->search(text);
    auto q = pattern::compile("((?:a|b)*)$");
    group = q ? q.value->first_group(text) : std::nullopt;
  });
  CHECK_FALSE(found);
  REQUIRE(group);
  CHECK(group->size() == text.size());
}

TEST_CASE("pattern: search, first group and every group") {
  auto p = pattern::compile(R"(answer:\s*([A-D])(!)?)", 1);
  REQUIRE(p);
  CHECK(p.value->text() == R"(answer:\s*([A-D])(!)?)");
  CHECK(p.value->group_count() == 2);
  CHECK(p.value->search("so the answer: B"));
  CHECK_FALSE(p.value->search("no answer"));
  CHECK(p.value->first_group("answer: C, or answer: D") == "C");
  CHECK(p.value->groups("the answer: A") == std::vector<std::string>{"answer: A", "A", ""});
  CHECK(p.value->groups("answer: B!") == std::vector<std::string>{"answer: B!", "B", "!"});
  CHECK_FALSE(p.value->groups("none"));
  // Group 1 that took no part, or no group 1 at all: nothing.
  auto optional = pattern::compile("x|(y)");
  REQUIRE(optional);
  CHECK_FALSE(optional.value->first_group("x"));
  auto none = pattern::compile("x");
  REQUIRE(none);
  CHECK_FALSE(none.value->first_group("x"));
  // Case-sensitive unless asked, searched unless anchored, UTF-8 aware.
  CHECK_FALSE(pattern::compile("abc").value->search("ABC"));
  CHECK(pattern::compile("(?i)abc").value->search("xABCx"));
  CHECK_FALSE(pattern::compile("^abc").value->search("xabc"));
  CHECK(pattern::compile("^caf.$").value->search("caf\xc3\xa9"));
}

TEST_CASE("pattern: copies share the compiled program and match alike") {
  auto p = pattern::compile("b+");
  REQUIRE(p);
  pattern copy = *p.value;
  CHECK(copy.search("abbc"));
  CHECK(copy.text() == "b+");
}

TEST_CASE("pattern: what RE2 leaves out is refused by name") {
  CHECK(problem(R"((a)\1)") ==
        R"(invalid regex: back references are not supported (RE2 syntax): \1)");
  CHECK(problem("(?=a)b") == "invalid regex: lookaround is not supported (RE2 syntax): (?=");
  CHECK(problem("(?!a)b") == "invalid regex: lookaround is not supported (RE2 syntax): (?!");
  CHECK(problem("(?<=a)b") == "invalid regex: lookaround is not supported (RE2 syntax): (?<");
  CHECK(problem("(?<!a)b") == "invalid regex: lookaround is not supported (RE2 syntax): (?<");
  CHECK(problem("(?<name>a)") == "invalid regex: named groups are written (?P<name>...): (?<");
  CHECK(problem("(?P<name>a)") == "(none)");
}

TEST_CASE("pattern: syntax errors are named with the piece at fault") {
  CHECK(problem("(unclosed") == "invalid regex: missing ): (unclosed");
  CHECK(problem("a)") == "invalid regex: unexpected ): a)");
  CHECK(problem("[abc") == "invalid regex: missing ]: [abc");
  CHECK(problem("*x") == "invalid regex: nothing to repeat: *");
  CHECK(problem("a**") == "invalid regex: invalid repetition operator: **");
  CHECK(problem("[z-a]") == "invalid regex: invalid character range: z-a");
  CHECK(problem("[[:nope:]]") == "invalid regex: invalid character class: [:nope:]");
  CHECK(problem(R"(\p{Nope})") == R"(invalid regex: invalid character class: \p{Nope})");
  CHECK(problem("a{2,1}") == "invalid regex: invalid repetition count (at most 1000): {2,1}");
  CHECK(problem(R"(\q)") == R"(invalid regex: invalid escape: \q)");
  CHECK(problem("\\") == "invalid regex: trailing \\");
  CHECK(problem("ab\xff") == "invalid regex: invalid UTF-8");
  CHECK(problem("answer: \\w+", 1) == "needs a capture group (group 1 is what is compared)");
  CHECK(problem("(a)", 2) == "needs 2 capture groups");
}

TEST_CASE("pattern: long or large patterns are refused before they cost memory") {
  CHECK(problem(std::string(1001, 'x')) == "invalid regex: longer than 1000 characters");
  CHECK(problem(std::string(1000, 'x')) == "(none)");
  CHECK(problem("x{20000}") == "invalid regex: invalid repetition count (at most 1000): {20000}");
  CHECK(problem("((ab){100}){100}") ==
        "invalid regex: invalid repetition count (at most 1000): {100}");
  // Within every count, yet over pattern::max_memory_bytes once compiled.
  CHECK(problem(R"(\pL{200})") == "invalid regex: too large");
  CHECK(problem("(a|b)*c{999}d{999}") == "(none)");
}
