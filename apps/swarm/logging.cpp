// The CLI's spdlog set-up and what it logs of events.
#include "apps/swarm/logging.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "runtime/core/errc.hpp"
#include "runtime/core/event_json.hpp"

namespace swarm::cli {

void add_log_options(CLI::App& sub, log_options& opts) {
  sub.add_flag("-v,--verbose", opts.verbose, "log every event to stderr (--log-level debug)");
  sub.add_option("--log-level", opts.level,
                 "trace, debug, info, warn, error, critical or off (default: off on stderr, "
                 "info with --log-file)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  sub.add_option("--log-file", opts.file, "append the log to this file instead of stderr");
}

caf::error start_logging(const log_options& opts) {
  auto level = opts.level;
  if (level.empty())
    level = opts.verbose ? "debug" : !opts.file.empty() ? "info" : "off";
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    return make_error(errc::invalid_argument, "unknown log level '" + level + "'");
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (!opts.file.empty())
      logger = spdlog::basic_logger_mt("swarm", opts.file);
    else
      logger = spdlog::stderr_logger_mt("swarm");
  } catch (const spdlog::spdlog_ex& e) {
    return make_error(errc::io_error, "cannot open the log file " + opts.file + ": " + e.what());
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(std::move(logger));
  return {};
}

void log_event(const event& e) {
  if (!spdlog::should_log(spdlog::level::info))
    return;
  auto who = e.agent.str();
  switch (e.kind) {
  case event_kind::run_started:
    spdlog::info("run {} started: {} ({} agents)", e.run_id, who, e.total);
    break;
  case event_kind::run_finished:
    spdlog::info("run {} finished: {}{}", e.run_id, e.name,
                 e.error ? " (" + describe(e.error) + ")" : std::string{});
    break;
  case event_kind::member_failed:
    spdlog::warn("run {}: {} failed task {}: {}", e.run_id, who, e.task_id, describe(e.error));
    break;
  case event_kind::llm_call_finished:
    if (e.error)
      spdlog::warn("run {}: LLM call of {} failed after {} attempts: {}", e.run_id, who, e.attempts,
                   describe(e.error));
    else if (e.attempts > 1)
      spdlog::info("run {}: LLM call of {} took {} attempts", e.run_id, who, e.attempts);
    break;
  case event_kind::tool_call_finished:
    if (e.error)
      spdlog::warn("run {}: tool {} of {} failed: {}", e.run_id, e.name, who, describe(e.error));
    break;
  case event_kind::budget_warning:
    spdlog::warn("run {}: budget warning: {}", e.run_id, e.text);
    break;
  case event_kind::budget_exhausted:
    spdlog::warn("run {}: budget exhausted for {}: {}", e.run_id, who, describe(e.error));
    break;
  case event_kind::decision_made:
    spdlog::info("run {}: {} decided: {}", e.run_id, who, decision_line(e));
    break;
  default:
    break;
  }
  spdlog::debug("event {}", to_json_line(e));
}

} // namespace swarm::cli
