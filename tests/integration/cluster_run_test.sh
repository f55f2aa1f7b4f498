#!/usr/bin/env bash
# Runs from anywhere, and what a node's death costs them, with real processes on loopback: three
# `swarm node`s and `swarm mock-llm`; `swarm run --cluster` submits a hierarchical swarm whose
# six workers are spread over the three nodes, gets its events and result back, and fetches the
# result again with --resume. Then the failure model: a worker node killed mid-run (10 trials,
# each a different moment) costs nothing (the run completes on the survivors and the mock's
# request log shows no call sent twice); the owner killed mid-run costs the caller its link
# (node_lost), and the owner restarted on its data directory resumes the run by itself without
# sending a finished call again; a node nobody listens at is named.
# Usage: cluster_run_test.sh SWARM_BINARY
swarm=$(realpath "$1")
examples="$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../../examples"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# As in cluster_test.sh: CAF 0.17.6's middleman may leave a reference cycle behind under ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
cd "$tmp" || exit 1
trials=${CLUSTER_KILL_TRIALS:-10}

cat >crew.mock.yaml <<'EOF'
latency: {fixed_ms: 5}
rules:
  - match: {system: "^You are lead", user: "^Plan the task"}
    json:
      subtasks:
        - {id: s1, text: "Part one of the job.", skill: k1, depends_on: []}
        - {id: s2, text: "Part two of the job.", skill: k2, depends_on: []}
        - {id: s3, text: "Part three of the job.", skill: k3, depends_on: []}
        - {id: s4, text: "Part four of the job.", skill: k4, depends_on: []}
        - {id: s5, text: "Part five of the job.", skill: k5, depends_on: []}
        - {id: s6, text: "Part six of the job.", skill: k6, depends_on: []}
  - match: {system: "^You are lead", user: "^Write the final answer"}
    reply: "FINAL: six parts done."
  - match: {system: "^You are sloth"}
    reply: "Done, slowly."
    latency_ms: 8000
  - match: {system: "^You are w", user: "Part (\\w+) of the job"}
    reply: "Part {{match.1}} is done."
    latency_ms: 700
EOF
cat >crew.yaml <<'EOF'
name: crew
llm: {model: m, timeout_ms: 20000}
swarm:
  architecture: hierarchical
  lead: lead
  members: [w1, w2, w3, w4, w5, w6]
  placement: spread
  max_subtasks: 6
  max_attempts: 2
  deadline_ms: 60000
  member_timeout_ms: 20000
agents:
  - {name: lead, system_prompt: "You are lead."}
  - {name: w1, system_prompt: "You are w1.", skills: [k1]}
  - {name: w2, system_prompt: "You are w2.", skills: [k2]}
  - {name: w3, system_prompt: "You are w3.", skills: [k3]}
  - {name: w4, system_prompt: "You are w4.", skills: [k4]}
  - {name: w5, system_prompt: "You are w5.", skills: [k5]}
  - {name: w6, system_prompt: "You are w6.", skills: [k6]}
EOF
start_mock crew.mock.yaml --request-log "$tmp/requests.jsonl"
crew_url=$url

plain=(--insecure --heartbeat-ms 100 --failure-timeout-ms 1000 --reconnect-ms 300)

# Starts node NAME (log $tmp/NAME.log) on PORT (0: any) with the remaining arguments; sets
# node_pid and the node's address in addr_NAME. Exits the test if it does not listen in 10 s.
start_node() { # name port args...
  local name=$1 port=$2
  shift 2
  rm -f "$tmp/$name.addr"
  "$swarm" node --name "$name" --listen "127.0.0.1:$port" --address-file "$tmp/$name.addr" \
    "${plain[@]}" "$@" 2>>"$tmp/$name.log" &
  node_pid=$!
  pids="$pids $node_pid"
  for _ in $(seq 1 200); do
    if [ -s "$tmp/$name.addr" ]; then
      printf -v "addr_$name" '%s' "$(cat "$tmp/$name.addr")"
      return 0
    fi
    sleep 0.05
  done
  echo "FAILED: node $name did not start:"
  cat "$tmp/$name.log"
  exit 1
}

