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
#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "memory/long_term.hpp"
#include "memory/working.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::cli {

namespace {

using memory::memory_record;

struct memory_args {
  std::string data_dir = "state";
  std::string query;
  std::string ns;
  size_t top_k = 10;
  bool json = false;
  std::string out;
  std::string file;
  std::string id;
  std::string older_than;
  std::string run_id;
};

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Prints "swarm memory SUB: MESSAGE" to stderr and returns `code`.
int fail(const std::string& sub, const std::string& message, exit_code code = exit_failed) {
  std::cerr << "swarm memory " << sub << ": " << message << "\n";
  return static_cast<int>(code);
}

int fail(const std::string& sub, const caf::error& err) {
  auto code = is(err, errc::invalid_argument)    ? exit_usage
              : is(err, errc::data_dir_unusable) ? exit_data_dir
                                                 : exit_failed;
  return fail(sub, describe(err), code);
}

/// Opens the data directory's database; commands that only read open it read-only, so that
/// they work beside a running swarm and never create a store.
caf::expected<std::shared_ptr<memory::database>> open_db(const memory_args& args, bool write) {
  memory::database_options opts;
  opts.read_only = !write;
  opts.create_if_missing = write;
  return memory::database::open(args.data_dir, opts);
}

/// True if a process has the database of `data_dir` open read-write now (holds its lock), or
/// if that cannot be told.
bool database_in_use(const std::string& data_dir) {
  auto holder = memory::database::lock_holder(data_dir);
  return !holder || holder->has_value();
}

/// Runs still "running" in the journal whose process is gone were interrupted: they show so.
/// The lock is checked before the headers were read (`in_use_before`) and after; a run that
/// started or ended in between keeps what its header says.
void mark_interrupted(std::vector<memory::run_record>& runs, const std::string& data_dir,
                      bool in_use_before) {
  bool any = std::any_of(runs.begin(), runs.end(),
                         [](const memory::run_record& r) { return r.status == "running"; });
  if (!any || in_use_before || database_in_use(data_dir))
    return;
  for (auto& r : runs)
    if (r.status == "running")
      r.status = "interrupted";
}

// --- formatting ---------------------------------------------------------------------------------

/// Shortest text that reads back as `x` ("0.5", not Boost.JSON's "5E-1").
std::string number(double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string{buf, res.ptr};
}

/// "2024-05-01T12:00:00Z" for Unix milliseconds; "-" for 0.
std::string iso_time(int64_t ms) {
  if (ms == 0)
    return "-";
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// "1.4 MiB (1468006 bytes)".
std::string size_text(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = static_cast<double>(bytes);
  size_t u = 0;
  while (x >= 1024 && u + 1 < std::size(units)) {
    x /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f %s (%llu bytes)", x, units[u],
                static_cast<unsigned long long>(bytes));
  return buf;
}

/// The first line of `text`, at most `n` characters, with "..." if cut.
std::string excerpt(const std::string& text, size_t n = 80) {
  auto line = text.substr(0, text.find('\n'));
  if (line.size() > n || line.size() < text.size())
    return line.substr(0, n) + "...";
  return line;
}

/// Builds one JSON object on one line, numbers formatted by hand (see `number`).
class json_line {
public:
  json_line& add(std::string_view key, std::string_view value) {
    return raw(key, boost::json::serialize(boost::json::string_view{value.data(), value.size()}));
  }
  json_line& add(std::string_view key, const char* value) {
    return add(key, std::string_view{value});
  }
  json_line& add(std::string_view key, int64_t value) { return raw(key, std::to_string(value)); }
  json_line& add(std::string_view key, uint64_t value) { return raw(key, std::to_string(value)); }
  json_line& add(std::string_view key, double value) { return raw(key, number(value)); }
  json_line& add(std::string_view key, const std::vector<std::string>& values) {
    std::string arr = "[";
    for (size_t i = 0; i < values.size(); ++i)
      arr += (i ? "," : "") +
             boost::json::serialize(boost::json::string_view{values[i].data(), values[i].size()});
    return raw(key, arr + "]");
  }
  json_line& add(std::string_view key, const json_line& object) { return raw(key, object.str()); }

  json_line& raw(std::string_view key, const std::string& json) {
    text_ += text_.empty() ? "{" : ",";
    text_ += boost::json::serialize(boost::json::string_view{key.data(), key.size()});
    text_ += ":";
    text_ += json;
    return *this;
  }

  std::string str() const { return text_.empty() ? "{}" : text_ + "}"; }

private:
  std::string text_;
};

json_line usage_json(const usage& u) {
  json_line j;
  j.add("prompt_tokens", u.prompt_tokens)
      .add("completion_tokens", u.completion_tokens)
      .add("total_tokens", u.total_tokens())
      .add("calls", u.calls);
  return j;
}

json_line record_json(const memory_record& r) {
  json_line j;
  j.add("id", r.id)
      .add("ns", r.ns)
      .add("text", r.text)
      .add("importance", r.importance)
      .add("created", r.created)
      .add("tags", r.tags);
  return j;
}

json_line run_json(const memory::run_record& r) {
  json_line j;
  j.add("run_id", r.run_id)
      .add("swarm", r.swarm)
      .add("status", r.status)
      .add("spec_source", r.spec_source)
      .add("task_id", r.task_id)
      .add("task_text", r.task_text)
      .add("llm_url", r.llm_url)
      .add("model", r.model)
      .add("started_ms", r.started_ms)
      .add("finished_ms", r.finished_ms)
      .add("result_text", r.result_text)
      .add("error", r.error)
      .add("spec_digest", r.spec_digest)
      .add("spec_text", r.spec_text);
  return j;
}

// --- import -------------------------------------------------------------------------------------

/// A record read from one line, or what is wrong with the line.
struct parsed_record {
  memory_record rec;
  std::string error; ///< empty: `rec` is valid
};

/// One exported line back into a record.
parsed_record parse_record(const std::string& line) {
  auto bad = [](const std::string& what) { return parsed_record{{}, what}; };
  boost::system::error_code ec;
  auto value = boost::json::parse(line, ec);
  if (ec)
    return bad("not JSON: " + ec.message());
  auto* obj = value.if_object();
  if (obj == nullptr)
    return bad("not a JSON object");
  memory_record rec;
  rec.created = now_ms();
  for (const auto& [key, v] : *obj) {
    if (key == "id" || key == "ns" || key == "text") {
      if (!v.is_string())
        return bad("\"" + std::string{key} + "\" must be a string");
      auto s = std::string{v.get_string()};
      (key == "id" ? rec.id : key == "ns" ? rec.ns : rec.text) = std::move(s);
    } else if (key == "importance") {
      auto d = v.is_double()   ? std::optional<double>{v.get_double()}
               : v.is_int64()  ? std::optional<double>{static_cast<double>(v.get_int64())}
               : v.is_uint64() ? std::optional<double>{static_cast<double>(v.get_uint64())}
                               : std::nullopt;
      if (!d || !(*d >= 0.0 && *d <= 1.0))
        return bad("\"importance\" must be a number in [0, 1]");
      rec.importance = *d;
    } else if (key == "created") {
      if (v.is_int64())
        rec.created = v.get_int64();
      else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX))
        rec.created = static_cast<int64_t>(v.get_uint64());
      else
        return bad("\"created\" must be an integer (Unix milliseconds)");
    } else if (key == "tags") {
      auto* arr = v.if_array();
      if (arr == nullptr)
        return bad("\"tags\" must be an array of strings");
      for (const auto& t : *arr) {
        if (!t.is_string())
          return bad("\"tags\" must be an array of strings");
        rec.tags.emplace_back(t.get_string());
      }
    } else {
      return bad("unknown field \"" + std::string{key} + "\"");
    }
  }
  if (rec.id.empty())
    return bad("missing or empty \"id\"");
  if (rec.ns.empty())
    return bad("missing or empty \"ns\"");
  if (!obj->contains("text"))
    return bad("missing \"text\"");
  return parsed_record{std::move(rec), {}};
}

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
    auto parsed = parse_record(line);
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

