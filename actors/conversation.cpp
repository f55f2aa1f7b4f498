// Pure logic of group_chat and graph: transcripts, replies, termination, DAG
// validation, readiness.
#include "actors/conversation.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <unordered_map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "actors/coordination.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/graph_cycles.hpp"

namespace swarm::actors {

namespace {

namespace json = boost::json;

std::string trim(const std::string& s) {
  auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  auto b = std::find_if_not(s.begin(), s.end(), is_space);
  auto e = std::find_if_not(s.rbegin(), s.rend(), is_space).base();
  return b < e ? std::string(b, e) : std::string{};
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& xs, const std::string& sep) {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty())
      out += sep;
    out += x;
  }
  return out;
}

// The JSON object in a model's reply: the whole reply, or the first '{' to the
// last '}' (models wrap JSON in code fences or prose).
std::optional<json::object> find_object(const std::string& reply) {
  auto text = trim(reply);
  std::error_code ec;
  auto v = json::parse(text, ec);
  if (!ec && v.is_object())
    return v.as_object();
  auto b = text.find('{');
  auto e = text.rfind('}');
  if (b == std::string::npos || e == std::string::npos || e < b)
    return std::nullopt;
  ec = {};
  v = json::parse(text.substr(b, e - b + 1), ec);
  if (!ec && v.is_object())
    return v.as_object();
  return std::nullopt;
}

std::string conversation_block(const std::vector<chat_turn>& turns) {
  if (turns.empty())
    return {};
  return "\n\nConversation so far:\n" + render_transcript(turns);
}

std::string schema_format(const char* name, json::object schema) {
  json::object inner;
  inner["name"] = name;
  inner["strict"] = true;
  inner["schema"] = std::move(schema);
  json::object outer;
  outer["type"] = "json_schema";
  outer["json_schema"] = std::move(inner);
  return json::serialize(outer);
}

} // namespace

// -- group chat
// ----------------------------------------------------------------------------------

std::string render_transcript(const std::vector<chat_turn>& turns) {
  std::string out;
  for (const auto& t : turns) {
    if (!out.empty())
      out += '\n';
    out += t.speaker + ": " + t.text;
  }
  return out;
}

std::string speaker_task_text(const std::string& task_text, const std::vector<chat_turn>& turns,
                              const std::string& speaker) {
  return "Task: " + task_text + conversation_block(turns) + "\n\nYou are " + speaker +
         "; it is your turn.";
}

uint32_t chat_turn_limit(uint32_t max_turns, uint32_t max_rounds) {
  uint32_t limit = 0;
  for (auto x : {max_turns, max_rounds})
    if (x > 0)
      limit = limit == 0 ? x : std::min(limit, x);
  return std::max<uint32_t>(limit, 1);
}

size_t round_robin_speaker(uint32_t turn, size_t members) {
  return members == 0 ? 0 : turn % members;
}

namespace {

/// Where `marker` (not empty) occurs in `text`, left to right, occurrences not overlapping.
/// Knuth-Morris-Pratt: linear in text and marker, where std::string::find may take their product
/// (a marker "aaa…ab" in an answer of `a`s), and both come from outside (spec, model).
std::vector<size_t> marker_hits(std::string_view text, std::string_view marker) {
  std::vector<size_t> border(marker.size(), 0); // longest proper border of marker[0..i]
  for (size_t i = 1, k = 0; i < marker.size(); ++i) {
    while (k > 0 && marker[i] != marker[k])
      k = border[k - 1];
    if (marker[i] == marker[k])
      ++k;
    border[i] = k;
  }
  std::vector<size_t> hits;
  for (size_t i = 0, k = 0; i < text.size(); ++i) {
    while (k > 0 && text[i] != marker[k])
      k = border[k - 1];
    if (text[i] == marker[k])
      ++k;
    if (k == marker.size()) {
      hits.push_back(i + 1 - marker.size());
      k = 0; // the next occurrence starts after this one
    }
  }
  return hits;
}

} // namespace

bool mentions_marker(const std::string& text, const std::string& marker) {
  return !marker.empty() && !marker_hits(text, marker).empty();
}

std::string strip_marker(const std::string& text, const std::string& marker) {
  if (marker.empty())
    return trim(text);
  std::string out;
  size_t pos = 0;
  for (auto hit : marker_hits(text, marker)) {
    out.append(text, pos, hit - pos);
    pos = hit + marker.size();
  }
  out.append(text, pos, std::string::npos);
  return trim(out);
}

std::string selector_task_text(const std::string& task_text, const std::vector<chat_turn>& turns,
                               const std::vector<std::string>& names) {
  return "Task: " + task_text + conversation_block(turns) + "\n\nMembers: " + join(names, ", ") +
         "\nWho should speak next? Answer in JSON: {\"speaker\": \"<member "
         "name>\"}.";
}

std::string selector_retry_text(const std::string& question, const std::string& problem,
                                const std::vector<std::string>& names) {
  return question + "\n\nYour previous answer was invalid (" + problem +
         "). Answer with exactly one of: " + join(names, ", ") + ".";
}

