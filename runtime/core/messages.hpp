// Every message the runtime's actors exchange: plain structs with `inspect`, and their one CAF
// type-ID block. JSON appears only at the edges (net/, apps/), never here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>
#include <caf/type_id.hpp>

#include "runtime/core/ids.hpp"

namespace swarm {

// -- LLM vocabulary (OpenAI chat-completions shape) -------------------------------------------

/// Token accounting, summed over calls. Taken from the API's `usage` field.
struct usage {
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  uint64_t calls = 0; ///< LLM calls that returned (successfully or not)

  /// Sums saturate at 2^64 - 1 instead of wrapping (a bogus count cannot turn into a small one).
  static uint64_t add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
  uint64_t total_tokens() const { return add(prompt_tokens, completion_tokens); }
  usage& operator+=(const usage& x) {
    prompt_tokens = add(prompt_tokens, x.prompt_tokens);
    completion_tokens = add(completion_tokens, x.completion_tokens);
    calls = add(calls, x.calls);
    return *this;
  }
};

template <class F>
typename F::result_type inspect(F& f, usage& x) {
  return f(caf::meta::type_name("usage"), x.prompt_tokens, x.completion_tokens, x.calls);
}

/// A tool call the model asks for; `arguments` is the JSON text the model produced.
struct tool_call {
  std::string id;
  std::string name;
  std::string arguments;
};

template <class F>
typename F::result_type inspect(F& f, tool_call& x) {
  return f(caf::meta::type_name("tool_call"), x.id, x.name, x.arguments);
}

/// One message of a conversation. `role` is system, user, assistant or tool.
struct chat_message {
  std::string role;
  std::string content;
  std::string name;                  ///< optional author name
  std::string tool_call_id;          ///< for role "tool": the call answered
  std::vector<tool_call> tool_calls; ///< for role "assistant": calls requested
};

template <class F>
typename F::result_type inspect(F& f, chat_message& x) {
  return f(caf::meta::type_name("chat_message"), x.role, x.content, x.name, x.tool_call_id,
           x.tool_calls);
}

/// A tool offered to the model; `parameters` is a JSON schema as text.
struct tool_spec {
  std::string name;
  std::string description;
  std::string parameters;
};

template <class F>
typename F::result_type inspect(F& f, tool_spec& x) {
  return f(caf::meta::type_name("tool_spec"), x.name, x.description, x.parameters);
}

/// Where an LLM lives: base URL up to and including the version, e.g. "http://127.0.0.1:8089/v1".
struct llm_endpoint {
  std::string url;
  std::string api_key; ///< sent as "Authorization: Bearer"; empty sends none
  /// Most connections the LLM client opens to this endpoint's host and port: in a run, the
  /// endpoint's `max_concurrent` (its resource pool's slots, set by the broker); 0: the client's
  /// llm_client_options::max_connections_per_endpoint.
  uint32_t max_connections = 0;
};

template <class F>
typename F::result_type inspect(F& f, llm_endpoint& x) {
  return f(caf::meta::type_name("llm_endpoint"), x.url, x.api_key, x.max_connections);
}

/// Another endpoint and model a chat call goes to when the one before it still fails after its
/// retries (spec `fallbacks:`; see the LLM broker).
struct llm_fallback_target {
  llm_endpoint endpoint;
  std::string model;
};

template <class F>
typename F::result_type inspect(F& f, llm_fallback_target& x) {
  return f(caf::meta::type_name("llm_fallback_target"), x.endpoint, x.model);
}

/// One chat completion to perform.
struct chat_request {
  uint64_t call_id = 0; ///< caller-chosen id, unique per client; used to cancel
  /// Who asks, and where in its run: the resource pool grants by `agent` (and its swarm), the
  /// run journal keys finished calls by run, agent, task and step. Empty for calls made outside
  /// a run (benchmarks, tests).
  std::string run_id;
  agent_id agent;
  std::string task_id;
  uint32_t step = 0; ///< the call's position within its task: 0, then 1.. in a tool loop
  llm_endpoint endpoint;
  std::string model;
  std::vector<chat_message> messages;
  std::vector<tool_spec> tools;
  std::string response_format; ///< JSON of the `response_format` object; empty: none
  double temperature = -1;     ///< < 0: leave to the server
  int32_t max_tokens = 0;      ///< 0: leave to the server
  bool stream = false;         ///< use SSE streaming
  int32_t top_logprobs = -1;   ///< < 0: no logprobs; 0..20: ask for logprobs
  caf::timespan timeout = std::chrono::seconds(60); ///< whole call, retries included
  /// Tell the runtime's monitor each piece of the answer as it streams in (llm_token events;
  /// implies `stream`). Default: false.
  bool stream_tokens = false;
  /// Tried in order, each with what is left of `timeout`, when the call still fails after its
  /// retries with an error another endpoint may not have (the LLM broker decides; an llm_fallback
  /// event tells each switch). Default: none.
  std::vector<llm_fallback_target> fallbacks;
};

template <class F>
typename F::result_type inspect(F& f, chat_request& x) {
  return f(caf::meta::type_name("chat_request"), x.call_id, x.run_id, x.agent, x.task_id, x.step,
           x.endpoint, x.model, x.messages, x.tools, x.response_format, x.temperature, x.max_tokens,
           x.stream, x.top_logprobs, x.timeout, x.stream_tokens, x.fallbacks);
}

/// Log-probability of one generated token.
struct token_logprob {
  std::string token;
  double logprob = 0;
};

template <class F>
typename F::result_type inspect(F& f, token_logprob& x) {
  return f(caf::meta::type_name("token_logprob"), x.token, x.logprob);
}

/// The answer to a chat_request.
struct chat_result {
  uint64_t call_id = 0;
  std::string model;
  std::string content;
  std::vector<tool_call> tool_calls;
  std::string finish_reason;
  std::vector<token_logprob> logprobs;
  usage use;
  uint32_t attempts = 0; ///< HTTP attempts made (1 + retries)
  /// The reply had no valid `usage` (missing, as streams often do, or not non-negative integers
  /// in range): the LLM broker charges its grant's estimate and puts it in `use`; without a broker
  /// the token counts stay 0.
  bool usage_estimated = false;
  /// Who answered: 0 the request's endpoint and model, i > 0 its `fallbacks[i - 1]`.
  uint32_t fallback = 0;
  /// Invalid UTF-8 sequences the client replaced by U+FFFD in the reply's body as it decoded it
  /// (content, tool calls, streamed deltas); the agent tells them as input_repaired.
  uint32_t repaired = 0;
};

template <class F>
typename F::result_type inspect(F& f, chat_result& x) {
  return f(caf::meta::type_name("chat_result"), x.call_id, x.model, x.content, x.tool_calls,
           x.finish_reason, x.logprobs, x.use, x.attempts, x.usage_estimated, x.fallback,
           x.repaired);
}

/// Asks the LLM client to abandon a call: its connection is closed, its reply is an error.
struct chat_cancel {
  uint64_t call_id = 0;
};

template <class F>
typename F::result_type inspect(F& f, chat_cancel& x) {
  return f(caf::meta::type_name("chat_cancel"), x.call_id);
}

/// Texts to embed.
struct embedding_request {
  uint64_t call_id = 0;
  llm_endpoint endpoint;
  std::string model;
  std::vector<std::string> input;
  caf::timespan timeout = std::chrono::seconds(60);
};

template <class F>
typename F::result_type inspect(F& f, embedding_request& x) {
  return f(caf::meta::type_name("embedding_request"), x.call_id, x.endpoint, x.model, x.input,
           x.timeout);
}

/// One vector per input text, in input order.
struct embedding_result {
  uint64_t call_id = 0;
  std::vector<std::vector<float>> vectors;
  usage use;
};

template <class F>
typename F::result_type inspect(F& f, embedding_result& x) {
  return f(caf::meta::type_name("embedding_result"), x.call_id, x.vectors, x.use);
}

// -- the agent protocol: every participant speaks it (docs/architectures.md) ------------------

/// Work for an agent or a swarm.
struct task {
  std::string id;     ///< unique within the run, e.g. "t1" or "t1.analyst"
  std::string run_id; ///< the run this task belongs to
  std::string text;
  std::string from; ///< who asked: an agent name, or "user"
  /// JSON of an OpenAI `response_format` object the answer must follow (coordinators ask for
  /// plans, votes and scores this way); empty: free text.
  std::string response_format;
};

template <class F>
typename F::result_type inspect(F& f, task& x) {
  return f(caf::meta::type_name("task"), x.id, x.run_id, x.text, x.from, x.response_format);
}

/// The answer to a task. A failure is a result with `error` set, so coordinators see every
/// member's outcome the same way; `trace` holds the members' own results, nested.
struct result {
  std::string task_id;
  agent_id agent;
  std::string text;
  double confidence = -1; ///< in [0, 1]; < 0: unknown
  usage use;              ///< this participant's and all its members' usage
  caf::error error;
  std::vector<result> trace;
  uint32_t restarts = 0; ///< members restarted while this task ran (see supervision), the
                         ///< trace's included
};

template <class F>
typename F::result_type inspect(F& f, result& x) {
  return f(caf::meta::type_name("result"), x.task_id, x.agent, x.text, x.confidence, x.use, x.error,
           x.trace, x.restarts);
}

/// A direct message to one agent; it lands in the agent's short-term memory.
struct dm {
  std::string from;
  std::string text;
};

template <class F>
typename F::result_type inspect(F& f, dm& x) {
  return f(caf::meta::type_name("dm"), x.from, x.text);
}

/// A message to every member of a swarm; it lands in each agent's short-term memory.
struct broadcast {
  std::string from;
  std::string text;
};

template <class F>
typename F::result_type inspect(F& f, broadcast& x) {
  return f(caf::meta::type_name("broadcast"), x.from, x.text);
}

/// Liveness question; answered with a health_report.
struct health_probe {
  uint64_t nonce = 0;
};

template <class F>
typename F::result_type inspect(F& f, health_probe& x) {
  return f(caf::meta::type_name("health_probe"), x.nonce);
}

/// An agent's answer to a health_probe.
struct health_report {
  uint64_t nonce = 0;
  agent_id agent;
  uint64_t tasks_done = 0;
  uint64_t tasks_running = 0;
  uint64_t mailbox = 0; ///< messages waiting in its mailbox when it answered
};

template <class F>
typename F::result_type inspect(F& f, health_report& x) {
  return f(caf::meta::type_name("health_report"), x.nonce, x.agent, x.tasks_done, x.tasks_running,
           x.mailbox);
}

/// Abandons a task: the receiver stops its work on it, cancels its LLM calls and answers the
/// task with errc::cancelled.
struct task_cancel {
  std::string task_id;
};

template <class F>
typename F::result_type inspect(F& f, task_cancel& x) {
  return f(caf::meta::type_name("task_cancel"), x.task_id);
}

// -- events: every hop reports to the monitor (docs/events.md) ---------------------------------

/// What happened. The per-kind meaning of event's fields is documented here and in
/// docs/events.md; the CLI's progress, `--events` files and every other consumer read the same
/// stream.
enum class event_kind : uint8_t {
  run_started,         ///< a run's task went to its swarm. text: the task; total: the agents
  run_finished,        ///< the run ended. name: its status (run_status); text: the answer;
                       ///< use, confidence, duration; error when not done
  member_started,      ///< an agent (leaf) or a sub-swarm began a task. round: round or turn
  member_finished,     ///< it answered. text: the answer; use, duration, confidence, round
  member_failed,       ///< it failed. error; use, duration, round
  member_skipped,      ///< its coordinator will not ask it for this task. text: why
  member_cancelled,    ///< its task was cancelled. use, duration
  llm_call_started,    ///< an agent asks its LLM. name: model; step
  llm_call_finished,   ///< the call returned. name: the model that answered; step, use,
                       ///< duration, attempts, cost_usd, estimated; error when it failed; text:
                       ///< the endpoint's URL (the fallback's, when a fallback answered)
  llm_fallback,        ///< a call failed on one endpoint and goes to its next fallback. error:
                       ///< the failure (naming endpoint and model); name: the next model; text:
                       ///< the next endpoint's URL; step
  llm_token,           ///< a streamed delta of an answer (opt-in). text: the delta
  tool_call_requested, ///< the model asked for a tool. name: tool; arguments
  approval_waiting,    ///< the call waits for a human. name, arguments; approval: its id
  tool_call_approved,  ///< a human approved it. name; approval
  tool_call_rejected,  ///< refused (permissions, a human, a limit). name; text: why
  tool_call_finished,  ///< the tool answered. name; duration; text: output excerpt; error
  decision_made,       ///< a coordinator decided. name: method; text: the winner (answer,
                       ///< member or route); confidence, round, scores
  budget_warning,      ///< a budget passed 80 %. name: which ("agent", "swarm", "run"); text
  budget_exhausted,    ///< a budget ran out. name: which; error
  memory_written,      ///< a memory write is durable. text: the memory's id
  health_checked,      ///< a health check of the swarm ended. total: participants probed;
                       ///< text: "N of M alive", then who did not answer and why
  member_restarted,    ///< a member that died or stayed silent was spawned again from its spec;
                       ///< its task is asked again. error: what happened; attempts: restarts of
                       ///< it in the supervision window
  input_repaired,      ///< text entering the run (task, spec, tool output, a reply body) was
                       ///< not valid UTF-8; each invalid sequence became U+FFFD. name: where
                       ///< ("task", "spec", "tool <name>", "llm reply", ...); total: replaced
};

std::string to_string(event_kind x);

/// One option's score in a decision: votes (tally), judge points, or confidence.
struct decision_score {
  std::string option; ///< an answer (votes) or a member's name (scores)
  double value = 0;
};

template <class F>
typename F::result_type inspect(F& f, decision_score& x) {
  return f(caf::meta::type_name("decision_score"), x.option, x.value);
}

/// Something that happened in a run. Fields a kind does not use keep their defaults.
struct event {
  event_kind kind = event_kind::member_started;
  uint64_t seq = 0; ///< set by the monitor: position in the runtime's stream, from 1
  /// Set by the monitor when the runtime keeps an event log: position in its run's log, from 1
  /// and on across restarts of the runtime (a resumed run's events go on from the last kept).
  uint64_t run_seq = 0;
  int64_t time_us = 0; ///< set by the monitor when 0: Unix microseconds
  std::string run_id;
  std::string task_id;
  agent_id agent;        ///< who: an agent, a coordinator, or (run_*) the swarm
  bool leaf = true;      ///< an agent, as opposed to a coordinator or the swarm
  std::string name;      ///< per kind: model, tool, decision method, budget, run status
  std::string text;      ///< per kind: task, answer, delta, output excerpt, reason, winner
  std::string arguments; ///< tool calls: the arguments as the model wrote them
  usage use;
  double cost_usd = 0;    ///< at the spec's prices; < 0: no price known for the model
  double confidence = -1; ///< < 0: none
  caf::error error;
  caf::timespan duration{0};
  uint32_t round = 0;     ///< member_*, decision_made: round, turn or layer (1-based); 0: none
  uint32_t step = 0;      ///< llm_call_*: the call's position in its task
  uint32_t attempts = 0;  ///< llm_call_finished: HTTP attempts (1 + retries)
  uint32_t total = 0;     ///< run_started: agents in the swarm
  uint64_t approval = 0;  ///< approval_waiting, tool_call_approved: the approval's id
  bool estimated = false; ///< llm_call_finished: usage estimated (the reply had none)
  std::vector<decision_score> scores; ///< decision_made: tally or scores, best first
};

template <class F>
typename F::result_type inspect(F& f, event& x) {
  return f(caf::meta::type_name("event"), x.kind, x.seq, x.run_seq, x.time_us, x.run_id, x.task_id,
           x.agent, x.leaf, x.name, x.text, x.arguments, x.use, x.cost_usd, x.confidence, x.error,
           x.duration, x.round, x.step, x.attempts, x.total, x.approval, x.estimated, x.scores);
}

/// Asks the monitor to forward every later event to `subscriber`, which must handle `event`.
struct subscribe_events {
  caf::actor subscriber;
};

template <class F>
typename F::result_type inspect(F& f, subscribe_events& x) {
  return f(caf::meta::type_name("subscribe_events"), x.subscriber);
}

/// Asks the monitor to answer (true) once every event sent to it before this request is
/// numbered, logged and passed on: a run's end waits for its run_finished to be in the log.
struct flush_events {};

template <class F>
typename F::result_type inspect(F& f, flush_events&) {
  return f(caf::meta::type_name("flush_events"));
}

/// One event as the event log keeps it: its run, its place in the run's log, and its JSON
/// wire form (docs/events.md).
struct logged_event {
  uint64_t run_seq = 0;
  event_kind kind = event_kind::run_started;
  std::string run_id;
  std::string json;
};

template <class F>
typename F::result_type inspect(F& f, logged_event& x) {
  return f(caf::meta::type_name("logged_event"), x.run_seq, x.kind, x.run_id, x.json);
}

/// Asks the monitor to send `subscriber` run `run_id`'s logged events with run_seq > `after`:
/// first those the log has, then every later one as it comes, in order, none twice (each a
/// logged_event). Needs the runtime's event log.
struct follow_events {
  caf::actor subscriber;
  std::string run_id;
  uint64_t after = 0;
};

template <class F>
typename F::result_type inspect(F& f, follow_events& x) {
  return f(caf::meta::type_name("follow_events"), x.subscriber, x.run_id, x.after);
}

} // namespace swarm

