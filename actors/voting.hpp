// The decisions of the collaborative and competitive coordinators as plain functions: answer
// normalisation, vote tally, quorum and ties, prompts, and parsing of judges' and members'
// structured replies. No actors here: everything takes values and returns values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/spec.hpp"

namespace swarm::actors {

// -- normalisation ------------------------------------------------------------------------------

/// `text` trimmed, without a Markdown code fence around it (```json ... ```), if it has one.
std::string strip_code_fence(std::string_view text);

/// `fold`: ASCII letters lower-cased, white space runs folded to one space, trimmed, trailing
/// `.`, `,`, `;`, `:`, `!`, `?` dropped. nullopt when nothing is left.
std::optional<std::string> fold_answer(std::string_view text);

/// `regex`: capture group 1 of the first match of `pattern` (RE2 syntax, swarm::pattern) in
/// `text`. nullopt when nothing matches, group 1 is empty or missing, or the pattern is not a
/// valid regex.
std::optional<std::string> regex_answer(std::string_view text, const std::string& pattern);

/// `json_field`: top-level `field` of the JSON object `text` (a code fence around it is
/// dropped). Strings as they are, numbers in canonical form (as number_answer), booleans as
/// `true`/`false`, arrays and objects as compact JSON. nullopt for anything else (not JSON, not
/// an object, no such field, null, empty string).
std::optional<std::string> json_field_answer(std::string_view text, const std::string& field);

/// `number`: the first decimal number in `text` (optional sign, fraction, exponent) in canonical
/// form (shortest round-trip, so "3", "3.0" and "3e0" are all "3"; -0 is "0"). nullopt when
/// there is none or it is out of range.
std::optional<std::string> number_answer(std::string_view text);

/// The answer of `text` by `opts.normalize` (`exact`: `text` unchanged; empty does not
/// normalise). nullopt: the vote is not counted. An unknown mode normalises nothing.
std::optional<std::string> normalize_answer(std::string_view text,
                                            const collaborative_options& opts);

// -- tally --------------------------------------------------------------------------------------

/// One distinct normalised answer and the votes for it.
struct vote_count {
  std::string answer; ///< normalised
  double weight = 0;  ///< summed weight of its votes
  uint32_t votes = 0; ///< number of votes
  size_t first = 0;   ///< index (in member order) of the first vote for it
};

/// Every valid vote, grouped by answer in order of first appearance.
struct tally {
  std::vector<vote_count> answers;
  double total_weight = 0; ///< of the valid votes
  uint32_t valid = 0;      ///< votes that normalised
  uint32_t cast = 0;       ///< votes in all, valid or not
};

/// Tallies `answers` (one per member, in member order; nullopt: failed or not normalised, not
/// counted). `weights[i]` is member i's weight (missing: 1; below 0: 0).
tally tally_votes(const std::vector<std::optional<std::string>>& answers,
                  const std::vector<double>& weights = {});

/// Each of `members`' weight from the `{member: weight}` list; 1 for members not listed.
std::vector<double> member_weights(const std::vector<std::string>& members,
                                   const std::vector<std::pair<std::string, double>>& weights);

/// The outcome of a vote: `winner` indexes tally::answers; `share` is its fraction of the valid
/// weight. On failure `winner` is empty and `error` is errc::no_quorum naming the tally.
struct vote_decision {
  std::optional<size_t> winner;
  double share = 0;
  caf::error error;
};

/// Decides `t`: the answer with the most weight wins if its share is above `quorum`. Ties for
/// the most weight: `tie` = "fail" is no_quorum, anything else ("first") picks the tied answer
/// given first in member order. No valid vote is no_quorum.
vote_decision decide_vote(const tally& t, double quorum, const std::string& tie);

/// The answer with the most weight, ties to the one given first; ignores the quorum (partial
/// results). nullopt when there is no valid vote.
std::optional<size_t> plurality(const tally& t);

/// "3 valid of 4 votes: \"paris\" 2, \"lyon\" 1" (weights shown when not all 1).
std::string describe_tally(const tally& t);

/// Fraction of the `asked` members that gave the most common answer (0 when none answered).
double agreement_fraction(const tally& t, size_t asked);

// -- prompts ------------------------------------------------------------------------------------

/// One member's answer, labelled with its name.
struct labelled_answer {
  std::string member;
  std::string text;
};

/// "Answer from a:\n<text>" blocks, separated by blank lines.
std::string format_answers(const std::vector<labelled_answer>& answers);

/// A consensus round after the first: the task, the other members' previous answers, the
/// member's own previous answer (if any), and the request to revise.
std::string consensus_prompt(const std::string& task_text,
                             const std::vector<labelled_answer>& others,
                             const std::optional<std::string>& own);

/// A synthesize layer after the first: the task and the previous layer's answers as references.
std::string layer_prompt(const std::string& task_text,
                         const std::vector<labelled_answer>& previous);

/// The aggregator's task: merge `answers` to `task_text` into one answer.
std::string aggregator_prompt(const std::string& task_text,
                              const std::vector<labelled_answer>& answers);

/// The judge's task: score every answer against `criteria`, replying in the scores schema.
std::string judge_prompt(const std::string& task_text, const std::string& criteria,
                         const std::vector<labelled_answer>& answers);

/// The judge's task again after a malformed reply, stating `problem`.
std::string judge_retry_prompt(const std::string& task_text, const std::string& criteria,
                               const std::vector<labelled_answer>& answers,
                               const std::string& problem);

/// OpenAI response_format (json_schema "scores") for the judge:
/// `{"scores":[{"member": one of labels, "score": 0..10}]}`.
std::string judge_response_format(const std::vector<std::string>& labels);

/// OpenAI response_format (json_schema "answer") for self-reported confidence:
/// `{"answer": string, "confidence": 0..1}`.
std::string self_report_response_format();

// -- structured replies -------------------------------------------------------------------------

/// The judge's scores, one per label in `labels` order. errc::invalid_reply (naming the problem)
/// when the reply is not JSON (a code fence around it is dropped), has no `scores` array, an
/// entry lacks a string `member` or a numeric `score` in [0, 10], names an unknown member or one
/// twice, or leaves a label unscored.
[[nodiscard]] caf::expected<std::vector<double>>
parse_judge_scores(std::string_view reply, const std::vector<std::string>& labels);

/// A member's self-reported answer and confidence.
struct self_report {
  std::string answer;
  double confidence = 0;
};

/// Parses `{"answer": "...", "confidence": 0..1}` (a code fence around it is dropped).
/// errc::invalid_reply when it is not JSON, `answer` is not a non-empty string, or `confidence`
/// is not a number in [0, 1].
[[nodiscard]] caf::expected<self_report> parse_self_report(std::string_view reply);

/// Index of the highest of `values` (entries < 0 are not candidates); ties go to the smallest
/// `rank` (e.g. arrival order; missing ranks: the index). nullopt when there is no candidate.
std::optional<size_t> pick_highest(const std::vector<double>& values,
                                   const std::vector<size_t>& rank = {});

} // namespace swarm::actors
