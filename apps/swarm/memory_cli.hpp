// What the `swarm memory` subcommands share: their arguments, opening the data directory,
// reporting failures, and formatting records, runs and usage as text or JSON lines.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <caf/expected.hpp>

#include "apps/swarm/commands.hpp"
#include "memory/database.hpp"
#include "memory/journal.hpp"
#include "memory/record.hpp"

namespace swarm::cli {

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
  bool follow = false;          ///< journal --follow
  int64_t follow_timeout_s = 0; ///< journal --follow --timeout; 0: until the run ends
  bool clear_damage = false;    ///< check --clear
  /// open_db has printed the damage warnings (journal --follow opens the store again and again).
  mutable bool damage_warned = false;
};

int64_t now_ms();

/// Prints "swarm memory SUB: MESSAGE" to stderr and returns `code`.
int fail(const std::string& sub, const std::string& message, exit_code code = exit_failed);

/// The same for `err`, with the exit code its kind asks for.
int fail(const std::string& sub, const caf::error& err);

/// Opens the data directory's database; commands that only read open it read-only, so that
/// they work beside a running swarm and never create a store. The first open of a command prints
/// what it found damaged or lost (`warn_damage`).
caf::expected<std::shared_ptr<memory::database>> open_db(const memory_args& args, bool write);

/// True if a process has the database of `data_dir` open read-write now (holds its lock), or
/// if that cannot be told.
bool database_in_use(const std::string& data_dir);

/// Runs still "running" in the journal whose process is gone were interrupted: they show so.
/// The lock is checked before the headers were read (`in_use_before`) and after; a run that
/// started or ended in between keeps what its header says.
void mark_interrupted(std::vector<memory::run_record>& runs, const std::string& data_dir,
                      bool in_use_before);

/// Shortest text that reads back as `x` ("0.5", not Boost.JSON's "5E-1").
std::string number(double x);

/// "2024-05-01T12:00:00Z" for Unix milliseconds; "-" for 0.
std::string iso_time(int64_t ms);

/// "1.4 MiB (1468006 bytes)".
std::string size_text(uint64_t bytes);

/// The first line of `text`, at most `n` characters, with "..." if cut.
std::string excerpt(const std::string& text, size_t n = 80);

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

json_line usage_json(const usage& u);
json_line record_json(const memory::memory_record& r);
json_line run_json(const memory::run_record& r);

/// `swarm memory check [--json] [--clear]` (memory_check.cpp): exit 3 when the store is damaged
/// or lost data (now, or at an earlier read-write open), else 0.
int check_store(const memory_args& args);

/// Prints to stderr what opening `db` found damaged and whether loss reports are recorded.
void warn_damage(const memory::database& db, const std::string& data_dir);

/// `swarm memory runs`, `journal RUN_ID [--follow]` and `working RUN_ID` (journal_command.cpp).
int list_runs(const memory_args& args);
int show_journal(const memory_args& args);
int show_working(const memory_args& args);

} // namespace swarm::cli
