// Pure decisions of the hierarchical, sequential and router coordinators (see planning.hpp).
#include "actors/planning.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include <boost/json.hpp>

#include "runtime/core/graph_cycles.hpp"

namespace swarm::actors {

namespace json = boost::json;

namespace {

constexpr size_t max_id_length = 64;

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && ws(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && ws(s.back()))
    s.remove_suffix(1);
  return s;
}

// The JSON object of a reply: the text itself, inside a ``` fence, or from the first '{' to
// the last '}' (models like to wrap JSON in prose); else why there is none.
struct json_reply {
  std::optional<json::object> object;
  std::string problem;
};

json_reply reply_object(std::string_view reply) {
  auto text = trim(reply);
  if (text.starts_with("```")) {
    auto eol = text.find('\n');
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    text = trim(text);
    if (text.ends_with("```"))
      text.remove_suffix(3);
    text = trim(text);
  }
  boost::system::error_code ec;
  auto v = json::parse(json::string_view{text.data(), text.size()}, ec);
  if (ec) {
    auto first = text.find('{');
    auto last = text.rfind('}');
    if (first != std::string_view::npos && last != std::string_view::npos && first < last) {
      boost::system::error_code ec2;
      auto inner = text.substr(first, last - first + 1);
      v = json::parse(json::string_view{inner.data(), inner.size()}, ec2);
      if (!ec2)
        ec = ec2;
    }
  }
  if (ec)
    return {std::nullopt, "the reply is not JSON (" + ec.message() + ")"};
  if (!v.is_object())
    return {std::nullopt, "the reply is JSON but not an object"};
  return {std::move(v.as_object()), {}};
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > max_id_length)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string quoted(std::string_view s) {
  return json::serialize(json::string{s.data(), s.size()});
}

std::string member_list(const std::vector<member>& members) {
  std::string out;
  for (const auto& m : members) {
    out += "- " + m.name + ": ";
    if (m.skills.empty()) {
      out += "(no listed skills)";
    } else {
      for (size_t i = 0; i < m.skills.size(); ++i)
        out += (i > 0 ? ", " : "") + m.skills[i];
    }
    out += '\n';
  }
  return out;
}

json::object string_type() {
  return json::object{{"type", "string"}};
}

std::string schema_format(std::string_view name, json::object schema) {
  json::object format{{"type", "json_schema"}};
  format["json_schema"] = json::object{{"name", name}, {"strict", true}, {"schema", schema}};
  return json::serialize(format);
}

} // namespace

// -- plans -------------------------------------------------------------------------------------

std::optional<size_t> plan::find(std::string_view id) const {
  for (size_t i = 0; i < subtasks.size(); ++i)
    if (subtasks[i].id == id)
      return i;
  return std::nullopt;
}

std::string plan_response_format() {
  json::object item{{"type", "object"}};
  item["properties"] =
      json::object{{"id", string_type()},
                   {"text", string_type()},
                   {"skill", string_type()},
                   {"depends_on", json::object{{"type", "array"}, {"items", string_type()}}}};
  item["required"] = json::array{"id", "text", "skill", "depends_on"};
  item["additionalProperties"] = false;
  json::object schema{{"type", "object"}};
  schema["properties"] =
      json::object{{"subtasks", json::object{{"type", "array"}, {"items", std::move(item)}}}};
  schema["required"] = json::array{"subtasks"};
  schema["additionalProperties"] = false;
  return schema_format("plan", std::move(schema));
}

std::string planning_prompt(std::string_view task_text, const std::vector<member>& members,
                            uint32_t max_subtasks) {
  std::string out = "Plan the task below as subtasks for the members of your team.\n\nMembers "
                    "and their skills:\n";
  out += member_list(members);
  out += "\nAnswer with JSON only: {\"subtasks\": [{\"id\": \"s1\", \"text\": \"...\", "
         "\"skill\": \"...\", \"depends_on\": []}]}.\n"
         "Rules: ids are unique and use letters, digits, _ or - only; \"text\" is the complete "
         "instruction for the member; \"skill\" is one of the skills above (or \"\" for any "
         "member); \"depends_on\" lists the ids of subtasks whose answers this subtask needs "
         "(their answers will be appended to its text); no dependency cycles";
  if (max_subtasks > 0)
    out += "; at most " + std::to_string(max_subtasks) + " subtasks";
  out += ".\n\nTask: ";
  out += task_text;
  return out;
}

