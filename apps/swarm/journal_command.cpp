// `swarm memory runs`, `swarm memory journal RUN_ID` and `swarm memory working RUN_ID`: what the
// run journal and working memory of a data directory hold.
#include <chrono>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include "apps/swarm/memory_cli.hpp"
#include "memory/working.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::cli {

int list_runs(const memory_args& args) {
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

namespace {

// What the journal holds of one run, read at one moment.
struct journal_view {
  std::optional<memory::run_record> header;
  std::vector<memory::journaled_call> calls;
  std::vector<memory::journaled_tool_call> tools;
  std::vector<memory::journaled_step> steps;

  bool empty() const { return !header && calls.empty() && tools.empty() && steps.empty(); }
};

caf::expected<journal_view> read_journal(const memory_args& args) {
  bool in_use = database_in_use(args.data_dir);
  auto db = open_db(args, false);
  if (!db)
    return std::move(db.error());
  memory::journal jnl{*db};
  journal_view v;
  auto header = jnl.get_run(args.run_id);
  if (!header)
    return std::move(header.error());
  if (*header) {
    std::vector<memory::run_record> one{**header};
    mark_interrupted(one, args.data_dir, in_use);
    v.header = std::move(one.front());
  }
  auto calls = jnl.calls(args.run_id);
  if (!calls)
    return std::move(calls.error());
  auto tools = jnl.tool_calls(args.run_id);
  if (!tools)
    return std::move(tools.error());
  auto steps = jnl.steps(args.run_id);
  if (!steps)
    return std::move(steps.error());
  v.calls = std::move(*calls);
  v.tools = std::move(*tools);
  v.steps = std::move(*steps);
  return v;
}

void print_header(const memory::run_record& r, bool json) {
  if (json) {
    std::cout << run_json(r).raw("type", "\"run\"").str() << "\n";
    return;
  }
  std::cout << "run " << r.run_id << ": " << r.status << ", swarm " << r.swarm << ", started "
            << iso_time(r.started_ms) << ", finished " << iso_time(r.finished_ms) << "\n"
            << "  spec: " << r.spec_source << "\n"
            << "  task " << r.task_id << ": " << excerpt(r.task_text) << "\n"
            << "  llm: " << r.llm_url << " model " << r.model << "\n";
  if (!r.error.empty())
    std::cout << "  error: " << r.error << "\n";
  if (!r.result_text.empty())
    std::cout << "  result: " << excerpt(r.result_text) << "\n";
}

void print_call(const memory::journaled_call& c, bool json) {
  if (json) {
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
    return;
  }
  std::cout << "  call " << c.agent << " task " << c.task_id << " step " << c.step << " " << c.model
            << " (" << c.reply.use.prompt_tokens << "+" << c.reply.use.completion_tokens
            << " tokens): " << excerpt(c.reply.content, 60) << "\n";
}

void print_tool(const memory::journaled_tool_call& t, bool json) {
  auto error = t.reply.error ? describe(t.reply.error) : std::string{};
  if (json) {
    json_line j;
    j.add("type", "tool")
        .add("key", t.key)
        .add("agent", t.agent)
        .add("task_id", t.task_id)
        .add("step", static_cast<uint64_t>(t.step))
        .add("name", t.name)
        .add("arguments", t.arguments)
        .add("decision", t.decision)
        .add("text", t.reply.content)
        .add("error", error)
        .add("time_ms", t.time_ms);
    std::cout << j.str() << "\n";
    return;
  }
  std::cout << "  tool " << t.agent << " task " << t.task_id << " step " << t.step << " " << t.name
            << " " << excerpt(t.arguments, 60)
            << (t.decision.empty() ? "" : " (" + t.decision + " by a human)") << ": "
            << (error.empty() ? excerpt(t.reply.content, 60) : "error: " + error) << "\n";
}

void print_step(const memory::journaled_step& s, bool json) {
  if (json) {
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
    return;
  }
  std::cout << "  step " << s.agent << " task " << s.task_id << ": "
            << (s.error.empty() ? excerpt(s.text, 60) : "error: " + s.error) << "\n";
}

int print_journal(const memory_args& args) {
  auto v = read_journal(args);
  if (!v)
    return fail("journal", v.error());
  if (v->empty())
    return fail("journal",
                make_error(errc::unknown_run, "no run '" + args.run_id + "' in " + args.data_dir));
  if (v->header)
    print_header(*v->header, args.json);
  else if (!args.json)
    std::cout << "run " << args.run_id << ": no header journaled\n";
  if (!args.json)
    std::cout << "calls: " << v->calls.size() << "\n";
  for (const auto& c : v->calls)
    print_call(c, args.json);
  if (!args.json)
    std::cout << "tool calls: " << v->tools.size() << "\n";
  for (const auto& t : v->tools)
    print_tool(t, args.json);
  if (!args.json)
    std::cout << "steps: " << v->steps.size() << "\n";
  for (const auto& s : v->steps)
    print_step(s, args.json);
  return exit_ok;
}

// --follow: the journal read again five times a second (read-only, beside the running swarm);
// each entry is printed once, as it appears, until the run is no longer running (done, failed,
// interrupted...) or `args.follow_timeout_s` passes.
int follow_journal(const memory_args& args) {
  using clock = std::chrono::steady_clock;
  auto deadline = args.follow_timeout_s > 0
                      ? clock::now() + std::chrono::seconds(args.follow_timeout_s)
                      : clock::time_point::max();
  std::set<std::string> seen; // call and tool keys
  size_t steps_seen = 0;
  bool header_seen = false;
  for (;;) {
    auto v = read_journal(args);
    if (!v && !is(v.error(), errc::io_error)) // io_error: no store yet, the run may come
      return fail("journal", v.error());
    if (v) {
      if (v->header && !header_seen) {
        print_header(*v->header, args.json);
        header_seen = true;
      }
      for (const auto& c : v->calls)
        if (seen.insert("c" + c.key).second)
          print_call(c, args.json);
      for (const auto& t : v->tools)
        if (seen.insert("t" + t.key).second)
          print_tool(t, args.json);
      for (; steps_seen < v->steps.size(); ++steps_seen)
        print_step(v->steps[steps_seen], args.json);
      if (v->header && v->header->status != "running") {
        if (args.json)
          std::cout << json_line{}
                           .add("type", "end")
                           .add("status", v->header->status)
                           .add("error", v->header->error)
                           .str()
                    << "\n";
        else
          std::cout << "run " << args.run_id << ": " << v->header->status
                    << (v->header->error.empty() ? "" : ": " + v->header->error) << "\n";
        return exit_ok;
      }
    }
    std::cout << std::flush;
    if (clock::now() >= deadline)
      return fail("journal", "--follow: run '" + args.run_id + "' still not ended after " +
                                 std::to_string(args.follow_timeout_s) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

} // namespace

int show_journal(const memory_args& args) {
  return args.follow ? follow_journal(args) : print_journal(args);
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

} // namespace swarm::cli
