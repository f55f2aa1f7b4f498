#!/usr/bin/env bash
# Runs one example swarm end to end. Without OPENAI_BASE_URL it starts `swarm mock-llm` with the
# example's script (examples/NAME.mock.yaml) on a free loopback port and stops it afterwards.
# Usage: run-example.sh SWARM_BINARY SPEC TASK
set -euo pipefail
swarm=$1 spec=$2 task=$3

if [ -n "${OPENAI_BASE_URL:-}" ]; then
  exec "$swarm" run "$spec" --task "$task"
fi

script="${spec%.yaml}.mock.yaml"
tmp=$(mktemp -d)
mock_pid=""
cleanup() {
  [ -n "$mock_pid" ] && kill -TERM "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

mock_args=(mock-llm --port 0 --port-file "$tmp/port")
[ -f "$script" ] && mock_args+=(--script "$script")
"$swarm" "${mock_args[@]}" >"$tmp/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/port" ] && break
  if ! kill -0 "$mock_pid" 2>/dev/null; then cat "$tmp/mock.log" >&2; exit 1; fi
  sleep 0.05
done
[ -s "$tmp/port" ] || { echo "run-example: mock-llm did not start" >&2; exit 1; }
port=$(cat "$tmp/port")
echo "run-example: mock LLM at http://127.0.0.1:$port/v1 (set OPENAI_BASE_URL to use a real one)" >&2
"$swarm" run "$spec" --task "$task" --llm-url "http://127.0.0.1:$port/v1"
