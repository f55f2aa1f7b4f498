// Voting and scoring decisions of the collaborative and competitive coordinators.
#include "actors/voting.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <system_error>
#include <unordered_map>

#include <boost/json.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/pattern.hpp"

namespace swarm::actors {

namespace {

namespace json = boost::json;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string canonical_number(double x) {
  if (x == 0)
    x = 0; // -0 and 0 are the same answer
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
  if (ec != std::errc{})
    return {};
  return std::string(buf, end);
}

// A weight or share for humans: integers without a fraction, else three significant digits.
std::string format_weight(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", x);
  return buf;
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

// The JSON object in `text`, or a problem description.
caf::expected<json::object> parse_object(std::string_view text) {
  auto body = strip_code_fence(text);
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec)
    return make_error(errc::invalid_reply, "not JSON (" + ec.message() + ")");
  if (!v.is_object())
    return make_error(errc::invalid_reply, "not a JSON object");
  return std::move(v.as_object());
}

std::optional<double> as_number(const json::value& v) {
  if (v.is_double())
    return v.get_double();
  if (v.is_int64())
    return static_cast<double>(v.get_int64());
  if (v.is_uint64())
    return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

std::string schema_format(const char* name, json::object schema) {
  json::object fmt;
  fmt["type"] = "json_schema";
  fmt["json_schema"] =
      json::object{{"name", name}, {"strict", true}, {"schema", std::move(schema)}};
  return json::serialize(fmt);
}

} // namespace

// -- normalisation ------------------------------------------------------------------------------

std::string strip_code_fence(std::string_view text) {
  auto s = trim(text);
  if (s.size() >= 6 && s.starts_with("```") && s.ends_with("```")) {
    auto nl = s.find('\n');
    if (nl != std::string_view::npos && nl < s.size() - 3) {
      s = s.substr(nl + 1, s.size() - 3 - (nl + 1));
      s = trim(s);
    }
  }
  return std::string(s);
}

std::optional<std::string> fold_answer(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : trim(text)) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  static constexpr std::string_view trailing = ".,;:!?";
  while (!out.empty() &&
         (trailing.find(out.back()) != std::string_view::npos || is_space(out.back())))
    out.pop_back();
  if (out.empty())
    return std::nullopt;
  return out;
}

std::optional<std::string> regex_answer(std::string_view text, const std::string& pattern) {
  // RE2: linear in the answer, so no pattern can hang the vote (docs/decisions.md).
  auto compiled = swarm::pattern::compile(pattern, 1);
  if (!compiled)
    return std::nullopt; // the spec validator reports bad patterns; here they count nothing
  auto group = compiled.value->first_group(text);
  if (!group || group->empty())
    return std::nullopt;
  return group;
}

std::optional<std::string> json_field_answer(std::string_view text, const std::string& field) {
  auto obj = parse_object(text);
  if (!obj)
    return std::nullopt;
  auto* v = obj->if_contains(field);
  if (v == nullptr)
    return std::nullopt;
  if (v->is_string()) {
    if (v->get_string().empty())
      return std::nullopt;
    return std::string(v->get_string());
  }
  if (auto x = as_number(*v))
    return canonical_number(*x);
  if (v->is_bool())
    return std::string(v->get_bool() ? "true" : "false");
  if (v->is_array() || v->is_object())
    return json::serialize(*v);
  return std::nullopt;
}

std::optional<std::string> number_answer(std::string_view text) {
  static const auto number =
      *swarm::pattern::compile(R"([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)").value;
  auto m = number.groups(text);
  if (!m)
    return std::nullopt;
  auto s = std::move(m->front());
  if (s.front() == '+')
    s.erase(0, 1); // from_chars takes no plus sign
  double x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(x))
    return std::nullopt;
  auto out = canonical_number(x);
  if (out.empty())
    return std::nullopt;
  return out;
}

std::optional<std::string> normalize_answer(std::string_view text,
                                            const collaborative_options& opts) {
  const auto& mode = opts.normalize;
  if (mode == "exact") {
    if (text.empty())
      return std::nullopt;
    return std::string(text);
  }
  if (mode == "fold")
    return fold_answer(text);
  if (mode == "regex")
    return regex_answer(text, opts.pattern);
  if (mode == "json_field")
    return json_field_answer(text, opts.field);
  if (mode == "number")
    return number_answer(text);
  return std::nullopt;
}

// -- tally --------------------------------------------------------------------------------------

