#!/usr/bin/env bash
# `swarm run` and the runs of a data directory, against `swarm mock-llm`: a run id already taken
# (exit 2, --fresh), a finished run resumed, killed and interrupted runs in `swarm memory runs`,
# the overrides and environment a resumed run keeps, and data directories that are locked,
# read-only, corrupt or not ours (exit 3).
# Usage: cli_runs_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$(realpath "$1") src=$(realpath "$2")
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1

run() { # args... ; sets rc
  "$swarm" run "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

requests() { # mock name: chat requests it received so far
  if [ -f "$tmp/$1.log" ]; then wc -l <"$tmp/$1.log"; else echo 0; fi
}

calls() { # run id, data dir: calls in the run's journal
  "$swarm" memory journal "$1" --data-dir "$2" --json 2>/dev/null | grep -c '"type":"call"'
}

stop_at() { # pid run-id data-dir calls: SIGINT once the journal holds CALLS calls; rc = exit
  for _ in $(seq 1 300); do
    [ "$(calls "$2" "$3")" -ge "$4" ] && break
    sleep 0.05
  done
  kill -INT "$1"
  wait "$1"
  rc=$?
}

start_named_mock fast "$src/examples/research.mock.yaml" --request-log "$tmp/fast.log"
fast=$url
# Slow enough that a SIGINT sent once the journal shows a call lands during the next one, even
# when reading the journal takes a second (a sanitizer build on a loaded machine).
cat >"$tmp/slow.yaml" <<'YAML'
latency: {fixed_ms: 1500}
default: {reply: '{{model}}'}
YAML
start_named_mock slow "$tmp/slow.yaml" --request-log "$tmp/slow.log"
slow=$url
cat >"$tmp/relay.yaml" <<'YAML'
name: relay
swarm: {architecture: sequential}
agents:
  - {name: first, system_prompt: You are first.}
  - {name: second, system_prompt: You are second.}
  - {name: third, system_prompt: You are third.}
YAML
research="$src/examples/research.yaml"

# -- 1. a run id the journal has: refused (exit 2) unless --fresh
run "$research" --task "task A" --run-id X --data-dir d1 --llm-url "$fast" -q
check "the first run exits 0" test "$rc" -eq 0
sent=$(requests fast)
run "$research" --task "task B" --run-id X --data-dir d1 --llm-url "$fast" -q
check "the same run id for another task exits 2" test "$rc" -eq 2
check "it is refused by name and says how to resume" \
  sh -c "grep -q \"run_exists: run 'X'\" '$tmp/err' && grep -q -- '--resume X' '$tmp/err' && grep -q -- '--fresh' '$tmp/err'"
check "nothing is printed as an answer" test ! -s "$tmp/out"
check "no LLM call is made" test "$(requests fast)" -eq "$sent"
run "$research" --task "task B" --run-id X --data-dir d1 --llm-url "$fast" -q --fresh
check "--fresh exits 0" test "$rc" -eq 0
check "--fresh answers task B" has out 'For "task B"'
check "--fresh runs every call anew" test "$(requests fast)" -eq $((sent + 3))
check "the journal holds task B's calls only" test "$(calls X d1)" -eq 3
cp "$tmp/out" "$tmp/task_b.txt"
run "$research" --task "task B" --fresh --data-dir d1 --llm-url "$fast" -q
check "--fresh without --run-id exits 2" test "$rc" -eq 2

# -- 4. a finished run resumed: its stored result, nothing run
sent=$(requests fast)
run --resume X --data-dir d1
check "resuming a finished run exits 0" test "$rc" -eq 0
check "it says the run was already done" has err "run X is already done"
check "it prints the stored result" cmp -s "$tmp/out" "$tmp/task_b.txt"
run --resume X --data-dir d1 --json
check "--json prints the stored result as JSON" python3 -c "
import json; r=json.load(open('$tmp/out')); t=open('$tmp/task_b.txt').read()
assert r['status']=='done' and r['run_id']=='X', r
assert r['text']+'\n'==t, r
assert [m['agent'].split('/')[-1] for m in r['trace']]==['advocate','skeptic','pragmatist'], r"
check "and calls no LLM" test "$(requests fast)" -eq "$sent"

# -- 4. runs killed or interrupted: not "running" forever
"$swarm" run "$tmp/relay.yaml" --task "t" --run-id K --data-dir d2 --llm-url "$slow" -q \
  >/dev/null 2>&1 &
pid=$!
pids="$pids $pid"
for _ in $(seq 1 300); do [ "$(calls K d2)" -ge 1 ] && break; sleep 0.05; done
"$swarm" memory runs --data-dir d2 >"$tmp/out" 2>"$tmp/err"
check "a run going on is running" has out '^K  running'
{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null # no "Killed" line
"$swarm" memory runs --data-dir d2 >"$tmp/out" 2>"$tmp/err"
check "a killed run is interrupted" has out '^K  interrupted'
"$swarm" memory journal K --data-dir d2 >"$tmp/out" 2>"$tmp/err"
check "its journal says so too" has out '^run K: interrupted'
"$swarm" run "$tmp/relay.yaml" --task "t" --run-id I --data-dir d2 --llm-url "$slow" -q \
  >/dev/null 2>"$tmp/err" &
stop_at $! I d2 1
check "SIGINT exits 130" test "$rc" -eq 130
"$swarm" memory runs --data-dir d2 >"$tmp/out" 2>"$tmp/err"
check "an interrupted run is interrupted" has out '^I  interrupted'

# -- 5. a run its budget stopped: budget_exhausted (not failed), and no bare --resume hint
for ex in research pipeline; do
  sed 's/^swarm:/resources: {budget: {tokens: 50}}\nswarm:/' "$src/examples/$ex.yaml" >"$tmp/$ex-b.yaml"
  sent=$(requests fast)
  run "$tmp/$ex-b.yaml" --task "q" --run-id "B-$ex" --data-dir d2 --llm-url "$fast" --json \
    --events "$tmp/$ex-b.jsonl"
  check "$ex: a run its budget stopped exits 1" test "$rc" -eq 1
  check "$ex: no call passes the budget" test "$(requests fast)" -eq "$sent"
  check "$ex: --json says budget_exhausted, the coordinator's error kept in the message" \
    python3 -c "
import json; r = json.load(open('$tmp/out'))
assert r['status'] == 'budget_exhausted', r['status']
assert r['error']['code'] == 'budget_exhausted', r['error']
assert 'member' in r['error']['message'] and 'refused' in r['error']['message'], r['error']
ends = [e for e in map(json.loads, open('$tmp/$ex-b.jsonl')) if e['kind'] == 'run_finished']
assert [e['name'] for e in ends] == ['budget_exhausted'], ends"
  check "$ex: the end line names the budget to raise" has err 'budget was exhausted: raise resources.budget'
  check "$ex: and does not just say to try again" sh -c "! grep -q 'try again with' '$tmp/err'"
  "$swarm" memory runs --data-dir d2 >"$tmp/out" 2>"$tmp/err"
  check "$ex: swarm memory runs shows it budget_exhausted" has out "^B-$ex  budget_exhausted"
done

# -- 6. resumed twice without flags: the endpoint and model of the first attempt
mark=$(requests slow)
"$swarm" run "$tmp/relay.yaml" --task "t" --run-id O --data-dir d3 --llm-url "$slow" \
  --model m-flag -q >/dev/null 2>&1 &
stop_at $! O d3 1
"$swarm" run --resume O --data-dir d3 -q >/dev/null 2>&1 &
stop_at $! O d3 2
check "the first resume made the next call" test "$(calls O d3)" -ge 2
run --resume O --data-dir d3 -q
check "the second resume, without flags, exits 0" test "$rc" -eq 0
check "with the model of the flags" sh -c "test \"\$(cat '$tmp/out')\" = m-flag"
check "every request of the run went to the first endpoint with --model" \
  sh -c "tail -n +$((mark + 1)) '$tmp/slow.log' | grep -v -c '\"model\": *\"m-flag\"' | grep -qx 0"
mark=$(requests slow)
OPENAI_BASE_URL="$slow" OPENAI_MODEL=m-env "$swarm" run "$tmp/relay.yaml" --task "t" \
  --run-id E --data-dir d4 -q >/dev/null 2>&1 &
stop_at $! E d4 1
OPENAI_BASE_URL=http://127.0.0.1:9/v1 OPENAI_MODEL=m-other "$swarm" run --resume E \
  --data-dir d4 -q >/dev/null 2>&1 &
stop_at $! E d4 2
check "a resume under another OPENAI_BASE_URL still reaches the first endpoint" \
  test "$(calls E d4)" -ge 2
OPENAI_BASE_URL=http://127.0.0.1:9/v1 OPENAI_MODEL=m-other run --resume E --data-dir d4 -q
check "the second resume under another environment exits 0" test "$rc" -eq 0
check "with the first attempt's OPENAI_MODEL" sh -c "test \"\$(cat '$tmp/out')\" = m-env"
check "every request went out with it" \
  sh -c "tail -n +$((mark + 1)) '$tmp/slow.log' | grep -v -c '\"model\": *\"m-env\"' | grep -qx 0"

# -- 8. data directories that cannot be used: exit 3, the directory named
# The holder's first call takes a minute: it holds the directory for all the checks below
# (which take their time under a sanitizer build), and is killed after them.
cat >"$tmp/glacial.yaml" <<'YAML'
latency: {fixed_ms: 60000}
default: {reply: 'late'}
YAML
start_named_mock glacial "$tmp/glacial.yaml" --request-log "$tmp/glacial.log"
"$swarm" run "$tmp/relay.yaml" --task "t" --run-id L --data-dir d5 --llm-url "$url" -q \
  >/dev/null 2>&1 &
holder=$!
pids="$pids $holder"
for _ in $(seq 1 300); do # until its header is journaled: it holds the lock by then
  "$swarm" memory runs --data-dir d5 2>/dev/null | grep -q '^L ' && break
  sleep 0.05
done
run "$research" --task "q" --data-dir d5 --llm-url "$fast" -q
check "a data directory in use exits 3" test "$rc" -eq 3
check "naming the process that holds it" has err "d5/memory: cannot open: locked by process $holder"
check "and what to do" has err "use another data directory"
run --resume L --data-dir d5 -q
check "resuming in a data directory in use exits 3" test "$rc" -eq 3
{ kill -KILL "$holder" && wait "$holder"; } 2>/dev/null # no "Killed" line

run "$research" --task "q" --data-dir d6 --llm-url "$fast" -q
ro_run() { # a run in d6 mounted read-only (a private mount namespace), else made read-only
  if [ "$(id -u)" -ne 0 ]; then
    chmod -R a-w d6
    run "$research" --task "q" --data-dir d6 --llm-url "$fast" -q
    chmod -R u+w d6
    return
  fi
  unshare -m sh -c "mount --bind '$tmp/d6' '$tmp/d6' && mount -o remount,bind,ro '$tmp/d6' '$tmp/d6' &&
    exec '$swarm' run '$research' --task q --data-dir d6 --llm-url '$fast' -q" \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
ro_run
check "a read-only data directory exits 3" test "$rc" -eq 3
check "naming it" has err "data_dir_unusable: memory database d6/memory"
check "and why" sh -c "grep -q -e 'Read-only file system' -e 'Permission denied' '$tmp/err'"

run "$research" --task "q" --data-dir d7 --llm-url "$fast" -q
for m in d7/memory/MANIFEST-*; do printf 'this is not a manifest' >"$m"; done
run "$research" --task "q" --data-dir d7 --llm-url "$fast" -q
check "a corrupt data directory exits 3" test "$rc" -eq 3
check "naming it as corrupt" sh -c "grep -q 'd7/memory' '$tmp/err' && grep -q 'orrupt' '$tmp/err'"

mkdir -p d8/memory
echo "my notes" >d8/memory/notes.txt
run "$research" --task "q" --data-dir d8 --llm-url "$fast" -q
check "a data directory not ours exits 3" test "$rc" -eq 3
check "naming it" has err "d8/memory: not a SmolSwarms memory store"
echo "a file" >d9
run "$research" --task "q" --data-dir d9 --llm-url "$fast" -q
check "a data directory that is a file exits 3" test "$rc" -eq 3
check "naming it" has err "data directory d9 is not a directory"

finish
