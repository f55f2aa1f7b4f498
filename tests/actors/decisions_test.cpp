// Pure decision logic of the actors: combining members' results, confidence from logprobs.
#include <cmath>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <catch2/catch.hpp>

#include "actors/agent.hpp"
#include "actors/concurrent.hpp"
#include "runtime/core/call_ids.hpp"
#include "runtime/core/errc.hpp"

using namespace swarm;

namespace {

result ok(std::string name, std::string text, uint64_t tokens) {
  result r;
  r.agent = agent_id{"team", std::move(name)};
  r.text = std::move(text);
  r.use.completion_tokens = tokens;
  r.use.calls = 1;
  return r;
}

result failed(std::string name, errc code) {
  result r;
  r.agent = agent_id{"team", std::move(name)};
  r.error = make_error(code, "boom");
  r.use.calls = 1;
  return r;
}

} // namespace

TEST_CASE("a concurrent result lists members in order with summed usage") {
  auto out = actors::combine_concurrent(agent_id{"", "team"}, "t1",
                                        {ok("a", "alpha", 3), ok("b", "beta", 4)});
  CHECK_FALSE(out.error);
  CHECK(out.task_id == "t1");
  CHECK(out.text == "## a\nalpha\n\n## b\nbeta");
  CHECK(out.use.completion_tokens == 7);
  CHECK(out.use.calls == 2);
  REQUIRE(out.trace.size() == 2);
  CHECK(out.trace[1].text == "beta");
}

TEST_CASE("one failed member is reported in place and does not fail the swarm") {
  auto out = actors::combine_concurrent(agent_id{"", "team"}, "t1",
                                        {ok("a", "alpha", 3), failed("b", errc::llm_timeout)});
  CHECK_FALSE(out.error);
  CHECK(out.text == "## a\nalpha\n\n## b\n(failed: llm_timeout: boom)");
  CHECK(is(out.trace[1].error, errc::llm_timeout));
  CHECK(out.use.calls == 2);
}

TEST_CASE("the swarm fails only when every member failed, naming the first cause") {
  auto out = actors::combine_concurrent(
      agent_id{"", "team"}, "t1",
      {failed("a", errc::llm_http_error), failed("b", errc::llm_timeout)});
  REQUIRE(out.error);
  CHECK(is(out.error, errc::all_members_failed));
  CHECK(describe(out.error) ==
        "all_members_failed: 2 of 2 members failed; first: llm_http_error: boom");
}

TEST_CASE("confidence is the geometric mean token probability") {
  CHECK(actors::confidence_from_logprobs({}) == -1);
  std::vector<token_logprob> xs{{"a", std::log(0.5)}, {"b", std::log(0.5)}};
  CHECK(actors::confidence_from_logprobs(xs) == Approx(0.5));
  std::vector<token_logprob> sure{{"a", 0.0}};
  CHECK(actors::confidence_from_logprobs(sure) == Approx(1.0));
}

TEST_CASE("call ids are unique within an actor system, whoever draws them") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = new_call_id(sys);
  auto b = new_call_id(sys); // an agent's next call, or the memory's embedding call
  CHECK(b > a);
  caf::actor_system_config other_cfg;
  caf::actor_system other{other_cfg};
  CHECK(new_call_id(other) > 0); // each system has its own sequence: nothing process-wide
}

TEST_CASE("an empty error is no error code at all") {
  CHECK_FALSE(is(caf::error{}, errc::llm_timeout));
  CHECK_FALSE(is(caf::error{}, errc::none));
  CHECK(describe(caf::error{}) == "none");
}
