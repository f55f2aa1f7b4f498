// `swarm bench`'s figures: parsing, aggregation, targets and the report. See bench_report.hpp.
#include "apps/swarm/bench_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "runtime/core/errc.hpp"

namespace swarm::cli::bench {

namespace json = boost::json;

namespace {

caf::error bad(const std::string& where, const std::string& what) {
  return make_error(errc::invalid_argument, where + ": " + what);
}

std::optional<double> number(const json::value* v) {
  if (v == nullptr || !v->is_number())
    return std::nullopt;
  return v->to_number<double>();
}

std::string text(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string{v->as_string()} : std::string{};
}

double median_of(std::vector<double> xs) {
  if (xs.empty())
    return NAN;
  std::sort(xs.begin(), xs.end());
  auto mid = xs.size() / 2;
  return xs.size() % 2 == 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/// 1,234,567 / 123 / 12.3 / 1.23 / 0.0123: three significant digits or the whole integer.
std::string format_number(double v) {
  if (!std::isfinite(v))
    return "-";
  char buf[64];
  double a = std::fabs(v);
  if (a >= 1000) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    std::string digits = buf;
    size_t start = digits[0] == '-' ? 1 : 0;
    for (auto i = static_cast<long>(digits.size()) - 3; i > static_cast<long>(start); i -= 3)
      digits.insert(static_cast<size_t>(i), ",");
    return digits;
  }
  if (a >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else if (a >= 0.1 || a == 0)
    std::snprintf(buf, sizeof buf, "%.2f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

bool param_equal(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number())
    return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

/// Every key of `want` is in `have` with the same value.
bool params_match(const json::object& have, const json::object& want) {
  for (const auto& [k, v] : want) {
    auto* h = have.if_contains(k);
    if (h == nullptr || !param_equal(*h, v))
      return false;
  }
  return true;
}

const figure* find_figure(const std::vector<figure>& figures, const std::string& framework,
                          const std::string& scenario, const json::object& params,
                          const std::string& metric) {
  for (const auto& f : figures)
    if (f.framework == framework && f.scenario == scenario && f.metric == metric &&
        params_match(f.params, params) && params_match(params, f.params))
      return &f;
  return nullptr;
}

std::string framework_title(const std::string& framework) {
  if (framework == "smolswarms")
    return "SmolSwarms";
  if (framework == "langgraph")
    return "LangGraph.js";
  if (framework == "agents")
    return "OpenAI Agents SDK (JS)";
  if (framework == "fetch")
    return "Node fetch (JS floor)";
  return framework;
}

/// `s` as a gnuplot single-quoted string: '' stands for ', nothing else is special inside.
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += '\'';
    if (c != '\n' && c != '\r')
      out += c;
  }
  return out + "'";
}

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return out;
}

/// `text` as a JSON object, or the error "source: what".
caf::expected<json::object> parse_object(const std::string& text, const std::string& source,
                                         const std::string& what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object())
    return bad(source, what);
  return std::move(v.as_object());
}

} // namespace

