// Budget arithmetic: token bucket refill, prices, and the per-level budget ledger.
#include "runtime/budget.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "runtime/core/errc.hpp"

namespace swarm {

// -- token bucket ---------------------------------------------------------------------------

token_bucket::token_bucket(uint64_t capacity, uint64_t refill_per_minute,
                           pool_clock::time_point now)
    : capacity_(std::min(capacity, max_capacity)), rate_(refill_per_minute),
      level_(capacity_ * scale), last_(now) {}

void token_bucket::refill(pool_clock::time_point now) {
  if (now <= last_)
    return; // a clock value from the past adds nothing and does not move time back
  auto elapsed = static_cast<uint64_t>((now - last_).count());
  last_ = now;
  auto full = capacity_ * scale;
  if (rate_ == 0 || level_ >= full)
    return;
  auto missing = full - level_;
  auto fill_ns = missing / rate_ + (missing % rate_ != 0 ? 1 : 0);
  // Comparing first keeps elapsed * rate_ below missing + rate_: no overflow.
  level_ = elapsed >= fill_ns ? full : level_ + elapsed * rate_;
}

std::chrono::nanoseconds token_bucket::wait_for(uint64_t n, pool_clock::time_point now) {
  refill(now);
  if (n > capacity_)
    return std::chrono::nanoseconds::max();
  auto need = n * scale;
  if (level_ >= need)
    return std::chrono::nanoseconds{0};
  if (rate_ == 0)
    return std::chrono::nanoseconds::max();
  auto missing = need - level_;
  auto ns = missing / rate_ + (missing % rate_ != 0 ? 1 : 0);
  return std::chrono::nanoseconds{static_cast<int64_t>(ns)};
}

token_bucket::take_result token_bucket::try_take(uint64_t n, pool_clock::time_point now) {
  auto wait = wait_for(n, now);
  if (wait.count() != 0)
    return {false, wait};
  level_ -= n * scale;
  return {true, std::chrono::nanoseconds{0}};
}

void token_bucket::give_back(uint64_t n, pool_clock::time_point now) {
  refill(now);
  auto full = capacity_ * scale;
  auto add = std::min(n, capacity_) * scale;
  level_ = full - level_ <= add ? full : level_ + add;
}

void token_bucket::drain(uint64_t n, pool_clock::time_point now) {
  refill(now);
  auto sub = std::min(n, capacity_) * scale;
  level_ = level_ <= sub ? 0 : level_ - sub;
}

uint64_t token_bucket::available(pool_clock::time_point now) {
  refill(now);
  return level_ / scale;
}

// -- prices ---------------------------------------------------------------------------------

nano_usd to_nano_usd(double usd) {
  if (!(usd > 0))
    return 0;
  return static_cast<nano_usd>(std::llround(usd * 1e9));
}

double to_usd(nano_usd x) {
  return static_cast<double>(x) / 1e9;
}

nano_usd price_table::cost(const std::string& model, uint64_t prompt, uint64_t completion) const {
  auto i = models.find(model);
  const auto& p = i != models.end() ? i->second : fallback;
  // $ per 1M tokens = 1000 nano-dollars per token per dollar of price.
  auto part = [](uint64_t tokens, double per_million) -> nano_usd {
    if (!(per_million > 0) || tokens == 0)
      return 0;
    auto x = static_cast<double>(tokens) * per_million * 1000.0;
    // 2^64 as a double: anything from there on saturates (llround would be undefined).
    if (!(x < 18446744073709551616.0))
      return UINT64_MAX;
    return static_cast<nano_usd>(std::round(x));
  };
  return usage::add(part(prompt, p.prompt_per_million), part(completion, p.completion_per_million));
}

// -- budget ledger --------------------------------------------------------------------------

std::string to_string(budget_level x) {
  switch (x) {
  case budget_level::agent:
    return "agent";
  case budget_level::swarm:
    return "swarm";
  case budget_level::runtime:
    return "runtime";
  }
  return "budget_level(" + std::to_string(static_cast<int>(x)) + ")";
}

namespace {

std::string usd_text(nano_usd x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "$%.6f", to_usd(x));
  return buf;
}

} // namespace

std::string to_string(const budget_refusal& x) {
  std::string out = to_string(x.level);
  if (x.level != budget_level::runtime)
    out += " '" + x.key + "'";
  auto amount = [&](uint64_t v) { return x.money ? usd_text(v) : std::to_string(v); };
  out += x.money ? " money" : " token";
  out += " budget exhausted: " + amount(x.committed) + " committed + " + amount(x.requested) +
         " requested > limit " + amount(x.limit);
  return out;
}

budget_ledger::budget_ledger(budget_limits limits, price_table prices)
    : limits_(std::move(limits)), prices_(std::move(prices)) {}

budget_limit budget_ledger::limit_of(budget_level level, const std::string& key) const {
  switch (level) {
  case budget_level::agent: {
    auto i = limits_.agents.find(key);
    return i != limits_.agents.end() ? i->second : limits_.per_agent;
  }
  case budget_level::swarm: {
    auto i = limits_.swarms.find(key);
    return i != limits_.swarms.end() ? i->second : limits_.per_swarm;
  }
  case budget_level::runtime:
    break;
  }
  return limits_.runtime;
}

