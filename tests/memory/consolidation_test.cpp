// Near-duplicate merging of memory records.
#include <catch2/catch.hpp>

#include "memory/consolidation.hpp"

using namespace swarm::memory;

namespace {
memory_record rec(std::string id, std::string ns, std::string text, double importance,
                  int64_t created, std::vector<std::string> tags = {}) {
  return memory_record{std::move(id), std::move(ns), std::move(text),
                       importance,    created,       std::move(tags)};
}
// Nine distinct content words; with one more word the Jaccard similarity is exactly 0.9.
const std::string nine = "alpha bravo charlie delta echo foxtrot golf hotel india";
} // namespace

TEST_CASE("jaccard similarity compares token sets") {
  CHECK(jaccard_similarity("red green blue", "red green yellow") == Approx(2.0 / 4.0));
  CHECK(jaccard_similarity("The Red fox", "red, fox!") == Approx(1.0));
  CHECK(jaccard_similarity("red red red", "red") == Approx(1.0));
  CHECK(jaccard_similarity("cat", "dog") == 0.0);
  CHECK(jaccard_similarity("the", "") == 1.0);
  CHECK(jaccard_similarity(nine, nine + " juliet") == Approx(0.9));
}

TEST_CASE("near duplicates merge into the newer text with max importance and all tags") {
  auto result = merge_near_duplicates({
      rec("new", "swarm:t", nine + " juliet", 0.2, 2000, {"b", "c"}),
      rec("old", "swarm:t", nine, 0.8, 1000, {"a", "b"}),
      rec("other", "swarm:t", "completely unrelated words", 0.5, 1500),
  });
  REQUIRE(result.records.size() == 2);
  const auto& merged = result.records[0];
  CHECK(merged.id == "new");
  CHECK(merged.text == nine + " juliet");
  CHECK(merged.created == 2000);
  CHECK(merged.importance == 0.8);
  CHECK(merged.tags == std::vector<std::string>{"a", "b", "c"});
  CHECK(result.records[1].id == "other");
  CHECK(result.merged_ids == std::vector<std::string>{"old"});
}

TEST_CASE("records below the threshold or in other namespaces stay apart") {
  auto below = merge_near_duplicates(
      {rec("x", "swarm:t", nine, 0.5, 1), rec("y", "swarm:t", nine + " juliet kilo", 0.5, 2)});
  CHECK(below.records.size() == 2); // 9 / 11 < 0.9
  CHECK(below.merged_ids.empty());
  auto lower = merge_near_duplicates(
      {rec("x", "swarm:t", nine, 0.5, 1), rec("y", "swarm:t", nine + " juliet kilo", 0.5, 2)}, 0.8);
  CHECK(lower.records.size() == 1);
  auto namespaces = merge_near_duplicates(
      {rec("x", "agent:t/a", nine, 0.5, 1), rec("y", "agent:t/b", nine, 0.5, 2)});
  CHECK(namespaces.records.size() == 2);
}

TEST_CASE("a chain of duplicates collapses into the newest record") {
  auto result = merge_near_duplicates(
      {rec("1", "n", nine, 0.1, 1), rec("2", "n", nine, 0.3, 2), rec("3", "n", nine, 0.2, 3)});
  REQUIRE(result.records.size() == 1);
  CHECK(result.records[0].id == "3");
  CHECK(result.records[0].importance == 0.3);
  CHECK(result.merged_ids == std::vector<std::string>{"1", "2"});
}

// -- the consolidation rule --------------------------------------------------------------------

namespace {
swarm::wm_note wm(std::string kind, std::string text, double importance) {
  swarm::wm_note n;
  n.id = "r1#3";
  n.run_id = "r1";
  n.author = swarm::agent_id{"team", "w"};
  n.kind = std::move(kind);
  n.text = std::move(text);
  n.importance = importance;
  n.time_ms = 1234;
  return n;
}
} // namespace

TEST_CASE("salient notes are facts and results of importance 0.5 or more with some text") {
  consolidation_rule rule;
  CHECK(is_salient(wm("fact", "x", 0.5), rule));
  CHECK(is_salient(wm("result", "x", 1.0), rule));
  CHECK_FALSE(is_salient(wm("fact", "x", 0.49), rule));
  CHECK_FALSE(is_salient(wm("note", "x", 0.9), rule));
  CHECK_FALSE(is_salient(wm("fact", "  \n", 0.9), rule));
  rule.kinds = {"note"};
  rule.min_importance = 0.0;
  CHECK(is_salient(wm("note", "x", 0.0), rule));
}

TEST_CASE("shorten keeps short texts, cuts long ones at a word boundary with an ellipsis") {
  CHECK(shorten("  short text \n", 100) == "short text");
  CHECK(shorten("alpha beta gamma delta", 14) == "alpha beta...");
  CHECK(shorten("alpha beta gamma delta", 14).size() <= 14);
  CHECK(shorten("abcdefghijklmnop", 10) == "abcdefg...");
  CHECK(shorten("abcdef", 2) == "..");
  // Never inside a UTF-8 sequence: "é" is two bytes.
  auto cut = shorten("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6);
  CHECK(cut == "\xc3\xa9...");
  CHECK(shorten("", 10).empty());
}

TEST_CASE("record_of makes a record with a stable id, the note's fields and source tags") {
  consolidation_rule rule;
  rule.max_chars = 12;
  auto rec = record_of(wm("fact", "the sky is very blue today", 0.7), "swarm:team", rule);
  CHECK(rec.id == "wm:r1#3");
  CHECK(rec.ns == "swarm:team");
  CHECK(rec.text == "the sky...");
  CHECK(rec.importance == 0.7);
  CHECK(rec.created == 1234);
  CHECK(rec.tags == std::vector<std::string>{"author=team/w", "kind=fact", "source=run:r1"});
}
