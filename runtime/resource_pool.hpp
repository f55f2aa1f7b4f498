// The resource pool: every LLM call asks it for a grant before it is sent.
// Concurrency slots and requests/tokens-per-minute buckets per endpoint, token and money
// budgets per agent, swarm and runtime; fair FIFO-per-priority waiting; usage accounting.
// Its state sits behind one mutex (`detail::pool_core`) shared with the LLM brokers in front of
// it: a broker grants and releases on it directly, and only a call that must wait is a message.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/budget.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/messages.hpp"

namespace swarm {

// -- options --------------------------------------------------------------------------------

/// Limits of one LLM endpoint (keyed by its base URL).
struct endpoint_limits {
  /// Calls in flight at once. 0 is read as 1. Default: 16.
  size_t max_concurrent = 16;
  /// Requests per minute (bucket capacity and refill per minute); 0 = unlimited. Default: 0.
  uint64_t requests_per_minute = 0;
  /// Tokens per minute, counted on the estimate (prompt + max completion) and corrected on
  /// release by the actual use; 0 = unlimited. A call whose estimate is above it could never be
  /// granted: it is refused at once (errc::llm_rate_limited). Default: 0.
  uint64_t tokens_per_minute = 0;
};

/// The resource pool of a runtime. Per instance.
struct resource_pool_options {
  /// Limits of every endpoint not in `endpoints`. Default: 16 concurrent, no rate limits.
  endpoint_limits default_endpoint;
  /// Per-endpoint overrides, by base URL. Default: none.
  std::map<std::string, endpoint_limits> endpoints;
  /// Token and money budgets per agent, swarm and runtime. Default: unlimited.
  budget_limits budgets;
  /// Model prices for the money budgets and the cost accounting. Default: every model free.
  price_table prices;
  /// How long past its `grant_request::lease` a grant may go unreleased before the pool takes
  /// its slot back (a holder that died or forgot). Leases are checked every `lease_slack` (at
  /// most every second) while any is held, so a slot comes back within lease + 2 x slack.
  /// Default: 30 s.
  caf::timespan lease_slack = std::chrono::seconds(30);
};

// -- messages (local only: CAF_ALLOW_UNSAFE_MESSAGE_TYPE below; they never cross the wire) ----

/// Asks for a grant to send one LLM call. Answered with a `grant` once a slot and the rate
/// buckets allow it; with errc::budget_exhausted at once if a budget would be passed; with
/// errc::llm_rate_limited at once if its estimate exceeds the endpoint's tokens_per_minute; with
/// caf::sec::request_timeout if it waited `timeout` without a slot.
struct grant_request {
  agent_id agent;                 ///< who calls; its swarm is `agent.swarm`
  std::string endpoint;           ///< base URL of the endpoint
  std::string model;              ///< for the price
  uint64_t prompt_tokens = 0;     ///< estimate of the prompt
  uint64_t completion_tokens = 0; ///< estimate of the completion, usually max_tokens
  int32_t priority = 0;           ///< higher is granted first; FIFO within a priority
  caf::timespan timeout = std::chrono::seconds(60); ///< longest wait for a slot
  /// Longest the call may hold its slot (the call's own timeout). A grant not released within
  /// `lease + resource_pool_options::lease_slack` is reclaimed: its slot is freed, its budget
  /// reservation stays reserved until a (late) release settles it.
  caf::timespan lease = std::chrono::seconds(60);
  /// Id to withdraw the request with while it waits (`grant_withdraw`), unique among the pool's
  /// callers (e.g. from a process-wide counter); 0: none.
  uint64_t ticket = 0;
};

/// Permission to send one call. Hand `lease` back with `grant_release` when the call returns.
struct grant {
  uint64_t lease = 0;
  agent_id agent;
  std::string endpoint;
  uint64_t reserved_tokens = 0;
  nano_usd reserved_cost = 0;
};

/// Returns a grant's slot and settles its budget reservation with the call's actual use (the
/// API's `usage` field; zero if the call was never sent). Unknown leases are ignored.
struct grant_release {
  uint64_t lease = 0;
  usage use;
  bool estimated = false; ///< `use` is the call's estimate: its reply had no valid usage
};

/// Withdraws the waiting request with this `ticket`: it leaves the queue, its reservation is
/// cancelled and it is answered with errc::llm_cancelled. Ignored if it is no longer waiting (a
/// grant already sent must be released as usual).
struct grant_withdraw {
  uint64_t ticket = 0;
};

/// Asks for the spending of `agent` (level agent), of `swarm` (level swarm) or of the runtime.
struct usage_query {
  budget_level level = budget_level::runtime;
  agent_id agent;
  std::string swarm;
};

/// Settled usage and its cost, and what is reserved by calls in flight or waiting.
struct usage_report {
  usage use;
  double cost_usd = 0;
  uint64_t reserved_tokens = 0;
  double reserved_usd = 0;
  /// Settled calls whose model has no price (resources.prices): `cost_usd` counts them as free,
  /// so the cost is unknown when this is not 0.
  uint64_t unpriced_calls = 0;
  /// Settled calls whose reply had no valid `usage`: `use` counts their estimate instead.
  uint64_t estimated_calls = 0;
};

/// Asks for the pool's current occupancy of one endpoint; empty: of every endpoint, summed.
struct endpoint_query {
  std::string endpoint;
};

/// Slots held and callers waiting on one endpoint (or all).
struct endpoint_report {
  size_t held = 0;
  size_t waiting = 0;
  size_t reclaimed = 0; ///< leases that expired unreleased since the pool started
};

namespace detail {

/// The pool's state (ledger, endpoints, leases, wait queues) behind one mutex. Shared by the pool
/// actor and the brokers in front of it; only the pool actor touches the wait queues' promises.
class pool_core;

/// Internal: re-examine an endpoint's queue: once its rate buckets may allow the head (`timer`),
/// or because a broker released a slot while callers wait (not `timer`).
struct pool_wake {
  std::string endpoint;
  bool timer = true;
};

/// Internal: asks the pool for its core (a broker grants on it without messages).
struct pool_core_query {};

/// Internal: the answer to `pool_core_query`.
struct pool_core_ref {
  std::shared_ptr<pool_core> core;
};

/// Internal: a broker's request that `pool_admit` could not grant at once, with the reservation the
/// broker holds for it. Answered like a `grant_request` (a `grant`, or request_timeout /
/// llm_cancelled); its reservation is cancelled if it is never granted.
struct pool_enqueue {
  grant_request req;
  reservation res;
};

/// What `pool_admit` decided.
struct admission {
  enum kind : uint8_t { granted, must_wait, refused };
  kind what = refused;
  uint64_t lease = 0;     ///< granted: the lease to release
  reservation res;        ///< must_wait: send it with the request as `pool_enqueue`
  caf::error err;         ///< refused: errc::budget_exhausted naming the level, or
                          ///< errc::llm_rate_limited (the estimate exceeds tokens_per_minute)
  caf::timespan sweep{0}; ///< granted and > 0: send the pool a `lease_sweep` after this delay
  /// The endpoint's max_concurrent: the bound on the LLM client's connections to it too.
  size_t max_concurrent = 0;
};

/// Under the core's lock: reserves the budgets of `req` and grants it at once if nobody waits on
/// its endpoint and a slot and the rate buckets allow; otherwise keeps the reservation and the
/// request's place (the caller must send it to the pool as `pool_enqueue` right away).
admission pool_admit(pool_core& core, const grant_request& req);

/// What a release leads to.
struct release_outcome {
  /// The endpoint whose waiting callers the pool actor must now serve (send it
  /// `pool_wake{url, false}`), if any.
  std::optional<std::string> wake;
  /// Budgets the released call's use took past 80 % (budget_ledger::settle).
  std::vector<budget_crossing> crossed;
};

/// Under the core's lock: the `grant_release` of `lease` (`estimated`: see grant_release).
release_outcome pool_release(pool_core& core, uint64_t lease, const usage& use,
                             bool estimated = false);

/// Internal: a waiting request reached its timeout.
struct pool_expire {
  uint64_t waiter = 0;
};

/// Internal: reclaim the grants past their lease plus slack (one timer for all leases).
struct lease_sweep {};

} // namespace detail

/// The pool's interface. `detail::` messages are the pool's own timers.
using resource_pool_actor =
    caf::typed_actor<caf::replies_to<grant_request>::with<grant>,                           //
                     caf::reacts_to<grant_release>,                                         //
                     caf::reacts_to<grant_withdraw>,                                        //
                     caf::replies_to<usage_query>::with<usage_report>,                      //
                     caf::replies_to<endpoint_query>::with<endpoint_report>,                //
                     caf::replies_to<detail::pool_enqueue>::with<grant>,                    //
                     caf::replies_to<detail::pool_core_query>::with<detail::pool_core_ref>, //
                     caf::reacts_to<detail::pool_wake>,                                     //
                     caf::reacts_to<detail::pool_expire>,                                   //
                     caf::reacts_to<detail::lease_sweep>>;

/// Spawns a resource pool. Each grant must be released exactly once (the pool reclaims the slot
/// of a grant its holder never releases, see `grant_request::lease`).
resource_pool_actor spawn_resource_pool(caf::actor_system& sys, resource_pool_options opts = {});

// -- blocking facade ------------------------------------------------------------------------

/// Blocking calls to a pool from a non-actor thread (tests, tools, apps). Never call from inside
/// an actor: actors `request` the pool and continue in `.then`.
class resource_pool_client {
public:
  resource_pool_client(caf::actor_system& sys, resource_pool_actor pool)
      : sys_(&sys), pool_(std::move(pool)) {}