template <class F>
void budget_ledger::for_each_swarm(const agent_id& agent, const std::string& agent_key,
                                   F&& f) const {
  if (!limits_.agent_swarms.empty()) {
    auto i = limits_.agent_swarms.find(agent_key);
    if (i != limits_.agent_swarms.end())
      for (const auto& swarm : i->second)
        if (swarm != agent.swarm)
          f(swarm);
  }
  f(agent.swarm);
}

std::optional<budget_refusal> budget_ledger::check(const budget_estimate& est) const {
  auto tokens = usage::add(est.prompt_tokens, est.completion_tokens);
  auto cost = prices_.cost(est.model, est.prompt_tokens, est.completion_tokens);
  auto agent_key = est.agent.str();
  auto test = [&](budget_level level, const std::string& key,
                  const account& acc) -> std::optional<budget_refusal> {
    auto lim = limit_of(level, key);
    auto committed_tokens = usage::add(acc.used.total_tokens(), acc.reserved_tokens);
    if (lim.max_tokens > 0 && usage::add(committed_tokens, tokens) > lim.max_tokens)
      return budget_refusal{level, key, false, lim.max_tokens, committed_tokens, tokens};
    auto max_cost = to_nano_usd(lim.max_usd);
    auto committed_cost = usage::add(acc.cost, acc.reserved_cost);
    if (max_cost > 0 && usage::add(committed_cost, cost) > max_cost)
      return budget_refusal{level, key, true, max_cost, committed_cost, cost};
    return std::nullopt;
  };
  if (auto r = test(budget_level::agent, agent_key, of_agent(est.agent)))
    return r;
  std::optional<budget_refusal> out;
  for_each_swarm(est.agent, agent_key, [&](const std::string& swarm) {
    if (!out)
      out = test(budget_level::swarm, swarm, of_swarm(swarm));
  });
  if (out)
    return out;
  return test(budget_level::runtime, std::string{}, total_);
}

caf::expected<reservation> budget_ledger::reserve(const budget_estimate& est) {
  if (auto refusal = check(est))
    return make_error(errc::budget_exhausted, to_string(*refusal));
  reservation res{est.agent, est.model, usage::add(est.prompt_tokens, est.completion_tokens),
                  prices_.cost(est.model, est.prompt_tokens, est.completion_tokens)};
  auto hold = [&](account& acc) {
    acc.reserved_tokens = usage::add(acc.reserved_tokens, res.tokens);
    acc.reserved_cost = usage::add(acc.reserved_cost, res.cost);
  };
  auto agent_key = est.agent.str();
  hold(agents_[agent_key]);
  for_each_swarm(est.agent, agent_key, [&](const std::string& swarm) { hold(swarms_[swarm]); });
  hold(total_);
  return res;
}

std::string describe(const budget_crossing& x) {
  auto who = x.level == budget_level::runtime ? std::string{"the run"}
                                              : to_string(x.level) + " '" + x.key + "'";
  char amounts[96];
  if (x.money)
    std::snprintf(amounts, sizeof(amounts), "$%.4f of its $%.4f", x.spent, x.limit);
  else
    std::snprintf(amounts, sizeof(amounts), "%.0f of its %.0f tokens", x.spent, x.limit);
  char share[32];
  std::snprintf(share, sizeof(share), " (%.0f %%)", x.limit > 0 ? 100 * x.spent / x.limit : 0);
  return who + " has spent " + amounts + share;
}

std::vector<budget_crossing> budget_ledger::settle(const reservation& res, const usage& actual,
                                                   bool estimated) {
  auto cost = prices_.cost(res.model, actual);
  auto unpriced = prices_.knows(res.model) ? uint64_t{0} : actual.calls;
  std::vector<budget_crossing> crossed;
  auto book = [&](account& acc, budget_level level, const std::string& key) {
    auto tokens_before = acc.used.total_tokens();
    auto cost_before = acc.cost;
    acc.reserved_tokens -= std::min(acc.reserved_tokens, res.tokens);
    acc.reserved_cost -= std::min(acc.reserved_cost, res.cost);
    acc.used += actual; // saturating (usage::add)
    acc.cost = usage::add(acc.cost, cost);
    acc.unpriced_calls = usage::add(acc.unpriced_calls, unpriced);
    acc.estimated_calls = usage::add(acc.estimated_calls, estimated ? actual.calls : 0);
    auto lim = limit_of(level, key);
    auto passes = [](double before, double after, double limit) {
      return limit > 0 && before < warn_fraction * limit && after >= warn_fraction * limit;
    };
    auto tokens = static_cast<double>(acc.used.total_tokens());
    auto limit_tokens = static_cast<double>(lim.max_tokens);
    if (passes(static_cast<double>(tokens_before), tokens, limit_tokens))
      crossed.push_back({level, key, false, tokens, limit_tokens});
    if (passes(to_usd(cost_before), to_usd(acc.cost), lim.max_usd))
      crossed.push_back({level, key, true, to_usd(acc.cost), lim.max_usd});
  };
  auto agent_key = res.agent.str();
  book(agents_[agent_key], budget_level::agent, agent_key);
  for_each_swarm(res.agent, agent_key, [&](const std::string& swarm) {
    book(swarms_[swarm], budget_level::swarm, swarm);
  });
  book(total_, budget_level::runtime, {});
  return crossed;
}

account budget_ledger::of_agent(const agent_id& agent) const {
  auto i = agents_.find(agent.str());
  return i != agents_.end() ? i->second : account{};
}

account budget_ledger::of_swarm(const std::string& swarm) const {
  auto i = swarms_.find(swarm);
  return i != swarms_.end() ? i->second : account{};
}

} // namespace swarm
