// The pure decisions of the collaborative and competitive coordinators: normalisation, tally,
// quorum, ties, weights, prompts, and the parsing of judges' and members' structured replies.
#include <cmath>
#include <random>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "actors/voting.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/small_stack.hpp"

using namespace swarm;
using namespace swarm::actors;

namespace {

using answers = std::vector<std::optional<std::string>>;

collaborative_options mode(std::string normalize, std::string pattern = {},
                           std::string field = {}) {
  collaborative_options o;
  o.normalize = std::move(normalize);
  o.pattern = std::move(pattern);
  o.field = std::move(field);
  return o;
}

answers folded(std::initializer_list<const char*> texts) {
  answers out;
  for (auto t : texts)
    out.push_back(fold_answer(t));
  return out;
}

} // namespace

// -- normalisation ------------------------------------------------------------------------------

TEST_CASE("fold normalisation folds case and white space and drops trailing punctuation") {
  CHECK(fold_answer("  The  Answer\tis\nPARIS!! ") == "the answer is paris");
  CHECK(fold_answer("Paris.") == fold_answer("paris"));
  CHECK(fold_answer("Paris?!.") == "paris");
  CHECK(fold_answer("3.5") == "3.5"); // inner punctuation stays
  CHECK(fold_answer("...") == std::nullopt);
  CHECK(fold_answer("   ") == std::nullopt);
}

TEST_CASE("exact normalisation keeps the text as it is") {
  auto o = mode("exact");
  CHECK(normalize_answer("Paris", o) == "Paris");
  CHECK(normalize_answer("Paris", o) != normalize_answer("paris", o));
  CHECK(normalize_answer("Paris ", o) != normalize_answer("Paris", o));
  CHECK(normalize_answer("", o) == std::nullopt);
}

TEST_CASE("regex normalisation takes capture group 1 of the first match") {
  CHECK(regex_answer("Reasoning... Final answer: B (sure)", R"(answer:\s*([A-D]))") == "B");
  CHECK(regex_answer("no verdict here", R"(answer:\s*([A-D]))") == std::nullopt);
  CHECK(regex_answer("answer: B", "answer: [A-D]") == std::nullopt); // no group 1
  CHECK(regex_answer("answer: B", "answer: (") == std::nullopt);     // not a regex
  auto o = mode("regex", R"(answer:\s*([A-D]))");
  CHECK(normalize_answer("answer: C", o) == normalize_answer("so the answer:C", o));
}

TEST_CASE("regex normalisation of a catastrophic pattern answers at once") {
  // std::regex backtracked 2^n steps here: a vote over such answers never ended.
  auto answer = std::string(45, 'a') + "c";
  CHECK(regex_answer(answer, "((a+)+)$") == std::nullopt);
  CHECK(regex_answer(answer + " final: x", "((a|aa)+)c final") == std::string(45, 'a'));
  CHECK(normalize_answer(answer, mode("regex", "^((a+)+)$")) == std::nullopt);
  // RE2 leaves out back references: such a pattern counts nothing (the spec refuses it).
  CHECK(regex_answer("aa", R"((a)\1)") == std::nullopt);
}

