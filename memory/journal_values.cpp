// The run journal's stored values as bytes, both ways (see journal.hpp, journal_values): a
// format version byte, then the CAF binary form of the value without its key. Versions still
// read: calls 1 (a reply without usage_estimated) and 2 (without fallback), run headers 1 (the
// fields before spec_digest). No database here: the fuzz target calls these directly.
#include <cmath>
#include <limits>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "memory/journal.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::memory::journal_values {

namespace {

constexpr char format_version = 1; ///< of steps and tool calls
constexpr char call_format_v1 = 1; ///< calls whose reply had no usage_estimated
constexpr char call_format_v2 = 2; ///< calls whose reply had no fallback
constexpr char call_format_v3 = 3; ///< calls whose reply had no repaired count
constexpr char call_format = 4;    ///< calls with every field of the reply
constexpr char run_format_v1 = 1;  ///< run headers up to `error`
constexpr char run_format = 2;     ///< run headers with every field

/// `xs` behind the format version byte `version`.
template <class... Ts>
std::string encode_as(char version, Ts&... xs) {
  std::vector<char> buf;
  buf.push_back(version);
  caf::binary_serializer sink{nullptr, buf};
  auto err = sink(xs...);
  // Serializing plain strings and numbers into a vector cannot fail.
  static_cast<void>(err);
  return std::string{buf.begin(), buf.end()};
}

/// Reads what `encode_as(version, ...)` wrote; false if the version is another, the bytes are
/// malformed or some are left over.
template <class... Ts>
bool decode_as(char version, std::string_view bytes, Ts&... xs) {
  if (bytes.size() < 1 || bytes[0] != version)
    return false;
  caf::binary_deserializer source{nullptr, bytes.data() + 1, bytes.size() - 1};
  if (auto err = source(xs...))
    return false;
  return source.remaining() == 0;
}

// CAF 0.17's binary serializer never returns on an infinite double (pack754 halves it while it
// is 2 or more), so one stands as the largest finite double of its sign: a reply whose logprob
// was -1e400 (Boost.JSON reads it as -inf) hung the call that journaled it (found by
// fuzz/journal). NaN does not loop and is kept.
double storable(double x) {
  return std::isinf(x) ? std::copysign(std::numeric_limits<double>::max(), x) : x;
}

void make_storable(chat_result& r) {
  for (auto& lp : r.logprobs)
    lp.logprob = storable(lp.logprob);
}

void make_storable(journaled_step& s) {
  s.confidence = storable(s.confidence);
}

void make_storable(run_record& r) {
  r.result_confidence = storable(r.result_confidence);
  for (auto& s : r.result_trace)
    make_storable(s);
}

// A tool reply's error kept as its code (errc; another category becomes tool_failed with its
// description) and message, so that it reads back without an actor system.
struct stored_error {
  uint8_t code = 0;
  std::string message;
};

stored_error store_error(const caf::error& err) {
  if (!err)
    return {};
  if (err.category() == errc_category)
    return {err.code(), error_message(err)};
  return {static_cast<uint8_t>(errc::tool_failed), describe(err)};
}

caf::error load_error(const stored_error& e) {
  if (e.code == 0)
    return {};
  return make_error(static_cast<errc>(e.code), e.message);
}

} // namespace

bool decode_call(std::string_view v, journaled_call& x) {
  auto& r = x.reply;
  if (v.size() >= 1 && v[0] == call_format_v1)
    return decode_as(call_format_v1, v, x.agent, x.task_id, x.step, x.model, r.call_id, r.model,
                     r.content, r.tool_calls, r.finish_reason, r.logprobs, r.use, r.attempts,
                     x.time_ms);
  if (v.size() >= 1 && v[0] == call_format_v2)
    return decode_as(call_format_v2, v, x.agent, x.task_id, x.step, x.model, r.call_id, r.model,
                     r.content, r.tool_calls, r.finish_reason, r.logprobs, r.use, r.attempts,
                     r.usage_estimated, x.time_ms);
  if (v.size() >= 1 && v[0] == call_format_v3)
    return decode_as(call_format_v3, v, x.agent, x.task_id, x.step, x.model, r.call_id, r.model,
                     r.content, r.tool_calls, r.finish_reason, r.logprobs, r.use, r.attempts,
                     r.usage_estimated, r.fallback, x.time_ms);
  return decode_as(call_format, v, x.agent, x.task_id, x.step, x.model, x.reply, x.time_ms);
}

std::string encode_call(const journaled_call& x) {
  auto c = x;
  make_storable(c.reply);
  return encode_as(call_format, c.agent, c.task_id, c.step, c.model, c.reply, c.time_ms);
}

bool decode_tool_call(std::string_view v, journaled_tool_call& x) {
  stored_error err;
  if (!decode_as(format_version, v, x.agent, x.task_id, x.step, x.name, x.arguments, x.decision,
                 x.reply.call_id, x.reply.content, err.code, err.message, x.time_ms))
    return false;
  x.reply.error = load_error(err);
  return true;
}

std::string encode_tool_call(const journaled_tool_call& x) {
  auto c = x;
  auto err = store_error(c.reply.error);
  return encode_as(format_version, c.agent, c.task_id, c.step, c.name, c.arguments, c.decision,
                   c.reply.call_id, c.reply.content, err.code, err.message, c.time_ms);
}

bool decode_step(std::string_view v, journaled_step& x) {
  return decode_as(format_version, v, x);
}

std::string encode_step(const journaled_step& x) {
  auto c = x;
  make_storable(c);
  return encode_as(format_version, c);
}

bool decode_run(std::string_view v, run_record& x) {
  if (v.size() >= 1 && v[0] == run_format_v1)
    return decode_as(run_format_v1, v, x.run_id, x.swarm, x.spec_source, x.spec_text, x.task_id,
                     x.task_text, x.llm_url, x.model, x.started_ms, x.finished_ms, x.status,
                     x.result_text, x.error);
  return decode_as(run_format, v, x);
}

std::string encode_run(const run_record& x) {
  auto c = x;
  make_storable(c);
  return encode_as(run_format, c);
}

} // namespace swarm::memory::journal_values
