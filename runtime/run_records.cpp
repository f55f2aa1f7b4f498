// Runs in the journal as the runtime uses them (see run_records.hpp).
#include "runtime/run_records.hpp"

#include <openssl/evp.h>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

/// The task text as a message shows it: the first line, at most 60 characters.
std::string excerpt(const std::string& text) {
  auto line = text.substr(0, text.find('\n'));
  if (line.size() > 60 || line.size() < text.size())
    return line.substr(0, 60) + "...";
  return line;
}

/// An error as describe() wrote it ("llm_timeout: no reply ..."), with its swarm code again
/// when the text starts with one; else member_failed with the whole text.
caf::error error_from(const std::string& text) {
  auto colon = text.find(": ");
  auto name = text.substr(0, colon);
  for (int code = 1; code < 256; ++code) {
    auto x = static_cast<errc>(code);
    auto known = to_string(x);
    if (known.rfind("errc(", 0) == 0)
      break; // past the last code
    if (known == name)
      return colon == std::string::npos ? make_error(x) : make_error(x, text.substr(colon + 2));
  }
  return make_error(errc::member_failed, text);
}

} // namespace

std::string spec_digest(std::string_view spec_text) {
  if (spec_text.empty())
    return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(spec_text.data(), spec_text.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 0xf]);
  }
  return out;
}

std::string spec_digest_of(const memory::run_record& h) {
  return h.spec_digest.empty() ? spec_digest(h.spec_text) : h.spec_digest;
}

llm_environment llm_environment::current(const env_reader& env) {
  return {env("OPENAI_BASE_URL"), env("OPENAI_MODEL")};
}

llm_environment llm_environment::of(const memory::run_record& h, const env_reader& env) {
  return h.env_recorded ? llm_environment{h.env_base_url, h.env_model} : current(env);
}

env_reader llm_environment::reader(env_reader env) const {
  return [fixed = *this, env = std::move(env)](const std::string& name) {
    if (name == "OPENAI_BASE_URL")
      return fixed.base_url;
    if (name == "OPENAI_MODEL")
      return fixed.model;
    return env(name);
  };
}

llm_overrides merge_overrides(const llm_overrides& now, const memory::run_record& h) {
  auto out = now;
  if (out.url.empty())
    out.url = h.llm_url;
  if (out.model.empty())
    out.model = h.model;
  return out;
}

caf::expected<std::optional<memory::run_record>>
check_run_start(memory::journal& journal, const run_request& req, run_mode mode,
                const std::function<caf::error()>& forget) {
  auto old = journal.get_run(req.run_id);
  if (!old)
    return std::move(old.error());
  if (!*old)
    return std::optional<memory::run_record>{};
  const auto& h = **old;
  auto what = "run '" + req.run_id + "' (" + h.status + ", task \"" + excerpt(h.task_text) +
              "\") is already in the " + journal.describe();
  auto choices = "continue it with `swarm run --resume " + req.run_id +
                 "` (run_mode::resume, runtime::resume), start it afresh with `--fresh` "
                 "(run_mode::fresh: its journal is forgotten), or use another run id";
  switch (mode) {
  case run_mode::start:
    return make_error(errc::run_exists, what + ": " + choices);
  case run_mode::fresh:
    if (auto err = forget())
      return err;
    return std::optional<memory::run_record>{};
  case run_mode::resume:
    break;
  }
  // The journal answers calls by their place in the run (agent, task id, step): only the same
  // task through the same spec may read them.
  std::string differs;
  if (h.task_text != req.task_text)
    differs = "task \"" + excerpt(req.task_text) + "\"";
  else if (!req.task_id.empty() && req.task_id != h.task_id)
    differs = "task id '" + req.task_id + "' (journaled: '" + h.task_id + "')";
  else if (auto kept = spec_digest_of(h);
           !kept.empty() && !req.spec_digest.empty() && kept != req.spec_digest)
    differs = "spec (" + req.spec_digest + ", journaled: " + kept + ")";
  if (!differs.empty())
    return make_error(errc::run_exists, what + "; this run has another " + differs +
                                            ", which its journal cannot answer: " + choices);
  return old;
}

std::vector<memory::journaled_step> journaled_trace(const result& r) {
  std::vector<memory::journaled_step> out;
  for (const auto& m : r.trace)
    out.push_back({m.task_id, m.agent.str(), m.text, m.error ? describe(m.error) : std::string{},
                   m.confidence, m.use, 0});
  return out;
}

result stored_result(const memory::run_record& h) {
  result r;
  r.task_id = h.task_id;
  r.agent = h.result_agent;
  r.text = h.result_text;
  r.confidence = h.result_confidence;
  r.use.prompt_tokens = h.result_prompt_tokens;
  r.use.completion_tokens = h.result_completion_tokens;
  r.use.calls = h.result_calls;
  for (const auto& m : h.result_trace) {
    result member;
    member.task_id = m.task_id;
    auto slash = m.agent.find('/');
    member.agent = slash == std::string::npos
                       ? agent_id{{}, m.agent}
                       : agent_id{m.agent.substr(0, slash), m.agent.substr(slash + 1)};
    member.text = m.text;
    member.confidence = m.confidence;
    member.use = m.use;
    if (!m.error.empty())
      member.error = error_from(m.error);
    r.trace.push_back(std::move(member));
  }
  return r;
}

run_info to_run_info(const memory::run_record& h, bool running_now) {
  run_info out;
  out.run_id = h.run_id;
  out.swarm = h.swarm;
  out.task_text = h.task_text;
  out.status = h.status == "running" && !running_now ? "interrupted" : h.status;
  out.error = h.error;
  out.started_ms = h.started_ms;
  out.finished_ms = h.finished_ms;
  if (h.status == "done")
    out.outcome = stored_result(h);
  return out;
}

} // namespace swarm