# True once the node at ADDRESS sees COUNT members up (itself included), within 10 s.
all_up() { # address count
  for _ in $(seq 1 100); do
    n=$("$swarm" cluster status --cluster "$1" --insecure --json --timeout-ms 2000 2>/dev/null |
      python3 -c 'import json,sys; print(sum(n["state"] == "up" for n in json.load(sys.stdin)["nodes"]))' \
        2>/dev/null)
    [ "${n:-0}" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# The request log's lines from line FROM on: none may repeat another's digest (a call sent twice).
no_repeats() { # from
  tail -n +"$1" "$tmp/requests.jsonl" | python3 -c '
import collections, json, sys
seen = collections.Counter(json.loads(l)["digest"] for l in sys.stdin if l.strip())
twice = [d for d, n in seen.items() if n > 1]
print("requests", sum(seen.values()), "repeated", len(twice))
sys.exit(1 if twice else 0)'
}

# From line FROM on: the first request (the plan, finished before the owner died) was sent once,
# and no other request more than twice (once before the death, once after the restart).
finished_once() { # from
  tail -n +"$1" "$tmp/requests.jsonl" | python3 -c '
import collections, json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
seen = collections.Counter(l["digest"] for l in lines)
print("requests", len(lines), "plan sent", seen[lines[0]["digest"]], "most", max(seen.values()))
sys.exit(0 if seen[lines[0]["digest"]] == 1 and max(seen.values()) <= 2 else 1)'
}

lines() { wc -l <"$tmp/requests.jsonl"; }

status_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$1" 2>/dev/null; }

on_failure() {
  for n in n1 n2 n3; do
    echo "--- $n.log (last lines)"
    tail -n 15 "$tmp/$n.log" 2>/dev/null
  done
}

# -- a node nobody listens at
"$swarm" run crew.yaml --task "Do the job" --cluster 127.0.0.1:1 --insecure --llm-url "$url" \
  --json >"$tmp/out" 2>"$tmp/err"
check "no node at the address: exit 1" test $? -eq 1
check "... naming it" has err "node_unreachable: no cluster node answers at 127.0.0.1:1"
check "... and --json still prints one object" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out"
"$swarm" run crew.yaml --task "Do the job" --cluster 127.0.0.1:1 >"$tmp/out" 2>"$tmp/err"
check "no TLS files and no --insecure: refused, exit 2" test $? -eq 2

# -- three nodes; the run goes to n1, its workers to all three
start_node n1 0 --data-dir "$tmp/d1"
p1=$node_pid
port1=${addr_n1##*:}
start_node n2 0 --join "$addr_n1"
p2=$node_pid
start_node n3 0 --join "$addr_n1"
p3=$node_pid
check "the three nodes are up" all_up "$addr_n1" 3

from=$(($(lines) + 1))
"$swarm" run crew.yaml --task "Do the job" --cluster "$addr_n1" --insecure --llm-url "$url" \
  --run-id first --events "$tmp/events.jsonl" --json >"$tmp/out" 2>"$tmp/err"
check "a run on the cluster: exit 0" test $? -eq 0
check "... status done" test "$(status_of "$tmp/out")" = done
check "... the lead's answer comes back" has out "FINAL: six parts done."
check "... every worker answered" test "$(grep -o 'Part [a-z]* is done' "$tmp/out" | sort -u | wc -l)" -eq 6
check "... its events came back, from run_started to run_finished" python3 -c '
import json, sys
kinds = [json.loads(l)["kind"] for l in open(sys.argv[1])]
print(len(kinds), "events; last 3:", kinds[-3:])
sys.exit(0 if kinds[0] == "run_started" and "run_finished" in kinds else 1)' "$tmp/events.jsonl"
check "... 8 LLM calls, none twice" no_repeats "$from"
check "... which were 8" test $(($(lines) - from + 1)) -eq 8

"$swarm" run crew.yaml --task "Do the job, streamed" --cluster "$addr_n1" --insecure \
  --llm-url "$url" --stream -q >"$tmp/out" 2>"$tmp/err"
check "--stream on the cluster: each agent's answer as its tokens come, then the swarm's" \
  test "$(grep -c -E '^## (lead|w[1-6])$' "$tmp/out")" -ge 7 -a "$(grep -c '^## answer$' "$tmp/out")" -eq 1

from=$(($(lines) + 1))
"$swarm" run --resume first --cluster "$addr_n1" --insecure --json >"$tmp/out" 2>"$tmp/err"
check "--resume of a finished run on the cluster: exit 0" test $? -eq 0
check "... its stored answer" has out "FINAL: six parts done."
check "... no LLM call" test "$(lines)" -eq $((from - 1))

# -- every example architecture runs unchanged with its agents spread over the three nodes
for spec in "$examples"/*.yaml; do
  case "$spec" in *.mock.yaml) continue ;; esac
  name=$(basename "$spec" .yaml)
  [ -f "$examples/$name.mock.yaml" ] || continue
  start_named_mock "ex_$name" "$examples/$name.mock.yaml"
  "$swarm" run "$spec" --task "Smoke test: what is 2 + 2?" --cluster "$addr_n1" --insecure \
    --llm-url "$url" --approve yes --json -q >"$tmp/out" 2>"$tmp/err"
  check "example $name on three nodes: done with an answer" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if r["status"] == "done" and r["text"].strip() and r["error"] is None else 1)' "$tmp/out"
  kill -TERM "$launched_pid"
done
# Nobody at a node can be asked: without --approve yes, a call that needs approval is rejected.
start_named_mock ex_tools_ask "$examples/tools.mock.yaml"
"$swarm" run "$examples/tools.yaml" --task "Smoke test: what is 2 + 2?" --cluster "$addr_n1" \
  --insecure --llm-url "$url" --events "$tmp/tool_events.jsonl" --json -q >"$tmp/out" 2>"$tmp/err"
check "tools on the cluster without --approve yes: the approval is rejected, saying why" \
  grep -q "cannot ask anyone" "$tmp/tool_events.jsonl"
kill -TERM "$launched_pid"
url=$crew_url

# -- one ledger per swarm, wherever its agents run: the endpoint's concurrency and the budget
# are the owner's pool's, so they hold over the three nodes as on one
sed 's/^swarm:$/resources: {endpoints: [{url: default, max_concurrent: 2}]}\nswarm:/' crew.yaml >narrow.yaml
"$swarm" run narrow.yaml --task "Do the job, two at a time" --cluster "$addr_n1" --insecure \
  --llm-url "$url" --json -q >"$tmp/out" 2>"$tmp/err"
check "two calls at a time over three nodes: done" test "$(status_of "$tmp/out")" = done
ms=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["duration_ms"]))' "$tmp/out")
echo "six 700 ms worker calls, two at a time over three nodes: $ms ms"
check "... the six 700 ms worker calls took three rounds (>= 2100 ms, not 700)" test "$ms" -ge 2100
sed -e 's/^swarm:$/resources: {budget: {tokens: 400}}\nswarm:/' \
  -e 's/^llm: {model: m, timeout_ms: 20000}$/llm: {model: m, timeout_ms: 20000, max_tokens: 50}/' \
  crew.yaml >tight.yaml
"$swarm" run tight.yaml --task "Do the job on a budget" --cluster "$addr_n1" --insecure \
  --llm-url "$url" --json -q >"$tmp/out" 2>"$tmp/err"
check "a 400-token budget over three nodes: the run ends budget_exhausted" \
  test "$(status_of "$tmp/out")" = budget_exhausted
used=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["llm"]["usage"]["total_tokens"])' "$tmp/out")
echo "tokens used against the 400-token budget: $used"
check "... having spent at most the budget" test "$used" -le 400

# -- the caller stops waiting (SIGINT): the run goes on at its owner, --resume gets the result
"$swarm" run crew.yaml --task "Do the job, caller gone" --cluster "$addr_n1" --insecure \
  --llm-url "$url" --run-id walked-away -q >"$tmp/out" 2>"$tmp/err" &
run_pid=$!
sleep 0.3
kill -INT "$run_pid"
wait "$run_pid"
check "the caller interrupted: exit 130" test $? -eq 130
check "... saying the run goes on" has err "stopped waiting; the run goes on at"
resumed=""
for _ in $(seq 1 40); do
  "$swarm" run --resume walked-away --cluster "$addr_n1" --insecure --json >"$tmp/out" 2>"$tmp/err"
  [ "$(status_of "$tmp/out")" = done ] && resumed=yes && break
  sleep 0.25
done
check "... and it finished there: --resume gets its answer" test -n "$resumed"

# -- a worker node killed mid-run: the run completes on the survivors, no call sent twice
for trial in $(seq 1 "$trials"); do
  if [ $((trial % 2)) -eq 1 ]; then victim=n2 vpid=$p2; else victim=n3 vpid=$p3; fi
  from=$(($(lines) + 1))
  "$swarm" run crew.yaml --task "Do the job, take $trial" --cluster "$addr_n1" --insecure \
    --llm-url "$url" --json -q >"$tmp/out" 2>"$tmp/err" &
  run_pid=$!
  # Somewhere in the workers' 700 ms calls (the plan takes a few ms): 100 to 1000 ms in.
  sleep "0.$((trial * 97 % 9 + 1))"
  kill -KILL "$vpid"
  wait "$vpid" 2>/dev/null
  wait "$run_pid"
  rc=$?
  check "trial $trial ($victim killed): the run ends done" test "$rc" -eq 0 -a "$(status_of "$tmp/out")" = done
  check "trial $trial: every worker answered" test "$(grep -o 'Part [a-z]* is done' "$tmp/out" | sort -u | wc -l)" -eq 6
  check "trial $trial: no LLM call sent twice" no_repeats "$from"
  start_node "$victim" 0 --join "$addr_n1"
  if [ "$victim" = n2 ]; then p2=$node_pid; else p3=$node_pid; fi
  check "trial $trial: $victim is back" all_up "$addr_n1" 3
done

# -- SIGTERM of the owner mid-run drains it: the run finishes and its caller gets the result,
# then the node leaves and exits 0
"$swarm" run crew.yaml --task "Do the job, owner draining" --cluster "$addr_n1" --insecure \
  --llm-url "$url" --json -q >"$tmp/out" 2>"$tmp/err" &
run_pid=$!
sleep 0.4
kill -TERM "$p1"
wait "$run_pid"
check "the owner draining: the run still ends done" test $? -eq 0 -a "$(status_of "$tmp/out")" = done
wait "$p1"
check "... then the node exits 0" test $? -eq 0
check "... having said it left" has n1.log "left the cluster"
"$swarm" run crew.yaml --task "Too late" --cluster "$addr_n1" --insecure --llm-url "$url" \
  >"$tmp/out" 2>"$tmp/err"
check "... and takes no run afterwards (exit 1, unreachable)" test $? -eq 1
start_node n1 "$port1" --data-dir "$tmp/d1" --join "$addr_n2"
p1=$node_pid
check "n1 is back" all_up "$addr_n1" 3

# -- the owner killed mid-run: the caller loses the link; the owner restarted resumes the run
from=$(($(lines) + 1))
"$swarm" run crew.yaml --task "Do the job, owner lost" --cluster "$addr_n1" --insecure \
  --llm-url "$url" --run-id orphan --json -q >"$tmp/out" 2>"$tmp/err" &
run_pid=$!
sleep 0.5
kill -KILL "$p1"
wait "$p1" 2>/dev/null
wait "$run_pid"
check "the owner killed: the caller fails (exit 1)" test $? -eq 1
check "... naming the lost link" has err "node_lost"
start_node n1 "$port1" --data-dir "$tmp/d1" --join "$addr_n2"
resumed=""
for _ in $(seq 1 60); do
  "$swarm" run --resume orphan --cluster "$addr_n1" --insecure --json >"$tmp/out" 2>"$tmp/err"
  if [ "$(status_of "$tmp/out")" = done ]; then
    resumed=yes
    break
  fi
  sleep 0.5
done
check "the restarted owner finished the run by itself" test -n "$resumed"
check "... with the lead's answer" has out "FINAL: six parts done."
# The plan (5 ms) had finished when the owner died; the workers' calls (700 ms) had not: they
# were sent again after the restart, and nothing else was.
check "... and sent no finished call again" finished_once "$from"

# -- Ctrl-C returns at once even while the node's call goes on (8 s)
printf 'name: sloth\nllm: {model: m, timeout_ms: 20000}\nagents:\n  - {name: sloth, system_prompt: "You are sloth."}\n' >sloth.yaml
"$swarm" run sloth.yaml --task "Take your time" --cluster "$addr_n1" --insecure --llm-url "$url" \
  -q >"$tmp/out" 2>"$tmp/err" &
run_pid=$!
sleep 1
sent=$(date +%s%N)
kill -INT "$run_pid"
wait "$run_pid"
rc=$?
took_ms=$((($(date +%s%N) - sent) / 1000000))
echo "the caller exited $took_ms ms after SIGINT, its run's call still going at the node"
check "Ctrl-C during an 8 s call: the caller exits 130 within 3 s (took $took_ms ms)" \
  test "$rc" -eq 130 -a "$took_ms" -lt 3000

finish
