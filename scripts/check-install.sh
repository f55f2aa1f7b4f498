#!/usr/bin/env bash
# What an embedder does: `cmake --install` a build into a fresh prefix, build examples/embed out of
# tree against it (find_package(smolswarms CONFIG), smolswarms::runtime), and run that program
# once against the installed `swarm mock-llm`. Also checks that no private (detail/) header was
# installed. Usage: scripts/check-install.sh [BUILD_DIR]   (default build/release; built already)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build/release}
jobs=${JOBS:-2}
work=$(mktemp -d)
mock_pid=""
cleanup() {
  if [ -n "$mock_pid" ]; then
    kill -TERM "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
test -f "$prefix/include/smolswarms/runtime/runtime.hpp"
test -f "$prefix/lib/cmake/smolswarms/smolswarmsConfig.cmake" ||
  test -f "$prefix/lib64/cmake/smolswarms/smolswarmsConfig.cmake"
if find "$prefix/include" -path '*/detail/*' | grep -q .; then
  echo "check-install: private headers were installed:" >&2
  find "$prefix/include" -path '*/detail/*' >&2
  exit 1
fi

# A separate build of the example; only the prefix tells it where SmolSwarms is.
cmake -S examples/embed -B "$work/embed" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log"
cmake --build "$work/embed" -j"$jobs" >"$work/build.log"

"$prefix/bin/swarm" mock-llm --port 0 --port-file "$work/port" \
  --script examples/research.mock.yaml >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 1 200); do
  [ -s "$work/port" ] && break
  sleep 0.05
done
url="http://127.0.0.1:$(cat "$work/port")/v1"
# From $work: the example keeps its state in ./state.
(cd "$work" && "$work/embed/swarm_embed_example" "$root/examples/research.yaml" "$url" \
  "installed?" >"$work/out")
if ! grep -q -- '^-- skeptic: ' "$work/out"; then
  echo "check-install: the out-of-tree embedding example did not print the members:" >&2
  cat "$work/out" >&2
  exit 1
fi
echo "check-install: $(find "$prefix/include" -name '*.hpp' | wc -l) headers installed;" \
  "examples/embed built against the package and ran against the mock"
