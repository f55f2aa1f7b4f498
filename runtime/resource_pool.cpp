// The resource pool actor: grants, fair waiting, rate buckets, budgets; and its blocking facade.
#include "runtime/resource_pool.hpp"

#include <algorithm>
#include <optional>
#include <utility>

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

struct lease_info {
  std::string endpoint;
  reservation res;
  uint64_t tpm_taken = 0;          ///< tokens taken from the endpoint's TPM bucket at grant time
  pool_clock::time_point deadline; ///< lease + slack after the grant
  bool expired = false; ///< reclaimed: the slot is free, the reservation waits for a release
};

struct endpoint_state {
  endpoint_limits limits;
  size_t held = 0;
  std::optional<token_bucket> rpm;
  std::optional<token_bucket> tpm;
  priority_fifo<waiter> waiting;
  bool wake_pending = false; ///< a pool_wake for this endpoint is on its way
  size_t reclaimed = 0;      ///< leases that expired unreleased
};

struct pool_state {
  resource_pool_options opts;
  budget_ledger ledger;
  std::map<std::string, endpoint_state> endpoints;
  std::map<uint64_t, lease_info> leases;
  std::map<uint64_t, std::string> waiter_endpoint; ///< waiting request id -> its endpoint
  uint64_t next_id = 1;
  bool sweep_pending = false; ///< a lease_sweep is on its way
  static inline const char* name = "swarm.resource_pool";
};

using pool_pointer = resource_pool_actor::stateful_pointer<pool_state>;

endpoint_state& endpoint_of(pool_state& st, const std::string& url) {
  auto i = st.endpoints.find(url);
  if (i != st.endpoints.end())
    return i->second;
  auto& ep = st.endpoints[url];
  auto j = st.opts.endpoints.find(url);
  ep.limits = j != st.opts.endpoints.end() ? j->second : st.opts.default_endpoint;
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
  return std::min(req.prompt_tokens + req.completion_tokens, ep.tpm->capacity());
}

usage_report report_of(const account& acc) {
  return {acc.used, to_usd(acc.cost), acc.reserved_tokens, to_usd(acc.reserved_cost)};
}

