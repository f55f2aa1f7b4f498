// Built-in tools: argument parsing (Boost.JSON), the program tools on top of the sandbox, file
// tools that resolve paths one name at a time with O_NOFOLLOW below the workspace, and http_get
// on net/'s HTTP client.
#include "actors/builtin_tools.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <boost/json.hpp>

#include "actors/sandbox.hpp"
#include "net/http_fetch.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::actors {

namespace json = boost::json;

namespace {

// -- specs ------------------------------------------------------------------------------------

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

// -- arguments --------------------------------------------------------------------------------

std::string excerpt(std::string_view s, size_t n = 200) {
  return s.size() <= n ? std::string{s} : std::string{s.substr(0, n)} + "...";
}

caf::error failed(const std::string& tool, const std::string& what) {
  return make_error(errc::tool_failed, tool + ": " + what);
}

caf::expected<json::object> parse_arguments(const std::string& tool, const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text.empty() ? std::string_view{"{}"} : std::string_view{text}, ec);
  if (ec)
    return failed(tool, "the arguments are not valid JSON (" + ec.message() +
                            "); send one JSON object, got: " + excerpt(text));
  if (!v.is_object())
    return failed(tool, "the arguments must be a JSON object, got: " + excerpt(text));
  return std::move(v.as_object());
}

const char* kind_of(const json::value& v) {
  switch (v.kind()) {
  case json::kind::null:
    return "null";
  case json::kind::bool_:
    return "a boolean";
  case json::kind::int64:
  case json::kind::uint64:
  case json::kind::double_:
    return "a number";
  case json::kind::string:
    return "a string";
  case json::kind::array:
    return "an array";
  case json::kind::object:
    return "an object";
  }
  return "a value";
}

// A string argument; `fallback` set: optional with that default.
caf::expected<std::string> string_arg(const json::object& args, const std::string& tool,
                                      const char* key,
                                      std::optional<std::string> fallback = std::nullopt) {
  auto i = args.find(key);
  if (i == args.end()) {
    if (fallback)
      return *fallback;
    return failed(tool, std::string{"missing argument '"} + key + "' (a string)");
  }
  if (!i->value().is_string())
    return failed(tool, std::string{"argument '"} + key + "' must be a string, got " +
                            kind_of(i->value()));
  return std::string{i->value().as_string()};
}

// -- programs ---------------------------------------------------------------------------------

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

// -- files ------------------------------------------------------------------------------------

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