std::string replanning_prompt(std::string_view problem, std::string_view task_text,
                              const std::vector<member>& members, uint32_t max_subtasks) {
  std::string out = "Your previous plan was rejected: ";
  out += problem;
  out += ".\nAnswer again with a corrected plan.\n\n";
  out += planning_prompt(task_text, members, max_subtasks);
  return out;
}

plan_check parse_plan(std::string_view reply, uint32_t max_subtasks) {
  plan_check out;
  auto [obj, problem] = reply_object(reply);
  if (!obj) {
    out.problem = std::move(problem);
    return out;
  }
  auto* list = obj->if_contains("subtasks");
  if (list == nullptr || !list->is_array()) {
    out.problem = "the plan must be a JSON object with a \"subtasks\" array";
    return out;
  }
  const auto& arr = list->as_array();
  std::vector<std::string> problems;
  if (arr.empty())
    problems.emplace_back("the plan has no subtasks");
  if (max_subtasks > 0 && arr.size() > max_subtasks)
    problems.push_back("the plan has " + std::to_string(arr.size()) + " subtasks; at most " +
                       std::to_string(max_subtasks) + " are allowed");
  std::unordered_map<std::string, size_t> seen; // id -> index
  for (size_t i = 0; i < arr.size(); ++i) {
    auto where = "subtasks[" + std::to_string(i) + "]";
    if (!arr[i].is_object()) {
      problems.push_back(where + " is not an object");
      continue;
    }
    const auto& item = arr[i].as_object();
    planned_subtask s;
    auto* id = item.if_contains("id");
    if (id == nullptr || !id->is_string()) {
      problems.push_back(where + " has no \"id\" string");
    } else {
      s.id = std::string{id->as_string()};
      if (!valid_id(s.id))
        problems.push_back(where + ".id " + quoted(s.id) +
                           " is not a valid id (1 to 64 letters, digits, _ or -)");
      where += " (" + s.id + ")";
      if (auto [it, fresh] = seen.emplace(s.id, i); !fresh)
        problems.push_back("duplicate subtask id " + s.id + " (subtasks[" +
                           std::to_string(it->second) + "] and subtasks[" + std::to_string(i) +
                           "])");
    }
    auto* text = item.if_contains("text");
    if (text == nullptr || !text->is_string())
      problems.push_back(where + " has no \"text\" string");
    else if (trim(std::string_view{text->as_string()}).empty())
      problems.push_back(where + " has an empty \"text\"");
    else
      s.text = std::string{text->as_string()};
    if (auto* skill = item.if_contains("skill"); skill != nullptr && !skill->is_null()) {
      if (skill->is_string())
        s.skill = std::string{skill->as_string()};
      else
        problems.push_back(where + ": \"skill\" must be a string");
    }
    if (auto* deps = item.if_contains("depends_on"); deps != nullptr && !deps->is_null()) {
      bool ok = deps->is_array();
      if (ok) {
        // A set, not a search of the list so far: the list is the model's, of any length.
        std::unordered_set<std::string_view> listed;
        for (const auto& d : deps->as_array()) {
          if (!d.is_string()) {
            ok = false;
            break;
          }
          std::string_view dep{d.as_string().data(), d.as_string().size()};
          if (listed.insert(dep).second)
            s.depends_on.emplace_back(dep);
        }
      }
      if (!ok)
        problems.push_back(where + ": \"depends_on\" must be an array of subtask ids");
    }
    out.value.subtasks.push_back(std::move(s));
  }
  for (const auto& s : out.value.subtasks) {
    for (const auto& d : s.depends_on) {
      if (d == s.id)
        problems.push_back("subtask " + s.id + " depends on itself");
      else if (!seen.contains(d))
        problems.push_back("subtask " + s.id + " depends on unknown subtask " + d);
    }
  }
  if (problems.empty()) {
    if (auto cycle = plan_cycle(out.value); !cycle.empty()) {
      std::string text = "dependency cycle: ";
      for (size_t i = 0; i < cycle.size(); ++i)
        text += (i > 0 ? " -> " : "") + cycle[i];
      problems.push_back(std::move(text));
    }
  }
  for (size_t i = 0; i < problems.size(); ++i)
    out.problem += (i > 0 ? "; " : "") + problems[i];
  if (!out.ok())
    out.value = plan{};
  return out;
}