int runs(const memory_args& args) {
  bool in_use = database_in_use(args.data_dir);
  auto db = open_db(args, false);
  if (!db)
    return fail("runs", db.error());
  memory::journal jnl{*db};
  auto all = jnl.runs();
  if (!all)
    return fail("runs", all.error());
  mark_interrupted(*all, args.data_dir, in_use);
  for (const auto& r : *all) {
    if (args.json)
      std::cout << run_json(r).str() << "\n";
    else
      std::cout << r.run_id << "  " << r.status << "  " << iso_time(r.started_ms) << "  " << r.swarm
                << "  " << excerpt(r.task_text, 60) << "\n";
  }
  if (!args.json && all->empty())
    std::cout << "no runs in " << (*db)->path() << "\n";
  return exit_ok;
}

int show_journal(const memory_args& args) {
  bool in_use = database_in_use(args.data_dir);
  auto db = open_db(args, false);
  if (!db)
    return fail("journal", db.error());
  memory::journal jnl{*db};
  auto header = jnl.get_run(args.run_id);
  if (!header)
    return fail("journal", header.error());
  if (*header) {
    std::vector<memory::run_record> one{**header};
    mark_interrupted(one, args.data_dir, in_use);
    (*header)->status = one.front().status;
  }
  auto calls = jnl.calls(args.run_id);
  if (!calls)
    return fail("journal", calls.error());
  auto steps = jnl.steps(args.run_id);
  if (!steps)
    return fail("journal", steps.error());
  if (!*header && calls->empty() && steps->empty())
    return fail("journal", describe(make_error(errc::unknown_run, "no run '" + args.run_id +
                                                                      "' in " + (*db)->path())));
  if (args.json) {
    if (*header)
      std::cout << run_json(**header).raw("type", "\"run\"").str() << "\n";
    for (const auto& c : *calls) {
      json_line j;
      j.add("type", "call")
          .add("key", c.key)
          .add("agent", c.agent)
          .add("task_id", c.task_id)
          .add("step", static_cast<uint64_t>(c.step))
          .add("model", c.model)
          .add("text", c.reply.content)
          .add("finish_reason", c.reply.finish_reason)
          .add("tool_calls", static_cast<uint64_t>(c.reply.tool_calls.size()))
          .add("usage", usage_json(c.reply.use))
          .add("time_ms", c.time_ms);
      std::cout << j.str() << "\n";
    }
    for (const auto& s : *steps) {
      json_line j;
      j.add("type", "step")
          .add("task_id", s.task_id)
          .add("agent", s.agent)
          .add("text", s.text)
          .add("error", s.error)
          .add("usage", usage_json(s.use))
          .add("time_ms", s.time_ms);
      if (s.confidence >= 0)
        j.add("confidence", s.confidence);
      std::cout << j.str() << "\n";
    }
    return exit_ok;
  }
  if (*header) {
    const auto& r = **header;
    std::cout << "run " << r.run_id << ": " << r.status << ", swarm " << r.swarm << ", started "
              << iso_time(r.started_ms) << ", finished " << iso_time(r.finished_ms) << "\n"
              << "  spec: " << r.spec_source << "\n"
              << "  task " << r.task_id << ": " << excerpt(r.task_text) << "\n"
              << "  llm: " << r.llm_url << " model " << r.model << "\n";
    if (!r.error.empty())
      std::cout << "  error: " << r.error << "\n";
    if (!r.result_text.empty())
      std::cout << "  result: " << excerpt(r.result_text) << "\n";
  } else {
    std::cout << "run " << args.run_id << ": no header journaled\n";
  }
  std::cout << "calls: " << calls->size() << "\n";
  for (const auto& c : *calls)
    std::cout << "  " << c.agent << " task " << c.task_id << " step " << c.step << " " << c.model
              << " (" << c.reply.use.prompt_tokens << "+" << c.reply.use.completion_tokens
              << " tokens): " << excerpt(c.reply.content, 60) << "\n";
  std::cout << "steps: " << steps->size() << "\n";
  for (const auto& s : *steps)
    std::cout << "  " << s.agent << " task " << s.task_id << ": "
              << (s.error.empty() ? excerpt(s.text, 60) : "error: " + s.error) << "\n";
  return exit_ok;
}

