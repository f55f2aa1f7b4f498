// The resource pool actor: grants, fair waiting, rate buckets, budgets; and its blocking facade.
#include "runtime/resource_pool.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "runtime/core/errc.hpp"

namespace swarm {

namespace {

struct waiter {
  uint64_t id = 0;
  grant_request req;
  reservation res;
  caf::typed_response_promise<grant> rp;
};

struct endpoint_state {
  std::string url;
  endpoint_limits limits;
  size_t held = 0;
  std::optional<token_bucket> rpm;
  std::optional<token_bucket> tpm;
  priority_fifo<waiter> waiting;
  size_t in_transit = 0;       ///< requests a broker could not grant, on their way to the queue
  bool wake_pending = false;   ///< a timer pool_wake for this endpoint is on its way
  bool pump_requested = false; ///< a broker's pool_wake for this endpoint is on its way
  size_t reclaimed = 0;        ///< leases that expired unreleased
};

struct lease_info {
  endpoint_state* ep = nullptr;
  reservation res;
  uint64_t tpm_taken = 0;          ///< tokens taken from the endpoint's TPM bucket at grant time
  pool_clock::time_point deadline; ///< lease + slack after the grant
  bool expired = false; ///< reclaimed: the slot is free, the reservation waits for a release
};

} // namespace

namespace detail {

class pool_core {
public:
  explicit pool_core(resource_pool_options o)
      : opts(std::move(o)), ledger(opts.budgets, opts.prices) {}

  std::mutex mtx;
  resource_pool_options opts;
  budget_ledger ledger;
  std::map<std::string, endpoint_state> endpoints; // nodes never move: leases point at them
  std::unordered_map<uint64_t, lease_info> leases;
  std::unordered_map<uint64_t, endpoint_state*> waiter_endpoint; ///< waiting request id -> ep
  uint64_t next_id = 1;
  bool sweep_pending = false; ///< a lease_sweep is on its way
};

} // namespace detail

namespace {

using detail::pool_core;
using lock_type = std::unique_lock<std::mutex>;

struct pool_state {
  std::shared_ptr<pool_core> core;

  pool_state() = default;
  pool_state(const pool_state&) = delete;
  pool_state& operator=(const pool_state&) = delete;

  // The actor is going away but brokers may keep the core: drop the waiting requests' promises
  // (they hold the actor) as the state did before the core was shared.
  ~pool_state() {
    if (!core)
      return;
    std::vector<waiter> dropped;
    lock_type guard{core->mtx};
    for (auto& [url, ep] : core->endpoints)
      while (!ep.waiting.empty()) {
        dropped.push_back(ep.waiting.pop());
        core->ledger.cancel(dropped.back().res);
      }
    core->waiter_endpoint.clear();
  }