/// Arms the one lease timer if it is not armed (no timer per grant: a timer costs more than the
/// rest of a grant).
void schedule_sweep(pool_pointer self) {
  auto& st = self->state;
  if (st.sweep_pending)
    return;
  st.sweep_pending = true;
  auto every = std::clamp<caf::timespan>(st.opts.lease_slack, std::chrono::milliseconds(1),
                                         std::chrono::seconds(1));
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
grant hand_out(pool_pointer self, endpoint_state& ep, const std::string& url, uint64_t id,
               const grant_request& req, const reservation& res, uint64_t need,
               pool_clock::time_point now) {
  auto& st = self->state;
  if (ep.rpm)
    ep.rpm->try_take(1, now);
  if (ep.tpm)
    ep.tpm->try_take(need, now);
  ++ep.held;
  auto lease = std::max(req.lease, caf::timespan{0}) + st.opts.lease_slack;
  st.leases.emplace(id, lease_info{url, res, need, now + lease});
  schedule_sweep(self);
  return grant{id, req.agent, url, res.tokens, res.cost};
}

/// Grants waiting requests of `url` in priority/FIFO order while slots and buckets allow.
void pump(pool_pointer self, const std::string& url) {
  auto& st = self->state;
  auto& ep = endpoint_of(st, url);
  auto now = pool_clock::now();
  while (!ep.waiting.empty() && ep.held < ep.limits.max_concurrent) {
    auto need = tpm_need(ep, ep.waiting.front().req);
    auto wait = bucket_wait(ep, need, now);
    if (wait.count() > 0) {
      // The head waits for its buckets; those behind it wait too (fairness).
      if (!ep.wake_pending) {
        ep.wake_pending = true;
        auto delay = std::min<std::chrono::nanoseconds>(wait, std::chrono::minutes(1));
        self->delayed_send(self, delay, detail::pool_wake{url});
      }
      return;
    }
    auto w = ep.waiting.pop();
    st.waiter_endpoint.erase(w.id);
    w.rp.deliver(hand_out(self, ep, url, w.id, w.req, w.res, need, now));
  }
}

resource_pool_actor::behavior_type pool_behavior(pool_pointer self, resource_pool_options opts) {
  self->state.ledger = budget_ledger{opts.budgets, opts.prices};
  self->state.opts = std::move(opts);
  return {
      [self](grant_request& req) -> caf::typed_response_promise<grant> {
        auto rp = self->make_response_promise<grant>();
        auto& st = self->state;
        auto res =
            st.ledger.reserve({req.agent, req.model, req.prompt_tokens, req.completion_tokens});
        if (!res) {
          rp.deliver(std::move(res.error()));
          return rp;
        }
        auto id = st.next_id++;
        auto& ep = endpoint_of(st, req.endpoint);
        // Nobody waits and a slot is free: granted at once, without queueing or a timer.
        if (ep.waiting.empty() && ep.held < ep.limits.max_concurrent) {
          auto now = pool_clock::now();
          auto need = tpm_need(ep, req);
          if (bucket_wait(ep, need, now).count() == 0) {
            rp.deliver(hand_out(self, ep, req.endpoint, id, req, *res, need, now));
            return rp;
          }
        }
        auto url = req.endpoint;
        auto timeout = req.timeout;
        st.waiter_endpoint.emplace(id, url);
        ep.waiting.push(req.priority, waiter{id, std::move(req), *res, rp});
        pump(self, url);
        // Only a request that has to wait needs its timer.
        if (st.waiter_endpoint.count(id) > 0)
          self->delayed_send(self, std::max(timeout, caf::timespan{0}), detail::pool_expire{id});
        return rp;
      },
      [self](grant_release& rel) {
        auto& st = self->state;
        auto i = st.leases.find(rel.lease);
        if (i == st.leases.end())
          return;
        auto info = std::move(i->second);
        st.leases.erase(i);
        st.ledger.settle(info.res, rel.use);
        auto& ep = endpoint_of(st, info.endpoint);
        if (!info.expired) // an expired lease's slot was freed when it expired
          --ep.held;
        if (ep.tpm) {
          auto now = pool_clock::now();
          auto actual = rel.use.total_tokens();
          if (actual > info.tpm_taken)
            ep.tpm->drain(actual - info.tpm_taken, now);
          else
            ep.tpm->give_back(info.tpm_taken - actual, now);
        }
        pump(self, info.endpoint);
      },
      [self](grant_withdraw& x) {
        auto& st = self->state;
        if (x.ticket == 0)
          return;
        auto mine = [&](const waiter& w) { return w.req.ticket == x.ticket; };
        for (auto& [url, ep] : st.endpoints) {
          auto w = ep.waiting.take_if(mine);
          if (!w)
            continue;
          st.waiter_endpoint.erase(w->id);
          st.ledger.cancel(w->res);
          w->rp.deliver(make_error(errc::llm_cancelled, "grant request withdrawn while waiting"));
          pump(self, url); // it may have been the head blocking on its buckets
          return;
        }
      },
      [self](detail::lease_sweep&) {
        auto& st = self->state;
        st.sweep_pending = false;
        auto now = pool_clock::now();
        bool live = false;
        for (auto& [id, info] : st.leases) {
          if (info.expired)
            continue;
          if (info.deadline > now) {
            live = true;
            continue;
          }
          // The holder is gone or stuck: free the slot for others. The reservation stays until
          // a release settles it, so a call that did happen can never make a budget overspend.
          info.expired = true;
          auto& ep = endpoint_of(st, info.endpoint);
          --ep.held;
          ++ep.reclaimed;
          pump(self, info.endpoint);
        }
        if (live)
          schedule_sweep(self);
      },
      [self](usage_query& q) -> usage_report {
        auto& ledger = self->state.ledger;
        switch (q.level) {
        case budget_level::agent:
          return report_of(ledger.of_agent(q.agent));
        case budget_level::swarm:
          return report_of(ledger.of_swarm(q.swarm));
        case budget_level::runtime:
          break;
        }
        return report_of(ledger.total());
      },
      [self](endpoint_query& q) -> endpoint_report {
        auto& eps = self->state.endpoints;
        auto i = eps.find(q.endpoint);
        if (i == eps.end())
          return {};
        return {i->second.held, i->second.waiting.size(), i->second.reclaimed};
      },
      [self](detail::pool_wake& w) {
        auto& st = self->state;
        endpoint_of(st, w.endpoint).wake_pending = false;
        pump(self, w.endpoint);
      },
      [self](detail::pool_expire& x) {
        auto& st = self->state;
        auto i = st.waiter_endpoint.find(x.waiter);
        if (i == st.waiter_endpoint.end())
          return; // granted meanwhile
        auto url = std::move(i->second);
        st.waiter_endpoint.erase(i);
        auto w =
            endpoint_of(st, url).waiting.take_if([&](const waiter& w) { return w.id == x.waiter; });
        if (!w)
          return;
        st.ledger.cancel(w->res);
        w->rp.deliver(caf::make_error(caf::sec::request_timeout,
                                      "no slot on " + url + " within the request's timeout"));
        pump(self, url); // the head may have been the one blocking on its buckets
      },
  };
}

} // namespace

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
