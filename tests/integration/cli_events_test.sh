#!/usr/bin/env bash
# `swarm run` as a user watches it: the --events file of every example against the JSON Schema
# of docs/events.md, live progress with a fixed total and the decision in one line, and --json
# as one object on success, on failure and on SIGINT.
# Usage: cli_events_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$1 src=$2
ex=$src/examples
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1
run_pid=""
# Debian's python3 has python3-jsonschema (scripts/install-deps.sh); another python3 may not.
schema_python=/usr/bin/python3

on_exit() { [ -n "$run_pid" ] && kill -KILL "$run_pid" 2>/dev/null; }

# The schema, as docs/events.md shows it (its one ```json block).
sed -n '/^```json$/,/^```$/p' "$src/docs/events.md" | sed '1d;$d' >"$tmp/schema.json"
check "docs/events.md holds a JSON Schema" python3 -c "import json; json.load(open('$tmp/schema.json'))"

# events_ok FILE AGENTS: every line valid, seq increasing, one run_started first and one
# run_finished (done), member events only for known agents or sub-swarms.
events_ok() {
  "$schema_python" - "$tmp/schema.json" "$1" "$2" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
agents = int(sys.argv[3])
v = jsonschema.Draft202012Validator(schema)
for e in lines:
    errs = sorted(v.iter_errors(e), key=str)
    assert not errs, (e, errs[0].message)
seqs = [e["seq"] for e in lines]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
assert lines[0]["kind"] == "run_started" and lines[0]["total"] == agents, lines[0]
fin = [e for e in lines if e["kind"] == "run_finished"]
assert len(fin) == 1 and fin[0]["name"] == "done", fin
run = lines[0]["run_id"]
assert all(e["run_id"] == run for e in lines)
started = [e for e in lines if e["kind"] == "member_started"]
ended = [e for e in lines if e["kind"] in ("member_finished", "member_failed", "member_cancelled")]
assert started and len(started) == len(ended), (len(started), len(ended))
llm = [e for e in lines if e["kind"] == "llm_call_finished"]
assert llm and all("usage" in e for e in llm)
PY
}

# progress_ok AGENTS: every "[k/N]" line of stderr has N = AGENTS and k <= N, and the last
# reaches N.
progress_ok() {
  python3 - "$tmp/err" "$1" <<'PY'
import re, sys
n = int(sys.argv[2])
counts = [(int(a), int(b)) for a, b in re.findall(r"^\[(\d+)/(\d+)\] ", open(sys.argv[1]).read(), re.M)]
assert counts, "no progress lines"
assert all(b == n and a <= n for a, b in counts), counts
assert counts[-1][0] == n, counts
PY
}

# example NAME AGENTS TASK DECISION: runs examples/NAME.yaml against its mock with --events;
# checks exit 0, the events, the progress and that the decision line appears ('' for none).
example() {
  local name=$1 agents=$2 task=$3 decision=$4
  start_mock "$ex/$name.mock.yaml"
  "$swarm" run "$ex/$name.yaml" --task "$task" --llm-url "$url" --data-dir "$tmp/state" \
    --approve yes --events "$tmp/$name.jsonl" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  stop_mock
  check "$name exits 0" test "$rc" -eq 0
  check "$name: --events lines follow the schema and tell the whole run" \
    events_ok "$tmp/$name.jsonl" "$agents"
  check "$name: progress has a fixed total of $agents" progress_ok "$agents"
  if [ -n "$decision" ]; then
    check "$name: the decision in one line ($decision)" grep -qE -- "^  -> $decision" "$tmp/err"
  fi
  check "$name: the start names the run, the data directory and how to resume" \
    grep -qE "^swarm run: .* \| run (run-[0-9a-f-]+) \| data $tmp/state \| if stopped: swarm run --resume \1 --data-dir $tmp/state$" "$tmp/err"
}

