// The metrics fold and its text form.
#include "serve/metrics.hpp"

#include <cstdio>
#include <initializer_list>

#include "runtime/core/errc.hpp"

namespace swarm::serve {

namespace {

constexpr const char* prefix = "smolswarms_";

// Help text of every metric the fold writes, in the order they are written.
struct metric_doc {
  const char* name;
  const char* type;
  const char* help;
};

const std::vector<metric_doc>& folded_docs() {
  static const std::vector<metric_doc> docs{
      {"runs_started_total", "counter", "Runs started, by swarm."},
      {"runs_finished_total", "counter", "Runs ended, by swarm and status."},
      {"llm_calls_total", "counter", "LLM calls ended, by swarm, agent, model and outcome."},
      {"llm_tokens_total", "counter",
       "Tokens of ended LLM calls, by swarm, agent, model and type."},
      {"llm_cost_usd_total", "counter", "Cost of ended LLM calls at the specs' prices, USD."},
      {"llm_retries_total", "counter",
       "HTTP attempts beyond the first, by swarm, endpoint and model."},
      {"llm_errors_total", "counter",
       "Failed LLM calls, by swarm, endpoint and status (the HTTP status, else the error code)."},
      {"llm_fallbacks_total", "counter", "Calls moved to a fallback endpoint, by swarm."},
      {"tool_calls_total", "counter", "Tool calls ended, by swarm, agent, tool and outcome."},
      {"member_restarts_total", "counter", "Members spawned again by supervision, by swarm."},
      {"budget_exhausted_total", "counter", "Budgets that ran out, by swarm and budget."},
      {"approvals_total", "counter", "Tool calls that waited for a human, by swarm."},
      {"events_total", "counter", "Events of the runtime, by kind."},
  };
  return docs;
}

std::string swarm_of(const agent_id& a) {
  return a.swarm.empty() ? a.name : a.swarm;
}

// Where a failed call failed and how: the endpoint and HTTP status its error names ("HTTP 503
// from URL: ..."), else the endpoint asked and the error's code (a timeout, a refused connection).
std::pair<std::string, std::string> failure_of(const event& e) {
  auto msg = error_message(e.error);
  auto at = msg.find("HTTP ");
  if (at != std::string::npos && at + 8 <= msg.size()) {
    auto status = msg.substr(at + 5, 3);
    auto from = msg.find(" from ", at);
    if (status.find_first_not_of("0123456789") == std::string::npos && from == at + 8) {
      auto url = msg.substr(from + 6);
      url = url.substr(0, url.find(": "));
      return {url.empty() ? e.text : url, status};
    }
  }
  return {e.text, error_code(e.error)};
}

std::string number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

} // namespace

std::string label_value(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

const std::vector<double>& metrics::buckets() {
  static const std::vector<double> b{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                     1,     2.5,  5,     10,   30,  60,   120};
  return b;
}

void metrics::observe(std::map<labels, histogram>& h, const labels& l, double seconds) {
  auto& x = h[l];
  if (x.counts.empty())
    x.counts.assign(buckets().size(), 0);
  for (size_t i = 0; i < buckets().size(); ++i)
    if (seconds <= buckets()[i])
      ++x.counts[i];
  x.sum += seconds;
  ++x.count;
}

void metrics::add(const event& e) {
  std::lock_guard guard{mtx_};
  auto& c = counters_;
  c["events_total"][{{"kind", to_string(e.kind)}}] += 1;
  auto swarm = swarm_of(e.agent);
  auto seconds = std::chrono::duration<double>(e.duration).count();
  switch (e.kind) {
  case event_kind::run_started:
    c["runs_started_total"][{{"swarm", swarm}}] += 1;
    break;
  case event_kind::run_finished:
    c["runs_finished_total"][{{"swarm", swarm}, {"status", e.name}}] += 1;
    break;
  case event_kind::llm_call_finished: {
    labels who{{"swarm", swarm}, {"agent", e.agent.name}, {"model", e.name}};
    auto with = [&](std::string k, std::string v) {
      auto l = who;
      l.emplace_back(std::move(k), std::move(v));
      return l;
    };
    c["llm_calls_total"][with("outcome", e.error ? "error" : "ok")] += 1;
    c["llm_tokens_total"][with("type", "prompt")] += static_cast<double>(e.use.prompt_tokens);
    c["llm_tokens_total"][with("type", "completion")] +=
        static_cast<double>(e.use.completion_tokens);
    if (e.cost_usd > 0)
      c["llm_cost_usd_total"][who] += e.cost_usd;
    if (e.attempts > 1)
      c["llm_retries_total"][{{"swarm", swarm}, {"endpoint", e.text}, {"model", e.name}}] +=
          e.attempts - 1;
    if (e.error) {
      auto [endpoint, status] = failure_of(e);
      c["llm_errors_total"][{{"swarm", swarm}, {"endpoint", endpoint}, {"status", status}}] += 1;
    }
    observe(histograms_["llm_call_duration_seconds"], {{"swarm", swarm}, {"model", e.name}},
            seconds);
    break;
  }
  case event_kind::llm_fallback:
    c["llm_fallbacks_total"][{{"swarm", swarm}}] += 1;
    break;
  case event_kind::tool_call_finished: {
    auto outcome =
        e.error
            ? (is(e.error, errc::approval_rejected) || is(e.error, errc::tool_refused) ? "rejected"
                                                                                       : "error")
            : "ok";
    c["tool_calls_total"]
     [{{"swarm", swarm}, {"agent", e.agent.name}, {"tool", e.name}, {"outcome", outcome}}] += 1;
    observe(histograms_["tool_call_duration_seconds"], {{"swarm", swarm}, {"tool", e.name}},
            seconds);
    break;
  }
  case event_kind::member_restarted:
    c["member_restarts_total"][{{"swarm", swarm}}] += 1;
    break;
  case event_kind::budget_exhausted:
    c["budget_exhausted_total"][{{"swarm", swarm}, {"budget", e.name}}] += 1;
    break;
  case event_kind::approval_waiting:
    c["approvals_total"][{{"swarm", swarm}}] += 1;
    break;
  default:
    break;
  }
}

std::string metrics::render(const scrape_gauges& g) const {
  std::string out;
  auto head = [&](const std::string& name, const char* type, const char* help) {
    out += "# HELP " + (prefix + name) + " " + help + "\n# TYPE " + (prefix + name) + " " + type +
           "\n";
  };
  auto line = [&](const std::string& name, const labels& l, double v) {
    out += prefix + name;
    if (!l.empty()) {
      out += '{';
      for (size_t i = 0; i < l.size(); ++i)
        out += (i ? "," : "") + l[i].first + "=\"" + label_value(l[i].second) + "\"";
      out += '}';
    }
    out += ' ' + number(v) + '\n';
  };
  std::lock_guard guard{mtx_};
  for (const auto& d : folded_docs()) {
    head(d.name, d.type, d.help);
    if (auto i = counters_.find(d.name); i != counters_.end())
      for (const auto& [l, v] : i->second)
        line(d.name, l, v);
  }
  for (const auto* name : {"llm_call_duration_seconds", "tool_call_duration_seconds"}) {
    head(name, "histogram",
         std::string{name}.starts_with("llm") ? "LLM call latency, by swarm and model."
                                              : "Tool call latency, by swarm and tool.");
    auto i = histograms_.find(name);
    if (i == histograms_.end())
      continue;
    for (const auto& [l, h] : i->second) {
      for (size_t b = 0; b < buckets().size(); ++b) {
        auto lb = l;
        lb.emplace_back("le", number(buckets()[b]));
        line(std::string{name} + "_bucket", lb, static_cast<double>(h.counts[b]));
      }
      auto inf = l;
      inf.emplace_back("le", "+Inf");
      line(std::string{name} + "_bucket", inf, static_cast<double>(h.count));
      line(std::string{name} + "_sum", l, h.sum);
      line(std::string{name} + "_count", l, static_cast<double>(h.count));
    }
  }
  auto per_swarm = [&](const char* name, const char* help,
                       const std::vector<std::pair<std::string, size_t>>& xs) {
    head(name, "gauge", help);
    for (const auto& [swarm, n] : xs)
      line(name, {{"swarm", swarm}}, static_cast<double>(n));
  };
  per_swarm("agents", "Agents of each served swarm.", g.agents);
  per_swarm("approvals_pending", "Tool calls waiting for a human, by swarm.", g.approvals_pending);
  std::vector<std::pair<std::string, size_t>> held, waiting, reclaimed;
  for (const auto& [swarm, p] : g.pools) {
    held.emplace_back(swarm, p.held);
    waiting.emplace_back(swarm, p.waiting);
    reclaimed.emplace_back(swarm, p.reclaimed);
  }
  per_swarm("pool_slots_held", "Concurrency slots held by LLM calls in flight, by swarm.", held);
  per_swarm("pool_waiting", "LLM calls waiting for a slot or a rate limit, by swarm.", waiting);
  per_swarm("pool_leases_reclaimed", "Leases that expired unreleased, by swarm.", reclaimed);
  per_swarm("members_alive", "Members (agents and coordinators) answering a health probe.",
            g.alive);
  per_swarm("mailbox_depth", "Messages waiting in the members' mailboxes, summed.",
            g.mailbox_total);
  per_swarm("mailbox_depth_max", "Messages waiting in the fullest member's mailbox.",
            g.mailbox_max);
  const auto& st = g.runtime;
  struct single {
    const char* name;
    const char* type;
    const char* help;
    uint64_t value;
  };
  for (const auto& x : std::initializer_list<single>{
           {"runs_live", "gauge", "Runs going on in this server.", g.runs_live},
           {"llm_requests_total", "counter", "LLM requests the client started.", st.llm_requests},
           {"llm_http_attempts_total", "counter", "HTTP attempts of the LLM client.",
            st.llm_attempts},
           {"llm_http_retries_total", "counter", "HTTP retries of the LLM client.", st.llm_retries},
           {"llm_cancelled_total", "counter", "LLM calls abandoned by their caller.",
            st.llm_cancelled},
           {"llm_connections_opened_total", "counter", "Connections opened to LLM endpoints.",
            st.llm_connections_opened},
           {"llm_in_flight", "gauge", "LLM calls under way.", st.llm_in_flight},
           {"storage_bytes", "gauge", "Bytes of the data directory's database.", st.storage_bytes},
           {"storage_wal_files", "gauge", "Write-ahead log files of the database.", st.wal_files},
           {"storage_wal_bytes", "gauge", "Bytes of the write-ahead log files.", st.wal_bytes},
           {"http_connections", "gauge", "HTTP connections open now.", g.http_connections}}) {
    head(x.name, x.type, x.help);
    line(x.name, {}, static_cast<double>(x.value));
  }
  return out;
}

} // namespace swarm::serve
