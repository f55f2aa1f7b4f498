// The built-in tools' table (names, descriptions, JSON schemas of their arguments) and run_tool,
// which parses the model's arguments and hands them to the tool's file: tool_arguments.cpp,
// program_tools.cpp, file_tools.cpp, http_get_tool.cpp.
#include "actors/builtin_tools.hpp"

#include <utility>

#include "actors/detail/builtin_tool_impl.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::actors {

namespace {

struct builtin {
  const char* name;
  const char* description;
  const char* parameters;
};

const builtin builtins[] = {
    {"shell",
     "Run a shell command line (sh -c) in a sandbox. The run's workspace is the working "
     "directory (/workspace) and, with /tmp, the only writable place; no network unless the "
     "tool is granted it. Returns stdout; on a non-zero exit the call fails with the exit code, "
     "stdout and stderr.",
     R"({"type":"object","properties":{"command":{"type":"string","description":"the command line, run by sh -c"}},"required":["command"],"additionalProperties":false})"},
    {"python",
     "Run Python 3 code in the same sandbox as shell (working directory: the run's workspace). "
     "print() what you want to see; returns stdout, or fails with the exit code and the "
     "traceback.",
     R"({"type":"object","properties":{"code":{"type":"string","description":"a Python 3 program"}},"required":["code"],"additionalProperties":false})"},
    {"read_file",
     "Read a text file of the run's workspace. The path is relative to the workspace; '..' "
     "and symbolic links are refused. Long files are cut.",
     R"({"type":"object","properties":{"path":{"type":"string","description":"relative path, e.g. notes/plan.md"}},"required":["path"],"additionalProperties":false})"},
    {"write_file",
     "Create or replace a file of the run's workspace with the given content; missing parent "
     "directories are created. The path is relative to the workspace.",
     R"({"type":"object","properties":{"path":{"type":"string","description":"relative path, e.g. notes/plan.md"},"content":{"type":"string","description":"the whole new content"}},"required":["path","content"],"additionalProperties":false})"},
    {"list_files",
     "List a directory of the run's workspace (default: its top): directories end with '/', "
     "files show their size.",
     R"({"type":"object","properties":{"path":{"type":"string","description":"relative directory path; default: the workspace itself"}},"additionalProperties":false})"},
    {"http_get",
     "Fetch an http:// URL with GET. Only hosts the tool allows can be fetched. Returns the "
     "status line and the body (long bodies are cut). Redirects are not followed: the "
     "answer shows their Location.",
     R"({"type":"object","properties":{"url":{"type":"string","description":"http://host[:port]/path"}},"required":["url"],"additionalProperties":false})"},
    {"memory_search",
     "Search the swarm's long-term and working memory for notes relevant to a query.",
     R"({"type":"object","properties":{"query":{"type":"string"},"k":{"type":"integer","minimum":1,"maximum":50,"description":"how many notes; default 5"}},"required":["query"],"additionalProperties":false})"},
    {"memory_write",
     "Store a note in the swarm's memory so later tasks (and other agents) can find it.",
     R"({"type":"object","properties":{"text":{"type":"string"},"importance":{"type":"number","minimum":0,"maximum":1,"description":"default 0.5"}},"required":["text"],"additionalProperties":false})"},
    {"delegate", "Ask another agent of the swarm, by name, to do a task; returns its answer.",
     R"({"type":"object","properties":{"agent":{"type":"string","description":"the agent's name"},"task":{"type":"string","description":"what it should do"}},"required":["agent","task"],"additionalProperties":false})"},
};

const builtin* find_builtin(std::string_view name) {
  for (const auto& b : builtins)
    if (name == b.name)
      return &b;
  return nullptr;
}

} // namespace

const std::vector<std::string>& builtin_tool_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& b : builtins)
      out.emplace_back(b.name);
    return out;
  }();
  return names;
}

bool is_builtin_tool(std::string_view name) {
  return find_builtin(name) != nullptr;
}

std::optional<tool_spec> builtin_tool_spec(std::string_view name) {
  if (auto* b = find_builtin(name))
    return tool_spec{b->name, b->description, b->parameters};
  return std::nullopt;
}

tool_spec spec_of(const tool_decl& decl) {
  if (auto spec = builtin_tool_spec(decl.name)) {
    if (!decl.description.empty())
      spec->description = decl.description;
    return *spec;
  }
  return tool_spec{decl.name, decl.description,
                   decl.parameters.empty() ? std::string{R"({"type":"object"})"} : decl.parameters};
}

caf::expected<std::string> run_tool(const tool_context& ctx, const std::string& arguments) {
  const auto& name = ctx.decl.name;
  using namespace detail;
  auto args = parse_arguments(name, arguments);
  if (!args)
    return std::move(args.error());
  if (name == "shell")
    return shell_tool(ctx, *args);
  if (name == "python")
    return python_tool(ctx, *args);
  if (name == "read_file")
    return read_file_tool(ctx, *args);
  if (name == "write_file")
    return write_file_tool(ctx, *args);
  if (name == "list_files")
    return list_files_tool(ctx, *args);
  if (name == "http_get")
    return http_get_tool(ctx, *args);
  if (name == "memory_search" || name == "memory_write" || name == "delegate")
    return make_error(errc::tool_unavailable,
                      name + " is not connected in this runtime (no memory or directory given "
                             "to the tool runner)");
  return custom_tool(ctx, *args);
}

} // namespace swarm::actors
