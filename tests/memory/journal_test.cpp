// The run journal: calls (the call_store interface), run headers (both formats), coordinator
// steps, forgetting a run, persistence across reopening, undecodable values.
#include <limits>
#include <vector>

#include <caf/binary_serializer.hpp>
#include <catch2/catch.hpp>

#include "memory/detail/db_access.hpp"
#include "memory/journal.hpp"
#include "runtime/core/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm::memory;

namespace {

std::shared_ptr<database> open_db(const swarm::test::temp_dir& dir) {
  auto db = database::open(dir.path().string());
  if (!db)
    FAIL("open failed: " << swarm::describe(db.error()));
  return std::move(*db);
}

swarm::chat_request request(std::string run, std::string agent, std::string task, uint32_t step) {
  swarm::chat_request req;
  req.run_id = std::move(run);
  req.agent = swarm::agent_id{"team", std::move(agent)};
  req.task_id = std::move(task);
  req.step = step;
  req.model = "mock-1";
  return req;
}

swarm::chat_result reply(std::string text) {
  swarm::chat_result res;
  res.call_id = 7;
  res.model = "mock-1";
  res.content = std::move(text);
  res.tool_calls = {swarm::tool_call{"c1", "search", R"({"q":"x"})"}};
  res.finish_reason = "stop";
  res.logprobs = {swarm::token_logprob{"hi", -0.25}};
  res.use = swarm::usage{12, 3, 1};
  res.attempts = 2;
  return res;
}

std::string key(std::string run, std::string agent, std::string task, int step, int n = 0) {
  return run + "\n" + agent + "\n" + task + "\n" + std::to_string(step) + "\n" + std::to_string(n);
}

run_record header(std::string id, int64_t started, std::string status = "running") {
  run_record r;
  r.run_id = std::move(id);
  r.swarm = "team";
  r.spec_source = "examples/debate.yaml";
  r.spec_text = "name: team\n";
  r.task_id = "t1";
  r.task_text = "Compare CAF and Akka";
  r.llm_url = "http://127.0.0.1:8089/v1";
  r.model = "mock-1";
  r.started_ms = started;
  r.status = std::move(status);
  return r;
}

journaled_step step(std::string agent, std::string text, int64_t time = 1000) {
  return journaled_step{"t1", std::move(agent), std::move(text), "", 0.75, swarm::usage{5, 6, 1},
                        time};
}

void check_same(const swarm::chat_result& a, const swarm::chat_result& b) {
  CHECK(a.call_id == b.call_id);
  CHECK(a.model == b.model);
  CHECK(a.content == b.content);
  REQUIRE(a.tool_calls.size() == b.tool_calls.size());
  CHECK(a.tool_calls[0].arguments == b.tool_calls[0].arguments);
  CHECK(a.finish_reason == b.finish_reason);
  REQUIRE(a.logprobs.size() == b.logprobs.size());
  CHECK(a.logprobs[0].token == b.logprobs[0].token);
  CHECK(a.logprobs[0].logprob == b.logprobs[0].logprob);
  CHECK(a.use.total_tokens() == b.use.total_tokens());
  CHECK(a.attempts == b.attempts);
}

/// Writes raw bytes under a journal or runs key, as a damaged disk might.
void poke(const database& db, std::string_view cf, const std::string& k, const std::string& v) {
  rocksdb::WriteBatch batch;
  REQUIRE(batch.Put(detail::db_access::cf(db, cf), k, v).ok());
  REQUIRE_FALSE(detail::db_access::write(db, batch));
}

} // namespace

TEST_CASE("a journaled reply is found under its key with every field") {
  swarm::test::temp_dir dir;
  journal j{open_db(dir)};
  auto k = key("r1", "team/a", "t1", 0);
  auto none = j.find(k);
  REQUIRE(none);
  CHECK_FALSE(*none);
  REQUIRE_FALSE(j.put(k, request("r1", "a", "t1", 0), reply("hello")));
  auto found = j.find(k);
  REQUIRE(found);
  REQUIRE(*found);
  check_same(**found, reply("hello"));
  REQUIRE_FALSE(j.put(k, request("r1", "a", "t1", 0), reply("replaced")));
  CHECK((*j.find(k))->content == "replaced");
  CHECK_THAT(j.describe(), Catch::Contains((dir.path() / "memory").string()));
  CHECK(
      swarm::is(j.put("", request("r1", "a", "t1", 0), reply("x")), swarm::errc::invalid_argument));
}

