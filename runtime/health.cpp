// Health probes through a short-lived collector actor.
#include "runtime/health.hpp"

#include <future>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

using results = std::shared_ptr<std::vector<agent_health>>;
using completion = std::shared_ptr<std::promise<void>>;

// State travels as spawn arguments, not captures: CAF 0.17.6 dereferences a null pointer when a
// function actor is spawned with no arguments (docs/decisions.md).
caf::behavior collector(caf::event_based_actor* self, std::vector<health_target> targets,
                        results out, completion done, std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<size_t>(targets.size());
  auto start = std::chrono::steady_clock::now();
  auto finish_one = [self, pending, done] {
    if (--*pending == 0) {
      done->set_value();
      self->quit();
    }
  };
  for (size_t i = 0; i < targets.size(); ++i) {
    self->request(targets[i].handle, timeout, health_probe{i})
        .then(
            [out, i, start, finish_one](health_report& r) {
              auto& h = (*out)[i];
              h.alive = true;
              h.rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start);
              h.tasks_done = r.tasks_done;
              h.tasks_running = r.tasks_running;
              finish_one();
            },
            [out, i, timeout, finish_one](caf::error& err) {
              (*out)[i].error = err == caf::sec::request_timeout
                                    ? make_error(errc::member_timeout,
                                                 "no health report within " +
                                                     std::to_string(timeout.count()) + " ms")
                                    : std::move(err);
              finish_one();
            });
  }
  return {[](const std::string&) {}}; // only the responses above matter
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
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  sys.spawn(collector, std::move(targets), out, done, timeout);
  finished.wait();
  return *out;
}

} // namespace swarm