int show_working(const memory_args& args) {
  auto db = open_db(args, false);
  if (!db)
    return fail("working", db.error());
  memory::working_store store{*db};
  auto notes = store.list(args.run_id);
  if (!notes)
    return fail("working", notes.error());
  for (const auto& n : *notes) {
    if (args.json) {
      json_line j;
      j.add("id", n.id)
          .add("run_id", n.run_id)
          .add("author", n.author.str())
          .add("kind", n.kind)
          .add("text", n.text)
          .add("importance", n.importance)
          .add("time_ms", n.time_ms);
      std::cout << j.str() << "\n";
    } else {
      std::cout << n.id << "  " << n.kind << "  " << n.author.str() << ": " << excerpt(n.text, 80)
                << "\n";
    }
  }
  if (!args.json && notes->empty())
    std::cout << "no working-memory notes for run " << args.run_id << "\n";
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
  auto* jo = with_data_dir(sub->add_subcommand("journal", "one run's header, calls and steps"));
  jo->add_option("run_id", args->run_id, "the run")->required();
  jo->add_flag("--json", args->json, "JSON lines: the run, then each call, then each step");
  auto* wo = with_data_dir(sub->add_subcommand("working", "one run's working-memory notes"));
  wo->add_option("run_id", args->run_id, "the run")->required();
  wo->add_flag("--json", args->json, "one JSON line per note, in write order");
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
      return runs(*args);
    if (name == "working")
      return show_working(*args);
    return show_journal(*args);
  };
}

} // namespace swarm::cli