TEST_CASE("calls of a run come back in key order with who asked, and only that run's") {
  swarm::test::temp_dir dir;
  journal j{open_db(dir)};
  REQUIRE_FALSE(j.put(key("r1", "team/b", "t2", 1), request("r1", "b", "t2", 1), reply("b1")));
  REQUIRE_FALSE(j.put(key("r1", "team/a", "t1", 0), request("r1", "a", "t1", 0), reply("a0")));
  REQUIRE_FALSE(j.put(key("r10", "team/a", "t1", 0), request("r10", "a", "t1", 0), reply("x")));
  REQUIRE_FALSE(j.put(key("r", "team/a", "t1", 0), request("r", "a", "t1", 0), reply("y")));
  auto calls = j.calls("r1");
  REQUIRE(calls);
  REQUIRE(calls->size() == 2);
  CHECK((*calls)[0].key == key("r1", "team/a", "t1", 0));
  CHECK((*calls)[0].agent == "team/a");
  CHECK((*calls)[0].task_id == "t1");
  CHECK((*calls)[0].step == 0);
  CHECK((*calls)[0].model == "mock-1");
  CHECK((*calls)[0].reply.content == "a0");
  CHECK((*calls)[0].time_ms > 0);
  CHECK((*calls)[1].agent == "team/b");
  CHECK((*calls)[1].step == 1);
  CHECK((*calls)[1].reply.content == "b1");
  CHECK(j.calls("absent")->empty());
  CHECK(swarm::is(j.calls("").error(), swarm::errc::invalid_argument));
}

TEST_CASE("run headers are replaced by id and listed newest first") {
  swarm::test::temp_dir dir;
  journal j{open_db(dir)};
  REQUIRE_FALSE(j.put_run(header("old", 100)));
  REQUIRE_FALSE(j.put_run(header("new", 300)));
  REQUIRE_FALSE(j.put_run(header("mid", 200)));
  auto done = header("old", 100, "done");
  done.finished_ms = 150;
  done.result_text = "CAF is typed";
  REQUIRE_FALSE(j.put_run(done));
  auto got = j.get_run("old");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == done);
  CHECK_FALSE(*j.get_run("absent"));
  auto runs = j.runs();
  REQUIRE(runs);
  REQUIRE(runs->size() == 3);
  CHECK((*runs)[0].run_id == "new");
  CHECK((*runs)[1].run_id == "mid");
  CHECK((*runs)[2] == done);
  CHECK(swarm::is(j.put_run(header("a\nb", 1)), swarm::errc::invalid_argument));
  CHECK(swarm::is(j.put_run(header("", 1)), swarm::errc::invalid_argument));
}

TEST_CASE("an infinite logprob or confidence is journaled as the largest finite double") {
  // Regression (fuzz/journal): CAF's serializer never returned on an infinite double, so a reply
  // whose logprob was -1e400 (Boost.JSON reads -inf) hung the call that journaled it.
  constexpr double inf = std::numeric_limits<double>::infinity();
  swarm::test::temp_dir dir;
  journal j{open_db(dir)};
  auto k = key("r1", "team/a", "t1", 0);
  auto r = reply("x");
  r.logprobs = {{"a", -inf}, {"b", -0.5}};
  REQUIRE_FALSE(j.put(k, request("r1", "a", "t1", 0), r));
  auto found = j.find(k);
  REQUIRE(found);
  REQUIRE(*found);
  REQUIRE((*found)->logprobs.size() == 2);
  CHECK((*found)->logprobs[0].logprob == std::numeric_limits<double>::lowest());
  CHECK((*found)->logprobs[1].logprob == -0.5);
  auto s = step("team/a", "sure");
  s.confidence = inf;
  REQUIRE_FALSE(j.put_step("r1", s));
  auto steps = j.steps("r1");
  REQUIRE(steps);
  REQUIRE(steps->size() == 1);
  CHECK(steps->front().confidence == std::numeric_limits<double>::max());
}

