// The fault matrix: every LLM fault the mock injects (docs/mock-llm.md) × every architecture
// family, each cell a small swarm run against the in-process mock with the fault on its second
// chat request. A cell passes when the run ends `done` (a transient fault: retried) or with the
// fault's named error, within bounded time, with every LLM call that succeeded in the journal and
// none sent again on resume. The table of cells is printed (docs/reliability.md quotes it).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "mock_llm/mock_llm_server.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/temp_dir.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

/// One architecture family: a spec whose every call but the plans and routes is free text, and
/// the mock rules those need. Every spec makes at least three chat requests.
struct family {
  std::string name;
  std::string spec; ///< agents and the swarm: section, after the `llm:` line
  std::string rules = {};
};

const std::string three_agents = "agents:\n"
                                 "  - {name: a, system_prompt: You are a.}\n"
                                 "  - {name: b, system_prompt: You are b.}\n"
                                 "  - {name: c, system_prompt: You are c.}\n";

std::vector<family> families() {
  return {
      {"concurrent", three_agents + "swarm: {architecture: concurrent, deadline_ms: 20000}\n"},
      {"sequential", three_agents + "swarm: {architecture: sequential, deadline_ms: 20000}\n"},
      {"hierarchical",
       "agents:\n"
       "  - {name: lead, system_prompt: You are lead.}\n"
       "  - {name: a, system_prompt: You are a., skills: [work]}\n"
       "  - {name: b, system_prompt: You are b., skills: [work]}\n"
       "swarm: {architecture: hierarchical, lead: lead, members: [a, b], max_attempts: 2, "
       "deadline_ms: 20000}\n",
       "  - match: {user: \"^(Plan the task|Your previous plan)\"}\n"
       "    json: {subtasks: [{id: s1, text: one half, skill: work, depends_on: []},\n"
       "                      {id: s2, text: other half, skill: work, depends_on: []}]}\n"},
      {"collaborative (voting)",
       three_agents + "swarm: {architecture: collaborative, decision: majority, normalize: regex, "
                      "pattern: \"VERDICT: (\\\\w+)\", deadline_ms: 20000}\n"},
      {"competitive", three_agents + "swarm: {architecture: competitive, select: first_k, k: 3, "
                                     "deadline_ms: 20000}\n"},
      {"group_chat",
       three_agents + "swarm: {architecture: group_chat, max_turns: 3, deadline_ms: 20000}\n"},
      {"graph", three_agents + "swarm:\n  architecture: graph\n  deadline_ms: 20000\n"
                               "  edges: [{from: a, to: b}, {from: a, to: c}]\n"},
      {"router",
       "agents:\n"
       "  - {name: r, system_prompt: You are r.}\n"
       "  - {name: a, system_prompt: You are a.}\n"
       "  - {name: b, system_prompt: You are b.}\n"
       "swarm: {architecture: router, router: r, members: [a, b], deadline_ms: 20000}\n",
       "  - match: {user: \"^(Choose the one member|Your previous choice)\"}\n"
       "    json: {member: b}\n"},
  };
}

/// What a fault may do to a run.
enum class expect {
  done,     ///< transient: the call is retried and the run ends done
  named,    ///< the call fails with `cause`; the run ends done (the family absorbs a failed
            ///< member) or with an error; either way `cause` is named in the result
  repaired, ///< the reply is repaired: done, and an input_repaired event
};

struct fault {
  std::string name;
  std::string entry; ///< the `faults:` entry (its `nth` is added)
  expect outcome;
  std::string cause = {}; ///< for expect::named: text of the call's error
  bool in_body = true;    ///< the fault is in the reply's body: streaming changes it
  int timeout_ms = 5000;  ///< the spec's llm.timeout_ms: what a stalled call waits
  size_t parallel = 4;    ///< cells run at once (a streamed 64 MiB takes a core for a second)
};

std::vector<fault> faults() {
  return {
      {"429 + Retry-After", "kind: http_429, retry_after_s: 1", expect::done, {}, false},
      {"429, no Retry-After", "kind: http_429, retry_after_s: none", expect::done, {}, false},
      {"500", "kind: http_500", expect::done, {}, false},
      {"503", "kind: http_503", expect::done, {}, false},
      {"reset before reply", "kind: reset", expect::done, {}, false},
      {"reset mid-reply", "kind: reset, midway: true", expect::done},
      {"truncated", "kind: truncate", expect::done},
      // The client has no attempt timeout of its own: a stalled call ends at its timeout_ms.
      {"stall", "kind: stall", expect::named, "no reply from", false, 500},
      {"invalid JSON", "kind: invalid_json", expect::named, "is not JSON"},
      {"null content", "kind: null_content", expect::named, "neither content nor tool calls"},
      {"huge reply (65 MiB)", "kind: huge_reply", expect::named, "larger than 64 MiB", true, 15000,
       2},
      {"invalid UTF-8", "kind: invalid_utf8", expect::repaired},
  };
}