caf::expected<std::vector<record>>
parse_records(const std::string& text_in, const std::string& source, const std::string& framework) {
  std::vector<record> out;
  std::istringstream in{text_in};
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    auto where = source + ":" + std::to_string(line_no);
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec)
      return bad(where, "not JSON (" + ec.message() + ")");
    if (!v.is_object())
      return bad(where, "a record must be a JSON object");
    const auto& o = v.as_object();
    record r;
    r.framework = framework;
    r.scenario = bench::text(o, "scenario");
    r.metric = bench::text(o, "metric");
    r.unit = bench::text(o, "unit");
    auto better = bench::text(o, "better");
    if (r.scenario.empty() || r.metric.empty())
      return bad(where, "a record needs a \"scenario\" and a \"metric\"");
    if (better != "lower" && better != "higher")
      return bad(where, "\"better\" must be \"lower\" or \"higher\"");
    r.higher_is_better = better == "higher";
    auto value = number(o.if_contains("value"));
    if (!value)
      return bad(where, r.scenario + " " + r.metric + ": \"value\" is not a number");
    r.value = *value;
    if (auto* p = o.if_contains("params")) {
      if (!p->is_object())
        return bad(where, "\"params\" must be an object");
      r.params = p->as_object();
    }
    if (auto* fl = o.if_contains("floors")) {
      if (!fl->is_object())
        return bad(where, "\"floors\" must be an object");
      for (const auto& [name, fv] : fl->as_object()) {
        auto x = number(&fv);
        if (!x)
          return bad(where, "floor \"" + std::string{name} + "\" is not a number");
        r.floors.emplace_back(std::string{name}, *x);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

caf::expected<std::vector<record>> peer_records(const std::string& json_text,
                                                const std::string& source) {
  auto parsed = parse_object(json_text, source, "the peer printed no JSON object");
  if (!parsed)
    return std::move(parsed.error());
  const auto& o = *parsed;
  auto framework = bench::text(o, "framework");
  auto scenario = bench::text(o, "scenario");
  auto n = number(o.if_contains("n"));
  if (framework.empty() || (scenario != "fanout" && scenario != "sequential") || !n)
    return bad(source, "the peer's record names no framework, scenario and n");
  json::object params;
  if (scenario == "fanout") {
    params["n"] = *n;
    params["latency_ms"] = number(o.if_contains("latency_ms")).value_or(0);
  } else {
    params["calls"] = *n;
    params["latency_ms"] = number(o.if_contains("latency_ms")).value_or(0);
  }
  std::vector<record> out;
  auto add = [&](const char* metric, const char* unit, const json::value* spread,
                 const char* mid_key) -> caf::error {
    if (spread == nullptr)
      return bad(source, std::string{"no \""} + metric + "\"");
    record r;
    r.framework = framework;
    r.scenario = scenario;
    r.params = params;
    r.metric = metric;
    r.unit = unit;
    if (spread->is_number()) {
      r.value = spread->to_number<double>();
    } else if (spread->is_object()) {
      auto mid = number(spread->as_object().if_contains(mid_key));
      if (!mid)
        return bad(source, std::string{metric} + " has no \"" + mid_key + "\"");
      r.value = *mid;
      r.min = number(spread->as_object().if_contains("min"));
      r.max = number(spread->as_object().if_contains("max"));
    } else {
      return bad(source, std::string{metric} + " is neither a number nor an object");
    }
    out.push_back(std::move(r));
    return {};
  };
  auto* added = o.if_contains("added_latency_us");
  caf::error err;
  if (scenario == "fanout") {
    if (!err)
      err = add("wall_ms", "ms", o.if_contains("wall_ms"), "median");
    if (!err)
      err = add("cpu_us_per_call", "us", o.if_contains("cpu_us_per_call"), "median");
    if (!err)
      err = add("peak_rss_mb", "MB", o.if_contains("peak_rss_mb"), "median");
    if (!err) // each call's time less the mock's latency (it waits for the others' CPU too)
      err = add("added_us_p50", "us", added, "p50");
    if (!err)
      err = add("added_us_p99", "us", added, "p99");
  } else {
    if (!err)
      err = add("cpu_us_per_call", "us", o.if_contains("cpu_us_per_call"), "median");
    if (!err)
      err = add("call_us_p50", "us", added, "p50");
    if (!err)
      err = add("call_us_p99", "us", added, "p99");
  }
  if (err)
    return err;
  return out;
}

std::vector<figure> aggregate(const std::vector<record>& records) {
  struct acc {
    figure f;
    std::vector<double> values, ratios;
    std::vector<std::pair<std::string, std::vector<double>>> floors;
    std::optional<double> min, max;
  };
  std::vector<acc> groups;
  std::map<std::string, size_t> index;
  for (const auto& r : records) {
    auto key =
        r.framework + '\x1f' + r.scenario + '\x1f' + json::serialize(r.params) + '\x1f' + r.metric;
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) {
      acc a;
      a.f.framework = r.framework;
      a.f.scenario = r.scenario;
      a.f.params = r.params;
      a.f.metric = r.metric;
      a.f.unit = r.unit;
      a.f.higher_is_better = r.higher_is_better;
      groups.push_back(std::move(a));
    }
    auto& g = groups[it->second];
    g.values.push_back(r.value);
    if (!r.floors.empty() && r.floors.front().second != 0)
      g.ratios.push_back(r.value / r.floors.front().second);
    for (const auto& [name, v] : r.floors) {
      auto f = std::find_if(g.floors.begin(), g.floors.end(),
                            [&](const auto& x) { return x.first == name; });
      if (f == g.floors.end())
        g.floors.emplace_back(name, std::vector<double>{v});
      else
        f->second.push_back(v);
    }
    if (r.min)
      g.min = g.min ? std::min(*g.min, *r.min) : *r.min;
    if (r.max)
      g.max = g.max ? std::max(*g.max, *r.max) : *r.max;
  }
  std::vector<figure> out;
  for (auto& g : groups) {
    auto& f = g.f;
    f.runs = g.values.size();
    f.median = median_of(g.values);
    f.min = *std::min_element(g.values.begin(), g.values.end());
    f.max = *std::max_element(g.values.begin(), g.values.end());
    if (g.min)
      f.min = std::min(f.min, *g.min);
    if (g.max)
      f.max = std::max(f.max, *g.max);
    for (auto& [name, vs] : g.floors)
      f.floors.emplace_back(name, median_of(vs));
    if (!g.ratios.empty())
      f.ratio = median_of(g.ratios);
    out.push_back(std::move(f));
  }
  return out;
}

std::string params_text(const json::object& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty())
      out += ' ';
    out += std::string{k} + "=";
    if (v.is_string())
      out += std::string{v.as_string()};
    else if (v.is_number() && std::floor(v.to_number<double>()) == v.to_number<double>())
      out += std::to_string(static_cast<long long>(v.to_number<double>()));
    else if (v.is_number())
      out += format_number(v.to_number<double>());
    else
      out += json::serialize(v);
  }
  return out;
}

