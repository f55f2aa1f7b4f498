// `swarm bench`'s figures: the records the benchmark programs and the peers write, their
// aggregation over repeated runs (median, min, max, ratio to the floor measured beside them),
// the targets they are held to, and the report (JSON, markdown, gnuplot scripts). Plain values
// and functions; bench_command.cpp runs the programs.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

namespace swarm::cli::bench {

/// One figure of one program run: ours ("smolswarms") or a peer's ("langgraph", "agents",
/// "fetch"), with the floors measured beside it in the same run.
struct record {
  std::string framework = "smolswarms";
  std::string scenario;
  boost::json::object params; ///< numbers and names, in the order the program gave them
  std::string metric;
  std::string unit;
  bool higher_is_better = false;
  double value = 0;
  std::vector<std::pair<std::string, double>> floors; ///< the first divides the ratio
  std::optional<double> min, max; ///< a peer's spread over its own rounds (one process run)
};

/// The JSON lines of `text` (from `source`, named in errors as "source:LINE"), with
/// `framework` set on each. A line that is not a record is an error; blank lines are skipped.
caf::expected<std::vector<record>> parse_records(const std::string& text, const std::string& source,
                                                 const std::string& framework = "smolswarms");

/// The records a peers.mjs run printed (its one JSON object) as figures of `framework`:
/// fanout -> wall_ms, cpu_us_per_call, peak_rss_mb, added_us_p50/p99; sequential ->
/// cpu_us_per_call, call_us_p50, call_us_p99 (the whole call against an instant mock).
caf::expected<std::vector<record>> peer_records(const std::string& json_text,
                                                const std::string& source);

/// One figure over all runs of its program: median, min, max of the runs' values, each floor's
/// median, and the median of the per-run ratios value / first floor.
struct figure {
  std::string framework, scenario;
  boost::json::object params;
  std::string metric, unit;
  bool higher_is_better = false;
  double median = 0, min = 0, max = 0;
  size_t runs = 0;
  std::vector<std::pair<std::string, double>> floors;
  std::optional<double> ratio;
};

/// Groups `records` by framework, scenario, params and metric (in order of first appearance).
std::vector<figure> aggregate(const std::vector<record>& records);

/// "n=1000 latency_ms=20".
std::string params_text(const boost::json::object& params);

/// A performance target from the issues, checked against this run's figures.
struct target {
  std::string source; ///< "A", "B", ... "I"
  std::string what;   ///< "fan-out N = 1,000 at 20 ms: CPU per call <= 50 us"
  std::string scenario;
  boost::json::object params; ///< those a figure must have (a subset of its params)
  std::string metric;
  enum class of { value, ratio, peer_times } on = of::value; ///< peer_times: peer / ours
  std::string peer;                                          ///< for peer_times
  bool at_most = true;                                       ///< <= threshold, else >=
  double threshold = 0;
};

/// Every target of issues A-I that a scenario measures.
const std::vector<target>& targets();

struct target_result {
  const target* goal = nullptr;
  std::optional<double> measured; ///< empty: not measured in this run
  bool met = false;
  std::string at; ///< the params of the figure measured ("path=working")
};

std::vector<target_result> check_targets(const std::vector<figure>& figures);

/// Where and when the figures were taken.
struct machine_info {
  std::string cpu, os, compiler, commit, date, command, pinning;
  unsigned cores = 0;
  double memory_gib = 0;
};

/// The figures and machine of a report written by to_json (`swarm bench --from FILE`): the
/// inverse of to_json, so a saved run can be reported and plotted again.
caf::expected<std::pair<std::vector<figure>, machine_info>> from_json(const std::string& json_text,
                                                                      const std::string& source);

boost::json::object to_json(const std::vector<figure>& figures,
                            const std::vector<target_result>& checked, const machine_info& machine);

/// The report as markdown: the machine, one table per scenario (ours, min-max, floors, ratio),
/// the peers side by side (when they ran) and the targets.
std::string markdown(const std::vector<figure>& figures, const std::vector<target_result>& checked,
                     const machine_info& machine);

/// gnuplot scripts drawing each scaling curve in `figures` (a metric over a numeric parameter
/// with at least two values), ours beside its floors and the peers: {file name, script}. Each
/// script writes its PNG to `dir`.
std::vector<std::pair<std::string, std::string>> plot_scripts(const std::vector<figure>& figures,
                                                              const std::string& dir);

} // namespace swarm::cli::bench
