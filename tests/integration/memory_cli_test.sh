#!/usr/bin/env bash
# `swarm memory` end to end: stats, search, export -> import round trip, a malformed import line,
# forget, the run journal of a real `swarm run` against `swarm mock-llm`, and `check` on healthy
# and damaged stores (truncated, overwritten and deleted WAL files of a killed run).
# Usage: memory_cli_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$1 src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mem() { # args... ; sets rc
  "$swarm" memory "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

lines() { test "$(grep -c . "$tmp/$1")" -eq "$2"; }

d="$tmp/state"

# -- no store yet: read commands say so and create nothing
mem stats --data-dir "$d"
check "stats without a store exits 1" test "$rc" -eq 1
check "stats without a store says so" has err "no store here"
check "stats creates nothing" test ! -e "$d"

# -- import, stats, search
cat >"$tmp/in.jsonl" <<'JSONL'
{"id":"a1","ns":"agent:team/a","text":"CAF actors are typed and fast","importance":0.9,"created":1700000000000,"tags":["caf","actors"]}
{"id":"a2","ns":"agent:team/a","text":"Akka actors run on the JVM","importance":0.5,"created":1700000000000,"tags":[]}

{"id":"s1","ns":"swarm:team","text":"The team prefers C++ with \"quotes\" and unicode é","importance":0.25,"created":1600000000000}
JSONL
mem import "$tmp/in.jsonl" --data-dir "$d"
check "import exits 0" test "$rc" -eq 0
check "import counts records (blank line skipped)" has out "imported 3 records"
mem stats --data-dir "$d"
check "stats exits 0" test "$rc" -eq 0
check "stats counts records and namespaces" has out "records: 3 in 2 namespaces"
check "stats lists a namespace" has out "agent:team/a: 2"
check "stats counts runs" has out "runs: 0"
mem stats --data-dir "$d" --json
check "stats --json" python3 -c "
import json; s=json.load(open('$tmp/out'))
assert s['records']==3 and s['namespaces']=={'agent:team/a':2,'swarm:team':1}, s
assert s['disk_bytes']>0 and s['runs']==0, s"
mem search "CAF actors" --data-dir "$d"
check "search exits 0" test "$rc" -eq 0
check "search ranks the best match first" sh -c "sed -n 2p '$tmp/out' | grep -q 'a1 \[agent:team/a\]'"
check "search shows the score breakdown" has out "relevance 1.000"
mem search "actors" --data-dir "$d" --json --top-k 1
check "search --json --top-k 1 is one hit with its scores" python3 -c "
import json; hits=[json.loads(l) for l in open('$tmp/out')]
assert len(hits)==1 and hits[0]['rank']==1, hits
assert set(hits[0]['score'])=={'total','bm25','relevance','recency','importance'}, hits"
mem search "actors" --data-dir "$d" --ns swarm:team
check "search --ns filters" has out "no match"

# -- export -> import round trip
mem export --data-dir "$d" --out "$tmp/all.jsonl"
check "export --out exits 0" test "$rc" -eq 0
check "export --out reports" has err "exported 3 records"
"$swarm" memory import "$tmp/all.jsonl" --data-dir "$tmp/copy" >"$tmp/out" 2>"$tmp/err"
check "import of an export exits 0" test $? -eq 0
"$swarm" memory export --data-dir "$tmp/copy" >"$tmp/copy.jsonl" 2>"$tmp/err"
check "export -> import -> export is identical" cmp "$tmp/all.jsonl" "$tmp/copy.jsonl"
check "every field is exported" python3 -c "
import json; rs={r['id']:r for r in map(json.loads, open('$tmp/all.jsonl'))}
assert rs['a1']=={'id':'a1','ns':'agent:team/a','text':'CAF actors are typed and fast','importance':0.9,'created':1700000000000,'tags':['caf','actors']}, rs['a1']
assert rs['s1']['text']=='The team prefers C++ with \"quotes\" and unicode \u00e9', rs['s1']"
mem export --data-dir "$d" --ns swarm:team
check "export --ns writes one namespace" lines out 1

# -- a malformed line: error names file and line, nothing imported
printf '{"id":"n1","ns":"n","text":"fine"}\n{"id":"n2","ns":"n","text":"bad","importance":2}\n' >"$tmp/bad.jsonl"
mem import "$tmp/bad.jsonl" --data-dir "$d"
check "malformed import exits 2" test "$rc" -eq 2
check "malformed import names file and line" has err "bad.jsonl:2: \"importance\" must be a number in \[0, 1\]; nothing imported"
printf '{"id":"n3","ns":"n","text":"x"}\nnot json at all\n' >"$tmp/bad2.jsonl"
mem import "$tmp/bad2.jsonl" --data-dir "$d"
check "non-JSON line named" has err "bad2.jsonl:2: not JSON"
mem stats --data-dir "$d"
check "nothing of a malformed file was imported" has out "records: 3 in 2 namespaces"