/// True if `err`, or the error of any result in `r`'s trace (at any depth), mentions `text`.
bool names(const result& r, const caf::error& err, const std::string& text) {
  if (err && describe(err).find(text) != std::string::npos)
    return true;
  if (r.error && describe(r.error).find(text) != std::string::npos)
    return true;
  return std::any_of(r.trace.begin(), r.trace.end(),
                     [&](const result& x) { return names(x, {}, text); });
}

/// The number of calls journaled for `run_id`, read with no runtime open; none on an error.
std::optional<size_t> journaled_calls(const runtime_options& opts, const std::string& run_id) {
  auto db = memory::database::open(opts.data_dir);
  if (!db)
    return std::nullopt;
  memory::journal j{*db};
  auto calls = j.calls(run_id);
  if (!calls)
    return std::nullopt;
  return calls->size();
}

/// What one cell did, for the table and the checks.
struct cell {
  std::string problem;          ///< set if the cell could not be run as planned
  std::string outcome;          ///< "done" or the run's error code
  bool named_in_result = false; ///< the fault's cause is named in the result or its trace
  bool named_by_event = false;  ///< ... by the failed call's llm_call_finished event
  int repaired = 0;             ///< input_repaired events
  uint64_t requests = 0;
  size_t journaled = 0;
  bool resumed = false; ///< the run did not end done and was resumed
  std::string resumed_outcome;
  uint64_t resumed_requests = 0;
  size_t journaled_after_resume = 0;
  std::chrono::milliseconds took{0};
};

/// Runs one cell. Uses no Catch2 macro: cells run on several threads at once.
cell run_cell(const family& fam, const fault& f, bool stream) {
  cell out;
  test::temp_dir dir;
  std::string script = "default: {reply: \"VERDICT: yes (answer {{n}})\"}\n";
  if (!fam.rules.empty())
    script += "rules:\n" + fam.rules;
  script += "faults:\n  - {" + f.entry + ", nth: [2]}\n";
  mock_llm::server_options mock_opts;
  mock_opts.script_path = dir.write("mock.yaml", script);
  auto mock = mock_llm::server::start(std::move(mock_opts));
  if (!mock) {
    out.problem = "the mock did not start: " + describe(mock.error());
    return out;
  }
  auto& srv = **mock;
  runtime_options opts;
  opts.data_dir = (dir.path() / "state").string();
  opts.scheduler_threads = 2;
  opts.llm.backoff_base = std::chrono::milliseconds(1);
  opts.llm.backoff_max = std::chrono::milliseconds(5);
  llm_overrides overrides{srv.url(), "mock"};
  auto spec = load_spec_text("name: fm\nllm: {timeout_ms: " + std::to_string(f.timeout_ms) +
                                 (stream ? ", stream: true" : "") + "}\n" + fam.spec,
                             "fm.yaml");
  if (!spec) {
    out.problem = "the spec does not load: " + describe(spec.error());
    return out;
  }
  auto start = std::chrono::steady_clock::now();
  {
    std::atomic<int> repaired{0};
    std::atomic<bool> named_by_event{false}; // a failed call's event names the cause
    runtime rt{opts, overrides};
    auto sub = rt.on_event([&](const event& e) {
      if (e.kind == event_kind::input_repaired)
        ++repaired;
      if (e.kind == event_kind::llm_call_finished && e.error && !f.cause.empty() &&
          describe(e.error).find(f.cause) != std::string::npos)
        named_by_event = true;
    });
    auto team = rt.spawn(*spec);
    if (!team) {
      out.problem = "the swarm did not spawn: " + describe(team.error());
      return out;
    }
    auto res = team->run({"Do the task.", "cell", {}});
    out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start); // the run alone, within its deadline
    out.outcome = res ? (res->error ? error_code(res->error) : "done") : error_code(res.error());
    if (!f.cause.empty())
      out.named_in_result = res ? names(*res, {}, f.cause) : names({}, res.error(), f.cause);
    // Events and the run's result travel apart: the monitor may deliver the faulted call's
    // llm_call_finished or input_repaired after the result. Wait for them, bounded.
    auto told = [&] {
      return f.outcome == expect::repaired ? repaired.load() > 0
                                           : f.cause.empty() || named_by_event.load();
    };
    for (int i = 0; i < 1000 && !told(); ++i) // 10 s at most: a loaded, sanitized build
      std::this_thread::sleep_for(10ms);
    out.repaired = repaired.load();
    out.named_by_event = named_by_event.load();
  }
  out.requests = srv.stats().chat_requests;
  auto journaled = journaled_calls(opts, "cell");
  if (!journaled) {
    out.problem = "the journal cannot be read";
    return out;
  }
  out.journaled = *journaled;
  if (out.outcome == "done")
    return out; // resuming it would only answer its stored result
  // The resumption continues the run, every journaled call answered from the journal; the
  // fault, on request 2, does not fire again.
  {
    runtime rt{opts, overrides};
    auto again = rt.resume("cell");
    out.resumed = true;
    out.resumed_outcome =
        again ? (again->error ? error_code(again->error) : "done") : error_code(again.error());
  }
  out.resumed_requests = srv.stats().chat_requests - out.requests;
  out.journaled_after_resume = journaled_calls(opts, "cell").value_or(0);
  return out;
}

} // namespace