class unique_fd {
public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  unique_fd(unique_fd&& x) noexcept : fd_(std::exchange(x.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& x) noexcept {
    std::swap(fd_, x.fd_);
    return *this;
  }
  ~unique_fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

// A path relative to the workspace, split into names; absolute paths and ".." are refused.
caf::expected<std::vector<std::string>> split_path(const std::string& tool,
                                                   const std::string& path) {
  if (path.find('\0') != std::string::npos)
    return failed(tool, "the path contains a NUL byte");
  if (!path.empty() && path.front() == '/')
    return failed(tool, "'" + path +
                            "' is absolute; paths are relative to the workspace (e.g. notes.txt)");
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    auto name = path.substr(start, end - start);
    if (name == "..")
      return failed(tool, "'" + path + "' leaves the workspace ('..' is not allowed)");
    if (!name.empty() && name != ".")
      names.push_back(std::move(name));
    start = end + 1;
  }
  return names;
}

std::string joined(const std::vector<std::string>& names, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += (i ? "/" : "") + names[i];
  return out.empty() ? "." : out;
}

// Why opening `name` under `dir` with O_NOFOLLOW failed, for the model.
caf::error open_failure(const std::string& tool, int dir, const std::string& name,
                        const std::string& shown, int err) {
  struct stat st;
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    return failed(tool, "'" + shown + "' is a symbolic link; file tools do not follow links");
  if (err == ENOENT)
    return failed(tool, "'" + shown + "' does not exist (list_files shows what does)");
  if (err == ENOTDIR)
    return failed(tool, "'" + shown + "' is not a directory");
  return failed(tool, "cannot open '" + shown + "': " + errno_text(err));
}

// Opens the directory made of the first `n` names under the workspace, one name at a time
// with O_NOFOLLOW, so neither '..' nor a symbolic link can lead outside; `create` makes
// missing directories (handed to the sandbox user).
caf::expected<unique_fd> open_dir(const tool_context& ctx, const std::vector<std::string>& names,
                                  size_t n, bool create) {
  const auto& tool = ctx.decl.name;
  unique_fd cur{::open(ctx.workspace.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (cur.get() < 0)
    return make_error(errc::tool_failed,
                      tool + ": the run's workspace cannot be opened: " + errno_text(errno));
  for (size_t i = 0; i < n; ++i) {
    const auto& name = names[i];
    constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(cur.get(), name.c_str(), flags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
        return failed(tool, "cannot create directory '" + joined(names, i + 1) +
                                "': " + errno_text(errno));
      fd = ::openat(cur.get(), name.c_str(), flags);
      hand_to_sandbox(fd);
    }
    if (fd < 0)
      return open_failure(tool, cur.get(), name, joined(names, i + 1), errno);
    cur = unique_fd{fd};
  }
  return cur;
}

caf::expected<std::string> read_file_tool(const tool_context& ctx, const json::object& args) {
  const auto& tool = ctx.decl.name;
  auto path = string_arg(args, tool, "path");
  if (!path)
    return std::move(path.error());
  auto names = split_path(tool, *path);
  if (!names)
    return std::move(names.error());
  if (names->empty())
    return failed(tool, "'" + *path + "' is the workspace itself; name a file in it");
  auto dir = open_dir(ctx, *names, names->size() - 1, false);
  if (!dir)
    return std::move(dir.error());
  unique_fd fd{
      ::openat(dir->get(), names->back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (fd.get() < 0)
    return open_failure(tool, dir->get(), names->back(), *path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return failed(tool, "'" + *path + "' is not a regular file");
  const size_t cap = ctx.decl.sandbox.max_output_kb * 1024;
  std::string text(std::min<size_t>(static_cast<size_t>(st.st_size), cap), '\0');
  size_t got = 0;
  while (got < text.size()) {
    auto n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  if (text.find('\0') != std::string::npos)
    return failed(tool, "'" + *path + "' is binary (it has NUL bytes); read_file returns text");
  if (static_cast<uint64_t>(st.st_size) > got)
    text += "\n[... file is " + std::to_string(st.st_size) + " bytes; only the first " +
            std::to_string(got) + " are shown]\n";
  return text;
}

caf::expected<std::string> write_file_tool(const tool_context& ctx, const json::object& args) {
  const auto& tool = ctx.decl.name;
  auto path = string_arg(args, tool, "path");
  if (!path)
    return std::move(path.error());
  auto content = string_arg(args, tool, "content");
  if (!content)
    return std::move(content.error());
  auto names = split_path(tool, *path);
  if (!names)
    return std::move(names.error());
  if (names->empty())
    return failed(tool, "'" + *path + "' is the workspace itself; name a file in it");
  const uint64_t max_file = ctx.decl.sandbox.max_file_mb << 20;
  if (max_file > 0 && content->size() > max_file)
    return failed(tool, "content is " + std::to_string(content->size()) + " bytes, at most " +
                            std::to_string(max_file) + " per file");
  if (ctx.workspace_mb > 0) {
    auto used = measure_workspace(ctx.workspace);
    if (used.bytes + content->size() > (ctx.workspace_mb << 20))
      return failed(tool, "the workspace would grow past its " + std::to_string(ctx.workspace_mb) +
                              " MiB quota (" + std::to_string(used.bytes >> 20) +
                              " MiB used); delete files first");
  }
  auto dir = open_dir(ctx, *names, names->size() - 1, true);
  if (!dir)
    return std::move(dir.error());
  unique_fd fd{::openat(dir->get(), names->back().c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644)};
  if (fd.get() < 0)
    return open_failure(tool, dir->get(), names->back(), *path, errno);
  hand_to_sandbox(fd.get());
  size_t done = 0;
  while (done < content->size()) {
    auto n = ::write(fd.get(), content->data() + done, content->size() - done);
    if (n <= 0)
      return failed(tool, "writing '" + *path + "' failed: " + errno_text(errno));
    done += static_cast<size_t>(n);
  }
  return "wrote " + std::to_string(done) + " bytes to " + joined(*names, names->size());
}

caf::expected<std::string> list_files_tool(const tool_context& ctx, const json::object& args) {
  constexpr size_t max_entries = 1000;
  const auto& tool = ctx.decl.name;
  auto path = string_arg(args, tool, "path", std::string{"."});
  if (!path)
    return std::move(path.error());
  auto names = split_path(tool, *path);
  if (!names)
    return std::move(names.error());
  auto dir = open_dir(ctx, *names, names->size(), false);
  if (!dir)
    return std::move(dir.error());
  DIR* d = ::fdopendir(dir->get());
  if (d == nullptr)
    return failed(tool, "cannot list '" + *path + "': " + errno_text(errno));
  dir->release(); // closedir closes it
  std::vector<std::string> lines;
  size_t total = 0;
  while (auto* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
      continue;
    if (++total > max_entries)
      continue;
    struct stat st;
    std::string line = e->d_name;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode))
        line += "/";
      else if (S_ISLNK(st.st_mode))
        line += " (symbolic link)";
      else
        line += " (" + std::to_string(st.st_size) + " bytes)";
    }
    lines.push_back(std::move(line));
  }
  ::closedir(d);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& line : lines)
    out += line + "\n";
  if (total > max_entries)
    out += "[... " + std::to_string(total - max_entries) + " more entries not shown]\n";
  return out.empty() ? std::string{"(empty directory)\n"} : out;
}

// -- http_get ---------------------------------------------------------------------------------

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct parsed_url {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

caf::expected<parsed_url> parse_url(const std::string& tool, const std::string& url) {
  const std::string scheme = "http://";
  if (lower(url.substr(0, scheme.size())) != scheme)
    return failed(tool, "'" + excerpt(url) + "' is not an http:// URL (only http:// is supported)");
  auto rest = url.substr(scheme.size());
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  parsed_url out;
  if (end != std::string::npos) {
    out.target = rest.substr(end);
    if (out.target.front() != '/')
      out.target = "/" + out.target;
    if (auto hash = out.target.find('#'); hash != std::string::npos)
      out.target.resize(hash);
  }
  if (authority.find('@') != std::string::npos || authority.find('[') != std::string::npos)
    return failed(tool, "'" + excerpt(url) + "': user info and IPv6 literals are not supported");
  if (auto colon = authority.find(':'); colon != std::string::npos) {
    out.port = authority.substr(colon + 1);
    authority.resize(colon);
    if (out.port.empty() || out.port.size() > 5 ||
        out.port.find_first_not_of("0123456789") != std::string::npos)
      return failed(tool, "'" + excerpt(url) + "' has a bad port");
  }
  out.host = lower(authority);
  if (out.host.empty())
    return failed(tool, "'" + excerpt(url) + "' has no host");
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= ' ')
      return failed(tool, "'" + excerpt(url) + "' has spaces or control characters");
  return out;
}

bool host_allowed(const tool_decl& decl, const parsed_url& u) {
  for (const auto& allowed : decl.allow_hosts) {
    auto a = lower(allowed);
    if (a == u.host || a == u.host + ":" + u.port)
      return true;
  }
  return false;
}

caf::expected<std::string> http_get_tool(const tool_context& ctx, const json::object& args) {
  const auto& tool = ctx.decl.name;
  auto url = string_arg(args, tool, "url");
  if (!url)
    return std::move(url.error());
  auto u = parse_url(tool, *url);
  if (!u)
    return std::move(u.error());
  if (!host_allowed(ctx.decl, *u))
    return make_error(errc::tool_refused,
                      tool + ": host '" + u->host + "' is not in this tool's allow_hosts" +
                          (ctx.decl.allow_hosts.empty() ? " (none are allowed)" : ""));
  net::http_fetch_request req;
  req.host = u->host;
  req.port = u->port;
  req.target = u->target;
  req.timeout = ctx.decl.sandbox.timeout;
  req.body_cap = ctx.decl.sandbox.max_output_kb * 1024;
  auto res = net::http_fetch(req);
  if (!res)
    return make_error(static_cast<errc>(res.error().code()),
                      tool + ": " + error_message(res.error()));
  auto body = std::move(res->body);
  if (res->cut)
    body += "\n[... body cut at " + std::to_string(ctx.decl.sandbox.max_output_kb) + " KiB]\n";
  if (res->status >= 400)
    return failed(tool, res->status_line + " from " + *url + "\n" + excerpt(body, 2000));
  // Redirects are not followed (the target may be outside allow_hosts): the model sees where.
  auto location = res->location.empty() || res->status < 300 || res->status >= 400
                      ? std::string{}
                      : "\nLocation: " + res->location;
  return res->status_line + location + "\n\n" + body;
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
