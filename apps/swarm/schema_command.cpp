// `swarm schema`: the JSON Schema of a swarm spec, for editors (VS Code YAML, JetBrains), or with
// --markdown the reference of every key (docs/spec.md). Both come from the spec reader's tables.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "apps/swarm/commands.hpp"
#include "runtime/core/spec_schema.hpp"

namespace swarm::cli {

command add_schema_command(CLI::App& app) {
  auto markdown = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "schema", "print the JSON Schema (draft 2020-12) of swarm specs, for editors to complete and "
                "check spec files");
  sub->add_flag("--markdown", *markdown,
                "print the reference of every spec key instead (docs/spec.md)");
  return [markdown] {
    std::cout << (*markdown ? spec_reference_markdown() : spec_json_schema());
    std::cout.flush();
    return std::cout ? exit_ok : exit_failed;
  };
}

} // namespace swarm::cli