# -- forget
mem forget --id a2 --data-dir "$d"
check "forget --id" has out "forgot 1 record"
mem forget --id a2 --data-dir "$d"
check "forget of an unknown id exits 1 naming it" sh -c "test $rc -eq 1 && grep -q \"no record 'a2'\" '$tmp/err'"
mem forget --older-than 3x --data-dir "$d"
check "a bad duration exits 2 and explains" sh -c "test $rc -eq 2 && grep -q 'e.g. 30d, 12h' '$tmp/err'"
mem forget --data-dir "$d"
check "forget without a target exits 2" test "$rc" -eq 2
mem forget --older-than 1d --ns swarm:team --data-dir "$d"
check "forget --older-than --ns" has out "forgot 1 record"
mem forget --ns agent:team/a --data-dir "$d"
check "forget --ns" has out "forgot 1 record"
mem stats --data-dir "$d"
check "everything forgotten" has out "records: 0 in 0 namespaces"

# -- the run journal of a real run
start_mock "$src/examples/research.mock.yaml"
"$swarm" run "$src/examples/research.yaml" --task "Is C++ right for us?" --llm-url "$url" \
  --data-dir "$d" --run-id r42 -q >"$tmp/out" 2>"$tmp/err"
check "swarm run with --run-id exits 0" test $? -eq 0
mem runs --data-dir "$d"
check "runs lists the run" sh -c "test $rc -eq 0 && grep -q '^r42  done' '$tmp/out'"
mem runs --data-dir "$d" --json
check "runs --json" python3 -c "
import json; rs=[json.loads(l) for l in open('$tmp/out')]
assert len(rs)==1 and rs[0]['run_id']=='r42' and rs[0]['status']=='done', rs
assert rs[0]['task_text']=='Is C++ right for us?', rs"
mem journal r42 --data-dir "$d" --json
check "journal --json: the run, then its three calls" python3 -c "
import json; ls=[json.loads(l) for l in open('$tmp/out')]
assert ls[0]['type']=='run' and ls[0]['run_id']=='r42', ls[0]
calls=[l for l in ls if l['type']=='call']
assert len(calls)==3, calls
for c in calls:
    assert c['key'].startswith('r42\n') and c['agent'].startswith('research/'), c
    assert c['text'] and c['usage']['total_tokens']>0 and c['model'], c"
mem journal r42 --data-dir "$d"
check "journal in text" sh -c "grep -q '^run r42: done' '$tmp/out' && grep -q '^calls: 3' '$tmp/out'"
mem stats --data-dir "$d"
check "stats counts the run" has out "runs: 1"
mem journal nope --data-dir "$d"
check "an unknown run exits 1 naming it" sh -c "test $rc -eq 1 && grep -q \"unknown_run: no run 'nope'\" '$tmp/err'"

# -- a foreign directory is refused and left alone
mkdir -p "$tmp/foreign/memory"
echo "my notes" >"$tmp/foreign/memory/notes.txt"
mem import "$tmp/all.jsonl" --data-dir "$tmp/foreign"
check "a foreign directory is refused (exit 3)" sh -c "test $rc -eq 3 && grep -q 'not a SmolSwarms memory store' '$tmp/err'"
check "the foreign directory is untouched" sh -c "test \"\$(ls '$tmp/foreign/memory')\" = notes.txt"

# -- check: a healthy store, no store
mem check --data-dir "$d"
check "check of a healthy store exits 0" sh -c "test $rc -eq 0 && grep -q '^state: healthy' '$tmp/out'"
check "check counts runs and WAL files" sh -c "grep -q '^runs: 1' '$tmp/out' && grep -q '^WAL files: ' '$tmp/out'"
mem check --data-dir "$d" --json
check "check --json" python3 -c "
import json; s=json.load(open('$tmp/out'))
assert s['state']=='healthy' and s['runs']==1 and s['damage']==[] and s['earlier_damage']==[], s"
mem check --data-dir "$tmp/none"
check "check without a store exits 1" sh -c "test $rc -eq 1 && grep -q 'no store here' '$tmp/err'"

