#!/usr/bin/env bash
# docs/spec.md is generated from the spec reader's tables (`swarm schema --markdown`); this fails
# when it is stale. Usage: spec_docs_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$1 src=$2
if "$swarm" schema --markdown | diff -u "$src/docs/spec.md" -; then
  echo "spec_docs_test: docs/spec.md is current"
else
  echo "spec_docs_test: docs/spec.md is stale; regenerate it: swarm schema --markdown > docs/spec.md"
  exit 1
fi
