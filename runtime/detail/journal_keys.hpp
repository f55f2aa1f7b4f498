// The LLM broker's count of journal keys (runtime/llm_broker.cpp only): how often each call
// position of a run was asked for, so that a retried step gets a key of its own, kept per run
// and forgotten for runs long done so that a long-lived swarm does not grow it without end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <string>
#include <unordered_map>

namespace swarm::detail {

/// Occurrences of journal keys, per run. Rule: a run's counts are dropped once `keep_runs`
/// other runs asked for a key after its own last one, and only while none of its calls is in
/// flight (`busy` says which runs have one); until then a call position asked for again gets
/// occurrence n + 1. A run dropped and asked for again starts at occurrence 0 (as on --resume).
class journal_keys {
public:
  /// A run that has a call in flight.
  using busy_fn = std::function<bool(const std::string& run_id)>;

  explicit journal_keys(size_t keep_runs = 64) : keep_runs_(keep_runs) {}

  /// The occurrence of `base` (a key without occurrence) in run `run_id`, counting it.
  uint32_t next(const std::string& run_id, const std::string& base, const busy_fn& busy) {
    auto i = runs_.find(run_id);
    if (i == runs_.end()) {
      order_.push_front(run_id);
      i = runs_.emplace(run_id, run{{}, order_.begin()}).first;
      forget_old(busy);
    } else if (i->second.pos != order_.begin()) {
      order_.splice(order_.begin(), order_, i->second.pos); // most recent first
    }
    return i->second.seen[base]++;
  }

  /// Runs whose counts are kept.
  size_t runs() const { return runs_.size(); }

  /// Keys counted, over every run kept.
  size_t keys() const {
    size_t n = 0;
    for (const auto& [id, r] : runs_)
      n += r.seen.size();
    return n;
  }

private:
  struct run {
    std::unordered_map<std::string, uint32_t> seen; ///< key without occurrence -> calls
    std::list<std::string>::iterator pos;           ///< its place in order_
  };

  // Drops the runs past the `keep_runs` most recent that have no call in flight.
  void forget_old(const busy_fn& busy) {
    if (runs_.size() <= keep_runs_)
      return;
    auto i = std::next(order_.begin(), static_cast<std::ptrdiff_t>(keep_runs_));
    while (i != order_.end()) {
      if (busy && busy(*i)) {
        ++i;
        continue;
      }
      runs_.erase(*i);
      i = order_.erase(i);
    }
  }

  size_t keep_runs_;
  std::unordered_map<std::string, run> runs_;
  std::list<std::string> order_; ///< run ids, most recently asked for first
};

} // namespace swarm::detail