TEST_CASE("steps read back in write order, also after reopening") {
  swarm::test::temp_dir dir;
  {
    journal j{open_db(dir)};
    for (int i = 0; i < 12; ++i) // more than 9: order must not be by decimal text
      REQUIRE_FALSE(j.put_step("r1", step("team/a", "step " + std::to_string(i))));
    REQUIRE_FALSE(j.put_step("r2", step("team/b", "other run")));
  }
  journal j{open_db(dir)};
  REQUIRE_FALSE(j.put_step("r1", step("team/c", "after reopen", 0)));
  auto steps = j.steps("r1");
  REQUIRE(steps);
  REQUIRE(steps->size() == 13);
  for (int i = 0; i < 12; ++i)
    CHECK((*steps)[static_cast<size_t>(i)].text == "step " + std::to_string(i));
  auto& last = steps->back();
  CHECK(last.text == "after reopen");
  CHECK(last.agent == "team/c");
  CHECK(last.time_ms > 0); // filled in
  CHECK((*steps)[0].confidence == 0.75);
  CHECK((*steps)[0].use.completion_tokens == 6);
  CHECK(j.steps("r2")->size() == 1);
}

TEST_CASE("a run's header, calls and steps survive reopening") {
  swarm::test::temp_dir dir;
  {
    journal j{open_db(dir)};
    REQUIRE_FALSE(j.put_run(header("r1", 5)));
    REQUIRE_FALSE(j.put(key("r1", "team/a", "t1", 0), request("r1", "a", "t1", 0), reply("kept")));
    REQUIRE_FALSE(j.put_step("r1", step("team/a", "kept step")));
  }
  journal j{open_db(dir)};
  CHECK(**j.get_run("r1") == header("r1", 5));
  auto found = j.find(key("r1", "team/a", "t1", 0));
  REQUIRE(found);
  REQUIRE(*found);
  check_same(**found, reply("kept"));
  CHECK(j.steps("r1")->at(0).text == "kept step");
}

TEST_CASE("a tool call's reply, arguments and decision are journaled and found by its key") {
  swarm::test::temp_dir dir;
  swarm::tool_request req{
      "r1", swarm::agent_id{"team", "a"}, "t1", {"call-1", "shell", R"({"c":1})"}, 2};
  swarm::tool_request other = req;
  other.run_id = "r10";
  {
    journal j{open_db(dir)};
    CHECK_FALSE(*j.find_tool(swarm::tool_key(req)));
    REQUIRE_FALSE(
        j.put_tool(swarm::tool_key(req), req, swarm::tool_reply{"call-1", "42\n", {}}, ""));
    swarm::tool_reply refused{"call-1", "",
                              swarm::make_error(swarm::errc::approval_rejected, "no")};
    REQUIRE_FALSE(j.put_tool(swarm::tool_key(other), other, refused, "rejected"));
  }
  journal j{open_db(dir)}; // and after reopening
  auto found = j.find_tool(swarm::tool_key(req));
  REQUIRE(found);
  REQUIRE(*found);
  CHECK((*found)->content == "42\n");
  CHECK_FALSE((*found)->error);
  auto calls = j.tool_calls("r10");
  REQUIRE(calls);
  REQUIRE(calls->size() == 1);
  const auto& c = calls->front();
  CHECK(c.key == swarm::tool_key(other));
  CHECK(c.agent == "team/a");
  CHECK(c.task_id == "t1");
  CHECK(c.step == 2);
  CHECK(c.name == "shell");
  CHECK(c.arguments == R"({"c":1})");
  CHECK(c.decision == "rejected");
  CHECK(swarm::is(c.reply.error, swarm::errc::approval_rejected));
  CHECK(swarm::describe(c.reply.error) == "approval_rejected: no");
  CHECK(j.tool_calls("r1")->size() == 1); // "r1" is not a prefix match of "r10"
  CHECK(*j.forget_run("r1") == 1);
  CHECK(j.tool_calls("r1")->empty());
  CHECK(j.tool_calls("r10")->size() == 1);
}