std::vector<std::string> plan_cycle(const plan& p) {
  // Subtask -> the subtasks it depends on; the first back edge of the shared iterative search
  // (a plan comes from a model and may be long) closes the cycle reported.
  std::unordered_map<std::string_view, size_t> index; // id -> its first subtask, as plan::find
  for (size_t i = 0; i < p.subtasks.size(); ++i)
    index.emplace(p.subtasks[i].id, i);
  adjacency next(p.subtasks.size());
  for (size_t i = 0; i < p.subtasks.size(); ++i)
    for (const auto& d : p.subtasks[i].depends_on)
      if (auto j = index.find(d); j != index.end())
        next[i].push_back(j->second);
  std::vector<std::string> cycle;
  find_cycles(next, {}, [&](const found_cycle& c) {
    for (auto i : c.path)
      cycle.push_back(p.subtasks[i].id);
    cycle.push_back(p.subtasks[c.path.front()].id);
    return false;
  });
  return cycle;
}

std::vector<size_t> dependency_order(const plan& p) {
  std::vector<subtask_state> states(p.subtasks.size(), subtask_state::pending);
  std::vector<size_t> out;
  // Each pass takes every ready subtask; at most one pass per subtask.
  for (size_t pass = 0; pass < p.subtasks.size(); ++pass) {
    auto ready = ready_subtasks(p, states);
    if (ready.empty())
      break;
    for (auto i : ready) {
      states[i] = subtask_state::done;
      out.push_back(i);
    }
  }
  return out;
}

// -- running a plan ----------------------------------------------------------------------------

namespace {

/// Subtask id -> its index (the first, as plan::find): one lookup a dependency instead of a scan
/// of the plan, which made every step of a long plan cost its length squared.
std::unordered_map<std::string_view, size_t> subtask_index(const plan& p) {
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < p.subtasks.size(); ++i)
    index.emplace(p.subtasks[i].id, i);
  return index;
}

} // namespace

std::vector<size_t> ready_subtasks(const plan& p, const std::vector<subtask_state>& states) {
  std::vector<size_t> out;
  auto index = subtask_index(p);
  for (size_t i = 0; i < p.subtasks.size(); ++i) {
    if (states[i] != subtask_state::pending)
      continue;
    bool ready = std::all_of(p.subtasks[i].depends_on.begin(), p.subtasks[i].depends_on.end(),
                             [&](const std::string& d) {
                               auto j = index.find(d);
                               return j != index.end() && states[j->second] == subtask_state::done;
                             });
    if (ready)
      out.push_back(i);
  }
  return out;
}

std::vector<blocked_subtask> blocked_subtasks(const plan& p,
                                              const std::vector<subtask_state>& states) {
  std::vector<blocked_subtask> out;
  auto index = subtask_index(p);
  for (size_t i = 0; i < p.subtasks.size(); ++i) {
    if (states[i] != subtask_state::pending)
      continue;
    for (const auto& d : p.subtasks[i].depends_on) {
      auto at = index.find(d);
      auto j = at == index.end() ? std::nullopt : std::optional<size_t>{at->second};
      if (j && (states[*j] == subtask_state::failed || states[*j] == subtask_state::skipped)) {
        out.push_back({i, d});
        break;
      }
    }
  }
  return out;
}

bool has_skill(const member& m, std::string_view skill) {
  return !skill.empty() && std::find(m.skills.begin(), m.skills.end(), skill) != m.skills.end();
}

