// The records a benchmark program hands to `swarm bench`: one JSON line per figure, appended to
// the file named by SWARM_BENCH_RECORDS (nothing is written when it is unset, so the programs
// still run alone and print their tables). A record is our figure for one scenario, parameter
// set and metric, with the floors measured beside it in the same process run:
//   {"scenario":"fanout","params":{"n":1000,"latency_ms":20},"metric":"cpu_us_per_call",
//    "unit":"us","better":"lower","value":55.3,"floors":{"bare Beast client":22.3}}
// `swarm bench` runs the program several times, takes median, min and max of each figure over
// the runs and divides ours by the first floor named (the ratio). See docs/benchmarks.md.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace swarm::bench {

enum class better { lower, higher };

/// One parameter of a figure: a number (n, latency_ms: what plots put on their x axis) or a
/// name (path: "long-term", link: "tls").
struct param {
  param(std::string key, double number) : name(std::move(key)), number(number) {}
  param(std::string key, int number) : name(std::move(key)), number(number) {}
  param(std::string key, size_t number) : name(std::move(key)), number(double(number)) {}
  param(std::string key, std::string text)
      : name(std::move(key)), text(std::move(text)), is_text(true) {}
  param(std::string key, const char* text) : param(std::move(key), std::string{text}) {}

  std::string name;
  double number = 0;
  std::string text;
  bool is_text = false;
};

struct figure {
  std::string scenario;      // a `swarm bench` scenario name: "fanout", "messaging", ...
  std::vector<param> params; // {"n", 1000}, {"path", "long-term"}
  std::string metric;        // "cpu_us_per_call"
  std::string unit;          // "us", "msg/s", "KB", "%", ...
  better direction = better::lower;
  double value = 0;                                   // ours
  std::vector<std::pair<std::string, double>> floors; // the first is the ratio's divisor
};

namespace detail {

inline void put_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  out += buf;
}

// Names here are ASCII literals of our own; quotes and backslashes are escaped all the same.
inline void put_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

/// {"key":value,...} of `items`, each written by `put_item(out, item)` after its key.
template <class Items, class Key, class PutItem>
void put_object(std::string& out, const Items& items, Key key, PutItem put_item) {
  out += '{';
  bool first = true;
  for (const auto& item : items) {
    if (!first)
      out += ',';
    first = false;
    put_string(out, key(item));
    out += ':';
    put_item(out, item);
  }
  out += '}';
}

inline void put_params(std::string& out, const std::vector<param>& ps) {
  put_object(
      out, ps, [](const param& p) { return p.name; },
      [](std::string& o, const param& p) {
        if (p.is_text)
          put_string(o, p.text);
        else
          put_number(o, p.number);
      });
}

inline void put_pairs(std::string& out, const std::vector<std::pair<std::string, double>>& kv) {
  put_object(
      out, kv, [](const auto& x) { return x.first; },
      [](std::string& o, const auto& x) { put_number(o, x.second); });
}

} // namespace detail

/// The record's JSON line (without the newline).
inline std::string to_json_line(const figure& f) {
  std::string out = "{\"scenario\":";
  detail::put_string(out, f.scenario);
  out += ",\"params\":";
  detail::put_params(out, f.params);
  out += ",\"metric\":";
  detail::put_string(out, f.metric);
  out += ",\"unit\":";
  detail::put_string(out, f.unit);
  out += ",\"better\":";
  out += f.direction == better::lower ? "\"lower\"" : "\"higher\"";
  out += ",\"value\":";
  detail::put_number(out, f.value);
  out += ",\"floors\":";
  detail::put_pairs(out, f.floors);
  out += '}';
  return out;
}

/// Appends `f` to $SWARM_BENCH_RECORDS, if set; a line is written whole with one write.
inline void record(const figure& f) {
  const char* path = std::getenv("SWARM_BENCH_RECORDS");
  if (path == nullptr || *path == '\0')
    return;
  auto line = to_json_line(f) + "\n";
  if (FILE* out = std::fopen(path, "a")) {
    std::fwrite(line.data(), 1, line.size(), out);
    std::fclose(out);
  }
}

} // namespace swarm::bench
