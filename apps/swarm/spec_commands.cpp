// `swarm validate SPEC...` (check specs as `swarm run` would, spawn nothing) and `swarm
// architectures` (what a swarm can be, and the keys each architecture reads).
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
#include "runtime/llm_resolution.hpp"

namespace swarm::cli {

namespace {

// "a, b, c"
std::string comma_list(std::span<const std::string_view> words) {
  std::string out;
  for (auto w : words)
    out += (out.empty() ? "" : ", ") + std::string{w};
  return out;
}

struct validate_args {
  std::vector<std::string> paths;
  std::string llm_url;
  std::string model;
  bool quiet = false;
};

// Where no spec key, flag or OPENAI_BASE_URL names an endpoint, `swarm run` needs --llm-url. The
// checks then go on with this placeholder, so that the URLs the spec does give are still checked.
constexpr const char* placeholder_url = "http://endpoint.invalid/v1";

// The library's checks before spawning (runtime/llm_resolution.hpp): every agent's endpoint and
// the embeddings endpoint resolve to well-formed URLs. Errors are problems of `path`; warnings
// (an unset api_key_env) are printed. Sets `no_endpoint` when nothing names an endpoint yet.
bool check_spec_llm(const std::string& path, const swarm_spec& spec, const validate_args& args,
                    bool& no_endpoint) {
  llm_overrides overrides{args.llm_url, args.model};
  auto checked = check_llm_settings(spec, overrides);
  if (!checked && is(checked.error(), errc::no_endpoint)) {
    no_endpoint = true;
    checked = check_llm_settings(spec, overrides, [](const std::string& name) {
      auto value = read_env(name);
      return value.empty() && name == "OPENAI_BASE_URL" ? std::string{placeholder_url} : value;
    });
  }
  if (!checked) {
    std::cerr << "swarm validate: " << path << ": " << describe(checked.error()) << "\n";
    return false;
  }
  for (const auto& w : *checked)
    std::cerr << "swarm validate: " << path << ": warning: " << w << "\n";
  return true;
}

// Loads every spec with the library's loader and runs the library's pre-spawn checks; prints each
// one's verdict, every problem of the bad ones. Nothing is spawned and no endpoint is contacted.
int validate(const validate_args& args) {
  bool all_valid = true;
  size_t without_endpoint = 0;
  for (const auto& path : args.paths) {
    auto spec = load_spec(path);
    if (!spec) {
      all_valid = false;
      std::cerr << "swarm validate: " << describe(spec.error()) << "\n";
      continue;
    }
    bool no_endpoint = false;
    if (!check_spec_llm(path, *spec, args, no_endpoint)) {
      all_valid = false;
      continue;
    }
    without_endpoint += no_endpoint ? 1 : 0;
    if (spec->repaired > 0)
      std::cerr << "swarm validate: " << path << ": warning: not valid UTF-8: " << spec->repaired
                << " sequence(s) would be replaced by U+FFFD (a run does so and tells it as "
                   "input_repaired)\n";
    if (args.quiet)
      continue;
    std::cout << path << ": ok (" << spec->name << ", " << spec->root.architecture << ", "
              << spec->agents.size() << (spec->agents.size() == 1 ? " agent" : " agents");
    if (!spec->swarms.empty())
      std::cout << ", " << spec->swarms.size()
                << (spec->swarms.size() == 1 ? " sub-swarm" : " sub-swarms");
    std::cout << ")\n";
  }
  if (without_endpoint > 0 && !args.quiet)
    std::cerr << "swarm validate: note: " << without_endpoint
              << (without_endpoint == 1 ? " spec names" : " specs name")
              << " no LLM endpoint for some agent; swarm run needs --llm-url or OPENAI_BASE_URL\n";
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
            << "every key is listed in docs/spec.md (swarm schema --markdown); what each "
               "architecture does: docs/architectures.md\n";
  return exit_ok;
}

} // namespace

command add_validate_command(CLI::App& app) {
  auto args = std::make_shared<validate_args>();
  auto* sub =
      app.add_subcommand("validate", "check swarm specs (schema, then LLM endpoints as swarm run "
                                     "would) and list every problem with its path and line; spawns "
                                     "nothing, contacts nothing");
  sub->add_option("spec", args->paths, "swarm specs (YAML or JSON)")->required();
  sub->add_option("--llm-url", args->llm_url, "check as if swarm run had this --llm-url");
  sub->add_option("--model", args->model, "check as if swarm run had this --model");
  sub->add_flag("--quiet,-q", args->quiet, "print only the problems");
  return [args] { return validate(*args); };
}

command add_architectures_command(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("architectures", "list the architectures and the keys of each");
  sub->add_flag("--json", *json, "print one JSON object");
  return [json] { return list_architectures(*json); };
}

} // namespace swarm::cli