assignment assign_member(std::string_view skill, const std::vector<member>& members,
                         const std::vector<size_t>& loads, size_t round_robin) {
  std::optional<size_t> best;
  for (size_t i = 0; i < members.size(); ++i)
    if (has_skill(members[i], skill) && (!best || loads[i] < loads[*best]))
      best = i;
  if (best)
    return {*best, true};
  return {members.empty() ? 0 : round_robin % members.size(), false};
}

std::optional<size_t> reassign_member(std::string_view skill, const std::vector<member>& members,
                                      const std::vector<size_t>& loads,
                                      const std::vector<size_t>& tried) {
  bool anyone_capable = std::any_of(members.begin(), members.end(),
                                    [&](const member& m) { return has_skill(m, skill); });
  std::optional<size_t> best;
  for (size_t i = 0; i < members.size(); ++i) {
    if (std::find(tried.begin(), tried.end(), i) != tried.end())
      continue;
    if (anyone_capable && !has_skill(members[i], skill))
      continue;
    if (!best || loads[i] < loads[*best])
      best = i;
  }
  return best;
}

size_t next_worker(uint32_t attempt, size_t current, std::string_view skill,
                   const std::vector<member>& members, const std::vector<size_t>& loads,
                   const std::vector<size_t>& tried) {
  if (attempt <= 2)
    return current;
  return reassign_member(skill, members, loads, tried).value_or(current);
}

// -- texts of a hierarchical run ---------------------------------------------------------------

std::string dependent_text(const planned_subtask& s, const std::vector<dependency_answer>& deps) {
  std::string out = s.text;
  for (const auto& d : deps)
    out += "\n\nAnswer of subtask " + d.id + " (from " + d.member + "):\n" + d.text;
  return out;
}

std::string aggregation_prompt(std::string_view task_text,
                               const std::vector<subtask_outcome>& outcomes) {
  std::string out = "Write the final answer to the task from your team's answers to its "
                    "subtasks.\n\nTask: ";
  out += task_text;
  for (const auto& o : outcomes) {
    out += "\n\n## Subtask " + o.id + ": " + o.text + "\n";
    if (!o.error.empty())
      out += "(failed" + (o.member.empty() ? "" : " at " + o.member) + ": " + o.error + ")";
    else
      out += "Answer (from " + o.member + "):\n" + o.answer;
  }
  return out;
}

std::string partial_answer(const std::vector<subtask_outcome>& outcomes) {
  std::string out;
  for (const auto& o : outcomes) {
    if (!o.error.empty())
      continue;
    if (!out.empty())
      out += "\n\n";
    out += "## " + o.id + " (from " + o.member + ")\n" + o.answer;
  }
  return out;
}

std::string review_response_format() {
  json::object schema{{"type", "object"}};
  schema["properties"] =
      json::object{{"verdict", json::object{{"type", "string"},
                                            {"enum", json::array{"accept", "retry", "reassign"}}}},
                   {"feedback", string_type()}};
  schema["required"] = json::array{"verdict", "feedback"};
  schema["additionalProperties"] = false;
  return schema_format("review", std::move(schema));
}

std::string review_prompt(std::string_view task_text, const planned_subtask& s,
                          std::string_view member_name, std::string_view answer) {
  std::string out = "Review the answer to subtask " + s.id + " of the task.\n\nTask: ";
  out += task_text;
  out += "\n\nSubtask: " + s.text + "\n\nAnswer (from ";
  out += member_name;
  out += "):\n";
  out += answer;
  out += "\n\nAnswer with JSON only: {\"verdict\": \"accept\" | \"retry\" | \"reassign\", "
         "\"feedback\": \"...\"}. accept: the answer is good; retry: the same member tries "
         "again with your feedback; reassign: another member tries with your feedback.";
  return out;
}

std::optional<review_reply> parse_review(std::string_view reply) {
  auto obj = reply_object(reply).object;
  if (!obj)
    return std::nullopt;
  auto* verdict = obj->if_contains("verdict");
  if (verdict == nullptr || !verdict->is_string())
    return std::nullopt;
  review_reply out;
  const auto& v = verdict->as_string();
  if (v == "accept")
    out.verdict = review_verdict::accept;
  else if (v == "retry")
    out.verdict = review_verdict::retry;
  else if (v == "reassign")
    out.verdict = review_verdict::reassign;
  else
    return std::nullopt;
  if (auto* fb = obj->if_contains("feedback"); fb != nullptr && fb->is_string())
    out.feedback = std::string{fb->as_string()};
  return out;
}

