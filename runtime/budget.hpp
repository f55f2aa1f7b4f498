// Budget arithmetic of the resource pool, without actors: token buckets, the budget ledger (token
// and money limits per agent, swarm and runtime; model prices) and the FIFO-per-priority queue.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/ids.hpp"
#include "runtime/core/messages.hpp"

namespace swarm {

/// The clock of the budget arithmetic. Functions take `now` as a value so tests inject times.
using pool_clock = std::chrono::steady_clock;

// -- token bucket ---------------------------------------------------------------------------

/// A token bucket that refills continuously: `refill_per_minute` tokens per minute, prorated to
/// the nanosecond, never above `capacity` and never below zero. Exact integer arithmetic.
class token_bucket {
public:
  /// The largest capacity the exact arithmetic supports (tokens).
  static constexpr uint64_t max_capacity = 300'000'000;

  /// The outcome of `try_take`.
  struct take_result {
    bool granted = false;
    /// When not granted: the time until the tokens would be available (nothing was taken);
    /// `nanoseconds::max()` if they never will be (n > capacity, or no refill). Zero if granted.
    std::chrono::nanoseconds wait{0};
  };

  /// A full bucket at `now`. `capacity` is clamped to `max_capacity`.
  token_bucket(uint64_t capacity, uint64_t refill_per_minute, pool_clock::time_point now);

  /// Takes `n` tokens if all are available at `now`; otherwise takes nothing.
  take_result try_take(uint64_t n, pool_clock::time_point now);

  /// The time until `n` tokens are available (zero if they are now), without taking any.
  std::chrono::nanoseconds wait_for(uint64_t n, pool_clock::time_point now);

  /// Returns `n` tokens (e.g. a reservation larger than the actual use), up to the capacity.
  void give_back(uint64_t n, pool_clock::time_point now);

  /// Takes up to `n` tokens, stopping at zero (e.g. an actual use larger than reserved).
  void drain(uint64_t n, pool_clock::time_point now);

  /// Whole tokens available at `now` (rounded down).
  uint64_t available(pool_clock::time_point now);

  uint64_t capacity() const { return capacity_; }
  uint64_t refill_per_minute() const { return rate_; }

private:
  void refill(pool_clock::time_point now);

  // The level is kept in token-nanominutes (tokens * 60e9), so that refill is exact: one
  // nanosecond adds `rate_` units.
  static constexpr uint64_t scale = 60'000'000'000;

  uint64_t capacity_;
  uint64_t rate_;
  uint64_t level_;
  pool_clock::time_point last_;
};

// -- prices ---------------------------------------------------------------------------------

/// Money is kept in nano-dollars (1e-9 USD) so that reservations and settlements add up exactly.
using nano_usd = uint64_t;

/// Converts dollars to nano-dollars (rounded to nearest; negative values become 0).
nano_usd to_nano_usd(double usd);

/// Converts nano-dollars to dollars.
double to_usd(nano_usd x);

/// The price of a model: dollars per one million prompt and completion tokens.
struct model_price {
  double prompt_per_million = 0;
  double completion_per_million = 0;
};

/// Prices per model name. A model not in the table costs `fallback` (Default: free).
struct price_table {
  std::map<std::string, model_price> models;
  model_price fallback;

  /// The cost of `prompt` and `completion` tokens on `model`, in nano-dollars (at most 2^64 - 1).
  nano_usd cost(const std::string& model, uint64_t prompt, uint64_t completion) const;

  /// The cost of `use` on `model`, in nano-dollars.
  nano_usd cost(const std::string& model, const usage& use) const {
    return cost(model, use.prompt_tokens, use.completion_tokens);
  }

