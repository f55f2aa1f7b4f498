// The swarm spec: one schema loaded from YAML or JSON, validated before anything is spawned.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/located.hpp"

namespace swarm {

/// One entry of `fallbacks:`: an endpoint (and model) a call goes to when the ones before it still
/// fail after their retries.
struct llm_fallback_spec {
  std::string url;                        ///< base URL incl. version, as `url`
  std::optional<std::string> model;       ///< default: the agent's model
  std::optional<std::string> api_key_env; ///< default: OPENAI_API_KEY
  int line = 0;                           ///< where the entry starts in the spec file
};

/// LLM settings. At swarm level (`llm:`) they are the defaults of every agent; an agent's own
/// fields override them. Unset optionals fall through to command-line flags, then environment
/// (OPENAI_BASE_URL, OPENAI_API_KEY), then built-in defaults.
struct llm_settings {
  std::optional<std::string> url;         ///< base URL incl. version, e.g. http://host:8089/v1
  std::optional<std::string> model;       ///< model name sent to the endpoint
  std::optional<std::string> api_key_env; ///< name of the environment variable with the key
  std::optional<double> temperature;      ///< 0..2
  std::optional<int32_t> max_tokens;      ///< > 0
  std::optional<bool> stream;             ///< use SSE streaming
  std::optional<std::chrono::milliseconds> timeout; ///< per LLM call, retries included
  /// Tried in order when the endpoint still fails after its retries; an agent's own list (even
  /// empty) replaces the swarm's.
  std::optional<std::vector<llm_fallback_spec>> fallbacks;
};

/// A token and money budget; 0 means unlimited (or, on an agent or sub-swarm: inherit).
struct budget_spec {
  uint64_t tokens = 0;
  double usd = 0;
};

/// Limits of one LLM endpoint (`resources.endpoints`); url "default" applies to every other.
struct endpoint_limits_spec {
  std::string url;
  uint32_t max_concurrent = 16;     ///< calls in flight at once
  uint64_t requests_per_minute = 0; ///< 0: unlimited
  uint64_t tokens_per_minute = 0;   ///< 0: unlimited
  int line = 0;
};

/// Price of one model, in dollars per million tokens (`resources.prices`).
struct price_spec {
  std::string model;
  double prompt_per_million = 0;
  double completion_per_million = 0;
  int line = 0;
};

/// `resources:` the resource pool's limits, budgets and prices (runtime/resource_pool.hpp).
struct resources_spec {
  std::vector<endpoint_limits_spec> endpoints;
  budget_spec runtime;   ///< the whole run
  budget_spec per_swarm; ///< every swarm of the tree, unless it sets `budget`
  budget_spec per_agent; ///< every agent, unless it sets `budget`
  std::vector<price_spec> prices;
  std::chrono::milliseconds grant_timeout{60'000}; ///< longest wait for a slot
};

/// Limits of a sandboxed program (a tool's `sandbox:`).
struct sandbox_spec {
  bool network = false;                      ///< may open network sockets
  std::chrono::milliseconds timeout{10'000}; ///< wall clock
  uint64_t cpu_seconds = 10;                 ///< RLIMIT_CPU
  uint64_t memory_mb = 512;                  ///< RLIMIT_AS
  uint32_t max_processes = 64;               ///< RLIMIT_NPROC
  uint64_t max_file_mb = 64;                 ///< RLIMIT_FSIZE
  uint64_t max_output_kb = 64;               ///< stdout and stderr, each; the rest is cut
};

/// One tool of `tools:`. Built-in names: shell, python, read_file, write_file, list_files,
/// memory_search, memory_write, delegate, http_get. Any other name is a custom tool: a
/// `command` run in the sandbox with the call's arguments (JSON) on its standard input.
struct tool_decl {
  std::string name;
  std::string description;          ///< required for custom tools
  std::string parameters;           ///< JSON schema (text); required for custom tools
  std::vector<std::string> command; ///< custom tools: program and arguments
  bool needs_approval = false;      ///< wait for a human decision before each call
  sandbox_spec sandbox;
  std::vector<std::string> allow_hosts; ///< http_get: hosts it may fetch from (required)
  int line = 0;
};

/// `memory:` the memory tiers of a swarm (docs/memory.md).
struct memory_spec {
  bool working = false;    ///< per-run blackboard: read before each LLM call, results written to it
  bool long_term = false;  ///< recall long-term memories into each task
  bool consolidate = true; ///< with long_term: working memory becomes long-term at run end
  uint32_t recall_k = 5;   ///< memories recalled per task, per tier
  std::string overflow = "drop"; ///< short-term window full: drop (oldest turns) | summarize
  std::optional<std::string> embeddings_model; ///< set: hybrid BM25 + vector retrieval
  std::optional<std::string> embeddings_url;   ///< default: the swarm's llm url
};

/// One agent of the swarm.
struct agent_spec {
  std::string name;          ///< unique in the swarm; [A-Za-z0-9_-]+
  std::string role;          ///< one line: what the agent is
  std::string system_prompt; ///< default: "You are <name>, <role>."
  std::vector<std::string> skills;
  llm_settings llm;                  ///< the agent's overrides (keys sit directly on the agent)
  uint32_t short_term_tokens = 8000; ///< conversation window budget, in estimated tokens
  bool logprobs = false;             ///< ask the endpoint for logprobs (confidence); key `logprobs`
  std::vector<std::string> tools;    ///< tools (names in `tools:`) the agent may call
  uint32_t max_tool_steps = 8;       ///< LLM calls per task when the model keeps calling tools
  budget_spec budget;                ///< 0: resources.per_agent
  /// The cluster node (its name) the agent runs on; empty: its swarm's placement decides.
  std::string node;
  int line = 0; ///< where the agent starts in the spec file (1-based)
};

/// Termination guards of a coordinator (every architecture). docs/architectures.md.
/// What a coordinator does with a member that dies or stays silent past its member timeout.
struct supervision_options {
  bool restart = true;                      ///< spawn it again from its spec, ask it again
  uint32_t max_restarts = 3;                ///< restarts of one member within `within`
  std::chrono::milliseconds within{60'000}; ///< beyond them, its failure stands
};

struct guard_options {
  std::chrono::milliseconds member_timeout{120'000}; ///< one member's answer
  uint32_t max_rounds = 5;                           ///< rounds, turns, review passes
  uint32_t max_messages = 0;                         ///< tasks sent in one run; 0: unlimited
  std::chrono::milliseconds deadline{0};             ///< wall time of one task; 0: none
  supervision_options supervision;                   ///< members that die are restarted
};

/// `hierarchical`: a lead plans, workers are assigned by skill, the lead aggregates.
struct hierarchical_options {
  std::string lead;          ///< agent that plans and aggregates (required)
  uint32_t max_subtasks = 8; ///< most subtasks in a plan
  uint32_t max_attempts = 3; ///< tries per subtask: try, retry once, then reassign
  bool review = false;       ///< the lead reviews each answer
};

/// `collaborative`: members answer in parallel, then a decision rule.
struct collaborative_options {
  std::string decision = "majority"; ///< majority | weighted | consensus | synthesize
  std::string normalize = "fold";    ///< exact | fold | regex | json_field | number
  std::string pattern;               ///< normalize: regex (capture group 1)
  std::string field;                 ///< normalize: json_field
  double quorum = 0.5;               ///< winner needs more than this fraction of valid votes
  std::string tie = "first";         ///< first | fail
  std::vector<std::pair<std::string, double>> weights; ///< member -> weight (default 1)
  double threshold = 1.0;                              ///< consensus: fraction that must agree
  std::string aggregator;                              ///< synthesize: agent that merges
  uint32_t layers = 1;                                 ///< synthesize: mixture-of-agents layers
};

/// `competitive`: members race; the best answer wins.
struct competitive_options {
  std::string select = "judge"; ///< judge | confidence | first_k
  std::string judge;            ///< agent that scores (select: judge)
  std::string criteria = "correctness, completeness, clarity";
  uint32_t k = 1; ///< select: first_k
};

/// `group_chat`: members take turns on a shared transcript.
struct group_chat_options {
  std::string speaker = "round_robin"; ///< round_robin | selector
  std::string selector;                ///< agent that names the next speaker
  uint32_t max_turns = 10;
  std::string terminate_on = "TERMINATE"; ///< a turn containing it ends the chat
  std::string judge;                      ///< optional agent asked whether the task is done
};

/// One edge of a `graph` swarm; `when` (a regex on `from`'s answer) may be empty.
struct graph_edge {
  std::string from;
  std::string to;
  std::string when;
  int line = 0;
};

/// `graph`: a DAG of members with conditional edges.
struct graph_options {
  std::vector<graph_edge> edges;
};

/// One rule of a `router` swarm: the first whose regex matches the task text picks `to`.
struct route_rule {
  std::string match;
  std::string to;
  int line = 0;
};

/// `router`: one member per task, picked by an LLM agent or by rules.
struct router_options {
  std::string router; ///< agent that picks (JSON {"member": name}); empty: routes decide
  std::vector<route_rule> routes;
  std::string fallback; ///< member when nothing matches; default: the first member
};

/// One swarm of the tree: the root (`swarm:`, named after the spec) or a sub-swarm (`swarms:`).
/// Only the options of its architecture are read.
struct swarm_node_spec {
  std::string name;
  std::string architecture = "concurrent";
  std::vector<std::string> members; ///< agents or sub-swarms; root default: every agent
  guard_options guards;
  hierarchical_options hierarchical;
  collaborative_options collaborative;
  competitive_options competitive;
  group_chat_options group_chat;
  graph_options graph;
  router_options router;
  budget_spec budget; ///< 0: resources.per_swarm
  /// Where the agents it lists run when the runtime is a cluster node: "spread" (over the up
  /// nodes, this one included, evenly), "pack" (all on this node) or "least_loaded" (each on
  /// the node with the fewest agents and LLM calls in flight). docs/cluster.md.
  std::string placement = "spread";
  int line = 0;
};

/// What a swarm is: its agents and how they work together.
struct swarm_spec {
  std::string name; ///< [A-Za-z0-9_-]+
  std::string description;
  llm_settings llm;                    ///< defaults for every agent
  swarm_node_spec root;                ///< the swarm itself; root.name == name
  std::vector<swarm_node_spec> swarms; ///< named sub-swarms, in spec order
  std::vector<agent_spec> agents;
  resources_spec resources;
  std::vector<tool_decl> tools;
  memory_spec memory;
  std::string source; ///< file it was loaded from, or "<spec>"
  std::string text;   ///< the spec's text as loaded (kept in the run journal to resume)
  /// Invalid UTF-8 sequences the loader replaced by U+FFFD in the text before reading it (`text`
  /// holds the repaired text); each run of the swarm tells them as input_repaired "spec".
  uint32_t repaired = 0;

