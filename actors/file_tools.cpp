// The file tools (read_file, write_file, list_files): paths are resolved one name at a time
// with O_NOFOLLOW below the run's workspace, so neither '..' nor a symbolic link leads outside.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "actors/detail/builtin_tool_impl.hpp"
#include "actors/sandbox.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::actors::detail {

namespace json = boost::json;

namespace {

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

} // namespace

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

} // namespace swarm::actors::detail