std::string selector_response_format(const std::vector<std::string>& names) {
  json::array choices;
  for (const auto& n : names)
    choices.emplace_back(n);
  json::object speaker;
  speaker["type"] = "string";
  speaker["enum"] = std::move(choices);
  json::object props;
  props["speaker"] = std::move(speaker);
  json::object schema;
  schema["type"] = "object";
  schema["properties"] = std::move(props);
  schema["required"] = json::array{"speaker"};
  schema["additionalProperties"] = false;
  return schema_format("speaker", std::move(schema));
}

caf::expected<std::string> parse_speaker(const std::string& reply,
                                         const std::vector<std::string>& names) {
  std::string said;
  if (auto obj = find_object(reply)) {
    auto i = obj->find("speaker");
    if (i == obj->end() || !i->value().is_string())
      return make_error(errc::invalid_reply, "no string \"speaker\" in the reply");
    said = trim(std::string{i->value().as_string()});
  } else {
    // A bare name, possibly quoted.
    said = trim(reply);
    if (said.size() >= 2 && said.front() == '"' && said.back() == '"')
      said = trim(said.substr(1, said.size() - 2));
    if (said.empty())
      return make_error(errc::invalid_reply, "empty reply");
  }
  for (const auto& n : names)
    if (n == said)
      return n;
  auto folded = lower(said);
  for (const auto& n : names)
    if (lower(n) == folded)
      return n;
  return make_error(errc::invalid_reply,
                    "\"" + said + "\" is not a member (" + join(names, ", ") + ")");
}

std::string judge_task_text(const std::string& task_text, const std::vector<chat_turn>& turns) {
  return "Task: " + task_text + conversation_block(turns) +
         "\n\nIs the task done? Answer in JSON: {\"done\": true} or {\"done\": "
         "false}.";
}

std::string judge_response_format() {
  json::object done;
  done["type"] = "boolean";
  json::object props;
  props["done"] = std::move(done);
  json::object schema;
  schema["type"] = "object";
  schema["properties"] = std::move(props);
  schema["required"] = json::array{"done"};
  schema["additionalProperties"] = false;
  return schema_format("done", std::move(schema));
}

caf::expected<bool> parse_done(const std::string& reply) {
  auto obj = find_object(reply);
  if (!obj)
    return make_error(errc::invalid_reply, "the judge's reply is not a JSON object");
  auto i = obj->find("done");
  if (i == obj->end() || !i->value().is_bool())
    return make_error(errc::invalid_reply, "no boolean \"done\" in the judge's reply");
  return i->value().as_bool();
}

// -- graph
// ---------------------------------------------------------------------------------------

std::vector<spec_problem> graph_problems(const std::vector<std::string>& nodes,
                                         const std::vector<graph_edge>& edges) {
  std::vector<spec_problem> out;
  if (nodes.empty())
    out.push_back({"members", "a graph needs at least one member", 0});
  // Hash lookups and an iterative search: a hostile graph may have 100,000 nodes.
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i)
    index.emplace(nodes[i], i);
  auto index_of = [&](const std::string& name) -> std::optional<size_t> {
    auto i = index.find(name);
    if (i == index.end())
      return std::nullopt;
    return i->second;
  };
  // Adjacency over the edges that name known nodes; cycles are searched there.
  adjacency next(nodes.size());
  std::vector<std::vector<size_t>> edge_of(nodes.size()); // parallel to next: index in `edges`
  std::unordered_map<std::string, size_t> first_edge;     // "from\nto" -> its first index
  for (size_t i = 0; i < edges.size(); ++i) {
    const auto& e = edges[i];
    auto at = "edges[" + std::to_string(i) + "]";
    auto from = index_of(e.from);
    auto to = index_of(e.to);
    if (!from)
      out.push_back({at + ".from", "unknown node \"" + e.from + "\"", e.line});
    if (!to)
      out.push_back({at + ".to", "unknown node \"" + e.to + "\"", e.line});
    if (!e.when.empty())
      if (auto problem = pattern::problem(e.when))
        out.push_back({at + ".when", std::move(*problem), e.line});
    auto [first, first_use] = first_edge.emplace(e.from + '\n' + e.to, i);
    if (!first_use)
      out.push_back({at,
                     "duplicate edge " + e.from + " -> " + e.to + " (also edges[" +
                         std::to_string(first->second) + "])",
                     e.line});
    if (from && to) {
      next[*from].push_back(*to);
      edge_of[*from].push_back(i);
    }
  }
  // Every back edge closes one cycle, reported with its path.
  std::vector<std::string_view> names(nodes.begin(), nodes.end());
  find_cycles(next, {}, [&](const found_cycle& cycle) {
    out.push_back({"edges", "cycle: " + cycle_text(cycle.path, names),
                   edges[edge_of[cycle.from][cycle.edge]].line});
    return true;
  });
  return out;
}

