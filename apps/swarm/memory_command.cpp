// `swarm memory`: inspect and maintain the memory database of a data directory (stats, search,
// export/import as JSON lines, forget) and read the run journal (runs, journal RUN_ID).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "apps/swarm/commands.hpp"
#include "apps/swarm/memory_cli.hpp"
#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "memory/long_term.hpp"
#include "memory/record_line.hpp"
#include "memory/working.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::cli {

namespace {

using memory::memory_record;
using memory::parse_record_line;

/// "30d", "12h", "15m", "45s", "500ms", "2w" as milliseconds.
std::optional<int64_t> parse_duration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  if (digits == 0 || digits > 12)
    return std::nullopt;
  auto n = std::stoll(text.substr(0, digits));
  auto unit = text.substr(digits);
  int64_t scale = unit == "ms"  ? 1
                  : unit == "s" ? 1000
                  : unit == "m" ? 60'000
                  : unit == "h" ? 3'600'000
                  : unit == "d" ? 86'400'000
                  : unit == "w" ? 604'800'000
                                : 0;
  if (scale == 0)
    return std::nullopt;
  return n * scale;
}

// --- subcommands --------------------------------------------------------------------------------

int stats(const memory_args& args) {
  auto db = open_db(args, false);
  if (!db)
    return fail("stats", db.error());
  memory::long_term_store store{*db};
  memory::journal jnl{*db};
  auto counts = store.namespaces();
  if (!counts)
    return fail("stats", counts.error());
  auto totals = store.stats();
  if (!totals)
    return fail("stats", totals.error());
  auto runs = jnl.runs();
  if (!runs)
    return fail("stats", runs.error());
  auto size = (*db)->disk_usage();
  if (!size)
    return fail("stats", size.error());
  if (args.json) {
    json_line per_ns;
    for (const auto& [ns, n] : *counts)
      per_ns.add(ns, n);
    json_line j;
    j.add("path", (*db)->path())
        .add("records", totals->doc_count)
        .add("tokens", totals->total_length)
        .add("namespaces", per_ns)
        .add("runs", static_cast<uint64_t>(runs->size()))
        .add("disk_bytes", *size);
    std::cout << j.str() << "\n";
    return exit_ok;
  }
  std::cout << "memory database " << (*db)->path() << ": " << size_text(*size) << "\n"
            << "records: " << totals->doc_count << " in " << counts->size() << " namespace"
            << (counts->size() == 1 ? "" : "s") << " (" << totals->total_length
            << " indexed tokens)\n";
  for (const auto& [ns, n] : *counts)
    std::cout << "  " << ns << ": " << n << "\n";
  std::cout << "runs: " << runs->size() << "\n";
  return exit_ok;
}

int search(const memory_args& args) {
  auto db = open_db(args, false);
  if (!db)
    return fail("search", db.error());
  memory::long_term_store store{*db};
  memory::search_options opts;
  if (!args.ns.empty())
    opts.namespaces = {args.ns};
  opts.top_k = args.top_k;
  auto hits = store.search(args.query, opts);
  if (!hits)
    return fail("search", hits.error());
  size_t rank = 0;
  for (const auto& h : *hits) {
    ++rank;
    if (args.json) {
      json_line score;
      score.add("total", h.score.total)
          .add("bm25", h.score.bm25)
          .add("relevance", h.score.relevance)
          .add("recency", h.score.recency)
          .add("importance", h.score.importance);
      auto j = record_json(h.record);
      j.add("rank", static_cast<uint64_t>(rank)).add("score", score);
      std::cout << j.str() << "\n";
      continue;
    }
    char head[160];
    std::snprintf(
        head, sizeof(head), "%zu. %.3f  (relevance %.3f, bm25 %.3f; recency %.3f; importance %.2f)",
        rank, h.score.total, h.score.relevance, h.score.bm25, h.score.recency, h.score.importance);
    std::cout << head << "\n   " << h.record.id << " [" << h.record.ns << "] "
              << excerpt(h.record.text) << "\n";
  }
  if (!args.json && hits->empty())
    std::cout << "no match\n";
  return exit_ok;
}

