// Prometheus metrics of a served runtime: counters and histograms folded from the event stream
// (runs, LLM calls, tokens, cost, latency, retries, errors, tools, restarts, budgets), written in
// the text exposition format 0.0.4 together with gauges read at scrape time.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/messages.hpp"
#include "runtime/runtime.hpp"

namespace swarm::serve {

/// Gauges read when /metrics is scraped (not from events).
struct scrape_gauges {
  /// Per served swarm: its agents, and its tool calls waiting for approval.
  std::vector<std::pair<std::string, size_t>> agents;
  std::vector<std::pair<std::string, size_t>> approvals_pending;
  std::vector<std::pair<std::string, pool_occupancy>> pools; ///< each swarm's resource pool
  /// Per swarm probed (health_check): members alive, and messages waiting in their mailboxes,
  /// summed and the largest.
  std::vector<std::pair<std::string, size_t>> alive, mailbox_total, mailbox_max;
  size_t runs_live = 0; ///< runs this server runs now
  runtime_stats runtime;
  size_t http_connections = 0;
};

/// The event fold. Thread-safe: `add` runs on a runtime thread, `render` on a request's.
class metrics {
public:
  /// Folds one event in.
  void add(const event& e);

  /// Every metric, with `gauges`, as Prometheus text.
  std::string render(const scrape_gauges& gauges) const;

  /// Upper bounds (seconds) of the latency histograms' buckets.
  static const std::vector<double>& buckets();

private:
  struct histogram {
    std::vector<uint64_t> counts; ///< per bucket (cumulative when written)
    double sum = 0;
    uint64_t count = 0;
  };
  using labels = std::vector<std::pair<std::string, std::string>>;
  using series = std::map<labels, double>;

  void observe(std::map<labels, histogram>& h, const labels& l, double seconds);

  mutable std::mutex mtx_;
  std::map<std::string, series> counters_; ///< by metric name
  std::map<std::string, std::map<labels, histogram>> histograms_;
};

/// `s` as a Prometheus label value: backslash, double quote and newline escaped.
std::string label_value(const std::string& s);

} // namespace swarm::serve