TEST_CASE("forgetting a run removes its header, calls and steps and nothing else") {
  swarm::test::temp_dir dir;
  journal j{open_db(dir)};
  for (auto run : {"r1", "r10"}) {
    REQUIRE_FALSE(j.put_run(header(run, 1)));
    REQUIRE_FALSE(j.put(key(run, "team/a", "t1", 0), request(run, "a", "t1", 0), reply("x")));
    REQUIRE_FALSE(j.put(key(run, "team/a", "t1", 1), request(run, "a", "t1", 1), reply("y")));
    REQUIRE_FALSE(j.put_step(run, step("team/a", "s")));
  }
  auto n = j.forget_run("r1");
  REQUIRE(n);
  CHECK(*n == 4);
  CHECK_FALSE(*j.get_run("r1"));
  CHECK(j.calls("r1")->empty());
  CHECK(j.steps("r1")->empty());
  CHECK_FALSE(*j.find(key("r1", "team/a", "t1", 0)));
  CHECK(j.calls("r10")->size() == 2);
  CHECK(j.steps("r10")->size() == 1);
  CHECK(j.runs()->size() == 1);
  CHECK(*j.forget_run("r1") == 0);
  REQUIRE_FALSE(j.put_step("r1", step("team/a", "fresh start")));
  CHECK(j.steps("r1")->size() == 1);
}

TEST_CASE("an undecodable journal value is an io_error naming the run and the key") {
  swarm::test::temp_dir dir;
  auto db = open_db(dir);
  journal j{db};
  auto k = key("r1", "team/a", "t1", 0);
  REQUIRE_FALSE(j.put(k, request("r1", "a", "t1", 0), reply("good")));
  for (std::string bad : {std::string{}, std::string{"\x01"}, std::string{"\x09whatever"},
                          std::string{"\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f garbage"}}) {
    poke(*db, cf_journal, "c" + k, bad);
    auto found = j.find(k);
    REQUIRE_FALSE(found);
    CHECK(swarm::is(found.error(), swarm::errc::io_error));
    auto msg = swarm::describe(found.error());
    CHECK_THAT(msg, Catch::Contains("run 'r1'"));
    CHECK_THAT(msg, Catch::Contains(k));
    auto calls = j.calls("r1");
    REQUIRE_FALSE(calls);
    CHECK_THAT(swarm::describe(calls.error()), Catch::Contains("run 'r1'"));
  }
  poke(*db, cf_runs, "r2", "\x01 not a header");
  auto run = j.get_run("r2");
  REQUIRE_FALSE(run);
  CHECK_THAT(swarm::describe(run.error()), Catch::Contains("run 'r2': undecodable run header"));
  REQUIRE_FALSE(j.runs());
  poke(*db, cf_journal, std::string{"sr3\n"} + std::string(8, '\0'), "junk");
  auto steps = j.steps("r3");
  REQUIRE_FALSE(steps);
  CHECK_THAT(swarm::describe(steps.error()), Catch::Contains("run 'r3': undecodable step"));
  CHECK(*j.forget_run("r2") == 1); // a damaged run can still be forgotten
  CHECK(j.runs());
}

TEST_CASE("a run header keeps the spec digest, the recorded environment and the result") {
  swarm::test::temp_dir dir;
  journal j{open_db(dir)};
  auto done = header("r1", 10, "done");
  done.spec_digest = "sha256:00ff";
  done.env_base_url = "http://127.0.0.1:9/v1";
  done.env_model = "env-model";
  done.env_recorded = true;
  done.result_agent = swarm::agent_id{"team", "lead"};
  done.result_prompt_tokens = 30;
  done.result_completion_tokens = 12;
  done.result_calls = 3;
  done.result_confidence = 0.5;
  done.result_trace = {step("team/a", "first"), step("team/b", "second")};
  done.result_trace[1].error = "llm_timeout: no reply";
  REQUIRE_FALSE(j.put_run(done));
  CHECK(**j.get_run("r1") == done);
  CHECK(j.runs()->at(0) == done);
}

TEST_CASE("a run header of format 1 still reads, with the later fields empty") {
  swarm::test::temp_dir dir;
  auto db = open_db(dir);
  journal j{db};
  // Format 1: the version byte 1, then the fields up to `error`, as releases before wrote them.
  auto old = header("old", 7, "failed");
  old.error = "llm_timeout: no reply";
  std::vector<char> buf{1};
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(old.run_id, old.swarm, old.spec_source, old.spec_text, old.task_id,
                     old.task_text, old.llm_url, old.model, old.started_ms, old.finished_ms,
                     old.status, old.result_text, old.error));
  poke(*db, cf_runs, "old", std::string{buf.begin(), buf.end()});
  auto got = j.get_run("old");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == old); // the format-2 fields keep their defaults
  CHECK((*got)->spec_digest.empty());
  CHECK_FALSE((*got)->env_recorded);
  CHECK(j.runs()->size() == 1);
  // Written again, it is of format 2.
  REQUIRE_FALSE(j.put_run(**got));
  CHECK(**j.get_run("old") == old);
}