const std::vector<target>& targets() {
  using of = target::of;
  auto p = [](std::initializer_list<std::pair<json::string_view, json::value_ref>> kv) {
    return json::object(kv);
  };
  static const std::vector<target> all{
      {"A", "fan-out N = 1,000 at 20 ms: wall <= 1.5x the bare client", "fanout",
       p({{"n", 1000}, {"latency_ms", 20}}), "wall_ms", of::ratio, "", true, 1.5},
      {"A", "fan-out N = 1,000 at 20 ms: <= 20 KB per in-flight call", "fanout",
       p({{"n", 1000}, {"latency_ms", 20}}), "kb_per_inflight", of::value, "", true, 20},
      {"A", "fan-out N = 1,000 at 20 ms: client CPU per call <= 50 us", "fanout",
       p({{"n", 1000}, {"latency_ms", 20}}), "cpu_us_per_call", of::value, "", true, 50},
      {"F", "fan-out N = 1,000 at 20 ms: CPU per call <= 1.2x the bare client", "fanout",
       p({{"n", 1000}, {"latency_ms", 20}}), "cpu_us_per_call", of::ratio, "", true, 1.2},
      {"I", "fan-out N = 1,000 at 20 ms: CPU per call >= 35x less than LangGraph.js", "fanout",
       p({{"n", 1000}, {"latency_ms", 20}}), "cpu_us_per_call", of::peer_times, "langgraph", false,
       35},
      {"I", "fan-out N = 1,000 at 20 ms: CPU per call >= 15x less than the Agents SDK", "fanout",
       p({{"n", 1000}, {"latency_ms", 20}}), "cpu_us_per_call", of::peer_times, "agents", false,
       15},
      {"I", "sequential: added latency p50 <= 50 us over the bare C++ client", "sequential", p({}),
       "added_us_p50", of::value, "", true, 50},
      {"F", "sequential at 0 ms: CPU per call <= 2x the bare client", "sequential",
       p({{"latency_ms", 0}}), "cpu_us_per_call", of::ratio, "", true, 2},
      {"F", "sequential at 20 ms: CPU per call <= 200 us", "sequential", p({{"latency_ms", 20}}),
       "cpu_us_per_call", of::value, "", true, 200},
      {"F", "idle wait: 1,000 agents on a 2 s endpoint <= 1 % of a core", "idle-wait",
       p({{"n", 1000}}), "core_pct_waiting", of::value, "", true, 1},
      {"A", "mock LLM >= 20,000 requests a second on loopback", "mock-llm", p({}), "requests_per_s",
       of::value, "", false, 20000},
      {"B", "agent messaging >= 1 M msg/s", "messaging", p({}), "dm_msgs_per_s", of::value, "",
       false, 1e6},
      {"B", "agent messaging >= 50 % of bare CAF", "messaging", p({}), "dm_msgs_per_s", of::ratio,
       "", false, 0.5},
      {"B", "1 M agents: <= 2 KB each", "spawn", p({{"n", 1000000}}), "rss_bytes_per_agent",
       of::value, "", true, 2048},
      {"B", "1 M agents spawned in <= 5 s (>= 200,000 a second)", "spawn", p({{"n", 1000000}}),
       "spawn_per_s", of::value, "", false, 200000},
      {"F", "1 M agents all ready (one probe answered each) in <= 5 s", "spawn",
       p({{"n", 1000000}}), "ready_s", of::value, "", true, 5},
      {"B", "1 M agents in <= 2 GiB", "spawn", p({{"n", 1000000}}), "rss_mb_total", of::value, "",
       true, 2048},
      {"C", "memory writes >= 50 % of raw RocksDB puts", "memory-write", p({}), "writes_per_s",
       of::ratio, "", false, 0.5},
      {"C", "recall p99 <= 5 ms at 1 M memories", "recall", p({{"memories", 1000000}}), "p99_ms",
       of::value, "", true, 5},
      {"D", "resource-pool grant <= 5 us per LLM call", "grant", p({}), "grant_overhead_us",
       of::value, "", true, 5},
      {"G", "agent messages to another node over TLS >= 100,000 a second", "remote",
       p({{"link", "tls"}}), "dm_msgs_per_s", of::value, "", false, 100000},
      {"G", "agent messages to another node >= 50 % of bare CAF remoting", "remote", p({}),
       "dm_msgs_per_s", of::ratio, "", false, 0.5},
  };
  return all;
}