CAF_BEGIN_TYPE_ID_BLOCK(swarm, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(swarm, (swarm::agent_id))
CAF_ADD_TYPE_ID(swarm, (swarm::usage))
CAF_ADD_TYPE_ID(swarm, (swarm::tool_call))
CAF_ADD_TYPE_ID(swarm, (swarm::chat_message))
CAF_ADD_TYPE_ID(swarm, (swarm::tool_spec))
CAF_ADD_TYPE_ID(swarm, (swarm::llm_endpoint))
CAF_ADD_TYPE_ID(swarm, (swarm::chat_request))
CAF_ADD_TYPE_ID(swarm, (swarm::token_logprob))
CAF_ADD_TYPE_ID(swarm, (swarm::chat_result))
CAF_ADD_TYPE_ID(swarm, (swarm::chat_cancel))
CAF_ADD_TYPE_ID(swarm, (swarm::embedding_request))
CAF_ADD_TYPE_ID(swarm, (swarm::embedding_result))
CAF_ADD_TYPE_ID(swarm, (swarm::task))
CAF_ADD_TYPE_ID(swarm, (swarm::result))
CAF_ADD_TYPE_ID(swarm, (swarm::dm))
CAF_ADD_TYPE_ID(swarm, (swarm::broadcast))
CAF_ADD_TYPE_ID(swarm, (swarm::health_probe))
CAF_ADD_TYPE_ID(swarm, (swarm::health_report))
CAF_ADD_TYPE_ID(swarm, (swarm::task_cancel))
CAF_ADD_TYPE_ID(swarm, (swarm::decision_score))
CAF_ADD_TYPE_ID(swarm, (swarm::event))
CAF_ADD_TYPE_ID(swarm, (swarm::subscribe_events))
CAF_ADD_TYPE_ID(swarm, (swarm::llm_fallback_target))
CAF_ADD_TYPE_ID(swarm, (swarm::logged_event))
CAF_ADD_TYPE_ID(swarm, (swarm::follow_events))
CAF_ADD_TYPE_ID(swarm, (swarm::flush_events))
CAF_END_TYPE_ID_BLOCK(swarm)
