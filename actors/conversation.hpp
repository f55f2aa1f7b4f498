// Pure logic of the conversational coordinators (group_chat and graph):
// transcripts, speaker choice, selector and judge replies, termination, graph
// validation, readiness and results. No actors here: every function takes
// values and returns values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/messages.hpp"
#include "runtime/core/pattern.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::actors {

// -- group chat
// ----------------------------------------------------------------------------------

/// One turn of a group chat: who spoke and what they said (as they said it).
struct chat_turn {
  std::string speaker;
  std::string text;
};

/// The transcript as "NAME: text" lines, one turn after the other (joined by
/// "\n").
std::string render_transcript(const std::vector<chat_turn>& turns);

/// What the speaker of a turn is asked:
/// "Task: TASK\n\nConversation so far:\nNAME: text\n...\n\nYou are SPEAKER; it
/// is your turn." (the conversation part is left out before the first turn).
std::string speaker_task_text(const std::string& task_text, const std::vector<chat_turn>& turns,
                              const std::string& speaker);

/// Most turns of a chat: the smaller of `max_turns` and the guard's
/// `max_rounds` (a zero counts as no bound), at least 1.
uint32_t chat_turn_limit(uint32_t max_turns, uint32_t max_rounds);

/// Index of the round-robin speaker of turn `turn` (0-based) among `members`
/// members (> 0).
size_t round_robin_speaker(uint32_t turn, size_t members);

/// True if `marker` (non-empty) occurs in `text`. An empty marker never
/// terminates.
bool mentions_marker(const std::string& text, const std::string& marker);

/// `text` without any occurrence of `marker`, white space trimmed at both ends.
std::string strip_marker(const std::string& text, const std::string& marker);

/// The selector's question: the task, the transcript and the members to choose
/// from.
std::string selector_task_text(const std::string& task_text, const std::vector<chat_turn>& turns,
                               const std::vector<std::string>& names);

/// The selector's re-ask after an invalid reply: `question` plus the problem
/// and the choices.
std::string selector_retry_text(const std::string& question, const std::string& problem,
                                const std::vector<std::string>& names);

/// The OpenAI `response_format` (JSON schema "speaker") of the selector:
/// `{"type":"json_schema","json_schema":{"name":"speaker","strict":true,"schema":{...}}}`
/// with `speaker` restricted to `names`.
std::string selector_response_format(const std::vector<std::string>& names);

/// The member named by a selector reply `{"speaker": "name"}` (code fences and
/// surrounding text tolerated; a reply that is just a member name is accepted;
/// names compared exactly, then ignoring case). errc::invalid_reply naming the
/// problem otherwise.
[[nodiscard]] caf::expected<std::string> parse_speaker(const std::string& reply,
                                                       const std::vector<std::string>& names);

/// The judge's question: the task and the transcript, asking `{"done":
/// true|false}`.
std::string judge_task_text(const std::string& task_text, const std::vector<chat_turn>& turns);

/// The OpenAI `response_format` (JSON schema "done") of the judge.
std::string judge_response_format();

/// The judge's verdict from `{"done": bool}` (code fences tolerated);
/// errc::invalid_reply otherwise.
[[nodiscard]] caf::expected<bool> parse_done(const std::string& reply);

// -- graph
// ---------------------------------------------------------------------------------------

/// Every problem of a graph whose nodes are `nodes`: edges naming unknown
/// nodes, duplicate edges, invalid `when` regexes, cycles (self loops
/// included), no node at all. Paths are relative to the graph's options
/// ("edges[2].to"; "edges" for a cycle), lines are the edges'. Empty when the
/// graph is valid. Used by the coordinator and the spec validator.
std::vector<spec_problem> graph_problems(const std::vector<std::string>& nodes,
                                         const std::vector<graph_edge>& edges);

/// A validated graph: node indices, edges by index, conditions compiled.
struct graph_layout {
  struct edge {
    size_t from = 0;
    size_t to = 0;
    std::optional<pattern> when; ///< RE2 syntax (swarm::pattern); none: the edge always holds
  };
  std::vector<std::string> nodes;
  std::vector<edge> edges;
  std::vector<std::vector<size_t>> incoming; ///< node -> indices into `edges`
  std::vector<std::vector<size_t>> outgoing; ///< node -> indices into `edges`
};

/// The layout of a valid graph; errc::invalid_spec listing graph_problems
/// otherwise.
[[nodiscard]] caf::expected<graph_layout> make_graph_layout(const std::vector<std::string>& nodes,
                                                            const std::vector<graph_edge>& edges);

/// Where a node of a graph run stands.
enum class node_state : uint8_t { pending, running, ran, failed, skipped };

/// True for ran, failed and skipped.
bool node_finished(node_state x);

/// Whether the edge's condition holds for its source's answer (no condition:
/// always).
bool edge_holds(const graph_layout::edge& e, const std::string& answer);

/// Nodes that a finished step of a graph run starts or skips.
struct graph_step {
  std::vector<size_t> run;     ///< now ready: marked running
  std::vector<size_t> skipped; ///< now skipped: marked skipped, in the order decided
};

/// Moves pending nodes forward until nothing changes: a pending node whose
/// incoming edges' sources have all finished runs when at least one edge from a
/// source that ran holds, and is skipped otherwise (so skips propagate); entry
/// nodes (no incoming edge) run. `state` and `answers` are indexed by node.
graph_step advance_graph(const graph_layout& g, std::vector<node_state>& state,
                         const std::vector<std::string>& answers);

/// The predecessors' answers a node gets: (name, answer) for each incoming edge
/// whose source ran and whose condition holds, in edge order, each source once.
std::vector<std::pair<std::string, std::string>>
node_inputs(const graph_layout& g, size_t node, const std::vector<node_state>& state,
            const std::vector<std::string>& answers);

/// A node's task text: the task alone for an entry node (no inputs), else
/// "Task: TASK\n\nAnswer from NAME: answer\n\nAnswer from NAME2: answer2".
std::string node_task_text(const std::string& task_text,
                           const std::vector<std::pair<std::string, std::string>>& inputs);

/// Nodes without outgoing edges, in node order.
std::vector<size_t> exit_nodes(const graph_layout& g);

/// The text a skipped node's result carries (also its error's context).
inline constexpr const char* skipped_text = "skipped: no incoming condition held";

/// The result standing for a skipped node: error errc::no_route, text
/// `skipped_text`.
result skipped_result(std::string task_id, agent_id who);

/// The graph's answer: the answers of the exit nodes that ran (one: its text;
/// several: "## NAME\n answer" blocks in node order), usage summed over `trace`
/// (kept as the result's trace). errc::member_failed when no exit node ran.
result combine_graph(const agent_id& self, const std::string& task_id, const graph_layout& g,
                     const std::vector<node_state>& state, const std::vector<std::string>& answers,
                     std::vector<result> trace);

} // namespace swarm::actors