std::vector<target_result> check_targets(const std::vector<figure>& figures) {
  std::vector<target_result> out;
  for (const auto& t : targets()) {
    bool any = false;
    for (const auto& f : figures) {
      if (f.framework != "smolswarms" || f.scenario != t.scenario || f.metric != t.metric ||
          !params_match(f.params, t.params))
        continue;
      std::optional<double> measured;
      switch (t.on) {
      case target::of::value:
        measured = f.median;
        break;
      case target::of::ratio:
        measured = f.ratio;
        break;
      case target::of::peer_times:
        if (auto* peer = find_figure(figures, t.peer, f.scenario, f.params, f.metric);
            peer != nullptr && f.median > 0)
          measured = peer->median / f.median;
        break;
      }
      if (!measured)
        continue;
      any = true;
      out.push_back({&t, measured, t.at_most ? *measured <= t.threshold : *measured >= t.threshold,
                     params_text(f.params)});
    }
    if (!any)
      out.push_back({&t, std::nullopt, false});
  }
  return out;
}

boost::json::object to_json(const std::vector<figure>& figures,
                            const std::vector<target_result>& checked,
                            const machine_info& machine) {
  json::object m{
      {"cpu", machine.cpu}, {"cores", machine.cores},       {"memory_gib", machine.memory_gib},
      {"os", machine.os},   {"compiler", machine.compiler}, {"pinning", machine.pinning}};
  // One record per framework, scenario and parameter set, its metrics inside.
  json::array records;
  std::map<std::string, size_t> index;
  for (const auto& f : figures) {
    auto key = f.framework + '\x1f' + f.scenario + '\x1f' + json::serialize(f.params);
    auto [it, fresh] = index.emplace(key, records.size());
    if (fresh)
      records.push_back(json::object{{"framework", f.framework},
                                     {"scenario", f.scenario},
                                     {"params", f.params},
                                     {"metrics", json::object{}},
                                     {"machine", machine.cpu},
                                     {"commit", machine.commit},
                                     {"date", machine.date}});
    json::object metric{{"unit", f.unit},    {"better", f.higher_is_better ? "higher" : "lower"},
                        {"value", f.median}, {"min", f.min},
                        {"max", f.max},      {"runs", f.runs}};
    if (!f.floors.empty()) {
      json::object floors;
      for (const auto& [name, v] : f.floors)
        floors[name] = v;
      metric["floor_name"] = f.floors.front().first;
      metric["floor"] = f.floors.front().second;
      metric["floors"] = std::move(floors);
    }
    if (f.ratio)
      metric["ratio"] = *f.ratio;
    records[it->second].as_object()["metrics"].as_object()[f.metric] = std::move(metric);
  }
  json::array goals;
  for (const auto& c : checked) {
    json::object g{{"issue", c.goal->source}, {"target", c.goal->what}, {"at", c.at}};
    if (c.measured) {
      g["measured"] = *c.measured;
      g["met"] = c.met;
    } else {
      g["measured"] = nullptr;
    }
    goals.push_back(std::move(g));
  }
  return json::object{{"machine", std::move(m)},       {"commit", machine.commit},
                      {"date", machine.date},          {"command", machine.command},
                      {"records", std::move(records)}, {"targets", std::move(goals)}};
}