  /// The agent or sub-swarm called `name`, or nullptr.
  const agent_spec* find_agent(const std::string& name) const;
  const swarm_node_spec* find_swarm(const std::string& name) const;
};

/// One validation problem: `path` is like "agents[2].model", `line` is 1-based (0: unknown);
/// to_string() renders "agents[2].model: expected a string (line 14)".
using spec_problem = located_problem;

/// Parses and validates a spec text (YAML or JSON; JSON is read as YAML). Either a valid spec
/// or every problem found. `source` names the text in messages. Invalid UTF-8 is not a problem:
/// each invalid sequence becomes U+FFFD first, counted in swarm_spec::repaired.
struct spec_parse_result {
  std::optional<swarm_spec> spec;
  std::vector<spec_problem> problems;
};
spec_parse_result parse_spec(std::string_view text, std::string_view source = "<spec>");

/// Loads a spec file. On failure the error is errc::invalid_spec (its context lists every
/// problem, one per line, prefixed by the file name) or errc::io_error.
[[nodiscard]] caf::expected<swarm_spec> load_spec(const std::string& path);

/// The spec from text; like load_spec, for specs that do not live in a file.
[[nodiscard]] caf::expected<swarm_spec> load_spec_text(std::string_view text,
                                                       std::string_view source = "<spec>");

/// Turns `spec` into one that neither recalls nor stores memories: memory.working and
/// memory.long_term off, the memory tools (memory_search, memory_write) dropped from `tools:` and
/// from every agent's list. spec.text is rewritten to say the same (the run journal keeps the
/// text to rebuild the swarm on resume), so it loses its comments.
void disable_memory(swarm_spec& spec);

/// Architectures this build can run.
const std::vector<std::string>& supported_architectures();

/// One architecture and the swarm keys it reads besides the common ones; the spec reader checks
/// keys against this table (docs/spec.md lists each key, generated from the same tables).
struct architecture_info {
  std::string_view name;
  std::string_view summary; ///< one line: what the coordinator does
  std::span<const std::string_view> keys;
};

/// Every architecture this build can run, in the order of supported_architectures().
std::span<const architecture_info> architectures();

/// The swarm keys of every architecture: `architecture`, `members`, the guards and `budget`.
std::span<const std::string_view> common_swarm_keys();

} // namespace swarm