int export_records(const memory_args& args) {
  auto db = open_db(args, false);
  if (!db)
    return fail("export", db.error());
  memory::long_term_store store{*db};
  auto records = store.all(args.ns.empty() ? std::nullopt : std::optional{args.ns});
  if (!records)
    return fail("export", records.error());
  std::ostringstream text;
  for (const auto& r : *records)
    text << record_json(r).str() << "\n";
  if (args.out.empty()) {
    std::cout << text.str();
    return exit_ok;
  }
  // Write then rename: a reader never sees half an export.
  auto tmp = args.out + ".tmp";
  {
    std::ofstream f{tmp, std::ios::binary | std::ios::trunc};
    f << text.str();
    f.flush();
    if (!f)
      return fail("export", "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), args.out.c_str()) != 0)
    return fail("export", "cannot rename " + tmp + " to " + args.out);
  std::cerr << "exported " << records->size() << " records to " << args.out << "\n";
  return exit_ok;
}

int import_records(const memory_args& args) {
  std::ifstream in{args.file, std::ios::binary};
  if (!in)
    return fail("import", "cannot read " + args.file, exit_usage);
  // Every line is checked before anything is written.
  std::vector<memory_record> records;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    auto parsed = parse_record_line(line, now_ms());
    if (!parsed.error.empty())
      return fail("import",
                  args.file + ":" + std::to_string(number) + ": " + parsed.error +
                      "; nothing imported",
                  exit_usage);
    records.push_back(std::move(parsed.rec));
  }
  if (in.bad())
    return fail("import", "cannot read " + args.file, exit_usage);
  auto db = open_db(args, true);
  if (!db)
    return fail("import", db.error());
  memory::long_term_store store{*db};
  if (auto err = store.put(records))
    return fail("import", err);
  std::cout << "imported " << records.size() << " records from " << args.file << "\n";
  return exit_ok;
}

int forget(const memory_args& args) {
  if (args.id.empty() && args.ns.empty() && args.older_than.empty())
    return fail("forget", "say what to forget: --id ID, --ns NS or --older-than DURATION",
                exit_usage);
  std::optional<int64_t> age;
  if (!args.older_than.empty()) {
    age = parse_duration(args.older_than);
    if (!age)
      return fail("forget",
                  "--older-than '" + args.older_than +
                      "': expected a whole number and a unit ms, s, m, h, d or w (e.g. 30d, 12h)",
                  exit_usage);
  }
  auto db = open_db(args, true);
  if (!db)
    return fail("forget", db.error());
  memory::long_term_store store{*db};
  size_t removed = 0;
  if (!args.id.empty()) {
    auto gone = store.forget(args.id);
    if (!gone)
      return fail("forget", gone.error());
    if (!*gone)
      return fail("forget", "no record '" + args.id + "' in " + (*db)->path());
    removed = 1;
  } else if (age) {
    auto n = store.forget_older_than(args.ns.empty() ? std::nullopt : std::optional{args.ns},
                                     now_ms() - *age);
    if (!n)
      return fail("forget", n.error());
    removed = *n;
  } else {
    auto n = store.forget_namespace(args.ns);
    if (!n)
      return fail("forget", n.error());
    removed = *n;
  }
  std::cout << "forgot " << removed << " record" << (removed == 1 ? "" : "s") << "\n";
  return exit_ok;
}

} // namespace

command add_memory_command(CLI::App& app) {
  auto args = std::make_shared<memory_args>();
  auto* sub = app.add_subcommand("memory", "inspect and maintain the memory of a data directory");
  sub->require_subcommand(1);
  auto with_data_dir = [&](CLI::App* s) {
    s->add_option("--data-dir", args->data_dir, "directory for persistent state")
        ->capture_default_str();
    return s;
  };
  auto* st = with_data_dir(sub->add_subcommand("stats", "records per namespace, runs, disk use"));
  st->add_flag("--json", args->json, "print one JSON object");
  auto* se = with_data_dir(sub->add_subcommand("search", "ranked long-term memories for a query"));
  se->add_option("query", args->query, "the query text")->required();
  se->add_option("--ns", args->ns, "only this namespace");
  se->add_option("--top-k", args->top_k, "at most this many hits")->capture_default_str();
  se->add_flag("--json", args->json, "one JSON line per hit, with the score breakdown");
  auto* ex = with_data_dir(sub->add_subcommand("export", "long-term memories as JSON lines"));
  ex->add_option("--ns", args->ns, "only this namespace");
  ex->add_option("--out", args->out, "write to this file (else standard output)");
  auto* im = with_data_dir(sub->add_subcommand("import", "read JSON lines written by export"));
  im->add_option("file", args->file, "the JSON-lines file")->required();
  auto* fo = with_data_dir(sub->add_subcommand("forget", "remove long-term memories"));
  auto* id = fo->add_option("--id", args->id, "the record with this id");
  fo->add_option("--ns", args->ns, "every record of this namespace (with --older-than: only)");
  fo->add_option("--older-than", args->older_than, "records older than this, e.g. 30d, 12h")
      ->excludes(id);
  auto* ru = with_data_dir(sub->add_subcommand("runs", "the journal's runs, newest first"));
  ru->add_flag("--json", args->json, "one JSON line per run");
  auto* jo = with_data_dir(
      sub->add_subcommand("journal", "one run's header, calls, tool calls and steps"));
  jo->add_option("run_id", args->run_id, "the run")->required();
  jo->add_flag("--follow,-f", args->follow,
               "print the run's calls, tool calls and steps as they are journaled, until the run "
               "ends (read-only, beside the running swarm)");
  jo->add_option("--timeout", args->follow_timeout_s,
                 "with --follow: give up after this many seconds (exit 1); 0: wait for the end")
      ->check(CLI::NonNegativeNumber);
  jo->add_flag("--json", args->json, "JSON lines: the run, then each call, then each step");
  auto* wo = with_data_dir(sub->add_subcommand("working", "one run's working-memory notes"));
  wo->add_option("run_id", args->run_id, "the run")->required();
  wo->add_flag("--json", args->json, "one JSON line per note, in write order");
  auto* ch = with_data_dir(
      sub->add_subcommand("check", "records, runs and damage; exit 3 if anything was lost"));
  ch->add_flag("--json", args->json, "print one JSON object");
  ch->add_flag("--clear", args->clear_damage,
               "after the report, forget the recorded loss reports (opens read-write)");
  id->excludes("--ns");
  return [args, sub] {
    auto* chosen = sub->get_subcommands().front();
    const auto& name = chosen->get_name();
    if (name == "stats")
      return stats(*args);
    if (name == "search")
      return search(*args);
    if (name == "export")
      return export_records(*args);
    if (name == "import")
      return import_records(*args);
    if (name == "forget")
      return forget(*args);
    if (name == "runs")
      return list_runs(*args);
    if (name == "working")
      return show_working(*args);
    if (name == "check")
      return check_store(*args);
    return show_journal(*args);
  };
}

} // namespace swarm::cli