caf::expected<std::pair<std::vector<figure>, machine_info>> from_json(const std::string& json_text,
                                                                      const std::string& source) {
  auto parsed = parse_object(json_text, source, "not a swarm bench report (JSON object expected)");
  if (!parsed)
    return std::move(parsed.error());
  const auto& o = *parsed;
  auto* records = o.if_contains("records");
  if (records == nullptr || !records->is_array())
    return bad(source, "no \"records\" array");
  machine_info m;
  if (auto* mo = o.if_contains("machine"); mo != nullptr && mo->is_object()) {
    const auto& mm = mo->as_object();
    m.cpu = bench::text(mm, "cpu");
    m.os = bench::text(mm, "os");
    m.compiler = bench::text(mm, "compiler");
    m.pinning = bench::text(mm, "pinning");
    m.cores = static_cast<unsigned>(number(mm.if_contains("cores")).value_or(0));
    m.memory_gib = number(mm.if_contains("memory_gib")).value_or(0);
  }
  m.commit = bench::text(o, "commit");
  m.date = bench::text(o, "date");
  m.command = bench::text(o, "command");
  std::vector<figure> out;
  for (size_t i = 0; i < records->as_array().size(); ++i) {
    const auto& rv = records->as_array()[i];
    auto where = source + ": records[" + std::to_string(i) + "]";
    const auto* metrics = rv.is_object() ? rv.as_object().if_contains("metrics") : nullptr;
    const auto* params = rv.is_object() ? rv.as_object().if_contains("params") : nullptr;
    if (metrics == nullptr || !metrics->is_object() || params == nullptr || !params->is_object())
      return bad(where, "a record needs \"params\" and \"metrics\" objects");
    for (const auto& [name, mv] : metrics->as_object()) {
      if (!mv.is_object())
        return bad(where, "metric " + std::string{name} + " is not an object");
      const auto& mo = mv.as_object();
      auto value = number(mo.if_contains("value"));
      if (!value)
        return bad(where, "metric " + std::string{name} + " has no numeric \"value\"");
      figure f;
      f.framework = bench::text(rv.as_object(), "framework");
      f.scenario = bench::text(rv.as_object(), "scenario");
      f.params = params->as_object();
      f.metric = std::string{name};
      f.unit = bench::text(mo, "unit");
      f.higher_is_better = bench::text(mo, "better") == "higher";
      f.median = *value;
      f.min = number(mo.if_contains("min")).value_or(*value);
      f.max = number(mo.if_contains("max")).value_or(*value);
      f.runs = static_cast<size_t>(number(mo.if_contains("runs")).value_or(1));
      if (auto* fl = mo.if_contains("floors"); fl != nullptr && fl->is_object()) {
        // The first floor named (floor_name) divides the ratio: keep it first.
        auto first = bench::text(mo, "floor_name");
        for (const auto& [fname, fv] : fl->as_object())
          if (auto x = number(&fv))
            f.floors.emplace(fname == first ? f.floors.begin() : f.floors.end(), std::string{fname},
                             *x);
      }
      f.ratio = number(mo.if_contains("ratio"));
      out.push_back(std::move(f));
    }
  }
  return std::make_pair(std::move(out), std::move(m));
}

