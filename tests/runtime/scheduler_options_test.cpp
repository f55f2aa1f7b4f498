// The runtime's scheduler settings: the default policy, an explicit policy honoured, and the
// polling of idle work-stealing threads (runtime/scheduler_options.hpp).
#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/timespan.hpp>
#include <catch2/catch.hpp>

#include "runtime/core/options.hpp"
#include "runtime/scheduler_options.hpp"

namespace {

template <class Policy>
bool runs_on(caf::actor_system& sys) {
  return dynamic_cast<caf::scheduler::coordinator<Policy>*>(&sys.scheduler()) != nullptr;
}

} // namespace

TEST_CASE("the runtime's default scheduler is the sharing policy") {
  swarm::runtime_options opts;
  opts.scheduler_threads = 2;
  CHECK(opts.scheduler_policy == "sharing");
  caf::actor_system_config cfg;
  swarm::apply_scheduler_options(cfg, opts);
  CHECK(caf::get_or(cfg, "scheduler.policy", caf::atom("")) == caf::atom("sharing"));
  caf::actor_system sys{cfg};
  CHECK(runs_on<caf::policy::work_sharing>(sys));
  CHECK_FALSE(runs_on<caf::policy::work_stealing>(sys));
}

TEST_CASE("an explicit stealing policy is honoured, without the sleeping poll loop") {
  swarm::runtime_options opts;
  opts.scheduler_threads = 2;
  opts.scheduler_policy = "stealing";
  caf::actor_system_config cfg;
  swarm::apply_scheduler_options(cfg, opts);
  CHECK(caf::get_or(cfg, "scheduler.max-threads", size_t{0}) == 2);
  // CAF's default is 500 polls with 50 us sleeps between them, which burns CPU while agents wait.
  CHECK(caf::get_or(cfg, "work-stealing.moderate-poll-attempts", size_t{500}) == 0);
  CHECK(caf::get_or(cfg, "work-stealing.relaxed-sleep-duration", caf::timespan{0}) ==
        caf::timespan{std::chrono::milliseconds(10)});
  caf::actor_system sys{cfg};
  CHECK(runs_on<caf::policy::work_stealing>(sys));
  CHECK_FALSE(runs_on<caf::policy::work_sharing>(sys));
}

TEST_CASE("an explicit sharing policy sets no work-stealing keys") {
  swarm::runtime_options opts;
  opts.scheduler_policy = "sharing";
  caf::actor_system_config cfg;
  swarm::apply_scheduler_options(cfg, opts);
  CHECK(caf::get_or(cfg, "work-stealing.moderate-poll-attempts", size_t{500}) == 500);
  CHECK(caf::get_or(cfg, "scheduler.max-threads", size_t{0}) == 0); // 0: CAF's default
}
