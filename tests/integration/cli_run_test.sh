#!/usr/bin/env bash
# `swarm run` end to end against `swarm mock-llm` in another process: output and exit codes.
# Usage: cli_run_test.sh SWARM_BINARY EMBED_EXAMPLE_BINARY SOURCE_DIR
set -uo pipefail
swarm=$1 embed=$2 src=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1 # `swarm run` keeps its state in ./state by default

run() { # args... ; sets rc
  "$swarm" run "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

# -- the research example, as `make run` runs it
start_mock "$src/examples/research.mock.yaml"
run "$src/examples/research.yaml" --task "Is C++ right for us?" --llm-url "$url"
check "research example exits 0" test "$rc" -eq 0
check "answer holds every member" sh -c "grep -q '^## advocate' $tmp/out && grep -q '^## skeptic' $tmp/out && grep -q '^## pragmatist' $tmp/out"
check "answers quote the task" has out 'For "Is C++ right for us?"'
check "progress counts members" has err '\[3/3\]'
check "summary line" has err 'swarm run: done in .* | agents: 3 done of 3 | 3 LLM calls'

run "$src/examples/research.yaml" --task "json please" --llm-url "$url" --json --quiet
check "--json exits 0" test "$rc" -eq 0
check "--json is JSON with a trace of three" python3 -c "
import json,sys; r=json.load(open('$tmp/out'))
assert len(r['trace'])==3, r
assert r['usage']['calls']==3, r
assert all(m['text'] for m in r['trace']), r"
check "--quiet prints no progress" test ! -s "$tmp/err"

# -- the embedding example program
"$embed" "$src/examples/research.yaml" "$url" "embedded?" >"$tmp/out" 2>"$tmp/err"
check "embedding example exits 0" test $? -eq 0
check "embedding example prints members" has out '^-- skeptic: '
check "mock stops cleanly on SIGTERM" stop_mock

# -- one member failing: partial results, exit 0
cat >"$tmp/partial.yaml" <<'YAML'
faults:
  - {kind: http_500, match: {system: "^You are skeptic"}}
YAML
start_mock "$tmp/partial.yaml"
run "$src/examples/research.yaml" --task "q" --llm-url "$url"
check "partial failure exits 0" test "$rc" -eq 0
check "failed member named in the answer" has out '(failed: llm_http_error'
check "failed member named in progress" has err 'skeptic FAILED: llm_http_error'
check "summary counts the failure" has err 'agents: 2 done, 1 failed of 3'

# -- every member failing: exit 1 with the cause
cat >"$tmp/allfail.yaml" <<'YAML'
faults:
  - {kind: invalid_json}
YAML
stop_mock
start_mock "$tmp/allfail.yaml"
run "$src/examples/research.yaml" --task "q" --llm-url "$url"
check "all members failing exits 1" test "$rc" -eq 1
check "the cause is named" has err 'all_members_failed.*llm_invalid_response'
stop_mock

# -- bad input: exit 2 with a message naming what and where
cat >"$tmp/bad.yaml" <<'YAML'
name: bad
agents:
  - name: a
    modle: gpt
YAML
run "$tmp/bad.yaml" --task "q" --llm-url "http://127.0.0.1:9/v1"
check "bad spec exits 2" test "$rc" -eq 2
check "bad spec names file, path and line" has err "bad.yaml: 1 problem:"
check "bad spec names the key" has err "agents\[0\].modle: unknown key (did you mean 'model'?) (line 4)"
run "$tmp/missing.yaml" --task "q"
check "missing spec exits 2" test "$rc" -eq 2
check "missing spec is named" has err "cannot read spec '$tmp/missing.yaml'"
run "$src/examples/research.yaml" --task "q"
check "no endpoint exits 2" test "$rc" -eq 2
check "no endpoint says how to fix it" has err "no_endpoint: agent 'advocate' has no LLM endpoint"
run "$src/examples/research.yaml"
check "missing --task exits 2" test "$rc" -eq 2

# -- an endpoint nobody listens on: every member fails to connect, exit 1
run "$src/examples/research.yaml" --task "q" --llm-url "http://127.0.0.1:9/v1"
check "dead endpoint exits 1" test "$rc" -eq 1
check "dead endpoint is named" has err "llm_connect_failed"

# -- OPENAI_BASE_URL is used when nothing else names an endpoint
start_mock "$src/examples/research.mock.yaml"
OPENAI_BASE_URL="$url" "$swarm" run "$src/examples/research.yaml" --task "env" >"$tmp/out" 2>"$tmp/err"
check "OPENAI_BASE_URL is honoured" test $? -eq 0
stop_mock

# -- a tool call that needs approval: asked on stdin (y runs it sandboxed), or --approve no
start_mock "$src/examples/tools.mock.yaml"
echo y | "$swarm" run "$src/examples/tools.yaml" --task "How many words?" --llm-url "$url" \
  --data-dir "$tmp/tools" >"$tmp/out" 2>"$tmp/err"
check "approved tool run exits 0" test $? -eq 0
check "the approval prompt names agent, tool and arguments" has err 'approve tool call #1 by tools_demo/analyst: shell {"command":"echo'
check "the tool ran and the writer read the analyst's note" has out "Report: the analyst counted 9 words"
check "spending is reported per agent" has err "analyst .* tokens .* calls"
run "$src/examples/tools.yaml" --task "How many words?" --llm-url "$url" --data-dir "$tmp/tools" \
  --approve no
check "rejected tool run still exits 0" test "$rc" -eq 0
check "the model is told the call was rejected" has out "could not run the tool"
run "$src/examples/tools.yaml" --task "x" --llm-url "$url" --approve maybe
check "a bad --approve exits 2" test "$rc" -eq 2
stop_mock

# -- record, then replay offline; a resumed run repeats nothing
start_mock "$src/examples/research.mock.yaml"
run "$src/examples/research.yaml" --task "rec" --llm-url "$url" --record "$tmp/rec.jsonl" \
  --run-id r1 --data-dir "$tmp/rr"
check "recorded run exits 0" test "$rc" -eq 0
cp "$tmp/out" "$tmp/recorded.txt"
stop_mock
run "$src/examples/research.yaml" --task "rec" --llm-url "http://127.0.0.1:9/v1" \
  --replay "$tmp/rec.jsonl" --data-dir "$tmp/rr2"
check "replayed run exits 0 with nothing listening" test "$rc" -eq 0
check "replay prints the recorded answer" cmp -s "$tmp/out" "$tmp/recorded.txt"
run "$src/examples/research.yaml" --task "other" --llm-url "http://127.0.0.1:9/v1" \
  --replay "$tmp/rec.jsonl" --data-dir "$tmp/rr3"
check "a request missing from the recording fails" test "$rc" -eq 1
check "and is named" has err "replay_missing"
run --resume r1 --data-dir "$tmp/rr" --llm-url "http://127.0.0.1:9/v1"
check "a finished run resumes from its journal alone" test "$rc" -eq 0
check "with the same answer" cmp -s "$tmp/out" "$tmp/recorded.txt"
run --resume nope --data-dir "$tmp/rr"
check "an unknown run exits 2" test "$rc" -eq 2
check "an unknown run is named" has err "unknown_run: no run 'nope'"

# -- llm.fallbacks: the primary answers 500 to everything, the fallback (a second mock) answers
cat >"$tmp/down.yaml" <<'YAML'
faults:
  - {kind: http_500}
YAML
cat >"$tmp/backup.yaml" <<'YAML'
default: {reply: "fallback {{model}} here"}
YAML
start_named_mock backup "$tmp/backup.yaml"
backup_url=$url backup_pid=$launched_pid
start_mock "$tmp/down.yaml"
cat >"$tmp/fallback.yaml" <<YAML
name: fb
llm:
  url: $url
  model: main
  fallbacks:
    - {url: $backup_url, model: backup}
agents:
  - {name: solo, system_prompt: You are solo.}
YAML
run "$tmp/fallback.yaml" --task "still there?" --events "$tmp/fb-events.jsonl" \
  --data-dir "$tmp/fbstate"
check "a run whose primary is down exits 0 on its fallback" test "$rc" -eq 0
check "the fallback's model answered" has out 'fallback backup here'
check "progress tells the switch" has err 'solo: LLM fallback to backup at http://127.0.0.1:'
check "one llm_fallback event; the call finished on the fallback" python3 -c "
import json, jsonschema
es=[json.loads(l) for l in open('$tmp/fb-events.jsonl')]
schema=json.loads(open('$src/docs/events.md').read().split('\`\`\`json')[1].split('\`\`\`')[0])
for e in es: jsonschema.validate(e, schema)
sw=[e for e in es if e['kind']=='llm_fallback']
assert len(sw)==1, sw
assert sw[0]['name']=='backup' and sw[0]['text']=='$backup_url', sw
assert sw[0]['error']['code']=='llm_http_error' and '$url' in sw[0]['error']['message'], sw
done=[e for e in es if e['kind']=='llm_call_finished']
assert len(done)==1 and done[0]['name']=='backup' and 'error' not in done[0], done"
kill -TERM "$backup_pid" && wait "$backup_pid"
stop_mock

finish