TEST_CASE("a call journaled in format 3 (before the repaired count) still reads") {
  swarm::test::temp_dir dir;
  auto db = open_db(dir);
  journal j{db};
  auto r = reply("from the release before UTF-8 repair");
  r.usage_estimated = true;
  r.fallback = 1;
  std::string agent = "team/a", task = "t1", model = "gpt";
  uint32_t step = 0;
  int64_t time = 1234;
  std::vector<char> buf{3};
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(agent, task, step, model, r.call_id, r.model, r.content, r.tool_calls,
                     r.finish_reason, r.logprobs, r.use, r.attempts, r.usage_estimated, r.fallback,
                     time));
  auto k = key("r1", "team/a", "t1", 0);
  poke(*db, cf_journal, "c" + k, std::string{buf.begin(), buf.end()});
  auto found = j.find(k);
  REQUIRE(found);
  REQUIRE(*found);
  check_same(**found, r);
  CHECK((*found)->fallback == 1);
  CHECK((*found)->repaired == 0);
  // Journaled now, a reply keeps its repaired count.
  auto k2 = key("r1", "team/a", "t1", 1);
  r.repaired = 3;
  REQUIRE_FALSE(j.put(k2, request("r1", "a", "t1", 1), r));
  auto again = j.find(k2);
  REQUIRE(again);
  REQUIRE(*again);
  CHECK((*again)->repaired == 3);
}

TEST_CASE("a call journaled in format 2 (before fallback) still reads") {
  swarm::test::temp_dir dir;
  auto db = open_db(dir);
  journal j{db};
  auto r = reply("from the release before fallbacks");
  r.usage_estimated = true;
  std::string agent = "team/a", task = "t1", model = "gpt";
  uint32_t step = 0;
  int64_t time = 1234;
  std::vector<char> buf{2};
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(agent, task, step, model, r.call_id, r.model, r.content, r.tool_calls,
                     r.finish_reason, r.logprobs, r.use, r.attempts, r.usage_estimated, time));
  auto k = key("r1", "team/a", "t1", 0);
  poke(*db, cf_journal, "c" + k, std::string{buf.begin(), buf.end()});
  auto found = j.find(k);
  REQUIRE(found);
  REQUIRE(*found);
  check_same(**found, r);
  CHECK((*found)->usage_estimated);
  CHECK((*found)->fallback == 0);
  // Journaled now, a reply keeps which fallback answered it.
  auto k2 = key("r1", "team/a", "t1", 1);
  r.fallback = 2;
  REQUIRE_FALSE(j.put(k2, request("r1", "a", "t1", 1), r));
  auto again = j.find(k2);
  REQUIRE(again);
  REQUIRE(*again);
  CHECK((*again)->fallback == 2);
}

TEST_CASE("a call journaled in format 1 (before usage_estimated) still reads") {
  swarm::test::temp_dir dir;
  auto db = open_db(dir);
  journal j{db};
  auto r = reply("from an older release");
  std::string agent = "team/a", task = "t1", model = "gpt";
  uint32_t step = 0;
  int64_t time = 1234;
  std::vector<char> buf{1};
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(agent, task, step, model, r.call_id, r.model, r.content, r.tool_calls,
                     r.finish_reason, r.logprobs, r.use, r.attempts, time));
  auto k = key("r1", "team/a", "t1", 0);
  poke(*db, cf_journal, "c" + k, std::string{buf.begin(), buf.end()});
  auto found = j.find(k);
  REQUIRE(found);
  REQUIRE(*found);
  check_same(**found, r);
  CHECK_FALSE((*found)->usage_estimated);
  auto calls = j.calls("r1");
  REQUIRE(calls);
  REQUIRE(calls->size() == 1);
  CHECK(calls->front().agent == "team/a");
  CHECK(calls->front().time_ms == 1234);
}
