// One line of a memory export (`swarm memory export` writes them, `swarm memory import` reads
// them) decoded into a memory_record: the pure part of the import, callable without a database.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "memory/record.hpp"

namespace swarm::memory {

/// A record read from one line, or what is wrong with the line.
struct parsed_record {
  memory_record rec;
  std::string error; ///< empty: `rec` is valid
};

/// One exported line back into a record: a JSON object with the strings "id" and "ns" (both
/// non-empty), "text", and optionally "importance" (a number in [0, 1]), "created" (Unix
/// milliseconds; `now_ms` when absent) and "tags" (strings). Any other field is an error.
parsed_record parse_record_line(std::string_view line, int64_t now_ms);

} // namespace swarm::memory
