// `swarm validate SPEC...` (check specs, spawn nothing) and `swarm architectures` (what a
// swarm can be, and the keys each architecture reads).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "apps/swarm/commands.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::cli {

namespace {

// "a, b, c"
std::string comma_list(std::span<const std::string_view> words) {
  std::string out;
  for (auto w : words)
    out += (out.empty() ? "" : ", ") + std::string{w};
  return out;
}

// Loads every spec with the library's loader; prints each one's verdict, every problem of the
// bad ones. Nothing is spawned and no endpoint is contacted.
int validate(const std::vector<std::string>& paths, bool quiet) {
  bool all_valid = true;
  for (const auto& path : paths) {
    auto spec = load_spec(path);
    if (!spec) {
      all_valid = false;
      std::cerr << "swarm validate: " << describe(spec.error()) << "\n";
      continue;
    }
    if (quiet)
      continue;
    std::cout << path << ": ok (" << spec->name << ", " << spec->root.architecture << ", "
              << spec->agents.size() << (spec->agents.size() == 1 ? " agent" : " agents");
    if (!spec->swarms.empty())
      std::cout << ", " << spec->swarms.size()
                << (spec->swarms.size() == 1 ? " sub-swarm" : " sub-swarms");
    std::cout << ")\n";
  }
  return all_valid ? exit_ok : exit_usage;
}

int list_architectures(bool json) {
  auto common = common_swarm_keys();
  if (json) {
    boost::json::array common_json;
    for (auto key : common)
      common_json.emplace_back(key);
    boost::json::array list;
    for (const auto& a : architectures()) {
      boost::json::array keys;
      for (auto key : a.keys)
        keys.emplace_back(key);
      list.push_back(
          boost::json::object{{"name", a.name}, {"summary", a.summary}, {"keys", std::move(keys)}});
    }
    std::cout << boost::json::serialize(boost::json::object{
                     {"architectures", std::move(list)}, {"common_keys", std::move(common_json)}})
              << "\n";
    return exit_ok;
  }
  for (const auto& a : architectures()) {
    char head[32];
    std::snprintf(head, sizeof head, "%-15s", std::string{a.name}.c_str());
    std::cout << head << a.summary << "\n";
    std::cout << "               keys: " << (a.keys.empty() ? "(the common keys only)" : "")
              << comma_list(a.keys) << "\n";
  }
  std::cout << "\ncommon keys (every architecture): " << comma_list(common) << "\n"
            << "every key is described in docs/architectures.md\n";
  return exit_ok;
}

} // namespace

command add_validate_command(CLI::App& app) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "validate",
      "check swarm specs and list every problem with its path and line; spawns nothing");
  sub->add_option("spec", *paths, "swarm specs (YAML or JSON)")->required();
  sub->add_flag("--quiet,-q", *quiet, "print only the problems");
  return [paths, quiet] { return validate(*paths, *quiet); };
}

command add_architectures_command(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("architectures", "list the architectures and the keys of each");
  sub->add_flag("--json", *json, "print one JSON object");
  return [json] { return list_architectures(*json); };
}

} // namespace swarm::cli
