// Where `swarm run` gets its task: --task TEXT, --task - (standard input) or --task-file FILE.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "apps/swarm/commands.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::cli {

namespace {

// Larger tasks are refused rather than read into memory (a task is one prompt).
constexpr size_t max_task_bytes = 16 * 1024 * 1024;

caf::expected<std::string> read_all(std::istream& in, const std::string& what) {
  std::string out;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    out.append(buffer, static_cast<size_t>(in.gcount()));
    if (out.size() > max_task_bytes)
      return make_error(errc::invalid_argument, what + " is larger than 16 MiB");
  }
  if (in.bad())
    return make_error(errc::io_error, "cannot read " + what);
  return out;
}

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

} // namespace

caf::expected<std::string> read_task(const std::string& task, const std::string& task_file) {
  caf::expected<std::string> text{task};
  std::string what = "--task";
  if (!task_file.empty()) {
    what = "--task-file '" + task_file + "'";
    std::ifstream in{task_file, std::ios::binary};
    if (!in)
      return make_error(errc::io_error,
                        "cannot read --task-file '" + task_file + "': " + std::strerror(errno));
    text = read_all(in, what);
  } else if (task == "-") {
    what = "--task - (standard input)";
    text = read_all(std::cin, what);
  }
  if (!text)
    return text;
  if (blank(*text))
    return make_error(errc::invalid_argument, "the task is empty (" + what + ")");
  // A file or a pipe usually ends with a newline that is not part of the task.
  if (what != "--task")
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r'))
      text->pop_back();
  return text;
}

} // namespace swarm::cli
