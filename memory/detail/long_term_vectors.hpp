// Internal: the `vectors` column family of the long-term memory (its generation key, one stored
// vector), for long_term_vectors.cpp and long_term_actor.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "memory/database.hpp"

namespace swarm::memory::detail {

/// The key of the generation in the `vectors` column family: the empty key, never a record id.
inline constexpr std::string_view generation_key = "";

/// The generation `g` as stored under `generation_key`: u64 little endian.
std::string generation_bytes(uint64_t g);

/// Reads the stored vector of `id`; none if it has none.
caf::expected<std::optional<std::vector<float>>> read_vector(const database& db,
                                                             const std::string& id);

} // namespace swarm::memory::detail
