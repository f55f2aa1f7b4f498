// What the LLM broker decides without actors: the token estimates a grant asks for, which
// failures go on to a fallback, the settling of replies without usage, refusals, token events.
#include <chrono>
#include <string>
#include <string_view>

#include <caf/send.hpp>

#include "runtime/core/errc.hpp"
#include "runtime/core/event_gate.hpp"
#include "runtime/detail/broker_rules.hpp"
#include "runtime/llm_broker.hpp"

namespace swarm {

namespace {

uint64_t quarter(uint64_t bytes) {
  return (bytes + 3) / 4;
}

/// The status of an llm_http_error ("HTTP 503 from ..."); 0 when its message names none.
int http_status(const caf::error& err) {
  auto text = detail::context_text(err);
  auto at = text.find("HTTP ");
  if (at == std::string::npos || at + 8 > text.size())
    return 0;
  int status = 0;
  for (size_t k = at + 5; k < at + 8; ++k) {
    if (text[k] < '0' || text[k] > '9')
      return 0;
    status = status * 10 + (text[k] - '0');
  }
  return status;
}

} // namespace

bool llm_falls_back(const caf::error& err) {
  for (auto code : {errc::llm_timeout, errc::llm_connect_failed, errc::llm_tls_failed,
                    errc::llm_rate_limited, errc::llm_invalid_response, errc::llm_stream_truncated})
    if (is(err, code))
      return true;
  if (!is(err, errc::llm_http_error))
    return false;
  auto status = http_status(err);
  return status >= 500 || status == 404 || status == 408;
}

uint64_t estimate_prompt_tokens(const chat_request& req) {
  uint64_t bytes = req.response_format.size();
  for (const auto& m : req.messages) {
    bytes += m.content.size() + m.name.size();
    for (const auto& call : m.tool_calls)
      bytes += call.name.size() + call.arguments.size();
  }
  for (const auto& tool : req.tools)
    bytes += tool.name.size() + tool.description.size() + tool.parameters.size();
  return quarter(bytes) + 4 * static_cast<uint64_t>(req.messages.size());
}

uint64_t estimate_completion_tokens(const chat_request& req, const llm_broker_options& opts) {
  return req.max_tokens > 0 ? static_cast<uint64_t>(req.max_tokens)
                            : opts.default_completion_tokens;
}

uint64_t estimate_embedding_tokens(const embedding_request& req) {
  uint64_t tokens = 0;
  for (const auto& text : req.input)
    tokens += quarter(text.size());
  return tokens;
}

namespace detail {

bool charge_estimate(chat_result& res, const usage& estimate) {
  if (!res.usage_estimated)
    return false;
  res.use.prompt_tokens = estimate.prompt_tokens;
  res.use.completion_tokens = estimate.completion_tokens;
  return true;
}

bool charge_estimate(embedding_result& res, const usage& estimate) {
  if (res.use.total_tokens() != 0)
    return false;
  res.use.prompt_tokens = estimate.prompt_tokens;
  res.use.completion_tokens = estimate.completion_tokens;
  return true;
}

std::string context_text(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

std::string ms_text(caf::timespan x) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(x).count()) + " ms";
}

caf::error refusal(const caf::error& err, const agent_id& agent, const std::string& endpoint,
                   caf::timespan grant_timeout, caf::timespan call_timeout) {
  auto who = "agent '" + agent.str() + "'";
  if (is(err, errc::budget_exhausted))
    return make_error(errc::budget_exhausted, "call of " + who + " refused: " + context_text(err));
  if (err == caf::sec::request_timeout) {
    auto text = "call of " + who + " got no slot on " + endpoint + " within ";
    if (call_timeout < grant_timeout)
      return make_error(errc::llm_timeout, text + "the call's timeout of " + ms_text(call_timeout) +
                                               " (llm.timeout_ms)");
    return make_error(errc::llm_timeout,
                      text + ms_text(grant_timeout) + " (resources.grant_timeout_ms)");
  }
  return err;
}

} // namespace detail

} // namespace swarm
