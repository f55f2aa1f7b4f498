#!/usr/bin/env bash
# The whole test gate (what `make test` and CI run): format, layering, two builds, all tests,
# the quick benchmark pass, then a short pass of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}
start=$(date +%s)

echo "== format (clang-format 14, .clang-format)"
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find . -name '*.[ch]pp' -not -path './build/*')
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files

echo "== include layering"
python3 scripts/check-includes.py

run_suite() { # name dir cmake-args...
  local name=$1 dir=$2
  shift 2
  echo "== $name: configure and build ($dir)"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== $name: tests"
  (cd "$dir" && ctest --output-on-failure --timeout 300 -j"$jobs")
}

run_suite release build/release -DCMAKE_BUILD_TYPE=Release
echo "== install: cmake --install, then examples/embed built out of tree against the package"
scripts/check-install.sh build/release
echo "== bench (quick): every scenario beside its floors and the JS peers (docs/benchmarks.md)"
make --no-print-directory bench BENCH_ARGS=--quick BENCH_OUT=build/bench-quick
python3 - <<'PY'
import glob, json
d = json.load(open("build/bench-quick/results.json"))
frameworks = {r["framework"] for r in d["records"]}
scenarios = {r["scenario"] for r in d["records"]}
assert {"smolswarms", "langgraph", "agents", "fetch"} <= frameworks, frameworks
assert len(scenarios) >= 13, scenarios
assert glob.glob("build/bench-quick/*.png"), "no plots"
print(f"bench (quick): {len(d['records'])} records, {len(scenarios)} scenarios, "
      f"{len(glob.glob('build/bench-quick/*.png'))} plots")
PY
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
  run_suite asan build/asan -DCMAKE_BUILD_TYPE=Debug -DSWARM_SANITIZE=ON -DSWARM_BUILD_BENCH=OFF

echo "== fuzz (short): each fuzz target built (clang, ASan+UBSan) and run for a bounded time"
FUZZ_SECONDS=${FUZZ_SHORT_SECONDS:-15} scripts/fuzz.sh

echo "== all green in $(( $(date +%s) - start )) s"
