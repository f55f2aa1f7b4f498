// Health probes through short-lived collector actors, each awaiting at most 1,000 answers.
#include "runtime/health.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <iterator>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

using results = std::shared_ptr<std::vector<agent_health>>;
using probe_timeout_atom = caf::atom_constant<caf::atom("hc_timeout")>;

// What every collector of one check shares: the last to finish tells the caller.
struct check_state {
  std::atomic<size_t> collectors{0};
  std::promise<void> done;
};

// At most this many probes in flight per collector: CAF 0.17 keeps an actor's awaited responses
// in a flat vector (a linear find and an erase that shifts the rest per response), so one actor
// awaiting 100,000 answers spent seconds on the bookkeeping alone.
constexpr size_t probes_per_collector = 1000;

// Probes targets [first, first + count) of `out`. One timer for its probes, not one per
// request: a probe to a stopped agent still fails at once (the request bounces); one never
// answered is marked when the timer fires.
// State travels as spawn arguments, not captures: CAF 0.17.6 dereferences a null pointer when a
// function actor is spawned with no arguments (docs/decisions.md).
caf::behavior collector(caf::event_based_actor* self, std::vector<health_target> targets,
                        size_t first, results out, std::shared_ptr<check_state> check,
                        std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<size_t>(targets.size());
  auto answered = std::make_shared<std::vector<bool>>(targets.size(), false);
  auto finish = [self, check] {
    if (--check->collectors == 0)
      check->done.set_value();
    self->quit();
  };
  auto finish_one = [pending, answered, finish](size_t i) {
    (*answered)[i] = true;
    if (--*pending == 0)
      finish();
  };
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < targets.size(); ++i) {
    self->request(targets[i].handle, caf::infinite, health_probe{first + i})
        .then(
            [out, i, first, start, finish_one](health_report& r) {
              auto& h = (*out)[first + i];
              h.alive = true;
              h.rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start);
              h.tasks_done = r.tasks_done;
              h.tasks_running = r.tasks_running;
              h.mailbox = r.mailbox;
              finish_one(i);
            },
            [out, i, first, finish_one](caf::error& err) {
              (*out)[first + i].error = std::move(err);
              finish_one(i);
            });
  }
  self->delayed_send(self, timeout, probe_timeout_atom::value);
  return {[out, first, answered, timeout, finish](probe_timeout_atom) {
    for (size_t i = 0; i < answered->size(); ++i)
      if (!(*answered)[i])
        (*out)[first + i].error =
            make_error(errc::member_timeout,
                       "no health report within " + std::to_string(timeout.count()) + " ms");
    finish();
  }};
}

} // namespace

std::vector<agent_health> probe_health(caf::actor_system& sys, std::vector<health_target> targets,
                                       std::chrono::milliseconds timeout) {
  auto out = std::make_shared<std::vector<agent_health>>(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    (*out)[i].agent = targets[i].id;
    (*out)[i].coordinator = targets[i].coordinator;
  }
  if (targets.empty())
    return *out;
  // What is told if the collectors do not finish (the scheduler starved): every member silent.
  auto silent = *out;
  for (auto& h : silent)
    h.error = make_error(errc::member_timeout, "no health answer: the runtime did not get to it");
  auto check = std::make_shared<check_state>();
  auto finished = check->done.get_future();
  check->collectors = (targets.size() + probes_per_collector - 1) / probes_per_collector;
  for (size_t first = 0; first < targets.size(); first += probes_per_collector) {
    auto last = std::min(targets.size(), first + probes_per_collector);
    std::vector<health_target> part(std::make_move_iterator(targets.begin() + first),
                                    std::make_move_iterator(targets.begin() + last));
    sys.spawn(collector, std::move(part), first, out, check, timeout);
  }
  // The timeout is a message the scheduler delivers; a scheduler with no free thread would
  // never deliver it, so the wait is bounded here too (the results are then not read: the
  // collectors may still write them).
  if (finished.wait_for(timeout + std::chrono::seconds(2)) != std::future_status::ready)
    return silent;
  return *out;
}

} // namespace swarm
