// The program tools (shell, python, custom commands): each runs one program in the sandbox and
// tells the model its output, its exit code, or why it was stopped.
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "actors/detail/builtin_tool_impl.hpp"
#include "actors/sandbox.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::actors::detail {

namespace json = boost::json;

namespace {

std::string cut_note(const char* stream, const sandbox_result& r, uint64_t cap_kb) {
  std::string note = std::string{"\n[... "} + stream + " cut at " + std::to_string(cap_kb) + " KiB";
  if (r.output_overflow)
    note += "; the program was killed for writing far more";
  return note + "]\n";
}

// What the model sees of a program's run. A program killed for its output says so first: its
// exit code (137, SIGKILL) alone would not tell why.
std::string describe_run(const sandbox_result& r, uint64_t cap_kb, bool full) {
  if (r.output_overflow)
    return "stopped: its output passed the cap of " + std::to_string(r.output_limit) +
           " bytes (16 times max_output_kb, at least 1 MiB), so the sandbox killed it; the first " +
           std::to_string(cap_kb) + " KiB of each stream follow\nstdout:\n" + r.out +
           "\nstderr:\n" + r.err;
  std::string out = r.out;
  if (r.out_truncated)
    out += cut_note("stdout", r, cap_kb);
  if (!full && r.err.empty())
    return out;
  std::string err = r.err;
  if (r.err_truncated)
    err += cut_note("stderr", r, cap_kb);
  return "exit code " + std::to_string(r.exit_code) + "\nstdout:\n" + out + "\nstderr:\n" + err;
}

caf::expected<std::string> run_program(const tool_context& ctx, std::vector<std::string> argv,
                                       std::string stdin_text) {
  sandbox_request req;
  req.argv = std::move(argv);
  req.stdin_text = std::move(stdin_text);
  req.workspace = ctx.workspace;
  req.limits = ctx.decl.sandbox;
  req.workspace_mb = ctx.workspace_mb;
  req.bwrap = ctx.bwrap;
  auto res = run_sandboxed(req);
  if (!res) {
    if (is(res.error(), errc::invalid_argument))
      return failed(ctx.decl.name, describe(res.error()));
    return std::move(res.error());
  }
  auto cap_kb = ctx.decl.sandbox.max_output_kb;
  if (res->exit_code != 0)
    return failed(ctx.decl.name, describe_run(*res, cap_kb, true));
  return describe_run(*res, cap_kb, false);
}

} // namespace

caf::expected<std::string> shell_tool(const tool_context& ctx, const json::object& args) {
  auto command = string_arg(args, ctx.decl.name, "command");
  if (!command)
    return std::move(command.error());
  return run_program(ctx, {"sh", "-c", std::move(*command)}, {});
}

caf::expected<std::string> python_tool(const tool_context& ctx, const json::object& args) {
  constexpr size_t max_code = 100'000; // one argv string may hold at most 128 KiB
  auto code = string_arg(args, ctx.decl.name, "code");
  if (!code)
    return std::move(code.error());
  if (code->size() > max_code)
    return failed(ctx.decl.name, "code is " + std::to_string(code->size()) +
                                     " bytes, at most 100000: write it to a file with "
                                     "write_file and run it with shell (python3 file.py)");
  return run_program(ctx, {"python3", "-c", std::move(*code)}, {});
}

caf::expected<std::string> custom_tool(const tool_context& ctx, const json::object& args) {
  if (ctx.decl.command.empty())
    return make_error(errc::tool_unavailable,
                      ctx.decl.name + ": the tool declares no command to run");
  return run_program(ctx, ctx.decl.command, json::serialize(args));
}

} // namespace swarm::actors::detail