tally tally_votes(const std::vector<std::optional<std::string>>& answers,
                  const std::vector<double>& weights) {
  tally t;
  // Each answer is hashed once: comparing every answer with every distinct one cost members^2
  // times the length of (model-supplied, long) answers.
  std::unordered_map<std::string_view, size_t> index; // answer -> its entry in t.answers
  for (size_t i = 0; i < answers.size(); ++i) {
    ++t.cast;
    if (!answers[i])
      continue;
    double w = i < weights.size() ? std::max(0.0, weights[i]) : 1.0;
    ++t.valid;
    t.total_weight += w;
    auto [j, fresh] = index.emplace(*answers[i], t.answers.size());
    if (fresh) {
      t.answers.push_back(vote_count{*answers[i], w, 1, i});
    } else {
      t.answers[j->second].weight += w;
      ++t.answers[j->second].votes;
    }
  }
  return t;
}

std::vector<double> member_weights(const std::vector<std::string>& members,
                                   const std::vector<std::pair<std::string, double>>& weights) {
  std::vector<double> out;
  out.reserve(members.size());
  for (const auto& m : members) {
    auto i =
        std::find_if(weights.begin(), weights.end(), [&](const auto& w) { return w.first == m; });
    out.push_back(i == weights.end() ? 1.0 : i->second);
  }
  return out;
}

std::optional<size_t> plurality(const tally& t) {
  std::optional<size_t> best;
  for (size_t i = 0; i < t.answers.size(); ++i) {
    // Answers are in order of first appearance, so a strict > keeps the earliest of a tie.
    if (!best || t.answers[i].weight > t.answers[*best].weight)
      best = i;
  }
  return best;
}

vote_decision decide_vote(const tally& t, double quorum, const std::string& tie) {
  vote_decision out;
  auto best = plurality(t);
  if (!best || t.total_weight <= 0) {
    out.error = make_error(errc::no_quorum, "no valid vote (" + describe_tally(t) + ")");
    return out;
  }
  const auto& top = t.answers[*best];
  auto tied = std::count_if(t.answers.begin(), t.answers.end(),
                            [&](const vote_count& x) { return x.weight == top.weight; });
  if (tied > 1 && tie == "fail") {
    out.error = make_error(errc::no_quorum,
                           "a tie for the most votes with tie: fail (" + describe_tally(t) + ")");
    return out;
  }
  out.share = top.weight / t.total_weight;
  if (!(out.share > quorum)) {
    out.error =
        make_error(errc::no_quorum, "no answer has more than " + format_weight(quorum * 100) +
                                        "% of the valid votes (" + describe_tally(t) + ")");
    return out;
  }
  out.winner = best;
  return out;
}

std::string describe_tally(const tally& t) {
  bool weighted = std::any_of(t.answers.begin(), t.answers.end(),
                              [](const vote_count& x) { return x.weight != x.votes; });
  auto out = std::to_string(t.valid) + " valid of " + std::to_string(t.cast) + " votes";
  for (size_t i = 0; i < t.answers.size(); ++i) {
    const auto& x = t.answers[i];
    out += i == 0 ? ": " : ", ";
    out += quoted(x.answer) + " ";
    if (weighted)
      out += "weight " + format_weight(x.weight) + " (" + std::to_string(x.votes) +
             (x.votes == 1 ? " vote)" : " votes)");
    else
      out += std::to_string(x.votes);
  }
  return out;
}

double agreement_fraction(const tally& t, size_t asked) {
  if (asked == 0)
    return 0;
  uint32_t most = 0;
  for (const auto& x : t.answers)
    most = std::max(most, x.votes);
  return static_cast<double>(most) / static_cast<double>(asked);
}

// -- prompts ------------------------------------------------------------------------------------

std::string format_answers(const std::vector<labelled_answer>& answers) {
  std::string out;
  for (const auto& a : answers) {
    if (!out.empty())
      out += "\n\n";
    out += "Answer from " + a.member + ":\n" + a.text;
  }
  return out;
}

std::string consensus_prompt(const std::string& task_text,
                             const std::vector<labelled_answer>& others,
                             const std::optional<std::string>& own) {
  std::string out = task_text;
  if (others.empty())
    out += "\n\nNo other member answered in the previous round.";
  else
    out += "\n\nThe other members answered in the previous round:\n\n" + format_answers(others);
  if (own)
    out += "\n\nYour previous answer:\n" + *own;
  out += "\n\nConsider their answers, revise yours if they convince you, and give your answer.";
  return out;
}

std::string layer_prompt(const std::string& task_text,
                         const std::vector<labelled_answer>& previous) {
  return task_text + "\n\nAnswers from the previous layer, as references:\n\n" +
         format_answers(previous) +
         "\n\nUsing them critically (some may be wrong), give your own best answer.";
}

std::string aggregator_prompt(const std::string& task_text,
                              const std::vector<labelled_answer>& answers) {
  return "Synthesize these answers to the task into one answer of the highest quality; they may "
         "be wrong or incomplete, so evaluate them critically.\n\nTask: " +
         task_text + "\n\n" + format_answers(answers);
}