std::string markdown(const std::vector<figure>& figures, const std::vector<target_result>& checked,
                     const machine_info& machine) {
  std::ostringstream out;
  out << "Machine: " << machine.cores << " cores `" << machine.cpu << "`, "
      << format_number(machine.memory_gib) << " GiB, " << machine.os << ", " << machine.compiler
      << "; commit " << machine.commit << ", " << machine.date << "; " << machine.pinning
      << ".\nCommand: `" << machine.command << "`\n";
  std::vector<std::string> scenarios;
  for (const auto& f : figures)
    if (f.framework == "smolswarms" &&
        std::find(scenarios.begin(), scenarios.end(), f.scenario) == scenarios.end())
      scenarios.push_back(f.scenario);
  for (const auto& s : scenarios) {
    out << "\n### " << s << "\n\n"
        << "| params | metric | ours (median) | min - max | runs | floor | ratio |\n"
        << "|---|---|---|---|---|---|---|\n";
    for (const auto& f : figures) {
      if (f.framework != "smolswarms" || f.scenario != s)
        continue;
      std::string floors;
      for (const auto& [name, v] : f.floors)
        floors += (floors.empty() ? "" : "; ") + name + " " + format_number(v);
      std::string notes = f.unit;
      if (f.higher_is_better)
        notes += std::string{notes.empty() ? "" : ", "} + "higher is better";
      out << "| " << params_text(f.params) << " | " << f.metric
          << (notes.empty() ? "" : " (" + notes + ")") << " | " << format_number(f.median) << " | "
          << format_number(f.min) << " - " << format_number(f.max) << " | " << f.runs << " | "
          << (floors.empty() ? "-" : floors) << " | "
          << (f.ratio ? format_number(*f.ratio) + "x" : "-") << " |\n";
    }
  }
  // The peers: one table per scenario and parameter set they ran, a row per framework.
  std::vector<std::pair<std::string, json::object>> peer_sets;
  for (const auto& f : figures) {
    if (f.framework == "smolswarms")
      continue;
    auto same = [&](const auto& x) { return x.first == f.scenario && x.second == f.params; };
    if (std::find_if(peer_sets.begin(), peer_sets.end(), same) == peer_sets.end())
      peer_sets.emplace_back(f.scenario, f.params);
  }
  if (!peer_sets.empty())
    out << "\n### Peers side by side (same mock, same run)\n";
  for (const auto& [scenario, params] : peer_sets) {
    std::vector<std::string> metrics, rows{"smolswarms"};
    for (const auto& f : figures) {
      if (f.scenario != scenario || !params_match(f.params, params) ||
          !params_match(params, f.params))
        continue;
      if (f.framework != "smolswarms" &&
          std::find(metrics.begin(), metrics.end(), f.metric) == metrics.end())
        metrics.push_back(f.metric);
      if (std::find(rows.begin(), rows.end(), f.framework) == rows.end())
        rows.push_back(f.framework);
    }
    // The C++ floors measured beside ours, as rows of their own.
    std::vector<std::string> floor_rows;
    for (const auto& m : metrics)
      if (auto* ours = find_figure(figures, "smolswarms", scenario, params, m))
        for (const auto& fl : ours->floors)
          if (std::find(floor_rows.begin(), floor_rows.end(), fl.first) == floor_rows.end())
            floor_rows.push_back(fl.first);
    out << "\n" << scenario << " " << params_text(params) << ":\n\n| framework |";
    for (const auto& m : metrics)
      out << " " << m << " |";
    out << " CPU per call vs ours |\n|---|";
    for (size_t i = 0; i <= metrics.size(); ++i)
      out << "---|";
    out << "\n";
    auto* ours_cpu = find_figure(figures, "smolswarms", scenario, params, "cpu_us_per_call");
    for (const auto& r : rows) {
      out << "| " << framework_title(r) << " |";
      for (const auto& m : metrics) {
        auto* f = find_figure(figures, r, scenario, params, m);
        out << " " << (f ? format_number(f->median) : "-") << " |";
      }
      auto* cpu = find_figure(figures, r, scenario, params, "cpu_us_per_call");
      out << " "
          << (cpu && ours_cpu && ours_cpu->median > 0
                  ? format_number(cpu->median / ours_cpu->median) + "x"
                  : "-")
          << " |\n";
    }
    for (const auto& name : floor_rows) {
      out << "| " << name << " (C++ floor) |";
      double floor_cpu = NAN;
      for (const auto& m : metrics) {
        auto* ours = find_figure(figures, "smolswarms", scenario, params, m);
        double v = NAN;
        if (ours)
          for (const auto& fl : ours->floors)
            if (fl.first == name)
              v = fl.second;
        if (m == "cpu_us_per_call")
          floor_cpu = v;
        out << " " << format_number(v) << " |";
      }
      out << " "
          << (std::isfinite(floor_cpu) && ours_cpu && ours_cpu->median > 0
                  ? format_number(floor_cpu / ours_cpu->median) + "x"
                  : "-")
          << " |\n";
    }
  }
  out << "\n### Targets\n\n| issue | target | measured | at | result |\n|---|---|---|---|---|\n";
  for (const auto& c : checked)
    out << "| " << c.goal->source << " | " << c.goal->what << " | "
        << (c.measured ? format_number(*c.measured) : "-") << " | " << (c.at.empty() ? "-" : c.at)
        << " | " << (c.measured ? (c.met ? "met" : "**missed**") : "not measured in this run")
        << " |\n";
  return out.str();
}