  /// Waits for a grant (at most `req.timeout`, plus a second for the reply to travel).
  [[nodiscard]] caf::expected<grant> acquire(grant_request req) const;

  /// Releases a grant with the call's actual use. Returns at once.
  void release(uint64_t lease, usage use) const;

  /// Spending of one agent, one swarm, or the whole runtime.
  [[nodiscard]] caf::expected<usage_report> usage_of(const agent_id& agent) const;
  [[nodiscard]] caf::expected<usage_report> usage_of_swarm(const std::string& swarm) const;
  [[nodiscard]] caf::expected<usage_report> usage_total() const;

  /// Slots held and callers waiting on `endpoint` (empty: on every endpoint, summed).
  [[nodiscard]] caf::expected<endpoint_report> occupancy(const std::string& endpoint) const;

  const resource_pool_actor& handle() const { return pool_; }

private:
  caf::expected<usage_report> query(usage_query q) const;

  caf::actor_system* sys_;
  resource_pool_actor pool_;
};

} // namespace swarm

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::grant_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::grant)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::grant_release)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::grant_withdraw)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::usage_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::usage_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::endpoint_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::endpoint_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::detail::pool_wake)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::detail::pool_core_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::detail::pool_core_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::detail::pool_enqueue)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::detail::pool_expire)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(swarm::detail::lease_sweep)
