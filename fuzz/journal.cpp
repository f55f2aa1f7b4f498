// Fuzz target: the run journal's value decoders (calls, tool calls, steps, run headers; every
// format version still read). The first byte picks the kind. Invariant: a value that decodes
// re-encodes (current format) to bytes that decode and re-encode to the same bytes.
// SWARM_FUZZ_WRITE_SEEDS=DIR fuzz_journal -runs=0 writes one seed of each kind into DIR (how
// fuzz/corpus/journal was made).
#include "memory/journal.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "runtime/core/errc.hpp"

namespace {

namespace jv = swarm::memory::journal_values;

template <class T, class Decode, class Encode>
void check(std::string_view bytes, Decode decode, Encode encode) {
  T x;
  if (!decode(bytes, x))
    return;
  auto once = encode(x);
  T y;
  if (!decode(once, y))
    std::abort(); // our own encoding does not decode
  if (encode(y) != once)
    std::abort();
}

void write_seed(const std::string& dir, const std::string& name, char kind,
                const std::string& bytes) {
  std::ofstream{dir + "/" + name, std::ios::binary} << kind << bytes;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("SWARM_FUZZ_WRITE_SEEDS");
  if (dir == nullptr)
    return 0;
  using namespace swarm;
  chat_result reply;
  reply.call_id = 7;
  reply.model = "gpt-4o-mini";
  reply.content = "The answer is 42.";
  reply.tool_calls.push_back(tool_call{"call_1", "web_search", R"({"query":"actors"})"});
  reply.finish_reason = "tool_calls";
  reply.use.prompt_tokens = 12;
  reply.use.completion_tokens = 7;
  reply.use.calls = 1;
  reply.attempts = 2;
  reply.fallback = 1;
  memory::journaled_call call{"", "team/a", "t1", 3, "gpt-4o-mini", reply, 1'700'000'000'000};
  write_seed(dir, "call", 0, jv::encode_call(call));
  memory::journaled_tool_call tool{
      "", "team/a", "t1", 3, "web_search", R"({"query":"x"})", "approved", {}, 1'700'000'000'001};
  tool.reply.call_id = "call_1";
  tool.reply.content = "3 results";
  write_seed(dir, "tool_call", 1, jv::encode_tool_call(tool));
  tool.reply.error = make_error(errc::tool_failed, "no network");
  write_seed(dir, "tool_call_error", 1, jv::encode_tool_call(tool));
  memory::journaled_step step{"t1", "a", "partial answer", "", 0.75, {}, 1'700'000'000'002};
  write_seed(dir, "step", 2, jv::encode_step(step));
  memory::run_record run;
  run.run_id = "run-1";
  run.swarm = "team";
  run.spec_text = "name: team\n";
  run.status = "done";
  run.started_ms = 1'700'000'000'000;
  run.result_trace.push_back(step);
  write_seed(dir, "run", 3, jv::encode_run(run));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
  using namespace swarm::memory;
  switch (data[0] % 4) {
  case 0:
    check<journaled_call>(bytes, jv::decode_call, jv::encode_call);
    break;
  case 1:
    check<journaled_tool_call>(bytes, jv::decode_tool_call, jv::encode_tool_call);
    break;
  case 2:
    check<journaled_step>(bytes, jv::decode_step, jv::encode_step);
    break;
  default:
    check<run_record>(bytes, jv::decode_run, jv::encode_run);
  }
  return 0;
}
