// What `swarm` says about itself: its version, and the nearest command to a mistyped one.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/config.hpp>

#include "apps/swarm/commands.hpp"

#ifndef SWARM_VERSION
#error "SWARM_VERSION (the CMake project version) must be defined by apps/swarm/CMakeLists.txt"
#endif

namespace swarm::cli {

namespace {

// Levenshtein distance of two short words.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The named subcommands of `app`, in registration order (option groups have no name).
std::vector<const CLI::App*> named_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
}

} // namespace

std::string version_text() {
  return std::string{"swarm "} + SWARM_VERSION + " (CAF " + std::to_string(CAF_MAJOR_VERSION) +
         "." + std::to_string(CAF_MINOR_VERSION) + "." + std::to_string(CAF_PATCH_VERSION) + ")";
}

std::string unknown_command(const CLI::App& app, int argc, const char* const* argv) {
  const CLI::App* level = &app;
  std::string prefix; // the subcommands chosen so far, for the message: "memory "
  for (int i = 1; i < argc; ++i) {
    std::string_view word{argv[i]};
    auto subs = named_subcommands(*level);
    // A level without subcommands, or one that takes positionals, reads the rest itself.
    bool has_positionals =
        !level->get_options([](const CLI::Option* o) { return !o->nonpositional(); }).empty();
    if (subs.empty() || has_positionals)
      return {};
    if (word.starts_with("-"))
      continue; // options of this level (--help, --version) take no value
    auto match = std::find_if(subs.begin(), subs.end(),
                              [&](const CLI::App* sub) { return sub->check_name(argv[i]); });
    if (match != subs.end()) {
      level = *match;
      prefix += level->get_name() + " ";
      continue;
    }
    // The nearest name within a third of its length (at least 1, at most 3 edits).
    const CLI::App* nearest = nullptr;
    size_t best = std::clamp<size_t>(word.size() / 3, 1, 3) + 1;
    for (const auto* sub : subs) {
      auto d = edit_distance(word, sub->get_name());
      if (d < best) {
        best = d;
        nearest = sub;
      }
    }
    std::string out = "unknown command '" + prefix + std::string{word} + "'";
    if (nearest != nullptr)
      return out + "; did you mean '" + prefix + nearest->get_name() + "'?";
    std::string names;
    for (const auto* sub : subs)
      names += (names.empty() ? "" : ", ") + sub->get_name();
    return out + " (commands: " + names + ")";
  }
  return {};
}

} // namespace swarm::cli