example research 3 "Is C++ right for us?" ''
example pipeline 3 "Why use actors for LLM agents?" ''
example company 7 "Should we launch a hosted version of SmolSwarms?" 'plan: 4 subtasks \(market, risks, proposal, review\)'
check "company: the nested board's vote" grep -q -- '-> majority: approve (2 of 3, confidence 0.67)' "$tmp/err"
check "company: the sub-swarm's own line" grep -q '^swarm review_board done' "$tmp/err"
example vote 5 "What is 17 * 24?" 'majority: 408 \(4 of 5, confidence 0.80\)'
example debate 3 "Is 0.999... (repeating) equal to 1?" 'consensus in round 2: '
check "debate: members report their rounds" grep -q 'done (.*, round 2)' "$tmp/err"
example synthesis 4 "How should we store agents' API keys?" 'synthesize: chief merged 3 answers'
check "synthesis: layers are named" grep -q 'done (.*, layer 2)' "$tmp/err"
example race 4 "Write a slogan for SmolSwarms" 'judge: [a-z]+ wins [0-9.]+/10'
example chat 4 "Write a Python function that averages a list" 'chat ended: reviewer said TERMINATE'
check "chat: turns are counted" grep -q 'done (.*, turn 5)' "$tmp/err"
example graph 5 "The app crashes when I upload an empty file" ''
check "graph: the branch not taken is skipped, not failed" \
  grep -q '^\[[0-9]/5\] designer skipped: ' "$tmp/err"
check "graph: the summary counts it apart" grep -q 'agents: 4 done, 1 skipped of 5' "$tmp/err"
example router 4 "Write a haiku about actors" 'routed to poet'
check "router: members not chosen are skipped" grep -q '\] programmer skipped: routed to poet' "$tmp/err"
if bwrap --unshare-all --ro-bind / / true 2>/dev/null; then
  example tools 2 "How many words?" ''
  check "tools: the call, its approval and its end as they happen" python3 -c "
import re; t = open('$tmp/err').read()
i = t.index('tool shell by analyst: {'); j = t.index('waits for approval #1', i)
k = t.index('tool shell by analyst approved', j); l = t.index('tool shell by analyst ok', k)"
  check "tools: the events file has the tool call's arguments and output" python3 -c "
import json; es = [json.loads(l) for l in open('$tmp/tools.jsonl')]
f = [e for e in es if e['kind'] == 'tool_call_finished'][0]
assert f['name'] == 'shell' and f['text'].strip() == '9', f
assert [e['kind'] for e in es if e['kind'].startswith('tool') or e['kind'] == 'approval_waiting'] == ['tool_call_requested', 'approval_waiting', 'tool_call_approved', 'tool_call_finished']"
  start_mock "$ex/tools.mock.yaml"
  "$swarm" run "$ex/tools.yaml" --task "How many words?" --llm-url "$url" --data-dir "$tmp/state" \
    --approve yes --run-id tools-1 --json >"$tmp/out" 2>"$tmp/err"
  stop_mock
  check "tools: --json lists the tool call with its arguments, decision and output" python3 -c "
import json; r = json.load(open('$tmp/out'))
t = r['tools']
assert t['calls'] == 1 and t['failed'] == 0, t
c = t['list'][0]
assert c['agent'] == 'tools_demo/analyst' and c['name'] == 'shell' and 'wc -w' in c['arguments'], c
assert c['decision'] == 'approved' and c['output'].strip() == '9' and c['error'] is None, c"
  "$swarm" memory journal tools-1 --data-dir "$tmp/state" >"$tmp/out" 2>"$tmp/err"
  check "tools: the journal keeps the tool call and the human's decision" \
    grep -qE "^  tool tools_demo/analyst task t1.analyst step 0 shell .* \(approved by a human\): 9" "$tmp/out"
fi

# -- --json when every member fails: exit 1, still one JSON object with each member's state
cat >"$tmp/broken.mock.yaml" <<'EOF'
faults:
  - {kind: http_500}
EOF
start_mock "$tmp/broken.mock.yaml"
"$swarm" run "$ex/research.yaml" --task "q" --llm-url "$url" --data-dir "$tmp/state" --json \
  --run-id broken-1 >"$tmp/out" 2>"$tmp/err"
rc=$?
stop_mock
check "a failed run exits 1" test "$rc" -eq 1
check "a failed run still prints one JSON object with status, error and members" python3 -c "
import json; r = json.load(open('$tmp/out'))
assert r['run_id'] == 'broken-1' and r['status'] == 'failed', r
assert r['error']['code'] == 'all_members_failed' and r['error']['message'], r['error']
assert [m['state'] for m in r['members']] == ['failed'] * 3, r['members']
assert all(m['error']['code'] == 'llm_http_error' for m in r['members']), r['members']
assert r['llm']['calls'] == 3 and r['llm']['failed'] == 3, r['llm']
assert 'spending' in r and r['duration_ms'] > 0"
check "a failed run says how to try again" grep -q "swarm run --resume broken-1 --data-dir $tmp/state" "$tmp/err"