std::string judge_prompt(const std::string& task_text, const std::string& criteria,
                         const std::vector<labelled_answer>& answers) {
  return "Score each answer to the task from 0 to 10 against these criteria: " + criteria +
         ".\nReply with JSON only: {\"scores\": [{\"member\": \"<name>\", \"score\": <0-10>}]}, "
         "one entry per answer.\n\nTask: " +
         task_text + "\n\n" + format_answers(answers);
}

std::string judge_retry_prompt(const std::string& task_text, const std::string& criteria,
                               const std::vector<labelled_answer>& answers,
                               const std::string& problem) {
  return "Your previous reply could not be used: " + problem + "\n\n" +
         judge_prompt(task_text, criteria, answers);
}

std::string judge_response_format(const std::vector<std::string>& labels) {
  json::array names;
  for (const auto& l : labels)
    names.emplace_back(l);
  json::object entry{
      {"type", "object"},
      {"properties",
       json::object{{"member", json::object{{"type", "string"}, {"enum", std::move(names)}}},
                    {"score", json::object{{"type", "number"}, {"minimum", 0}, {"maximum", 10}}}}},
      {"required", json::array{"member", "score"}},
      {"additionalProperties", false}};
  json::object schema{
      {"type", "object"},
      {"properties",
       json::object{{"scores", json::object{{"type", "array"}, {"items", std::move(entry)}}}}},
      {"required", json::array{"scores"}},
      {"additionalProperties", false}};
  return schema_format("scores", std::move(schema));
}

std::string self_report_response_format() {
  json::object schema{{"type", "object"},
                      {"properties", json::object{{"answer", json::object{{"type", "string"}}},
                                                  {"confidence", json::object{{"type", "number"},
                                                                              {"minimum", 0},
                                                                              {"maximum", 1}}}}},
                      {"required", json::array{"answer", "confidence"}},
                      {"additionalProperties", false}};
  return schema_format("answer", std::move(schema));
}

// -- structured replies -------------------------------------------------------------------------

caf::expected<std::vector<double>> parse_judge_scores(std::string_view reply,
                                                      const std::vector<std::string>& labels) {
  auto obj = parse_object(reply);
  if (!obj)
    return std::move(obj.error());
  auto* scores = obj->if_contains("scores");
  if (scores == nullptr || !scores->is_array())
    return make_error(errc::invalid_reply, "no \"scores\" array");
  std::vector<double> out(labels.size(), -1);
  for (const auto& entry : scores->get_array()) {
    auto* e = entry.if_object();
    auto* name = e ? e->if_contains("member") : nullptr;
    auto* score = e ? e->if_contains("score") : nullptr;
    if (name == nullptr || !name->is_string())
      return make_error(errc::invalid_reply, "a score without a string \"member\"");
    std::string who(name->get_string());
    auto value = score ? as_number(*score) : std::nullopt;
    if (!value || *value < 0 || *value > 10)
      return make_error(errc::invalid_reply,
                        "the score of \"" + who + "\" is not a number from 0 to 10");
    auto i = std::find(labels.begin(), labels.end(), who);
    if (i == labels.end())
      return make_error(errc::invalid_reply, "\"" + who + "\" is not one of the answers");
    auto& slot = out[static_cast<size_t>(i - labels.begin())];
    if (slot >= 0)
      return make_error(errc::invalid_reply, "\"" + who + "\" is scored twice");
    slot = *value;
  }
  for (size_t i = 0; i < labels.size(); ++i)
    if (out[i] < 0)
      return make_error(errc::invalid_reply, "the answer from \"" + labels[i] + "\" has no score");
  return out;
}

caf::expected<self_report> parse_self_report(std::string_view reply) {
  auto obj = parse_object(reply);
  if (!obj)
    return std::move(obj.error());
  auto* answer = obj->if_contains("answer");
  if (answer == nullptr || !answer->is_string() || answer->get_string().empty())
    return make_error(errc::invalid_reply, "no non-empty string \"answer\"");
  auto* conf = obj->if_contains("confidence");
  auto value = conf ? as_number(*conf) : std::nullopt;
  if (!value || !(*value >= 0 && *value <= 1))
    return make_error(errc::invalid_reply, "\"confidence\" is not a number from 0 to 1");
  return self_report{std::string(answer->get_string()), *value};
}

std::optional<size_t> pick_highest(const std::vector<double>& values,
                                   const std::vector<size_t>& rank) {
  auto rank_of = [&](size_t i) { return i < rank.size() ? rank[i] : i; };
  std::optional<size_t> best;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!(values[i] >= 0))
      continue;
    if (!best || values[i] > values[*best] ||
        (values[i] == values[*best] && rank_of(i) < rank_of(*best)))
      best = i;
  }
  return best;
}

} // namespace swarm::actors