  static inline const char* name = "swarm.resource_pool";
};

using pool_pointer = resource_pool_actor::stateful_pointer<pool_state>;

// Every function below that takes a pool_core& runs with its lock held.

endpoint_state& endpoint_of(pool_core& core, const std::string& url) {
  auto i = core.endpoints.find(url);
  if (i != core.endpoints.end())
    return i->second;
  auto& ep = core.endpoints[url];
  ep.url = url;
  auto j = core.opts.endpoints.find(url);
  ep.limits = j != core.opts.endpoints.end() ? j->second : core.opts.default_endpoint;
  ep.limits.max_concurrent = std::max<size_t>(ep.limits.max_concurrent, 1);
  auto now = pool_clock::now();
  if (ep.limits.requests_per_minute > 0)
    ep.rpm.emplace(ep.limits.requests_per_minute, ep.limits.requests_per_minute, now);
  if (ep.limits.tokens_per_minute > 0)
    ep.tpm.emplace(ep.limits.tokens_per_minute, ep.limits.tokens_per_minute, now);
  return ep;
}

uint64_t tpm_need(const endpoint_state& ep, const grant_request& req) {
  if (!ep.tpm)
    return 0;
  return std::min(usage::add(req.prompt_tokens, req.completion_tokens), ep.tpm->capacity());
}

usage_report report_of(const account& acc) {
  return {acc.used,           to_usd(acc.cost),   acc.reserved_tokens, to_usd(acc.reserved_cost),
          acc.unpriced_calls, acc.estimated_calls};
}

/// Refuses `req` when its estimate exceeds `ep`'s tokens per minute: not even a full bucket
/// would hold it, so waiting could only end in a timeout.
caf::error never_fits(const endpoint_state& ep, const grant_request& req) {
  auto estimate = usage::add(req.prompt_tokens, req.completion_tokens);
  if (!ep.tpm || estimate <= ep.tpm->capacity())
    return {};
  return make_error(errc::llm_rate_limited,
                    "call of agent '" + req.agent.str() + "' refused: its estimate (" +
                        std::to_string(estimate) + " tokens: prompt " +
                        std::to_string(req.prompt_tokens) + " + completion up to " +
                        std::to_string(req.completion_tokens) + ") exceeds tokens_per_minute " +
                        std::to_string(ep.limits.tokens_per_minute) + " of endpoint " + ep.url +
                        " (raise resources.endpoints[].tokens_per_minute or lower max_tokens)");
}

/// The delay of the one lease timer if it must be armed now (no timer per grant: a timer costs
/// more than the rest of a grant); zero if it is armed already.
caf::timespan take_sweep(pool_core& core) {
  if (core.sweep_pending)
    return caf::timespan{0};
  core.sweep_pending = true;
  return std::clamp<caf::timespan>(core.opts.lease_slack, std::chrono::milliseconds(1),
                                   std::chrono::seconds(1));
}

/// Arms the lease timer from inside the pool actor if it is not armed.
void schedule_sweep(pool_pointer self, pool_core& core) {
  if (auto every = take_sweep(core); every.count() > 0)
    self->delayed_send(self, every, detail::lease_sweep{});
}

/// How long `ep`'s rate buckets make a call of `need` tokens wait (zero: it may go now).
std::chrono::nanoseconds bucket_wait(endpoint_state& ep, uint64_t need,
                                     pool_clock::time_point now) {
  auto wait = std::chrono::nanoseconds{0};
  if (ep.rpm)
    wait = std::max(wait, ep.rpm->wait_for(1, now));
  if (ep.tpm)
    wait = std::max(wait, ep.tpm->wait_for(need, now));
  return wait;
}

/// Takes a slot and the bucket tokens of `ep` for grant `id` and records its lease. Precondition:
/// a free slot and `bucket_wait(ep, need, now) == 0`.
void hand_out(pool_core& core, endpoint_state& ep, uint64_t id, caf::timespan lease,
              reservation res, uint64_t need, pool_clock::time_point now) {
  if (ep.rpm)
    ep.rpm->try_take(1, now);
  if (ep.tpm)
    ep.tpm->try_take(need, now);
  ++ep.held;
  auto until = now + std::max(lease, caf::timespan{0}) + core.opts.lease_slack;
  core.leases.emplace(id, lease_info{&ep, std::move(res), need, until, false});
}

/// Grants `req` at once if nobody waits or is on the way to wait on `ep`, a slot is free and
/// the buckets allow; returns the lease id, or 0.
uint64_t grant_now(pool_core& core, endpoint_state& ep, const grant_request& req,
                   reservation& res) {
  if (!ep.waiting.empty() || ep.in_transit > 0 || ep.held >= ep.limits.max_concurrent)
    return 0;
  auto now = pool_clock::now();
  auto need = tpm_need(ep, req);
  if (bucket_wait(ep, need, now).count() != 0)
    return 0;
  auto id = core.next_id++;
  hand_out(core, ep, id, req.lease, std::move(res), need, now);
  return id;
}

/// Settles and frees lease `lease` (`estimated`: see grant_release); the endpoint it was on, or
/// nullptr if the lease is unknown.
// A lease given back: its endpoint (null if the lease is unknown) and the budgets its use took
// past 80 %.
struct released {
  endpoint_state* ep = nullptr;
  std::vector<budget_crossing> crossed;
};

released release_lease(pool_core& core, uint64_t lease, const usage& use, bool estimated) {
  auto i = core.leases.find(lease);
  if (i == core.leases.end())
    return {};
  auto info = std::move(i->second);
  core.leases.erase(i);
  auto crossed = core.ledger.settle(info.res, use, estimated);
  auto& ep = *info.ep;
  if (!info.expired) // an expired lease's slot was freed when it expired
    --ep.held;
  if (ep.tpm) {
    auto now = pool_clock::now();
    auto actual = use.total_tokens();
    if (actual > info.tpm_taken)
      ep.tpm->drain(actual - info.tpm_taken, now);
    else
      ep.tpm->give_back(info.tpm_taken - actual, now);
  }
  return {&ep, std::move(crossed)};
}

/// Grants waiting requests of `ep` in priority/FIFO order while slots and buckets allow.
void pump(pool_pointer self, pool_core& core, endpoint_state& ep) {
  auto now = pool_clock::now();
  bool granted = false;
  while (!ep.waiting.empty() && ep.held < ep.limits.max_concurrent) {
    auto need = tpm_need(ep, ep.waiting.front().req);
    auto wait = bucket_wait(ep, need, now);
    if (wait.count() > 0) {
      // The head waits for its buckets; those behind it wait too (fairness).
      if (!ep.wake_pending) {
        ep.wake_pending = true;
        auto delay = std::min<std::chrono::nanoseconds>(wait, std::chrono::minutes(1));
        self->delayed_send(self, delay, detail::pool_wake{ep.url, true});
      }
      break;
    }
    auto w = ep.waiting.pop();
    core.waiter_endpoint.erase(w.id);
    auto g = grant{w.id, w.req.agent, ep.url, w.res.tokens, w.res.cost};
    hand_out(core, ep, w.id, w.req.lease, std::move(w.res), need, now);
    w.rp.deliver(std::move(g));
    granted = true;
  }
  if (granted)
    schedule_sweep(self, core);
}

/// Queues `req` (its budgets reserved as `res`) on its endpoint, grants what can go, and arms
/// the request's timeout if it still waits.
void enqueue(pool_pointer self, pool_core& core, endpoint_state& ep, grant_request req,
             reservation res, caf::typed_response_promise<grant> rp) {
  auto id = core.next_id++;
  auto timeout = req.timeout;
  auto priority = req.priority;
  core.waiter_endpoint.emplace(id, &ep);
  ep.waiting.push(priority, waiter{id, std::move(req), std::move(res), std::move(rp)});
  pump(self, core, ep);
  // Only a request that has to wait needs its timer.
  if (core.waiter_endpoint.count(id) > 0)
    self->delayed_send(self, std::max(timeout, caf::timespan{0}), detail::pool_expire{id});
}

resource_pool_actor::behavior_type pool_behavior(pool_pointer self, resource_pool_options opts) {
  self->state.core = std::make_shared<pool_core>(std::move(opts));
  return {
      [self](grant_request& req) -> caf::typed_response_promise<grant> {
        auto rp = self->make_response_promise<grant>();
        auto& core = *self->state.core;
        lock_type guard{core.mtx};
        auto& ep = endpoint_of(core, req.endpoint);
        if (auto err = never_fits(ep, req)) {
          rp.deliver(std::move(err));
          return rp;
        }
        auto res =
            core.ledger.reserve({req.agent, req.model, req.prompt_tokens, req.completion_tokens});
        if (!res) {
          rp.deliver(std::move(res.error()));
          return rp;
        }
        // Nobody waits and a slot is free: granted at once, without queueing or a timer.
        auto tokens = res->tokens;
        auto cost = res->cost;
        if (auto id = grant_now(core, ep, req, *res); id != 0) {
          schedule_sweep(self, core);
          rp.deliver(grant{id, req.agent, ep.url, tokens, cost});
          return rp;
        }
        enqueue(self, core, ep, std::move(req), std::move(*res), rp);
        return rp;
      },
      [self](detail::pool_enqueue& x) -> caf::typed_response_promise<grant> {
        auto rp = self->make_response_promise<grant>();
        auto& core = *self->state.core;
        lock_type guard{core.mtx};
        auto& ep = endpoint_of(core, x.req.endpoint);
        if (ep.in_transit > 0)
          --ep.in_transit;
        enqueue(self, core, ep, std::move(x.req), std::move(x.res), rp);
        return rp;
      },
      [self](detail::pool_core_query&) { return detail::pool_core_ref{self->state.core}; },
      [self](grant_release& rel) {
        auto& core = *self->state.core;
        lock_type guard{core.mtx};
        if (auto* ep = release_lease(core, rel.lease, rel.use, rel.estimated).ep)
          pump(self, core, *ep);
      },
      [self](grant_withdraw& x) {
        auto& core = *self->state.core;
        if (x.ticket == 0)
          return;
        lock_type guard{core.mtx};
        auto mine = [&](const waiter& w) { return w.req.ticket == x.ticket; };
        for (auto& [url, ep] : core.endpoints) {
          auto w = ep.waiting.take_if(mine);
          if (!w)
            continue;
          core.waiter_endpoint.erase(w->id);
          core.ledger.cancel(w->res);
          w->rp.deliver(make_error(errc::llm_cancelled, "grant request withdrawn while waiting"));
          pump(self, core, ep); // it may have been the head blocking on its buckets
          return;
        }
      },
      [self](detail::lease_sweep&) {
        auto& core = *self->state.core;
        lock_type guard{core.mtx};
        core.sweep_pending = false;
        auto now = pool_clock::now();
        bool live = false;
        for (auto& [id, info] : core.leases) {
          if (info.expired)
            continue;
          if (info.deadline > now) {
            live = true;
            continue;
          }
          // The holder is gone or stuck: free the slot for others. The reservation stays until
          // a release settles it, so a call that did happen can never make a budget overspend.
          info.expired = true;
          --info.ep->held;
          ++info.ep->reclaimed;
          pump(self, core, *info.ep);
        }
        if (live)
          schedule_sweep(self, core);
      },
      [self](usage_query& q) -> usage_report {
        auto& core = *self->state.core;
        lock_type guard{core.mtx};
        switch (q.level) {
        case budget_level::agent:
          return report_of(core.ledger.of_agent(q.agent));
        case budget_level::swarm:
          return report_of(core.ledger.of_swarm(q.swarm));
        case budget_level::runtime:
          break;
        }
        return report_of(core.ledger.total());
      },
      [self](endpoint_query& q) -> endpoint_report {
        auto& core = *self->state.core;
        lock_type guard{core.mtx};
        if (q.endpoint.empty()) {
          endpoint_report sum;
          for (const auto& [url, ep] : core.endpoints) {
            sum.held += ep.held;
            sum.waiting += ep.waiting.size() + ep.in_transit;
            sum.reclaimed += ep.reclaimed;
          }
          return sum;
        }
        auto i = core.endpoints.find(q.endpoint);
        if (i == core.endpoints.end())
          return {};
        auto& ep = i->second;
        return {ep.held, ep.waiting.size() + ep.in_transit, ep.reclaimed};
      },
      [self](detail::pool_wake& w) {
        auto& core = *self->state.core;
        lock_type guard{core.mtx};
        auto& ep = endpoint_of(core, w.endpoint);
        (w.timer ? ep.wake_pending : ep.pump_requested) = false;
        pump(self, core, ep);
      },
      [self](detail::pool_expire& x) {
        auto& core = *self->state.core;
        lock_type guard{core.mtx};
        auto i = core.waiter_endpoint.find(x.waiter);
        if (i == core.waiter_endpoint.end())
          return; // granted meanwhile
        auto& ep = *i->second;
        core.waiter_endpoint.erase(i);
        auto w = ep.waiting.take_if([&](const waiter& w) { return w.id == x.waiter; });
        if (!w)
          return;
        core.ledger.cancel(w->res);
        w->rp.deliver(caf::make_error(caf::sec::request_timeout,
                                      "no slot on " + ep.url + " within the request's timeout"));
        pump(self, core, ep); // the head may have been the one blocking on its buckets
      },
  };
}

} // namespace

namespace detail {

admission pool_admit(pool_core& core, const grant_request& req) {
  admission out;
  lock_type guard{core.mtx};
  auto& ep = endpoint_of(core, req.endpoint);
  out.max_concurrent = ep.limits.max_concurrent;
  if (auto err = never_fits(ep, req)) {
    out.err = std::move(err);
    return out;
  }
  auto res = core.ledger.reserve({req.agent, req.model, req.prompt_tokens, req.completion_tokens});
  if (!res) {
    out.err = std::move(res.error());
    return out;
  }
  if (auto id = grant_now(core, ep, req, *res); id != 0) {
    out.what = admission::granted;
    out.lease = id;
    out.sweep = take_sweep(core);
    return out;
  }
  // Its place is taken now: no later call overtakes it while it travels to the queue.
  ++ep.in_transit;
  out.what = admission::must_wait;
  out.res = std::move(*res);
  return out;
}

release_outcome pool_release(pool_core& core, uint64_t lease, const usage& use, bool estimated) {
  lock_type guard{core.mtx};
  auto rel = release_lease(core, lease, use, estimated);
  release_outcome out;
  out.crossed = std::move(rel.crossed);
  auto* ep = rel.ep;
  if (ep == nullptr || ep->waiting.empty() || ep->pump_requested)
    return out;
  ep->pump_requested = true;
  out.wake = ep->url;
  return out;
}

} // namespace detail

resource_pool_actor spawn_resource_pool(caf::actor_system& sys, resource_pool_options opts) {
  return sys.spawn(pool_behavior, std::move(opts));
}

// -- blocking facade ------------------------------------------------------------------------

caf::expected<grant> resource_pool_client::acquire(grant_request req) const {
  caf::scoped_actor self{*sys_};
  caf::expected<grant> out{caf::make_error(caf::sec::unexpected_response)};
  auto timeout = req.timeout + std::chrono::seconds(1);
  self->request(pool_, timeout, std::move(req))
      .receive([&](grant& g) { out = std::move(g); },
               [&](caf::error& err) { out = std::move(err); });
  return out;
}

void resource_pool_client::release(uint64_t lease, usage use) const {
  caf::anon_send(pool_, grant_release{lease, use});
}

caf::expected<usage_report> resource_pool_client::query(usage_query q) const {
  caf::scoped_actor self{*sys_};
  caf::expected<usage_report> out{caf::make_error(caf::sec::unexpected_response)};
  self->request(pool_, std::chrono::seconds(10), std::move(q))
      .receive([&](usage_report& r) { out = std::move(r); },
               [&](caf::error& err) { out = std::move(err); });
  return out;
}

caf::expected<usage_report> resource_pool_client::usage_of(const agent_id& agent) const {
  return query({budget_level::agent, agent, {}});
}

caf::expected<usage_report> resource_pool_client::usage_of_swarm(const std::string& swarm) const {
  return query({budget_level::swarm, {}, swarm});
}

caf::expected<usage_report> resource_pool_client::usage_total() const {
  return query({budget_level::runtime, {}, {}});
}

caf::expected<endpoint_report> resource_pool_client::occupancy(const std::string& endpoint) const {
  caf::scoped_actor self{*sys_};
  caf::expected<endpoint_report> out{caf::make_error(caf::sec::unexpected_response)};
  self->request(pool_, std::chrono::seconds(10), endpoint_query{endpoint})
      .receive([&](endpoint_report& r) { out = r; },
               [&](caf::error& err) { out = std::move(err); });
  return out;
}

} // namespace swarm
