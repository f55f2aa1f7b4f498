// The spec's JSON Schema and its reference, both generated from the tables the spec reader walks,
// so editors, docs/spec.md and the reader agree on every key.
#pragma once

#include <string>

namespace swarm {

/// A JSON Schema (draft 2020-12) of a swarm spec, pretty-printed: types, ranges, defaults and doc
/// lines of every key, which keys each architecture takes, and the keys other keys require. Editors
/// (VS Code YAML, JetBrains) complete and check spec files with it (`swarm schema`). Names across
/// objects (members, roles, tools) are checked by the reader only.
std::string spec_json_schema();

/// The reference of every spec key in Markdown: docs/spec.md is exactly this text
/// (`swarm schema --markdown`); a test fails when the file is stale.
std::string spec_reference_markdown();

} // namespace swarm