TEST_CASE("number normalisation of a long run of digits does not recurse") {
  // std::regex recursed once a digit and overflowed the stack of an actor's thread.
  auto answer = "about " + std::string(100'000, '0') + "42.50 units";
  std::optional<std::string> got;
  swarm::test::run_on_small_stack(256 * 1024, [&] { got = number_answer(answer); });
  CHECK(got == "42.5");
}

TEST_CASE("json_field normalisation takes one field of a JSON answer") {
  CHECK(json_field_answer(R"({"answer": "Paris", "why": "capital"})", "answer") == "Paris");
  CHECK(json_field_answer("```json\n{\"answer\": \"Paris\"}\n```", "answer") == "Paris");
  CHECK(json_field_answer(R"({"answer": 3.0})", "answer") == "3");
  CHECK(json_field_answer(R"({"answer": true})", "answer") == "true");
  CHECK(json_field_answer(R"({"answer": [1, 2]})", "answer") == "[1,2]");
  CHECK(json_field_answer(R"({"other": "Paris"})", "answer") == std::nullopt);
  CHECK(json_field_answer(R"({"answer": null})", "answer") == std::nullopt);
  CHECK(json_field_answer(R"(["Paris"])", "answer") == std::nullopt);
  CHECK(json_field_answer("Paris", "answer") == std::nullopt);
  CHECK(normalize_answer(R"({"a": 2})", mode("json_field", {}, "a")) == "2");
}

TEST_CASE("number normalisation compares the first number numerically") {
  CHECK(number_answer("about 3.50 metres, not 4") == "3.5");
  CHECK(number_answer("3") == number_answer("3.0"));
  CHECK(number_answer("3") == number_answer("x = 3e0"));
  CHECK(number_answer("-0") == "0");
  CHECK(number_answer("+4 degrees") == "4");
  CHECK(number_answer("-2.5") == "-2.5");
  CHECK(number_answer(".5") == "0.5");
  CHECK(number_answer("three") == std::nullopt);
  CHECK(number_answer("1e400") == std::nullopt);
  CHECK(normalize_answer("It is 42.", mode("number")) == "42");
}

TEST_CASE("an unknown normalisation counts no vote") {
  CHECK(normalize_answer("Paris", mode("soundex")) == std::nullopt);
}

// -- tally and decision -------------------------------------------------------------------------

TEST_CASE("the tally groups valid votes in order of first appearance") {
  auto t = tally_votes({"lyon", std::nullopt, "paris", "lyon"});
  CHECK(t.cast == 4);
  CHECK(t.valid == 3);
  CHECK(t.total_weight == 3);
  REQUIRE(t.answers.size() == 2);
  CHECK(t.answers[0].answer == "lyon");
  CHECK(t.answers[0].votes == 2);
  CHECK(t.answers[0].first == 0);
  CHECK(t.answers[1].answer == "paris");
  CHECK(t.answers[1].first == 2);
  CHECK(describe_tally(t) == R"(3 valid of 4 votes: "lyon" 2, "paris" 1)");
}

TEST_CASE("a majority above the quorum wins with its vote share") {
  auto t = tally_votes(folded({"Paris", "paris.", "Lyon"}));
  auto d = decide_vote(t, 0.5, "first");
  REQUIRE(d.winner);
  CHECK(t.answers[*d.winner].answer == "paris");
  CHECK(d.share == Approx(2.0 / 3));
  CHECK_FALSE(d.error);
}

TEST_CASE("tie first picks the tied answer given first in member order") {
  auto t = tally_votes(folded({"Rome", "Lyon", "lyon", "rome", "Oslo"}));
  auto d = decide_vote(t, 0.3, "first");
  REQUIRE(d.winner);
  CHECK(t.answers[*d.winner].answer == "rome");
  CHECK(d.share == Approx(0.4));
}

TEST_CASE("tie fail turns a tie for the most votes into no_quorum") {
  auto t = tally_votes(folded({"Rome", "Lyon", "lyon", "rome", "Oslo"}));
  auto d = decide_vote(t, 0.3, "fail");
  CHECK_FALSE(d.winner);
  CHECK(is(d.error, errc::no_quorum));
  CHECK(describe(d.error) == "no_quorum: a tie for the most votes with tie: fail (5 valid of 5 "
                             "votes: \"rome\" 2, \"lyon\" 2, \"oslo\" 1)");
}

TEST_CASE("no answer above the quorum is no_quorum naming the tally") {
  auto t = tally_votes(folded({"Rome", "Lyon", "rome", "Oslo"}));
  auto d = decide_vote(t, 0.5, "first"); // 2 of 4 is not more than half
  CHECK_FALSE(d.winner);
  CHECK(is(d.error, errc::no_quorum));
  CHECK(describe(d.error) == "no_quorum: no answer has more than 50% of the valid votes (4 valid "
                             "of 4 votes: \"rome\" 2, \"lyon\" 1, \"oslo\" 1)");
}

TEST_CASE("no valid vote is no_quorum") {
  auto d = decide_vote(tally_votes({std::nullopt, std::nullopt}), 0.5, "first");
  CHECK_FALSE(d.winner);
  CHECK(is(d.error, errc::no_quorum));
  CHECK(describe(d.error) == "no_quorum: no valid vote (0 valid of 2 votes)");
}

TEST_CASE("weights come from the spec, 1 for members not listed") {
  auto w = member_weights({"a", "b", "c"}, {{"c", 2.5}, {"a", 0.5}});
  CHECK(w == std::vector<double>{0.5, 1, 2.5});
}

TEST_CASE("weighted votes decide by weight, not by head count") {
  auto keys = folded({"Rome", "Paris", "Paris"});
  auto t = tally_votes(keys, member_weights({"a", "b", "c"}, {{"a", 3}}));
  auto d = decide_vote(t, 0.5, "first");
  REQUIRE(d.winner);
  CHECK(t.answers[*d.winner].answer == "rome");
  CHECK(d.share == Approx(0.6));
  CHECK(describe_tally(t) ==
        R"(3 valid of 3 votes: "rome" weight 3 (1 vote), "paris" weight 2 (2 votes))");
  // Head count alone would have picked paris.
  auto plain = tally_votes(keys);
  CHECK(plain.answers[*decide_vote(plain, 0.5, "first").winner].answer == "paris");
}

TEST_CASE("a numeric tally counts equal numbers written differently as one answer") {
  auto o = mode("number");
  answers keys;
  for (auto text : {"3", "3.0 apples", "three", "about 3e0", "4"})
    keys.push_back(normalize_answer(text, o));
  auto t = tally_votes(keys);
  CHECK(t.valid == 4);
  REQUIRE(t.answers.size() == 2);
  CHECK(t.answers[0].answer == "3");
  CHECK(t.answers[0].votes == 3);
  auto d = decide_vote(t, 0.5, "first");
  REQUIRE(d.winner);
  CHECK(d.share == Approx(0.75));
}

TEST_CASE("plurality ignores the quorum and picks the earliest of a tie") {
  auto t = tally_votes(folded({"Oslo", "Rome", "rome", "oslo", "Lyon"}));
  REQUIRE(plurality(t));
  CHECK(t.answers[*plurality(t)].answer == "oslo");
  CHECK_FALSE(plurality(tally_votes({std::nullopt})));
}

TEST_CASE("agreement is the share of all asked members giving the most common answer") {
  auto t = tally_votes({"paris", "paris", std::nullopt, "lyon"});
  CHECK(agreement_fraction(t, 4) == Approx(0.5));
  CHECK(agreement_fraction(tally_votes({"x", "x"}), 2) == Approx(1.0));
  CHECK(agreement_fraction(tally_votes({}), 0) == 0);
}

// -- prompts and response formats ---------------------------------------------------------------

TEST_CASE("a consensus prompt shows the others' answers and the member's own") {
  auto p = consensus_prompt("Capital of France?", {{"a", "Paris"}, {"b", "Lyon"}}, "Rome");
  CHECK(p == "Capital of France?\n\nThe other members answered in the previous round:\n\n"
             "Answer from a:\nParis\n\nAnswer from b:\nLyon\n\nYour previous answer:\nRome\n\n"
             "Consider their answers, revise yours if they convince you, and give your answer.");
  auto alone = consensus_prompt("Q", {}, std::nullopt);
  CHECK(alone.find("No other member answered") != std::string::npos);
  CHECK(alone.find("Your previous answer") == std::string::npos);
}

TEST_CASE("judge, layer and aggregator prompts carry every labelled answer") {
  std::vector<labelled_answer> xs{{"a", "one"}, {"b", "two"}};
  auto j = judge_prompt("Task?", "brevity", xs);
  CHECK(j.find("criteria: brevity.") != std::string::npos);
  CHECK(j.find("Task: Task?\n\nAnswer from a:\none\n\nAnswer from b:\ntwo") != std::string::npos);
  auto retry = judge_retry_prompt("Task?", "brevity", xs, "not JSON");
  CHECK(retry.starts_with("Your previous reply could not be used: not JSON"));
  CHECK(retry.ends_with(j));
  CHECK(layer_prompt("Task?", xs).find("Answer from b:\ntwo") != std::string::npos);
  CHECK(aggregator_prompt("Task?", xs).find("Task: Task?\n\nAnswer from a:\none") !=
        std::string::npos);
}

TEST_CASE("the response formats are OpenAI json_schema objects") {
  auto judge = boost::json::parse(judge_response_format({"a", "b"})).as_object();
  CHECK(judge.at("type") == "json_schema");
  CHECK(judge.at("json_schema").at("name") == "scores");
  CHECK(judge.at("json_schema").at("strict") == true);
  const auto& entry =
      judge.at("json_schema").at("schema").at("properties").at("scores").at("items");
  CHECK(entry.at("properties").at("member").at("enum") == boost::json::array{"a", "b"});
  CHECK(entry.at("properties").at("score").at("maximum") == 10);
  auto self = boost::json::parse(self_report_response_format()).as_object();
  CHECK(self.at("json_schema").at("name") == "answer");
  const auto& props = self.at("json_schema").at("schema").at("properties");
  CHECK(props.at("answer").at("type") == "string");
  CHECK(props.at("confidence").at("maximum") == 1);
}

// -- structured replies -------------------------------------------------------------------------

TEST_CASE("judge scores are read per label, in label order") {
  auto s = parse_judge_scores(
      R"({"scores": [{"member": "b", "score": 9}, {"member": "a", "score": 4.5}]})", {"a", "b"});
  REQUIRE(s);
  CHECK(*s == std::vector<double>{4.5, 9});
  auto fenced =
      parse_judge_scores("```json\n{\"scores\": [{\"member\": \"a\", \"score\": 0}]}\n```", {"a"});
  REQUIRE(fenced);
  CHECK(fenced->front() == 0);
}

TEST_CASE("malformed judge replies are invalid_reply naming the problem") {
  std::vector<std::string> labels{"a", "b"};
  auto problem = [&](std::string_view reply) {
    auto s = parse_judge_scores(reply, labels);
    REQUIRE_FALSE(s);
    CHECK(is(s.error(), errc::invalid_reply));
    return describe(s.error());
  };
  CHECK(problem("b is best").starts_with("invalid_reply: not JSON"));
  CHECK(problem(R"({"best": "b"})") == R"(invalid_reply: no "scores" array)");
  CHECK(problem(R"({"scores": [{"member": "a", "score": 11}, {"member": "b", "score": 1}]})") ==
        R"(invalid_reply: the score of "a" is not a number from 0 to 10)");
  CHECK(problem(R"({"scores": [{"member": "a", "score": "7"}]})") ==
        R"(invalid_reply: the score of "a" is not a number from 0 to 10)");
  CHECK(problem(R"({"scores": [{"member": "z", "score": 1}]})") ==
        R"(invalid_reply: "z" is not one of the answers)");
  CHECK(problem(R"({"scores": [{"member": "a", "score": 1}, {"member": "a", "score": 2}]})") ==
        R"(invalid_reply: "a" is scored twice)");
  CHECK(problem(R"({"scores": [{"member": "a", "score": 1}]})") ==
        R"(invalid_reply: the answer from "b" has no score)");
  CHECK(problem(R"({"scores": [{"score": 1}]})") ==
        R"(invalid_reply: a score without a string "member")");
}

TEST_CASE("a self-reported confidence is read from the answer schema") {
  auto r = parse_self_report(R"({"answer": "Paris", "confidence": 0.8})");
  REQUIRE(r);
  CHECK(r->answer == "Paris");
  CHECK(r->confidence == Approx(0.8));
  CHECK(parse_self_report(R"({"answer": "Paris", "confidence": 1})"));
  auto bad = [](std::string_view reply) {
    auto x = parse_self_report(reply);
    REQUIRE_FALSE(x);
    CHECK(is(x.error(), errc::invalid_reply));
    return describe(x.error());
  };
  CHECK(bad(R"({"answer": "Paris", "confidence": 1.5})") ==
        R"(invalid_reply: "confidence" is not a number from 0 to 1)");
  CHECK(bad(R"({"answer": "Paris"})") ==
        R"(invalid_reply: "confidence" is not a number from 0 to 1)");
  CHECK(bad(R"({"answer": "", "confidence": 0.5})") ==
        R"(invalid_reply: no non-empty string "answer")");
  CHECK(bad("Paris, surely").starts_with("invalid_reply: not JSON"));
}

TEST_CASE("the highest value wins and ties go to the earliest rank") {
  CHECK(pick_highest({0.2, 0.9, 0.5}) == 1u);
  CHECK(pick_highest({0.9, 0.9}) == 0u);
  CHECK(pick_highest({0.9, 0.9}, {1, 0}) == 1u); // the second arrived first
  CHECK(pick_highest({-1, 0.1}) == 1u);          // below 0: not a candidate
  CHECK_FALSE(pick_highest({-1, -1}));
  CHECK_FALSE(pick_highest({}));
}

// -- statistics ---------------------------------------------------------------------------------

TEST_CASE("majority of 9 voters right with probability 0.6 is right as often as Bin(9, 0.6) says") {
  // X ~ Bin(9, 0.6) voters are right. With quorum 0.5 an answer wins only with a strict
  // majority, at least 5 of the 9 valid votes. The right answer has one exactly when X >= 5 (and
  // then no wrong answer can win); with X <= 4 its share is at most 4/9 and it loses, however the
  // wrong votes split. Wrong answers are split over five distinct values, so a wrong plurality
  // can't win a strict majority (short of 5 voters picking the same wrong value, rare): those
  // tasks end in no_quorum, still "not right". So P(right AND majority) = P(X >= 5) = 0.7334
  // exactly, and the measured accuracy must lie within 4 standard errors of it.
  double exact = 0;
  for (int k = 5; k <= 9; ++k)
    exact += std::tgamma(10) / (std::tgamma(k + 1) * std::tgamma(10 - k)) * std::pow(0.6, k) *
             std::pow(0.4, 9 - k);
  REQUIRE(exact == Approx(0.7334).epsilon(0.001));

  std::mt19937_64 rng{20240611};
  std::bernoulli_distribution right{0.6};
  const std::vector<std::string> rights{"Paris", "paris.", " PARIS "};
  const std::vector<std::string> wrongs{"Lyon", "Rome", "Berlin", "Madrid", "Oslo"};
  std::uniform_int_distribution<size_t> pick_right{0, rights.size() - 1};
  std::uniform_int_distribution<size_t> pick_wrong{0, wrongs.size() - 1};
  constexpr int tasks = 2000;
  int correct = 0;
  for (int task = 0; task < tasks; ++task) {
    answers keys;
    for (int voter = 0; voter < 9; ++voter)
      keys.push_back(fold_answer(right(rng) ? rights[pick_right(rng)] : wrongs[pick_wrong(rng)]));
    auto t = tally_votes(keys);
    auto d = decide_vote(t, 0.5, "first");
    if (d.winner && t.answers[*d.winner].answer == "paris")
      ++correct;
  }
  double accuracy = static_cast<double>(correct) / tasks;
  double stderr_ = std::sqrt(exact * (1 - exact) / tasks);
  INFO("accuracy " << accuracy << ", exact " << exact << ", standard error " << stderr_);
  CHECK(std::abs(accuracy - exact) < 4 * stderr_);
}