# -- check on damaged stores: images of a data directory whose `swarm run` was killed, taken while
# its first LLM call waits (the run's header is in the WAL only), then damaged
fast_url=$url
sed 's/^latency: .*/latency: {fixed_ms: 20000}/' "$src/examples/research.mock.yaml" >"$tmp/slow.mock.yaml"
start_named_mock slow "$tmp/slow.mock.yaml"
"$swarm" run "$src/examples/research.yaml" --task "Slow question" --llm-url "$url" \
  --data-dir "$tmp/live" --run-id slow1 -q >"$tmp/live.out" 2>&1 &
live_pid=$!
pids="$pids $live_pid"
seen=no
for _ in $(seq 1 300); do # at most 30 s: a slow (sanitized) build takes a while to start the run
  if "$swarm" memory runs --data-dir "$tmp/live" 2>/dev/null | grep -q '^slow1  running'; then
    seen=yes
    break
  fi
  sleep 0.1
done
check "the run to be killed is seen running before its store is imaged" test "$seen" = yes
for image in intact truncated garbage deleted; do
  mkdir -p "$tmp/$image" && cp -r "$tmp/live/memory" "$tmp/$image/memory"
done
{
  kill -KILL "$live_pid"
  wait "$live_pid"
} 2>/dev/null
mem check --data-dir "$tmp/intact"
check "a killed run's store checks healthy with its run" sh -c "test $rc -eq 0 && grep -q '^runs: 1' '$tmp/out'"
newest() { find "$tmp/$1/memory" -name '*.log' | sort | tail -1; }
wal=$(newest truncated)
truncate -s $(($(stat -c %s "$wal") - 3)) "$wal" # inside its last record, never on a boundary
mem check --data-dir "$tmp/truncated"
check "a truncated WAL: check exits 3 naming the file and the byte" sh -c "test $rc -eq 3 &&
  grep -q \"^damage: WAL file $(basename "$wal") .* is damaged at byte\" '$tmp/out' &&
  grep -q '^state: damaged' '$tmp/out'"
mem stats --data-dir "$tmp/truncated"
check "stats on a truncated WAL warns naming the loss" sh -c "test $rc -eq 0 &&
  grep -q 'warning: memory database .* is damaged: WAL file $(basename "$wal")' '$tmp/err'"
mem runs --data-dir "$tmp/truncated"
check "runs on a truncated WAL warns" grep -q 'is damaged' "$tmp/err"
wal=$(newest garbage)
printf 'GARBAGE%.0s' $(seq 1 40) | dd of="$wal" bs=1 seek=20 conv=notrunc 2>/dev/null
mem check --data-dir "$tmp/garbage" --json
check "an overwritten WAL: check --json exits 3 with a checksum mismatch" sh -c "test $rc -eq 3" &&
  check "an overwritten WAL: the damage names file and kind" python3 -c "
import json; s=json.load(open('$tmp/out'))
assert s['state']=='damaged' and any('checksum mismatch' in d and '$(basename "$wal")' in d for d in s['damage']), s"
rm -f "$tmp/deleted/memory/"*.log
mem check --data-dir "$tmp/deleted"
check "deleted WAL files: check exits 3 and says which is missing" sh -c "test $rc -eq 3 &&
  grep -q '^damage: WAL file .*\.log is missing' '$tmp/out'"
"$swarm" run "$src/examples/research.yaml" --task "After the damage" --llm-url "$fast_url" \
  --data-dir "$tmp/garbage" -q >"$tmp/out" 2>"$tmp/err"
check "swarm run on an overwritten WAL runs and warns naming the loss" sh -c "test $? -eq 0 &&
  grep -q 'swarm run: warning: the memory database of .* is damaged: WAL file $(basename "$wal") .*checksum mismatch' '$tmp/err'"
mem stats --data-dir "$tmp/deleted"
check "deleted WAL files: stats warns, never calls the store foreign" sh -c "test $rc -eq 0 &&
  grep -q 'is missing' '$tmp/err' && ! grep -q 'not a SmolSwarms' '$tmp/err'"
# A read-write open recovers; the loss stays reported until check --clear.
mem import "$tmp/in.jsonl" --data-dir "$tmp/truncated"
check "import into a damaged store warns and works" sh -c "test $rc -eq 0 && grep -q 'is damaged' '$tmp/err'"
mem check --data-dir "$tmp/truncated"
check "the loss stays reported after recovery" sh -c "test $rc -eq 3 && grep -q '^lost earlier: .*WAL file' '$tmp/out'"
mem check --data-dir "$tmp/truncated" --clear
check "check --clear reports, then forgets" test "$rc" -eq 3
mem check --data-dir "$tmp/truncated"
check "after --clear the store checks healthy" sh -c "test $rc -eq 0 && grep -q '^records: 3' '$tmp/out'"

finish