std::vector<std::pair<std::string, std::string>> plot_scripts(const std::vector<figure>& figures,
                                                              const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> done;
  for (const auto& first : figures) {
    if (first.framework != "smolswarms" || first.metric == "failed")
      continue;
    for (const auto& [xname, xv0] : first.params) {
      // Scaling curves are drawn over a size (agents, workers, memories, calls), not over a
      // latency or a connection bound.
      static const std::set<std::string> sizes{"n", "workers", "memories", "calls", "receivers"};
      if (!xv0.is_number() || sizes.count(std::string{xname}) == 0)
        continue;
      // The curve: figures of the same scenario and metric whose other params equal first's.
      json::object others = first.params;
      others.erase(xname);
      auto key = first.scenario + '\x1f' + first.metric + '\x1f' + std::string{xname} + '\x1f' +
                 json::serialize(others);
      if (done.count(key) > 0)
        continue;
      std::vector<std::string> series{"smolswarms"};
      std::vector<std::string> floor_names;
      std::set<double> xs;
      auto on_curve = [&](const figure& f) {
        if (f.scenario != first.scenario || f.metric != first.metric)
          return false;
        auto* x = f.params.if_contains(xname);
        if (x == nullptr || !x->is_number())
          return false;
        json::object rest = f.params;
        rest.erase(xname);
        return params_match(rest, others) && params_match(others, rest);
      };
      for (const auto& f : figures) {
        if (!on_curve(f))
          continue;
        xs.insert(f.params.at(xname).to_number<double>());
        if (std::find(series.begin(), series.end(), f.framework) == series.end())
          series.push_back(f.framework);
        if (f.framework == "smolswarms")
          for (const auto& fl : f.floors)
            if (std::find(floor_names.begin(), floor_names.end(), fl.first) == floor_names.end())
              floor_names.push_back(fl.first);
      }
      if (xs.size() < 2)
        continue;
      done.insert(key);
      auto name = slug(first.scenario + "_" + first.metric +
                       (others.empty() ? "" : "_" + params_text(others))) +
                  ".png";
      std::ostringstream s;
      s << "set terminal pngcairo size 900,540 font 'sans,10' noenhanced\n"
        << "set output " << gp_quote(dir + "/" + name) << "\n"
        << "set title "
        << gp_quote(first.scenario + ": " + first.metric +
                    (others.empty() ? "" : " (" + params_text(others) + ")"))
        << "\nset xlabel " << gp_quote(std::string{xname}) << "\nset ylabel "
        << gp_quote(first.unit +
                    (first.higher_is_better ? " (higher is better)" : " (lower is better)"))
        << "\n"
        << "set logscale x\nset grid\nset key outside right top\nset datafile missing 'NaN'\n";
      double lo = INFINITY, hi = 0;
      s << "$data << EOD\n";
      for (double x : xs) {
        s << x;
        auto value_at = [&](const std::string& framework) -> const figure* {
          for (const auto& f : figures)
            if (f.framework == framework && on_curve(f) &&
                f.params.at(xname).to_number<double>() == x)
              return &f;
          return nullptr;
        };
        auto put = [&](double v) {
          if (std::isfinite(v) && v > 0) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          s << ' ' << (std::isfinite(v) ? std::to_string(v) : std::string{"NaN"});
        };
        for (const auto& fw : series) {
          auto* f = value_at(fw);
          put(f ? f->median : NAN);
        }
        auto* ours = value_at("smolswarms");
        for (const auto& name_f : floor_names) {
          double v = NAN;
          if (ours)
            for (const auto& fl : ours->floors)
              if (fl.first == name_f)
                v = fl.second;
          put(v);
        }
        s << '\n';
      }
      s << "EOD\n";
      if (hi > 0 && lo > 0 && hi / lo > 50)
        s << "set logscale y\n";
      s << "plot";
      size_t col = 2;
      for (size_t i = 0; i < series.size(); ++i, ++col)
        s << (col > 2 ? "," : "") << " $data using 1:" << col << " with linespoints lw 2 title "
          << gp_quote(framework_title(series[i]));
      for (const auto& fl : floor_names)
        s << ", $data using 1:" << col++ << " with linespoints dt 2 title "
          << gp_quote(fl + " (floor)");
      s << "\n";
      out.emplace_back(name, s.str());
    }
  }
  return out;
}

} // namespace swarm::cli::bench