std::string with_feedback(std::string_view text, std::string_view feedback) {
  std::string out{text};
  if (!trim(feedback).empty()) {
    out += "\n\nReviewer feedback on an earlier answer: ";
    out += feedback;
  }
  return out;
}

// -- sequential --------------------------------------------------------------------------------

std::string pipeline_text(std::string_view task_text, std::string_view previous_member,
                          std::string_view previous_answer) {
  std::string out = "Task: ";
  out += task_text;
  out += "\n\nPrevious answer (from ";
  out += previous_member;
  out += "): ";
  out += previous_answer;
  return out;
}

// -- routing -----------------------------------------------------------------------------------

std::vector<compiled_route> compile_routes(const std::vector<route_rule>& rules) {
  std::vector<compiled_route> out;
  out.reserve(rules.size());
  for (const auto& r : rules) {
    // Spec validation reports bad regexes; a rule that still has one never matches.
    out.push_back({r.match, r.to, pattern::compile(r.match).value});
  }
  return out;
}

std::optional<size_t> find_member(const std::vector<member>& members, std::string_view name) {
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i].name == name)
      return i;
  return std::nullopt;
}

route_choice choose_route(std::string_view text, const std::vector<compiled_route>& routes,
                          const std::vector<member>& members, std::string_view fallback) {
  for (size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i];
    if (!r.re || !r.re->search(text))
      continue;
    if (auto m = find_member(members, r.to))
      return {m, "route " + std::to_string(i + 1) + " (/" + r.match + "/)"};
  }
  if (!fallback.empty()) {
    if (auto m = find_member(members, fallback))
      return {m, "fallback"};
    return {std::nullopt,
            "no route matches and the fallback " + std::string{fallback} + " is not a member"};
  }
  if (members.empty())
    return {std::nullopt, "no route matches and the swarm has no members"};
  return {0, "fallback (first member)"};
}

std::string router_response_format(const std::vector<member>& members) {
  json::array names;
  for (const auto& m : members)
    names.emplace_back(json::string{m.name});
  json::object schema{{"type", "object"}};
  schema["properties"] =
      json::object{{"member", json::object{{"type", "string"}, {"enum", std::move(names)}}}};
  schema["required"] = json::array{"member"};
  schema["additionalProperties"] = false;
  return schema_format("route", std::move(schema));
}

std::string router_prompt(std::string_view task_text, const std::vector<member>& members) {
  std::string out = "Choose the one member best suited to answer the task.\n\nMembers and "
                    "their skills:\n";
  out += member_list(members);
  out += "\nAnswer with JSON only: {\"member\": \"NAME\"}, NAME one of the members above.\n\n"
         "Task: ";
  out += task_text;
  return out;
}

std::string rerouting_prompt(std::string_view problem, std::string_view task_text,
                             const std::vector<member>& members) {
  std::string out = "Your previous choice was not valid: ";
  out += problem;
  out += ".\n\n";
  out += router_prompt(task_text, members);
  return out;
}

parsed_route parse_router_reply(std::string_view reply, const std::vector<member>& members) {
  parsed_route out;
  auto [obj, problem] = reply_object(reply);
  if (!obj) {
    out.problem = std::move(problem);
    return out;
  }
  auto* name = obj->if_contains("member");
  if (name == nullptr || !name->is_string()) {
    out.problem = "the reply has no \"member\" string";
    return out;
  }
  std::string_view chosen{name->as_string().data(), name->as_string().size()};
  out.member = find_member(members, chosen);
  if (!out.member) {
    std::string names;
    for (size_t i = 0; i < members.size(); ++i)
      names += (i > 0 ? ", " : "") + members[i].name;
    out.problem = quoted(chosen) + " is not a member (members: " + names + ")";
  }
  return out;
}

} // namespace swarm::actors
