#!/usr/bin/env bash
# Issue I, peers side by side: runs bench/peers/peers.mjs (LangGraph.js, the OpenAI Agents SDK,
# plain fetch) for fanout N in {10, 100, 1000} and sequential M = 200 against one
# `swarm mock-llm` at 20 ms fixed latency; writes one JSON line per run to OUT.jsonl and prints a
# markdown table. Installs the pinned npm packages (npm ci) when node_modules is missing or
# does not match package-lock.json.
#
#   bench/peers/run.sh OUT.jsonl
#
# Environment (defaults in brackets): SWARM_BIN [build/release/apps/swarm/swarm of this repo],
# PEERS_FRAMEWORKS ["fetch langgraph agents"], PEERS_FANOUT_SIZES ["10 100 1000"],
# PEERS_SEQ_CALLS [200], PEERS_FANOUT_ROUNDS [5], PEERS_SEQ_ROUNDS [3],
# PEERS_TIMEOUT_S [600, per program run], PEERS_NICE [10], PEERS_MOCK_SCRIPT [mock.yaml here].
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-}"
if [[ -z "$out" ]]; then
  echo "usage: $0 OUT.jsonl" >&2
  exit 2
fi
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
swarm="${SWARM_BIN:-$repo/build/release/apps/swarm/swarm}"
frameworks="${PEERS_FRAMEWORKS:-fetch langgraph agents}"
sizes="${PEERS_FANOUT_SIZES:-10 100 1000}"
seq_calls="${PEERS_SEQ_CALLS:-200}"
fanout_rounds="${PEERS_FANOUT_ROUNDS:-5}"
seq_rounds="${PEERS_SEQ_ROUNDS:-3}"
limit="${PEERS_TIMEOUT_S:-600}"
nice_level="${PEERS_NICE:-10}"
latency_ms=20 # as in mock.yaml

for tool in node npm jq timeout sha256sum; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 1; }
done
[[ -x "$swarm" ]] || { echo "run.sh: $swarm not found (build the swarm target first)" >&2; exit 1; }

# npm ci only when node_modules is missing or was installed from another package-lock.json.
lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
stamp="$here/node_modules/.installed-from-lock"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  echo "run.sh: npm ci (pinned versions from package-lock.json)" >&2
  (cd "$here" && timeout 900 npm ci --no-audit --no-fund >&2)
  echo "$lock_sum" >"$stamp"
fi

work="$(mktemp -d /tmp/peers-bench.XXXXXX)"
mock_pid=""
cleanup() {
  if [[ -n "$mock_pid" ]]; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$swarm" mock-llm --port 0 --port-file "$work/port" \
  --script "${PEERS_MOCK_SCRIPT:-$here/mock.yaml}" --request-log "$work/requests.jsonl" \
  >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 1 100); do
  [[ -s "$work/port" ]] && break
  kill -0 "$mock_pid" 2>/dev/null || { cat "$work/mock.log" >&2; exit 1; }
  sleep 0.1
done
[[ -s "$work/port" ]] || { echo "run.sh: mock-llm did not start" >&2; exit 1; }
base_url="http://127.0.0.1:$(cat "$work/port")/v1"
touch "$work/requests.jsonl"

# Never send anything to a tracing service.
unset LANGSMITH_TRACING LANGCHAIN_TRACING_V2 LANGSMITH_API_KEY LANGCHAIN_API_KEY
export OPENAI_API_KEY="${OPENAI_API_KEY:-mock}" OPENAI_AGENTS_DISABLE_TRACING=1

: >"$out"
failed=0
run_one() { # framework scenario n rounds
  local before after line
  before=$(wc -l <"$work/requests.jsonl")
  echo "run.sh: $1 $2 n=$3 rounds=$4" >&2
  if ! line=$(cd "$here" && nice -n "$nice_level" timeout "$limit" node peers.mjs \
                --framework "$1" --scenario "$2" --n "$3" --rounds "$4" \
                --base-url "$base_url" --model mock --latency-ms "$latency_ms" 2>"$work/err"); then
    echo "run.sh: $1 $2 n=$3 failed (exit or timeout after ${limit}s):" >&2
    grep -v MaxListenersExceededWarning "$work/err" | tail -5 >&2 || true
    failed=1
    return
  fi
  after=$(wc -l <"$work/requests.jsonl")
  # The mock's request log: one HTTP chat request per call, none more, none fewer.
  line=$(jq -c --argjson m "$((after - before))" '. + {mock_requests: $m}' <<<"$line")
  if [[ "$(jq '.mock_requests == .calls' <<<"$line")" != true ]]; then
    echo "run.sh: $1 $2 n=$3: the mock logged $((after - before)) requests, expected" \
         "$(jq .calls <<<"$line")" >&2
    failed=1
  fi
  echo "$line" >>"$out"
}

for fw in $frameworks; do
  for n in $sizes; do run_one "$fw" fanout "$n" "$fanout_rounds"; done
  run_one "$fw" sequential "$seq_calls" "$seq_rounds"
done

node "$here/table.mjs" "$out"
exit "$failed"