caf::expected<graph_layout> make_graph_layout(const std::vector<std::string>& nodes,
                                              const std::vector<graph_edge>& edges) {
  if (auto problems = graph_problems(nodes, edges); !problems.empty()) {
    std::string text;
    for (const auto& p : problems) {
      if (!text.empty())
        text += "\n";
      text += to_string(p);
    }
    return make_error(errc::invalid_spec, std::move(text));
  }
  graph_layout g;
  g.nodes = nodes;
  g.incoming.resize(nodes.size());
  g.outgoing.resize(nodes.size());
  auto index_of = [&](const std::string& name) {
    return static_cast<size_t>(std::find(nodes.begin(), nodes.end(), name) - nodes.begin());
  };
  for (const auto& e : edges) {
    graph_layout::edge x;
    x.from = index_of(e.from);
    x.to = index_of(e.to);
    if (!e.when.empty())
      x.when = pattern::compile(e.when).value; // graph_problems found none that fails
    g.outgoing[x.from].push_back(g.edges.size());
    g.incoming[x.to].push_back(g.edges.size());
    g.edges.push_back(std::move(x));
  }
  return g;
}

bool node_finished(node_state x) {
  return x == node_state::ran || x == node_state::failed || x == node_state::skipped;
}

bool edge_holds(const graph_layout::edge& e, const std::string& answer) {
  return !e.when || e.when->search(answer);
}

graph_step advance_graph(const graph_layout& g, std::vector<node_state>& state,
                         const std::vector<std::string>& answers) {
  graph_step step;
  // Each pass decides at least one node or ends the loop, so at most nodes + 1
  // passes.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      if (state[n] != node_state::pending)
        continue;
      const auto& in = g.incoming[n];
      if (in.empty()) {
        state[n] = node_state::running;
        step.run.push_back(n);
        changed = true;
        continue;
      }
      auto all_done = std::all_of(in.begin(), in.end(),
                                  [&](size_t e) { return node_finished(state[g.edges[e].from]); });
      if (!all_done)
        continue;
      auto any_holds = std::any_of(in.begin(), in.end(), [&](size_t e) {
        const auto& edge = g.edges[e];
        return state[edge.from] == node_state::ran && edge_holds(edge, answers[edge.from]);
      });
      state[n] = any_holds ? node_state::running : node_state::skipped;
      (any_holds ? step.run : step.skipped).push_back(n);
      changed = true;
    }
  }
  return step;
}

std::vector<std::pair<std::string, std::string>>
node_inputs(const graph_layout& g, size_t node, const std::vector<node_state>& state,
            const std::vector<std::string>& answers) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<size_t> seen;
  for (auto e : g.incoming[node]) {
    const auto& edge = g.edges[e];
    if (state[edge.from] != node_state::ran || !edge_holds(edge, answers[edge.from]))
      continue;
    if (std::find(seen.begin(), seen.end(), edge.from) != seen.end())
      continue;
    seen.push_back(edge.from);
    out.emplace_back(g.nodes[edge.from], answers[edge.from]);
  }
  return out;
}

std::string node_task_text(const std::string& task_text,
                           const std::vector<std::pair<std::string, std::string>>& inputs) {
  if (inputs.empty())
    return task_text;
  auto out = "Task: " + task_text;
  for (const auto& [name, answer] : inputs)
    out += "\n\nAnswer from " + name + ": " + answer;
  return out;
}

std::vector<size_t> exit_nodes(const graph_layout& g) {
  std::vector<size_t> out;
  for (size_t n = 0; n < g.nodes.size(); ++n)
    if (g.outgoing[n].empty())
      out.push_back(n);
  return out;
}

result skipped_result(std::string task_id, agent_id who) {
  result r;
  r.task_id = std::move(task_id);
  r.agent = std::move(who);
  r.text = skipped_text;
  r.error = make_error(errc::no_route, skipped_text);
  return r;
}

result combine_graph(const agent_id& self, const std::string& task_id, const graph_layout& g,
                     const std::vector<node_state>& state, const std::vector<std::string>& answers,
                     std::vector<result> trace) {
  result out;
  out.task_id = task_id;
  out.agent = self;
  out.use = total_usage(trace);
  std::vector<size_t> ran;
  for (auto n : exit_nodes(g))
    if (state[n] == node_state::ran)
      ran.push_back(n);
  if (ran.size() == 1) {
    out.text = answers[ran.front()];
  } else {
    for (auto n : ran) {
      if (!out.text.empty())
        out.text += "\n\n";
      out.text += "## " + g.nodes[n] + "\n" + answers[n];
    }
  }
  if (ran.empty()) {
    std::string why = "no exit node ran";
    auto failed = std::find_if(trace.begin(), trace.end(), [](const result& r) {
      return r.error && !is(r.error, errc::no_route);
    });
    if (failed != trace.end())
      why += "; first failure: " + failed->agent.name + ": " + describe(failed->error);
    out.error = make_error(errc::member_failed, std::move(why));
  }
  out.trace = std::move(trace);
  return out;
}

} // namespace swarm::actors
