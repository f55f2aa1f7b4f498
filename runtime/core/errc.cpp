// Names and rendering of swarm::errc.
#include "runtime/core/errc.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace swarm {

std::string to_string(errc x) {
  switch (x) {
  case errc::none:
    return "none";
  case errc::invalid_spec:
    return "invalid_spec";
  case errc::io_error:
    return "io_error";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::no_endpoint:
    return "no_endpoint";
  case errc::llm_connect_failed:
    return "llm_connect_failed";
  case errc::llm_tls_failed:
    return "llm_tls_failed";
  case errc::llm_timeout:
    return "llm_timeout";
  case errc::llm_http_error:
    return "llm_http_error";
  case errc::llm_rate_limited:
    return "llm_rate_limited";
  case errc::llm_invalid_response:
    return "llm_invalid_response";
  case errc::llm_stream_truncated:
    return "llm_stream_truncated";
  case errc::llm_cancelled:
    return "llm_cancelled";
  case errc::member_failed:
    return "member_failed";
  case errc::all_members_failed:
    return "all_members_failed";
  case errc::budget_exhausted:
    return "budget_exhausted";
  case errc::cancelled:
    return "cancelled";
  case errc::unknown_agent:
    return "unknown_agent";
  case errc::runtime_stopped:
    return "runtime_stopped";
  case errc::member_timeout:
    return "member_timeout";
  case errc::deadline_exceeded:
    return "deadline_exceeded";
  case errc::max_messages_reached:
    return "max_messages_reached";
  case errc::max_rounds_reached:
    return "max_rounds_reached";
  case errc::invalid_plan:
    return "invalid_plan";
  case errc::invalid_reply:
    return "invalid_reply";
  case errc::no_quorum:
    return "no_quorum";
  case errc::no_route:
    return "no_route";
  case errc::replay_missing:
    return "replay_missing";
  case errc::unknown_run:
    return "unknown_run";
  case errc::storage_full:
    return "storage_full";
  case errc::tool_refused:
    return "tool_refused";
  case errc::tool_unavailable:
    return "tool_unavailable";
  case errc::tool_failed:
    return "tool_failed";
  case errc::tool_timeout:
    return "tool_timeout";
  case errc::approval_rejected:
    return "approval_rejected";
  case errc::max_tool_steps:
    return "max_tool_steps";
  case errc::run_exists:
    return "run_exists";
  case errc::data_dir_unusable:
    return "data_dir_unusable";
  case errc::member_down:
    return "member_down";
  case errc::node_unreachable:
    return "node_unreachable";
  case errc::node_lost:
    return "node_lost";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), errc_category};
}

caf::error make_error(errc x, std::string context) {
  return caf::error{static_cast<uint8_t>(x), errc_category, caf::make_message(std::move(context))};
}

bool is(const caf::error& err, errc x) {
  // CAF 0.17's category() dereferences a null pointer on an empty error.
  return err && err.category() == errc_category && err.code() == static_cast<uint8_t>(x);
}

std::string error_code(const caf::error& err) {
  if (!err)
    return "none";
  if (err.category() == errc_category)
    return to_string(static_cast<errc>(err.code()));
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()));
  return caf::to_string(err.category()) + "(" + std::to_string(err.code()) + ")";
}

std::string error_message(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return ctx.empty() ? std::string{} : caf::to_string(ctx);
}

std::string describe(const caf::error& err) {
  auto out = error_code(err);
  if (auto msg = err ? error_message(err) : std::string{}; !msg.empty())
    out += ": " + msg;
  return out;
}

} // namespace swarm
