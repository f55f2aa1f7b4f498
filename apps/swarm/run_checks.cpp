// `swarm run` around the library's runs (see run_checks.hpp).
#include "apps/swarm/run_checks.hpp"

#include <ctime>
#include <iostream>

#include "apps/swarm/commands.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/events.hpp"

namespace swarm::cli {

namespace {

/// "2024-05-01T12:00:00Z" for Unix milliseconds.
std::string iso_time(int64_t ms) {
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool is_usage(const caf::error& err) {
  return is(err, errc::run_exists) || is(err, errc::unknown_run);
}

} // namespace

int run_exit_code(const caf::error& err, int otherwise) {
  if (is(err, errc::data_dir_unusable))
    return exit_data_dir;
  if (is_usage(err))
    return exit_usage;
  return otherwise;
}

std::string run_error_text(const caf::error& err) {
  // describe() starts with the code: "cancelled: ...", "budget_exhausted: ...".
  bool says_itself =
      is_usage(err) || is(err, errc::data_dir_unusable) || run_status(err) != "failed";
  return (says_itself ? "" : "failed: ") + describe(err);
}

std::string run_next_step(const caf::error& err, const std::string& resume_command) {
  if (!is(err, errc::budget_exhausted))
    return "try again with: " + resume_command;
  // A resumed run keeps its spec (and so its budget): it would be refused again.
  return "the budget was exhausted: raise resources.budget in the spec (or the swarm's or "
         "agent's budget the refusal names) and run the task again; `" +
         resume_command + "` would meet the same budget";
}

caf::error taken_run_id(runtime& rt, const std::string& run_id, const std::string& data_dir) {
  auto known = rt.find_run(run_id);
  if (!known || !*known)
    return {}; // a journal that cannot be read fails the run itself, by name
  const auto& r = **known;
  auto task = r.task_text.substr(0, r.task_text.find('\n'));
  if (task.size() > 60 || task.size() < r.task_text.size())
    task = task.substr(0, 60) + "...";
  return make_error(errc::run_exists,
                    "run '" + run_id + "' is already in the journal of " + data_dir + " (" +
                        r.status + ", task \"" + task +
                        "\"). Continue it with: swarm run --resume " + run_id + " --data-dir " +
                        data_dir +
                        "; or start it anew with --fresh (forgets its journal); or pick another "
                        "--run-id");
}

std::optional<result> finished_run(runtime& rt, const std::string& run_id) {
  auto known = rt.find_run(run_id);
  if (!known || !*known || (*known)->status != "done")
    return std::nullopt;
  std::cerr << "swarm run: run " << run_id << " is already done (finished "
            << iso_time((*known)->finished_ms)
            << "); its stored result follows, nothing was run again\n";
  return std::move((*known)->outcome);
}

} // namespace swarm::cli