# -- --json on SIGINT: exit 130, one JSON object, finished members' answers kept
cat >"$tmp/slow.mock.yaml" <<'EOF'
rules:
  - {match: {system: '^You are skeptic'}, reply: 'slow skeptic', latency_ms: 30000}
default: {reply: 'quick answer'}
EOF
start_mock "$tmp/slow.mock.yaml"
"$swarm" run "$ex/research.yaml" --task "q" --llm-url "$url" --data-dir "$tmp/state" --json \
  --run-id sigint-1 --events "$tmp/sigint.jsonl" >"$tmp/out" 2>"$tmp/err" &
run_pid=$!
for _ in $(seq 1 600); do # until the two quick members have answered
  [ "$(grep -c '"kind":"member_finished"' "$tmp/sigint.jsonl" 2>/dev/null)" = 2 ] && break
  sleep 0.05
done
kill -INT "$run_pid"
wait "$run_pid"
rc=$?
run_pid=""
stop_mock
check "an interrupted run exits 130" test "$rc" -eq 130
check "an interrupted run prints one JSON object with the partial results" python3 -c "
import json; r = json.load(open('$tmp/out'))
assert r['run_id'] == 'sigint-1' and r['status'] == 'interrupted', r
assert r['error']['code'] == 'runtime_stopped', r['error']
st = {m['agent']: m for m in r['members']}
assert st['research/advocate']['state'] == 'done' and st['research/advocate']['text'] == 'quick answer', st
assert st['research/skeptic']['state'] in ('running', 'failed', 'cancelled'), st"
check "an interrupted run says how to continue" \
  grep -q "interrupted; continue with: swarm run --resume sigint-1 --data-dir $tmp/state" "$tmp/err"

# -- on a terminal a status line (who works now) is redrawn in place; its clock moves meanwhile
cat >"$tmp/paced.mock.yaml" <<'EOF'
latency: {fixed_ms: 700}
default: {reply: 'paced answer'}
EOF
start_mock "$tmp/paced.mock.yaml"
script -qec "'$swarm' run '$ex/research.yaml' --task q --llm-url '$url' --data-dir '$tmp/state' \
  >/dev/null" "$tmp/tty.txt" >/dev/null
check "a terminal gets a status line redrawn in place" python3 -c "
t = open('$tmp/tty.txt', encoding='utf-8', errors='replace', newline='').read()
assert '\r\x1b[K  working: advocate, skeptic, pragmatist | 0 LLM calls' in t, t[:2000]
clocks = {l.rsplit('| ', 1)[-1] for l in t.split('\r\x1b[K') if l.startswith('  working: advocate, skeptic, pragmatist | 0 LLM')}
assert len(clocks) >= 2, clocks
assert '[3/3] ' in t"
stop_mock

# -- swarm memory journal RUN --follow: the run's journal as it is written, until the run ends
start_mock "$tmp/paced.mock.yaml"
"$swarm" memory journal follow-1 --follow --timeout 60 --data-dir "$tmp/state" \
  >"$tmp/follow.txt" 2>"$tmp/follow.err" &
follow_pid=$!
"$swarm" run "$ex/pipeline.yaml" --task q --llm-url "$url" --data-dir "$tmp/state" \
  --run-id follow-1 -q >"$tmp/out" 2>"$tmp/err" &
run_pid=$!
live=no
for _ in $(seq 1 600); do # the first call shows while the run still works on the others
  if grep -q '^  call pipeline/researcher' "$tmp/follow.txt" 2>/dev/null; then
    kill -0 "$run_pid" 2>/dev/null && live=yes
    break
  fi
  sleep 0.05
done
wait "$run_pid"
run_pid=""
wait "$follow_pid"
follow_rc=$?
stop_mock
check "--follow shows a call while the run is still going" test "$live" = yes
check "--follow ends with the run (exit 0)" test "$follow_rc" -eq 0
check "--follow printed every call once, then the end" python3 -c "
t = open('$tmp/follow.txt').read().splitlines()
calls = [l for l in t if l.startswith('  call ')]
assert len(calls) == 3, t
assert t[0].startswith('run follow-1: running'), t
assert t[-1] == 'run follow-1: done', t"
"$swarm" memory journal never-1 --follow --timeout 1 --data-dir "$tmp/state" >"$tmp/out" 2>"$tmp/err"
check "--follow gives up after --timeout (exit 1), naming the run" \
  sh -c "test $? -eq 1 && grep -q \"run 'never-1' still not ended after 1 s\" $tmp/err"

