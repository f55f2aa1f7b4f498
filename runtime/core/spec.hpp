// The swarm spec: one schema loaded from YAML or JSON, validated before anything is spawned.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace swarm {

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
};

/// One agent of the swarm.
struct agent_spec {
  std::string name;          ///< unique in the swarm; [A-Za-z0-9_-]+
  std::string role;          ///< one line: what the agent is
  std::string system_prompt; ///< default: "You are <name>, <role>."
  std::vector<std::string> skills;
  llm_settings llm;                  ///< the agent's overrides (keys sit directly on the agent)
  uint32_t short_term_tokens = 8000; ///< conversation window budget, in estimated tokens
  int line = 0;                      ///< where the agent starts in the spec file (1-based)
};

/// What a swarm is: its agents and how they work together.
struct swarm_spec {
  std::string name; ///< [A-Za-z0-9_-]+
  std::string description;
  llm_settings llm; ///< defaults for every agent
  std::string architecture = "concurrent";
  std::vector<std::string> members; ///< agent names, in order; default: every agent
  std::chrono::milliseconds member_timeout{120'000}; ///< deadline of one member's answer
  std::vector<agent_spec> agents;
  std::string source; ///< file it was loaded from, or "<spec>"
};

/// One validation problem: `path` is like "agents[2].model", `line` is 1-based (0: unknown).
struct spec_problem {
  std::string path;
  std::string message;
  int line = 0;
};

/// "agents[2].model: expected a string (line 14)"
std::string to_string(const spec_problem& x);

/// Parses and validates a spec text (YAML or JSON; JSON is read as YAML). Either a valid spec
/// or every problem found. `source` names the text in messages.
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

/// Architectures this build can run.
const std::vector<std::string>& supported_architectures();

} // namespace swarm
