#!/usr/bin/env bash
# The tool workspaces of `swarm run`, against `swarm mock-llm`: a finished run leaves none behind
# in --data-dir, --keep-workspaces leaves <data-dir>/workspaces/<run id>, --fresh clears a kept
# one, and a run interrupted (SIGINT) keeps its workspace for its resumption, which removes it.
# Usage: cli_workspaces_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$(realpath "$1") src=$(realpath "$2")
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1

on_exit() {
  # Run as root in a directory the sandbox's user cannot search (mktemp makes it 0700), the
  # workspaces live aside in the temp directory, <data dir>/workspaces linking to them.
  for l in "$tmp"/d*/workspaces; do [ -L "$l" ] && rm -rf "$(readlink "$l")"; done
}

on_failure() { echo "--- workspaces"; find "$tmp"/d*/workspaces 2>/dev/null; }

run() { # args... ; sets rc and pid (the process's)
  "$swarm" run "$@" >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  wait "$pid"
  rc=$?
}

no_workspaces() { [ ! -e "$1" ] || [ -z "$(ls -A "$1")" ]; } # a workspaces directory: none in it

start_named_mock tools "$src/examples/tools.mock.yaml"
tools=$url
example="$src/examples/tools.yaml"

# -- 1. a finished run leaves no workspace behind
run "$example" --approve yes --data-dir d1 --llm-url "$tools" --task "count" --run-id w1 -q
check "the example run exits 0" test "$rc" -eq 0
check "its tool ran in the sandbox" has out "counted 9 words"
check "its workspace is gone" test ! -e d1/workspaces/w1
check "no other is left" no_workspaces d1/workspaces
check "none is left in the temp directory either" test ! -e "${TMPDIR:-/tmp}/smolswarms-workspaces-$pid"

# -- 2. --keep-workspaces keeps it, named by the run id
run "$example" --approve yes --data-dir d2 --llm-url "$tools" --task "count" --run-id w2 -q \
  --keep-workspaces
check "--keep-workspaces exits 0" test "$rc" -eq 0
check "d2/workspaces/w2 is kept" test -d d2/workspaces/w2
check "and nothing else" test "$(ls -A d2/workspaces)" = w2

# -- 3. --fresh starts over in an empty workspace
echo "from the first attempt" >d2/workspaces/w2/marker
run "$example" --approve yes --data-dir d2 --llm-url "$tools" --task "count" --run-id w2 -q \
  --fresh --keep-workspaces
check "--fresh exits 0" test "$rc" -eq 0
check "the kept workspace was cleared" test ! -e d2/workspaces/w2/marker
check "and kept again" test -d d2/workspaces/w2
run "$example" --approve yes --data-dir d2 --llm-url "$tools" --task "count" --run-id w2 -q \
  --fresh
check "--fresh without --keep-workspaces exits 0" test "$rc" -eq 0
check "removes it at the end" no_workspaces d2/workspaces

# -- 4. an interrupted run keeps its workspace until its resumption is done
cat >"$tmp/note.yaml" <<'YAML'
name: noter
tools:
  - {name: shell}
agents:
  - {name: noter, tools: [shell], max_tool_steps: 3}
YAML
cat >"$tmp/note.mock.yaml" <<'YAML'
rules:
  - match: {history: 'tool: written'}
    reply: 'the note is written'
    latency_ms: 2500
default:
  tool_calls: [{name: shell, arguments: {command: 'echo kept > note.txt; echo written'}}]
YAML
start_named_mock note "$tmp/note.mock.yaml"
"$swarm" run "$tmp/note.yaml" --task "note" --run-id w3 --data-dir d3 --llm-url "$url" -q \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
pids="$pids $pid"
for _ in $(seq 1 200); do [ -s d3/workspaces/w3/note.txt ] && break; sleep 0.05; done
sleep 0.5 # the tool answered; the next LLM call is in flight
kill -INT "$pid"
wait "$pid"
rc=$?
check "the interrupted run exits 130" test "$rc" -eq 130
check "its workspace is kept for the resumption" test "$(cat d3/workspaces/w3/note.txt)" = kept
run --resume w3 --data-dir d3 --llm-url "$url" -q
check "the resumption exits 0" test "$rc" -eq 0
check "and answers" has out "the note is written"
check "then the workspace is gone" no_workspaces d3/workspaces

finish
