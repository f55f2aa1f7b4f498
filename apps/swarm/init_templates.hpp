// The starting points `swarm init` writes: a commented spec and its mock script per architecture.
#pragma once

#include <string_view>

namespace swarm::cli {

/// One architecture's template. In `spec` and `mock`, @NAME@ stands for the spec's name and
/// @FILE@ for the path the files are written to, without extension.
struct init_template {
  std::string_view architecture;
  std::string_view task; ///< a task to try it with
  std::string_view spec; ///< after the header `swarm init` writes
  std::string_view mock;
};

/// The template of `architecture`, or nullptr.
const init_template* find_init_template(std::string_view architecture);

} // namespace swarm::cli