# -- --stream: each answer on stdout as its tokens arrive, one at a time, then the swarm's answer
start_mock "$ex/pipeline.mock.yaml"
"$swarm" run "$ex/pipeline.yaml" --task "Why use actors for LLM agents?" --llm-url "$url" \
  --data-dir "$tmp/state" --stream -q --events "$tmp/stream.jsonl" >"$tmp/out" 2>"$tmp/err"
check "--stream exits 0" test $? -eq 0
check "--stream prints each step's answer, then the swarm's" python3 -c "
import json, re
out = open('$tmp/out').read()
blocks = re.split(r'^## (\w+)\n', out, flags=re.M)[1:]
names = blocks[0::2]; texts = [t.rstrip('\n') for t in blocks[1::2]]
assert names == ['researcher', 'writer', 'editor', 'answer'], names
assert texts[2] == texts[3] and texts[3].startswith('Why actors fit'), texts
es = [json.loads(l) for l in open('$tmp/stream.jsonl')]
toks = [e for e in es if e['kind'] == 'llm_token']
assert len(toks) > 20, len(toks)
assert ''.join(e['text'] for e in toks if e['agent'] == 'pipeline/editor') == texts[2]"
stop_mock
start_mock "$ex/research.mock.yaml"
"$swarm" run "$ex/research.yaml" --task "Is C++ right for us?" --llm-url "$url" \
  --data-dir "$tmp/state" --stream -q >"$tmp/out" 2>"$tmp/err"
check "--stream never interleaves answers written in parallel" python3 -c "
import re
out = open('$tmp/out').read()
streamed, answer = out.split('## answer\n')
def blocks(t):
    parts = re.split(r'^## (\w+)\n', t, flags=re.M)[1:]
    return {n: b.strip() for n, b in zip(parts[0::2], parts[1::2])}
s, a = blocks(streamed), blocks(answer)
assert sorted(s) == ['advocate', 'pragmatist', 'skeptic'] and s == a, (s, a)"
stop_mock

# -- a budget passing 80 % is told as it happens (progress and events)
python3 -c "print(\"default: {reply: '\" + 'lorem ipsum dolor ' * 60 + \"'}\")" >"$tmp/long.mock.yaml"
cat >"$tmp/thrifty.yaml" <<'EOF'
name: thrifty
resources: {budget: {tokens: 900}}
agents:
  - {name: a, max_tokens: 250}
  - {name: b, max_tokens: 250}
  - {name: c, max_tokens: 250}
EOF
start_mock "$tmp/long.mock.yaml"
"$swarm" run "$tmp/thrifty.yaml" --task q --llm-url "$url" --data-dir "$tmp/state" \
  --events "$tmp/thrifty.jsonl" >"$tmp/out" 2>"$tmp/err"
check "a budget past 80 % is a warning line" \
  grep -qE '^  budget warning: the run has spent 7[0-9]{2} of its 900 tokens \(8[0-9] %\)' "$tmp/err"
check "and one budget_warning event, valid by the schema" "$schema_python" -c "
import json, jsonschema
es = [json.loads(l) for l in open('$tmp/thrifty.jsonl')]
w = [e for e in es if e['kind'] == 'budget_warning']
assert len(w) == 1 and w[0]['name'] == 'runtime' and w[0]['agent'].startswith('thrifty/'), w
jsonschema.validate(w[0], json.load(open('$tmp/schema.json')))"
stop_mock

# -- --json when the run never starts: still one object, with the status and the error
printf 'name: bad\nagents:\n  - {name: a, temperature: hot}\n' >"$tmp/bad.yaml"
"$swarm" run "$tmp/bad.yaml" --task q --llm-url http://127.0.0.1:9/v1 --json >"$tmp/out" 2>"$tmp/err"
check "a spec error with --json exits 2 and prints one object" python3 -c "
import json; r = json.load(open('$tmp/out'))
assert $? == 2 and r['status'] == 'invalid' and r['error']['code'] == 'invalid_spec', r
assert 'temperature' in r['error']['message'], r"
"$swarm" run "$ex/vote.yaml" --task q --llm-url http://127.0.0.1:9/v1 --run-id broken-1 \
  --data-dir "$tmp/state" --json >"$tmp/out" 2>"$tmp/err"