  /// True if `model` has a price: an entry in `models` (even a free one), or a non-zero
  /// `fallback`. Calls on a model without one cost 0 here, but their real cost is unknown.
  bool knows(const std::string& model) const {
    return models.count(model) > 0 || fallback.prompt_per_million > 0 ||
           fallback.completion_per_million > 0;
  }
};

// -- budget ledger --------------------------------------------------------------------------

/// Where a budget applies.
enum class budget_level : uint8_t { agent, swarm, runtime };

/// "agent", "swarm" or "runtime".
std::string to_string(budget_level x);

/// A budget: at most `max_tokens` tokens and `max_usd` dollars. Zero means unlimited.
struct budget_limit {
  /// Most tokens (prompt + completion). Default: 0 (unlimited).
  uint64_t max_tokens = 0;
  /// Most money in dollars. Default: 0 (unlimited).
  double max_usd = 0;
};

/// The budgets of a runtime. Agents are keyed by `agent_id::str()`, swarms by `agent_id::swarm`
/// and by the names in `agent_swarms`.
struct budget_limits {
  /// Budget of every agent not in `agents`. Default: unlimited.
  budget_limit per_agent;
  /// Budget of every swarm not in `swarms`. Default: unlimited.
  budget_limit per_swarm;
  /// Budget of the whole runtime. Default: unlimited.
  budget_limit runtime;
  /// Per-agent overrides, by "swarm/name". Default: none.
  std::map<std::string, budget_limit> agents;
  /// Per-swarm overrides, by swarm name. Default: none.
  std::map<std::string, budget_limit> swarms;
  /// The other swarms (sub-swarms) each agent belongs to, by agent key ("swarm/name"), nearest
  /// first: a call is charged to its agent, to each of these, to `agent_id::swarm` and to the
  /// runtime. Default: none (only `agent_id::swarm`).
  std::map<std::string, std::vector<std::string>> agent_swarms;
};

/// What one call expects to spend, before it is sent.
struct budget_estimate {
  agent_id agent;
  std::string model;
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0; ///< usually the call's max_tokens
};

/// Spending held back for a call in flight; `settle` turns it into actual use.
struct reservation {
  agent_id agent;
  std::string model;
  uint64_t tokens = 0;
  nano_usd cost = 0;
};

/// Why a reservation was refused: the level that ran out and the amounts.
struct budget_refusal {
  budget_level level = budget_level::runtime;
  std::string key;        ///< the agent ("swarm/name"), the swarm name, or empty for the runtime
  bool money = false;     ///< false: the token limit ran out; true: the money limit
  uint64_t limit = 0;     ///< tokens, or nano-dollars if `money`
  uint64_t committed = 0; ///< spent plus reserved, same unit
  uint64_t requested = 0; ///< this estimate, same unit
};

/// One line: "swarm 'research' token budget exhausted: 900 committed + 200 requested > 1000".
std::string to_string(const budget_refusal& x);

/// Spending of one agent, swarm or the runtime.
struct account {
  usage used;        ///< settled usage
  nano_usd cost = 0; ///< settled cost
  uint64_t reserved_tokens = 0;
  nano_usd reserved_cost = 0;
  uint64_t unpriced_calls = 0; ///< settled calls on a model with no price (price_table::knows)
  /// Settled calls whose reply had no valid `usage`: their estimate was charged instead.
  uint64_t estimated_calls = 0;
};

/// A budget that a settled call took past budget_ledger::warn_fraction of its limit.
struct budget_crossing {
  budget_level level = budget_level::runtime;
  std::string key;    ///< the agent ("swarm/name") or swarm; empty for the runtime
  bool money = false; ///< the dollar limit (else the token limit)
  double spent = 0;   ///< tokens, or dollars
  double limit = 0;
};

/// "swarm 'crew' has spent 170 of its 200 tokens (85 %)".
std::string describe(const budget_crossing& x);

/// Tracks spending per agent, swarm and runtime against `budget_limits`. Every sum saturates at
/// 2^64 - 1 (tokens, nano-dollars) instead of wrapping: an account that reaches it stays there,
/// so a limited budget refuses every later call rather than starting again from a small number.
class budget_ledger {
public:
  /// Unlimited budgets, free models.
  budget_ledger() = default;
  budget_ledger(budget_limits limits, price_table prices);

  /// The first level (agent, then its swarms nearest first: `budget_limits::agent_swarms`, then
  /// `agent_id::swarm`, then runtime) whose spent + reserved + estimate would pass its limit;
  /// none if the estimate fits everywhere.
  std::optional<budget_refusal> check(const budget_estimate& est) const;

  /// Reserves the estimate at every level (agent, each of its swarms, runtime), or fails with
  /// errc::budget_exhausted naming the level and the amounts (see `check`).
  [[nodiscard]] caf::expected<reservation> reserve(const budget_estimate& est);

  /// Releases `res` and records the actual use and its cost (which may exceed the reservation:
  /// the call already happened; later reservations see it). `estimated`: `actual` is the call's
  /// estimate, its reply had no valid usage (counted in account::estimated_calls). Returns the
  /// budgets this use took past `warn_fraction` of their limit (each once, when it crosses).
  std::vector<budget_crossing> settle(const reservation& res, const usage& actual,
                                      bool estimated = false);

  /// Releases `res` without any use (the call was never sent).
  void cancel(const reservation& res) { settle(res, usage{}); }

  /// The share of a budget whose passing settle() reports: 80 %.
  static constexpr double warn_fraction = 0.8;

  /// Spending of an agent, a swarm, the runtime. Unknown keys give an empty account.
  account of_agent(const agent_id& agent) const;
  account of_swarm(const std::string& swarm) const;
  const account& total() const { return total_; }

  const price_table& prices() const { return prices_; }

private:
  budget_limit limit_of(budget_level level, const std::string& key) const;

  /// Calls `f(swarm key)` for every swarm `agent` (keyed `agent_key`) is charged to, each once.
  template <class F>
  void for_each_swarm(const agent_id& agent, const std::string& agent_key, F&& f) const;

  budget_limits limits_;
  price_table prices_;
  std::map<std::string, account> agents_;
  std::map<std::string, account> swarms_;
  account total_;
};

// -- wait queue -----------------------------------------------------------------------------

/// A queue that pops the highest priority first and, within a priority, the earliest pushed.
template <class T>
class priority_fifo {
public:
  void push(int32_t priority, T x) { queues_[priority].push_back(std::move(x)); }

  bool empty() const { return queues_.empty(); }

  size_t size() const {
    size_t n = 0;
    for (const auto& [prio, q] : queues_)
      n += q.size();
    return n;
  }

  /// The next element. Precondition: not empty.
  T& front() { return queues_.begin()->second.front(); }

  /// Removes the next element. Precondition: not empty.
  T pop() {
    auto i = queues_.begin();
    T x = std::move(i->second.front());
    i->second.pop_front();
    if (i->second.empty())
      queues_.erase(i);
    return x;
  }

  /// Removes and returns the first element matching `pred`, if any.
  template <class Pred>
  std::optional<T> take_if(Pred pred) {
    for (auto i = queues_.begin(); i != queues_.end(); ++i) {
      auto& q = i->second;
      for (auto j = q.begin(); j != q.end(); ++j) {
        if (pred(*j)) {
          T x = std::move(*j);
          q.erase(j);
          if (q.empty())
            queues_.erase(i);
          return x;
        }
      }
    }
    return std::nullopt;
  }

private:
  std::map<int32_t, std::deque<T>, std::greater<>> queues_;
};

} // namespace swarm
