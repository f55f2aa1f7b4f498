#!/usr/bin/env bash
# `make fuzz` and CI's short fuzz pass: builds the libFuzzer targets (clang, ASan+UBSan) in
# build/fuzz and runs each for FUZZ_SECONDS. A crash, a sanitizer report, a hang (> 10 s on one
# input) or a run past 2 GiB fails it, naming the input that did it. See docs/fuzzing.md.
#   FUZZ_SECONDS  seconds per target (default 600)
#   FUZZ_RUNS     executions per target; a target stops at whichever of the two comes first
#   FUZZ_SUMMARY  the summary file (default FUZZ_DIR/summary.txt; two runs at once need two)
#   FUZZ_TARGETS  targets to run, space-separated (default: all)
#   FUZZ_DIR      build dir (default build/fuzz)
#   FUZZ_LOCK     a file to flock around each build step (machines whose builds must not overlap)
#   JOBS          build jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-600}
dir=${FUZZ_DIR:-build/fuzz}
jobs=${JOBS:-2}
all="spec_yaml spec_json mock_script sse chat_response stream_chunks embeddings cassette journal
     memory_import api_request"
targets=${FUZZ_TARGETS:-$all}
cxx=${FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}
if [ -z "$cxx" ]; then
  echo "fuzz: clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

locked() { # runs "$@" under $FUZZ_LOCK if set
  if [ -n "${FUZZ_LOCK:-}" ]; then flock "$FUZZ_LOCK" "$@"; else "$@"; fi
}

dict_of() {
  case $1 in
    spec_yaml | mock_script) echo fuzz/dict/yaml.dict ;;
    sse) echo fuzz/dict/sse.dict ;;
    api_request) echo fuzz/dict/http.dict ;;
    journal) echo "" ;;
    *) echo fuzz/dict/json.dict ;;
  esac
}

start=$(date +%s)
echo "== fuzz: configure and build ($dir)"
# The compiler only on the first configure: naming another one later makes CMake drop the cache.
compiler=()
[ -f "$dir/CMakeCache.txt" ] || compiler=(-DCMAKE_CXX_COMPILER="$cxx")
locked cmake -S . -B "$dir" "${compiler[@]}" -DSWARM_FUZZ=ON -DSWARM_SANITIZE=OFF \
  -DSWARM_BUILD_TESTS=OFF -DSWARM_BUILD_BENCH=OFF >/dev/null
for t in $targets; do
  locked cmake --build "$dir" -j"$jobs" --target "fuzz_$t"
done
echo "== fuzz: built in $(($(date +%s) - start)) s; ${seconds} s per target"

summary=${FUZZ_SUMMARY:-$dir/summary.txt}
: >"$summary"
failed=0
for t in $targets; do
  work="$dir/corpus/$t"    # what the fuzzer finds; the repo's corpus is only read
  crashes="$dir/crashes/$t"
  mkdir -p "$work" "$crashes"
  log="$dir/fuzz_$t.log"
  dict=$(dict_of "$t")
  mark="$dir/.started_$t"
  touch "$mark"
  set +e
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    timeout -s KILL $((seconds * 2 + 120)) "$dir/fuzz/fuzz_$t" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" ${dict:+-dict=$dict} \
    "$work" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  # -max_total_time leaves out the replay of the corpora, which grow with every run: past twice
  # the time (plus two minutes) the target is killed and the stage fails, naming it.
  [ "$rc" -eq 137 ] && echo "fuzz: $t still running after $((seconds * 2 + 120)) s: killed" >&2
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  new=$(find "$crashes" -type f -newer "$mark" | wc -l)
  line=$(printf '%-14s executions %12s  exec/s %7s  corpus %6s  new crashes %s' "$t" \
    "${execs:-?}" "${rate:-?}" "$corpus" "$new")
  echo "$line" | tee -a "$summary"
  if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
    failed=1
    echo "fuzz: $t failed (exit $rc); log $log" >&2
    grep -m3 -E "ERROR: |runtime error|Test unit written to" "$log" >&2 || true
    find "$crashes" -type f -newer "$mark" | sed 's/^/fuzz: crash input /' >&2
  fi
done
echo "== fuzz: $( [ $failed -eq 0 ] && echo clean || echo FAILED ) in $(($(date +%s) - start)) s"
exit $failed