check "a taken run id with --json: run_exists, naming --resume" python3 -c "
import json; r = json.load(open('$tmp/out'))
assert $? == 2 and r['status'] == 'invalid' and r['run_id'] == 'broken-1', r
assert r['error']['code'] == 'run_exists' and '--resume broken-1' in r['error']['message'], r"
"$swarm" run "$ex/vote.yaml" --task q --llm-url http://127.0.0.1:9/v1 \
  --data-dir "$tmp/schema.json" --json >"$tmp/out" 2>"$tmp/err"
check "an unusable data directory with --json: exit 3, data_dir_unavailable" python3 -c "
import json; r = json.load(open('$tmp/out'))
assert $? == 3 and r['status'] == 'data_dir_unavailable', r
assert r['error']['code'] == 'data_dir_unusable' and 'schema.json' in r['error']['message'], r"
# a command line the parser refuses, or a task that cannot be read: still one object, exit 2
refused_json() { # code, words of the message...: the object in $tmp/out and exit 2 ($1)
  python3 - "$tmp/out" "$@" <<'PY'
import json, sys
rc, code, words = int(sys.argv[2]), sys.argv[3], sys.argv[4:]
r = json.load(open(sys.argv[1]))
assert rc == 2 and r['status'] == 'invalid' and r['error']['code'] == code, (rc, r)
assert all(w in r['error']['message'] for w in words), r
PY
}
"$swarm" run "$ex/vote.yaml" --task q --run-id "a/b" --json >"$tmp/out" 2>"$tmp/err"
check "a bad --run-id with --json: one object naming it" refused_json $? invalid_argument run-id "'/'"
check "and the parser's message on stderr" grep -q -- "--run-id: run id holds '/'" "$tmp/err"
"$swarm" run "$ex/vote.yaml" --task q --no-such-flag --json >"$tmp/out" 2>"$tmp/err"
check "an unknown option with --json: one object naming it" refused_json $? invalid_argument --no-such-flag
"$swarm" run "$ex/vote.yaml" --json --task q --fresh >"$tmp/out" 2>"$tmp/err"
check "--fresh without --run-id with --json: one object" refused_json $? invalid_argument --run-id
"$swarm" run "$ex/vote.yaml" --task-file "$tmp/no-task.txt" --json >"$tmp/out" 2>"$tmp/err"
check "an unreadable --task-file with --json: one object naming it" refused_json $? io_error no-task.txt
"$swarm" run "$ex/vote.yaml" --task q --no-such-flag >"$tmp/out" 2>"$tmp/err"
check "without --json a refused command line prints nothing on stdout" test ! -s "$tmp/out"

# -- the log: off by default, info to --log-file, every event at debug with -v
start_mock "$ex/vote.mock.yaml"
"$swarm" run "$ex/vote.yaml" --task "What is 17 * 24?" --llm-url "$url" --data-dir "$tmp/state" \
  --run-id logged-1 --log-file "$tmp/swarm.log" >"$tmp/out" 2>"$tmp/err"
check "--log-file: the run's start, decision and end at info" python3 -c "
t = open('$tmp/swarm.log').read()
assert 'info run logged-1 started: vote (5 agents)' in t, t
assert 'decided: majority: 408' in t and 'info run logged-1 finished: done' in t, t
assert 'debug' not in t, t"
check "no log on stderr without -v" sh -c "! grep -q ' info run ' $tmp/err"
"$swarm" run "$ex/vote.yaml" --task "What is 17 * 24?" --llm-url "$url" --data-dir "$tmp/state" \
  -q -v >"$tmp/out" 2>"$tmp/err"
check "-v logs every event as JSON at debug" \
  grep -q ' debug event {"seq":1,.*"kind":"run_started"' "$tmp/err"
"$swarm" run "$ex/vote.yaml" --task "x" --llm-url "$url" --log-level loud >"$tmp/out" 2>"$tmp/err"
check "an unknown log level is refused (exit 2)" test $? -eq 2
"$swarm" run "$ex/vote.yaml" --task "x" --llm-url "$url" --data-dir "$tmp/state" \
  --log-file "$tmp/schema.json/log" >"$tmp/out" 2>"$tmp/err"
check "a log file that cannot be opened is named (exit 2)" \
  sh -c "test $? -eq 2 && grep -q 'cannot open the log file $tmp/schema.json/log' $tmp/err"
stop_mock

finish