TEST_CASE("fault matrix: each LLM fault in each architecture ends done or named, no call lost") {
  auto fams = families();
  auto fs = faults();
  std::map<std::pair<std::string, std::string>, std::string> table;
  auto began = std::chrono::steady_clock::now();
  size_t cells = 0;
  for (const auto& f : fs) {
    for (bool stream : {false, true}) {
      if (stream && !f.in_body)
        continue; // the fault comes before any body: a stream meets it as a plain reply does
      // One fault's families at once, f.parallel at a time: the cells share nothing.
      std::vector<cell> done(fams.size());
      for (size_t first = 0; first < fams.size(); first += f.parallel) {
        std::vector<std::future<cell>> running;
        for (size_t i = first; i < std::min(first + f.parallel, fams.size()); ++i)
          running.push_back(
              std::async(std::launch::async, run_cell, std::cref(fams[i]), std::cref(f), stream));
        for (size_t i = 0; i < running.size(); ++i)
          done[first + i] = running[i].get();
      }
      for (size_t i = 0; i < fams.size(); ++i) {
        const auto& c = done[i];
        ++cells;
        INFO(f.name << " x " << fams[i].name << (stream ? " (streamed)" : ""));
        INFO("outcome " << c.outcome << ", " << c.requests << " requests, " << c.journaled
                        << " journaled, " << c.took.count() << " ms");
        REQUIRE(c.problem.empty());
        CHECK(c.took < 20s); // each spec's deadline_ms
        CHECK(c.requests >= 2);
        // Every call that succeeded is journaled: all requests but the faulted one (which
        // failed; a retry is another request), or all of them when it was repaired.
        bool faulted_succeeded = f.outcome == expect::repaired && c.repaired > 0;
        CHECK(c.journaled == c.requests - (faulted_succeeded ? 0 : 1));
        if (c.resumed) {
          // It finishes, sending none of the journaled calls again: each new request is a new
          // journal entry.
          CHECK(c.resumed_outcome == "done");
          CHECK(c.journaled_after_resume == c.journaled + c.resumed_requests);
        }
        std::string shown = c.outcome;
        switch (f.outcome) {
        case expect::done:
          CHECK(c.outcome == "done");
          break;
        case expect::named:
          CHECK(c.named_by_event);
          if (c.outcome != "done")
            CHECK(c.named_in_result); // the run's error says why
          else
            shown = c.named_in_result ? "done, failure in trace" : "done";
          break;
        case expect::repaired:
          CHECK(c.outcome == "done");
          CHECK(c.repaired > 0);
          if (c.repaired > 0)
            shown = "done, repaired";
          break;
        }
        if (c.resumed)
          shown += ", resumed " + c.resumed_outcome;
        auto& entry = table[{f.name, fams[i].name}];
        entry += (entry.empty() ? "" : " / ") + shown;
      }
    }
  }
  auto took =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began);
  std::ostringstream md;
  md << "| fault (plain / streamed) |";
  for (const auto& fam : fams)
    md << ' ' << fam.name << " |";
  md << "\n| --- |";
  for (size_t i = 0; i < fams.size(); ++i)
    md << " --- |";
  md << '\n';
  for (const auto& f : fs) {
    md << "| " << f.name << " |";
    for (const auto& fam : fams)
      md << ' ' << table[{f.name, fam.name}] << " |";
    md << '\n';
  }
  std::cout << "fault matrix (" << cells << " cells, " << took.count() << " s):\n"
            << md.str() << std::flush;
}
