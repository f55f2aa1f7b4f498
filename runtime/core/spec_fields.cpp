// The spec's field tables: every key of every spec object with its type, range, default and doc
// line, the architectures and their options, and the rules between keys. Data only; the reader
// (spec_reader.cpp), the schema and the reference (spec_schema.cpp) walk it.
#include "runtime/core/detail/spec_fields.hpp"

#include <algorithm>
#include <limits>

#include "runtime/core/detail/spec_reader.hpp"

namespace swarm::detail {

namespace {

// Upper bounds keep later arithmetic (deadlines, budgets) far from overflow.
constexpr int64_t max_uint32 = std::numeric_limits<uint32_t>::max();
// Budgets: far above any real run, far below overflow of the pool's sums (tokens, nano-dollars).
constexpr int64_t max_budget_tokens = 1'000'000'000'000;
constexpr double max_budget_usd = 1'000'000'000;
// Dollars per million tokens.
constexpr double max_price = 1'000'000;
// The pool's token buckets hold at most this many (token_bucket::max_capacity, runtime/budget.hpp,
// which this layer may not include).
constexpr int64_t max_per_minute = 300'000'000;
constexpr int64_t max_concurrent_calls = 1'000'000;
// Sandbox limits: a day of CPU, a TiB of memory or file, a GiB of output.
constexpr int64_t max_cpu_seconds = 86'400;
constexpr int64_t max_megabytes = 1'048'576;
constexpr int64_t max_processes_limit = 65'536;

constexpr std::string_view overflows[] = {"drop", "summarize"};
constexpr std::string_view builtin_tool_names[] = {"shell",        "python",     "read_file",
                                                   "write_file",   "list_files", "memory_search",
                                                   "memory_write", "delegate",   "http_get"};
constexpr std::string_view http_get_name[] = {"http_get"};

// -- llm: and the LLM keys of an agent ------------------------------------------------------------

constexpr field llm_fallback_fields[] = {
    {.key = "url",
     .doc = "base URL of the fallback endpoint, with its version: http://host:8090/v1",
     .format = text_format::url,
     .required = true,
     .set = store<&llm_fallback_spec::url>},
    {.key = "model",
     .doc = "model name sent to the fallback endpoint",
     .fallback = "(the agent's model)",
     .format = text_format::non_empty,
     .set = store<&llm_fallback_spec::model>},
    {.key = "api_key_env",
     .doc = "name of the environment variable that holds the fallback endpoint's API key",
     .fallback = "(OPENAI_API_KEY)",
     .format = text_format::env_var,
     .set = store<&llm_fallback_spec::api_key_env>},
};

constexpr field llm_fallback_item{
    .kind = value_kind::object, .object = &llm_fallback_table, .set = add_llm_fallback};

constexpr field llm_fields[] = {
    {.key = "url",
     .doc = "base URL of an OpenAI-compatible endpoint, with its version: http://host:8089/v1",
     .fallback = "(--llm-url, else OPENAI_BASE_URL)",
     .format = text_format::url,
     .set = store<&llm_settings::url>},
    {.key = "model",
     .doc = "model name sent to the endpoint",
     .fallback = "(--model, else OPENAI_MODEL, else gpt-4o-mini)",
     .format = text_format::non_empty,
     .set = store<&llm_settings::model>},
    {.key = "api_key_env",
     .doc = "name of the environment variable that holds the API key",
     .fallback = "(OPENAI_API_KEY)",
     .format = text_format::env_var,
     .set = store<&llm_settings::api_key_env>},
    {.key = "temperature",
     .kind = value_kind::number,
     .doc = "sampling temperature",
     .fallback = "(the endpoint's)",
     .low = 0,
     .high = 2,
     .set = store<&llm_settings::temperature>},
    {.key = "max_tokens",
     .kind = value_kind::integer,
     .doc = "most tokens of one completion",
     .fallback = "(the endpoint's)",
     .min = 1,
     .set = store<&llm_settings::max_tokens>},
    {.key = "stream",
     .kind = value_kind::boolean,
     .doc = "receive completions as server-sent events",
     .fallback = "(false)",
     .set = store<&llm_settings::stream>},
    {.key = "timeout_ms",
     .kind = value_kind::integer,
     .doc = "longest wait for one LLM call, retries included",
     .fallback = "(60000)",
     .min = 1,
     .set = store<&llm_settings::timeout>},
    {.key = "fallbacks",
     .kind = value_kind::list,
     .doc = "endpoints tried in order when a call still fails after its retries (5xx, 404, 408, "
            "429, timeouts, connection errors)",
     .fallback = "(none; on an agent: the swarm's)",
     .item = &llm_fallback_item,
     .set = set_llm_fallbacks},
};

// -- budgets, resources ---------------------------------------------------------------------------

constexpr field budget_fields[] = {
    {.key = "tokens",
     .kind = value_kind::integer,
     .doc = "tokens (prompt and completion); 0: unlimited, or on an agent or swarm: inherit",
     .fallback = "0",
     .min = 0,
     .max = max_budget_tokens,
     .set = store<&budget_spec::tokens>},
    {.key = "usd",
     .kind = value_kind::number,
     .doc = "dollars, at resources.prices; 0: unlimited, or on an agent or swarm: inherit",
     .fallback = "0",
     .low = 0,
     .high = max_budget_usd,
     .set = store<&budget_spec::usd>},
};

constexpr field endpoint_fields[] = {
    {.key = "url",
     .doc = "`default` (every endpoint not listed), or a base URL as the agents use it",
     .format = text_format::endpoint_url,
     .required = true,
     .set = set_endpoint_url},
    {.key = "max_concurrent",
     .kind = value_kind::integer,
     .doc = "calls in flight at once; also the LLM client's connections to it",
     .fallback = "16",
     .min = 1,
     .max = max_concurrent_calls,
     .set = store<&endpoint_limits_spec::max_concurrent>},
    {.key = "requests_per_minute",
     .kind = value_kind::integer,
     .doc = "rate limit of requests; 0: unlimited",
     .fallback = "0",
     .min = 0,
     .max = max_per_minute,
     .set = store<&endpoint_limits_spec::requests_per_minute>},
    {.key = "tokens_per_minute",
     .kind = value_kind::integer,
     .doc = "rate limit of tokens (prompt estimate + max_tokens, corrected by usage); 0: unlimited",
     .fallback = "0",
     .min = 0,
     .max = max_per_minute,
     .set = store<&endpoint_limits_spec::tokens_per_minute>},
};

constexpr field price_fields[] = {
    {.key = "model",
     .doc = "the model priced, once each",
     .format = text_format::non_empty,
     .required = true,
     .set = set_price_model},
    {.key = "prompt",
     .kind = value_kind::number,
     .doc = "dollars per million prompt tokens",
     .fallback = "0",
     .low = 0,
     .high = max_price,
     .set = store<&price_spec::prompt_per_million>},
    {.key = "completion",
     .kind = value_kind::number,
     .doc = "dollars per million completion tokens",
     .fallback = "0",
     .low = 0,
     .high = max_price,
     .set = store<&price_spec::completion_per_million>},
};

constexpr field endpoint_item{
    .kind = value_kind::object, .object = &endpoint_table, .set = add_endpoint};
constexpr field price_item{.kind = value_kind::object, .object = &price_table, .set = add_price};

constexpr field resources_fields[] = {
    {.key = "endpoints",
     .kind = value_kind::list,
     .doc = "limits per LLM endpoint, each url once",
     .fallback = "[]",
     .item = &endpoint_item},
    {.key = "budget",
     .kind = value_kind::object,
     .doc = "tokens and dollars of the whole run",
     .object = &budget_table,
     .set = read_into<&resources_spec::runtime>},
    {.key = "per_swarm",
     .kind = value_kind::object,
     .doc = "budget of every swarm of the tree that sets no budget of its own",
     .object = &budget_table,
     .set = read_into<&resources_spec::per_swarm>},
    {.key = "per_agent",
     .kind = value_kind::object,
     .doc = "budget of every agent that sets no budget of its own",
     .object = &budget_table,
     .set = read_into<&resources_spec::per_agent>},
    {.key = "prices",
     .kind = value_kind::list,
     .doc = "price of each model; calls on a model not listed cost $0",
     .fallback = "[]",
     .item = &price_item},
    {.key = "grant_timeout_ms",
     .kind = value_kind::integer,
     .doc = "longest wait of an LLM call for a slot of the resource pool",
     .fallback = "60000",
     .min = 1,
     .set = store<&resources_spec::grant_timeout>},
};

// -- tools ----------------------------------------------------------------------------------------

constexpr field sandbox_fields[] = {
    {.key = "network",
     .kind = value_kind::boolean,
     .doc = "may open network sockets",
     .fallback = "false",
     .set = store<&sandbox_spec::network>},
    {.key = "timeout_ms",
     .kind = value_kind::integer,
     .doc = "wall clock of one call; the whole sandbox is killed past it",
     .fallback = "10000",
     .min = 1,
     .set = store<&sandbox_spec::timeout>},
    {.key = "cpu_seconds",
     .kind = value_kind::integer,
     .doc = "CPU time (RLIMIT_CPU)",
     .fallback = "10",
     .min = 1,
     .max = max_cpu_seconds,
     .set = store<&sandbox_spec::cpu_seconds>},
    {.key = "memory_mb",
     .kind = value_kind::integer,
     .doc = "address space in MiB (RLIMIT_AS)",
     .fallback = "512",
     .min = 1,
     .max = max_megabytes,
     .set = store<&sandbox_spec::memory_mb>},
    {.key = "max_processes",
     .kind = value_kind::integer,
     .doc = "processes (RLIMIT_NPROC)",
     .fallback = "64",
     .min = 1,
     .max = max_processes_limit,
     .set = store<&sandbox_spec::max_processes>},
    {.key = "max_file_mb",
     .kind = value_kind::integer,
     .doc = "largest file written, in MiB (RLIMIT_FSIZE)",
     .fallback = "64",
     .min = 1,
     .max = max_megabytes,
     .set = store<&sandbox_spec::max_file_mb>},
    {.key = "max_output_kb",
     .kind = value_kind::integer,
     .doc = "stdout and stderr kept, each, in KiB; the rest is cut",
     .fallback = "64",
     .min = 1,
     .max = max_megabytes,
     .set = store<&sandbox_spec::max_output_kb>},
};

constexpr field command_item{};
constexpr field host_item{.format = text_format::host};

constexpr field tool_fields[] = {
    {.key = "name",
     .doc = "a built-in tool, or the name of a custom tool, once each",
     .format = text_format::name,
     .max_length = 64, // OpenAI's limit on a function name
     .required = true,
     .set = set_tool_name},
    {.key = "description",
     .doc = "what the model reads about the tool; replaces a built-in's own text",
     .fallback = "(a built-in's own text)",
     .format = text_format::non_empty,
     .set = store<&tool_decl::description>},
    {.key = "parameters",
     .kind = value_kind::json_object,
     .doc = "JSON schema of the call's arguments, with type: object",
     .expect = "expected a mapping (a JSON schema with type: object)",
     .set = store<&tool_decl::parameters>},
    {.key = "command",
     .kind = value_kind::list,
     .doc = "the program (not empty), then its arguments; the call's arguments come on stdin",
     .item = &command_item,
     .non_empty = true,
     .expect = "expected a sequence (the program, then its arguments)",
     .set = set_command},
    {.key = "needs_approval",
     .kind = value_kind::boolean,
     .doc = "wait for a human decision before each call",
     .fallback = "false",
     .set = store<&tool_decl::needs_approval>},
    {.key = "sandbox",
     .kind = value_kind::object,
     .doc = "limits of the sandboxed program (read_file, write_file and http_get use them too)",
     .object = &sandbox_table,
     .set = read_into<&tool_decl::sandbox>},
    {.key = "allow_hosts",
     .kind = value_kind::list,
     .doc = "hosts (name or address, optionally :port; not URLs) http_get may fetch from",
     .item = &host_item,
     .non_empty = true,
     .set = store<&tool_decl::allow_hosts>},
};

// What applies to a tool depends on its name, wherever its keys stand.
constexpr key_rule tool_rule_rows[] = {
    {.cause = "name",
     .values = builtin_tool_names,
     .negate = true,
     .key = "description",
     .message = "is required for a custom tool"},
    {.cause = "name",
     .values = builtin_tool_names,
     .negate = true,
     .key = "parameters",
     .message = "is required for a custom tool"},
    {.cause = "name",
     .values = builtin_tool_names,
     .negate = true,
     .key = "command",
     .message = "is required for a custom tool"},
    // A built-in's description may be replaced (what the model reads); its schema may not.
    {.cause = "name",
     .values = builtin_tool_names,
     .key = "parameters",
     .require = false,
     .message = "applies only to custom tools ('{}' is built in)"},
    {.cause = "name",
     .values = builtin_tool_names,
     .key = "command",
     .require = false,
     .message = "applies only to custom tools ('{}' is built in)"},
    {.cause = "name",
     .values = http_get_name,
     .key = "allow_hosts",
     .message = "is required for http_get (the hosts it may fetch from)"},
    {.cause = "name",
     .values = http_get_name,
     .negate = true,
     .key = "allow_hosts",
     .require = false,
     .message = "applies only to http_get"},
};

// -- memory ---------------------------------------------------------------------------------------

constexpr field memory_fields[] = {
    {.key = "working",
     .kind = value_kind::boolean,
     .doc = "per-run blackboard: read before each LLM call, results written to it",
     .fallback = "false",
     .set = store<&memory_spec::working>},
    {.key = "long_term",
     .kind = value_kind::boolean,
     .doc = "recall long-term memories into each task",
     .fallback = "false",
     .set = store<&memory_spec::long_term>},
    {.key = "consolidate",
     .kind = value_kind::boolean,
     .doc = "with long_term: working memory becomes long-term at the end of the run",
     .fallback = "true",
     .set = store<&memory_spec::consolidate>},
    {.key = "recall_k",
     .kind = value_kind::integer,
     .doc = "memories recalled per task, per tier",
     .fallback = "5",
     .min = 1,
     .max = 1000,
     .set = store<&memory_spec::recall_k>},
    {.key = "overflow",
     .kind = value_kind::choice,
     .doc = "when the short-term window is full: drop the oldest turns, or summarize them",
     .fallback = "\"drop\"",
     .choices = overflows,
     .set = store<&memory_spec::overflow>},
    {.key = "embeddings_model",
     .doc = "embeddings model: set, retrieval is hybrid (BM25 and vectors)",
     .fallback = "(none: BM25 only)",
     .format = text_format::non_empty,
     .set = store<&memory_spec::embeddings_model>},
    {.key = "embeddings_url",
     .doc = "endpoint of the embeddings (needs embeddings_model)",
     .fallback = "(the agents' endpoint)",
     .format = text_format::url,
     .set = store<&memory_spec::embeddings_url>},
};

constexpr key_dependency memory_dependency_rows[] = {
    {"embeddings_url", "embeddings_model", "needs embeddings_model (vectors are off without it)"},
};

// -- agents ---------------------------------------------------------------------------------------

constexpr field skill_item{.format = text_format::non_empty};
constexpr field agent_tool_item{.format = text_format::non_empty, .set = add_agent_tool};

constexpr field agent_fields[] = {
    {.key = "name",
     .doc = "unique among agents and sub-swarms",
     .format = text_format::name,
     .required = true,
     .set = set_agent_name},
    {.key = "role",
     .doc = "one line: what the agent is",
     .fallback = "\"\"",
     .set = store<&agent_spec::role>},
    {.key = "system_prompt",
     .doc = "the system message of every call",
     .fallback = "(You are NAME, ROLE.)",
     .set = store<&agent_spec::system_prompt>},
    {.key = "skills",
     .kind = value_kind::list,
     .doc = "what the agent is good at; a hierarchical lead assigns subtasks by skill",
     .fallback = "[]",
     .item = &skill_item,
     .set = store<&agent_spec::skills>},
    {.key = "short_term_tokens",
     .kind = value_kind::integer,
     .doc = "conversation window budget, in estimated tokens",
     .fallback = "8000",
     .min = 256,
     .max = max_uint32,
     .set = store<&agent_spec::short_term_tokens>},
    {.key = "logprobs",
     .kind = value_kind::boolean,
     .doc = "ask the endpoint for logprobs (an answer's confidence)",
     .fallback = "false",
     .set = store<&agent_spec::logprobs>},
    {.key = "tools",
     .kind = value_kind::list,
     .doc = "tools (names declared in tools:) the agent may call, each once",
     .fallback = "[]",
     .item = &agent_tool_item,
     .noun = "tool",
     .set = store<&agent_spec::tools>},
    {.key = "max_tool_steps",
     .kind = value_kind::integer,
     .doc = "LLM calls per task while the model keeps calling tools",
     .fallback = "8",
     .min = 1,
     .max = 64,
     .set = store<&agent_spec::max_tool_steps>},
    {.key = "node",
     .doc = "the cluster node (its name) the agent runs on; a runtime that is no node refuses it",
     .fallback = "(its swarm's placement)",
     .format = text_format::non_empty,
     .set = store<&agent_spec::node>},
    {.key = "budget",
     .kind = value_kind::object,
     .doc = "the agent's tokens and dollars",
     .fallback = "(resources.per_agent)",
     .object = &budget_table,
     .set = read_into<&agent_spec::budget>},
};

void* agent_llm(void* agent) {
  return &static_cast<agent_spec*>(agent)->llm;
}

} // namespace

constexpr table llm_table{"llm", "llm",
                          "LLM settings. Under `llm:` they are the defaults of every agent; an "
                          "agent's own keys override them. Unset, they fall through to "
                          "command-line flags, the environment, then built-in defaults.",
                          llm_fields};
constexpr table llm_fallback_table{
    "llm_fallback", "llm.fallbacks[]",
    "Another endpoint for an agent's calls: when a call still fails after its retries with an "
    "error another endpoint may not have (HTTP 5xx, 404, 408, 429, a timeout, a connection, TLS "
    "or protocol error; not 400, 401, 403, a budget refusal or a cancel), it goes to the first "
    "fallback, then the next, within the call's one `timeout_ms`. Each switch is an "
    "`llm_fallback` event; the call is granted, counted and priced on the endpoint and model "
    "that answered.",
    llm_fallback_fields};
constexpr table budget_table{"budget", "budget",
                             "A token and money budget: `resources.budget` (the whole run), "
                             "`per_swarm`, `per_agent`, and `budget` on an agent or a swarm.",
                             budget_fields};
constexpr table endpoint_table{"endpoint", "resources.endpoints[]", "Limits of one LLM endpoint.",
                               endpoint_fields};
constexpr table price_table{"price", "resources.prices[]",
                            "Price of one model, in dollars per million tokens.", price_fields};
constexpr table resources_table{"resources", "resources",
                                "The resource pool: every LLM call is granted a slot first.",
                                resources_fields};
constexpr table sandbox_table{"sandbox", "tools[].sandbox",
                              "Limits of a sandboxed program (bubblewrap, seccomp, rlimits).",
                              sandbox_fields};
constexpr table tool_table{"tool", "tools[]",
                           "A tool agents may call: a built-in (shell, python, read_file, "
                           "write_file, list_files, memory_search, memory_write, delegate, "
                           "http_get) or a custom `command` run in the sandbox.",
                           tool_fields};
constexpr table memory_table{"memory", "memory", "The memory tiers of the swarm (docs/memory.md).",
                             memory_fields};
constexpr table agent_table{"agent",
                            "agents[]",
                            "One agent. Every key of `llm:` may be set on an agent too, "
                            "overriding the swarm's.",
                            agent_fields,
                            &llm_table,
                            agent_llm};

std::span<const std::string_view> builtin_tools() {
  return builtin_tool_names;
}

std::span<const key_rule> tool_rules() {
  return tool_rule_rows;
}

std::span<const key_dependency> memory_dependencies() {
  return memory_dependency_rows;
}

} // namespace swarm::detail
