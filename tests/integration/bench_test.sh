#!/usr/bin/env bash
# `swarm bench` with stand-in bench programs and a stand-in peer, whose figures are known, so
# every number of the report can be checked: median, min and max over the runs, the floor's
# median and the median of the per-run ratios, the JSON, the markdown, the PNG plots, the
# targets, the pinning of client and mock; a program that fails, writes garbage, writes nothing
# or is missing, an unknown scenario, a peer whose calls the mock did not see, and SIGINT while a
# program runs. With BENCH_DIR (the real bench programs of a Release build), one real quick pass
# of three scenarios, checked for every metric it must report.
# Usage: bench_test.sh SWARM_BINARY SOURCE_DIR [BENCH_DIR]
swarm=$(realpath "$1")
source_dir=$(realpath "$2")
real_bench=${3:+$(realpath "$3")}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1

# -- stand-in programs: one script under every name swarm bench runs
fake=$tmp/fake
mkdir -p "$fake"
export FAKE_DIR=$tmp/fakestate
mkdir -p "$FAKE_DIR"
cat >"$fake/stand_in" <<'EOF'
#!/usr/bin/env bash
name=$(basename "$0")
count_file=$FAKE_DIR/count.$name
run=$(( $(cat "$count_file" 2>/dev/null || echo 0) + 1 ))
echo "$run" >"$count_file"
echo "$(grep Cpus_allowed_list /proc/self/status | cut -f2) mock=${SWARM_BENCH_MOCK_CPUS:-}" \
  >"$FAKE_DIR/pin.$name"
echo "$*" >"$FAKE_DIR/args.$name"
out=${SWARM_BENCH_RECORDS:?}
case "$name" in
  bench_fanout)
    v=(10 30 20); b=(5 10 10)
    i=$(( (run - 1) % 3 ))
    [ -n "${FAKE_FAILED:-}" ] &&
      echo '{"scenario":"fanout","params":{"n":1000,"latency_ms":20},"metric":"failed","unit":"requests","better":"lower","value":3,"floors":{}}' >>"$out"
    for n in 100 1000; do
      echo "{\"scenario\":\"fanout\",\"params\":{\"n\":$n,\"latency_ms\":20},\"metric\":\"cpu_us_per_call\",\"unit\":\"us\",\"better\":\"lower\",\"value\":$(( v[i] * n / 1000 )),\"floors\":{\"bare Beast client\":$(( b[i] * n / 1000 )),\"libcurl multi\":4}}" >>"$out"
      echo "{\"scenario\":\"fanout\",\"params\":{\"n\":$n,\"latency_ms\":20},\"metric\":\"kb_per_inflight\",\"unit\":\"KB\",\"better\":\"lower\",\"value\":3,\"floors\":{}}" >>"$out"
    done ;;
  bench_grant)
    echo '{"scenario":"grant","params":{"shape":"pipelined"},"metric":"grant_overhead_us","unit":"us","better":"lower","value":2.5,"floors":{}}' >>"$out"
    [ -n "${FAKE_GARBAGE:-}" ] && echo 'this is not a record' >>"$out" ;;
  bench_scheduler)
    [ -n "${FAKE_EXIT:-}" ] && { echo "boom: the endpoint went away" >&2; exit 3; }
    if [ -n "${FAKE_CRASH:-}" ]; then # leaves a child behind, as a crashed bench leaves its mock
      sleep 300 &
      echo $! >"$FAKE_DIR/orphan.pid"
      kill -SEGV $$
    fi ;;
  bench_messaging)
    if [ -n "${FAKE_SLEEP:-}" ]; then
      sleep 60 &
      echo "$$ $!" >"$FAKE_DIR/sleeping.pid"
      wait
    fi
    echo '{"scenario":"messaging","params":{"receivers":1000},"metric":"dm_msgs_per_s","unit":"msg/s","better":"higher","value":2000000,"floors":{"bare CAF":2500000}}' >>"$out" ;;
esac
exit 0
EOF
chmod +x "$fake/stand_in"
for p in bench_fanout bench_scheduler bench_messaging bench_hierarchical bench_memory \
         bench_resume bench_grant bench_cluster bench_mock_llm_throughput; do
  ln -s stand_in "$fake/$p"
done
reset_counts() { rm -f "$FAKE_DIR"/count.*; }
gone() { # pid...: none of them runs (a zombie whose parent died counts as gone)
  local p st
  for p in "$@"; do
    st=$(ps -o stat= -p "${p:-0}" 2>/dev/null)
    [ -n "$st" ] && [ "${st#Z}" = "$st" ] && return 1
  done
  return 0
}
jqf() { python3 -c "import json,sys; d=json.load(open('$tmp/r.json')); print($1)"; }

# -- figures: median, min, max over 3 runs; floors and ratio
"$swarm" bench fanout --bench-dir "$fake" --repeats 3 --json r.json --markdown r.md \
  --plots plots >out 2>err
check "three runs of fanout succeed" test $? -eq 0
check "bench_fanout ran three times" test "$(cat "$FAKE_DIR/count.bench_fanout")" = 3
check "the full mode's arguments" \
  test "$(cat "$FAKE_DIR/args.bench_fanout")" = "--only fanout --sizes 10,100,1000,10000 --latencies 0,20 --rounds 5"
rec='[r for r in d["records"] if r["scenario"]=="fanout" and r["params"]["n"]==1000][0]'
check "median of 10, 30, 20" test "$(jqf "$rec['metrics']['cpu_us_per_call']['value']")" = 20.0
check "min and max" test "$(jqf "($rec['metrics']['cpu_us_per_call']['min'], $rec['metrics']['cpu_us_per_call']['max'])")" = "(10.0, 30.0)"
check "the floor is the median of the first floor's runs" \
  test "$(jqf "($rec['metrics']['cpu_us_per_call']['floor_name'], $rec['metrics']['cpu_us_per_call']['floor'])")" = "('bare Beast client', 10.0)"
check "the ratio is the median of the per-run ratios (2, 3, 2)" \
  test "$(jqf "$rec['metrics']['cpu_us_per_call']['ratio']")" = 2.0
check "every floor is kept" test "$(jqf "$rec['metrics']['cpu_us_per_call']['floors']['libcurl multi']")" = 4.0
check "runs counted" test "$(jqf "$rec['metrics']['cpu_us_per_call']['runs']")" = 3
check "one record per scenario and parameter set" test "$(jqf 'len(d["records"])')" = 2
check "records carry machine, commit and date" \
  test "$(jqf "all(r['machine'] and r['commit'] and r['date'] for r in d['records'])")" = True
check "the target of 50 us is checked against the median" \
  test "$(jqf "[t for t in d['targets'] if 'CPU per call <= 50 us' in t['target']][0]['met']")" = True
check "an unmeasured target says so" \
  test "$(jqf "[t for t in d['targets'] if 'LangGraph' in t['target']][0]['measured']")" = None
check "the markdown table has the row" grep -q "| n=1000 latency_ms=20 | cpu_us_per_call (us) | 20.0 | 10.0 - 30.0 | 3 | bare Beast client 10.0; libcurl multi 4.00 | 2.00x |" r.md
check "the report goes to stdout too" grep -q "### fanout" out
check "the targets table" grep -q "| A | fan-out N = 1,000 at 20 ms: client CPU per call <= 50 us | 20.0 | n=1000 latency_ms=20 | met |" r.md
png=plots/fanout_cpu_us_per_call_latency_ms_20.png
check "the scaling curve is a PNG" test "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
check "a curve per metric" \
  test -s plots/fanout_kb_per_inflight_latency_ms_20.png
check "progress names each run" grep -q "fanout (bench_fanout) run 3/3: 4 figures" err
cpus() { # a CPU list as the kernel prints it ("0-2,5") -> one number per line
  python3 -c "
import sys
for part in sys.argv[1].split(','):
    lo, _, hi = part.partition('-')
    print(*range(int(lo), int(hi or lo) + 1), sep='\n')" "$1"
}
allowed=$(cpus "$(grep Cpus_allowed_list /proc/self/status | cut -f2)")
if [ "$(echo "$allowed" | wc -l)" -ge 2 ]; then
  read -r client_list mock_field <"$FAKE_DIR/pin.bench_fanout"
  check "the mock's CPU is the last allowed one" test "${mock_field#mock=}" = "$(echo "$allowed" | tail -1)"
  check "the client's are the others" test "$(cpus "$client_list")" = "$(echo "$allowed" | head -n -1)"
  reset_counts
  "$swarm" bench grant --bench-dir "$fake" --repeats 1 --no-pin >out 2>err
  check "--no-pin leaves the mock's CPUs unset" grep -q "mock=$" "$FAKE_DIR/pin.bench_grant"
fi

# -- a saved run reported again: the same figures, targets and plots, nothing run
reset_counts
"$swarm" bench --from r.json --json again.json --plots replots >out 2>err
check "--from reports a saved run" test $? -eq 0
check "running nothing" test ! -e "$FAKE_DIR/count.bench_fanout"
check "the same records and targets" python3 -c "
import json; a = json.load(open('r.json')); b = json.load(open('again.json'))
assert a['records'] == b['records'] and a['targets'] == b['targets'] and a['machine'] == b['machine']"
check "the same plots" test -s replots/fanout_cpu_us_per_call_latency_ms_20.png
echo '{"records": [{"params": {}}]}' >broken.json
"$swarm" bench --from broken.json >out 2>err
check "a broken saved run is a usage error" test $? -eq 2
check "naming the file and the record" grep -q 'broken.json: records\[0\]: a record needs "params" and "metrics" objects' err
"$swarm" bench fanout --from r.json >out 2>err
check "--from with scenarios is refused" test $? -eq 2

# -- quick mode: its own arguments, two runs by default
reset_counts
"$swarm" bench fanout --quick --bench-dir "$fake" >out 2>err
check "quick mode succeeds" test $? -eq 0
check "quick mode runs twice" test "$(cat "$FAKE_DIR/count.bench_fanout")" = 2
check "quick mode's arguments" grep -q -- "--sizes 100,1000 --latencies 20 --rounds 5" \
  "$FAKE_DIR/args.bench_fanout"

# -- what fails, and how it is named
"$swarm" bench fanout nosuch --bench-dir "$fake" >out 2>err
check "an unknown scenario is a usage error" test $? -eq 2
check "naming it and the scenarios there are" grep -q "unknown scenario 'nosuch' (scenarios: fanout, sequential" err
check "nothing ran for it" test "$(cat "$FAKE_DIR/count.bench_fanout")" = 2
mkdir -p partial && ln -s "$fake/stand_in" partial/bench_fanout
"$swarm" bench fanout grant --bench-dir "$tmp/partial" >out 2>err
check "a missing program is a usage error" test $? -eq 2
check "naming the program and how to build it" grep -q "needs $tmp/partial/bench_grant, which is not there (build the bench programs: make bench" err

reset_counts
rm -f r.json
FAKE_GARBAGE=1 "$swarm" bench fanout grant --bench-dir "$fake" --repeats 1 --json r.json >out 2>err
check "garbage from a program fails the bench" test $? -eq 1
check "naming the file and line" grep -q "grant-1.jsonl:2: not JSON" err
check "the other scenarios are still reported" test "$(jqf "len(d['records'])")" = 2

FAKE_EXIT=1 "$swarm" bench idle-wait --bench-dir "$fake" --repeats 1 >out 2>err
check "a program that fails fails the bench" test $? -eq 1
check "with its exit status" grep -q "idle-wait: bench_scheduler exited with 3" err
check "and the last lines of its output" grep -q "boom: the endpoint went away" err

FAKE_FAILED=1 "$swarm" bench fanout --bench-dir "$fake" --repeats 1 >out 2>err
check "failed requests fail the bench" test $? -eq 1
check "naming how many and where" grep -q "fanout: 3 requests failed (fanout n=1000 latency_ms=20)" err

rm -f "$FAKE_DIR/orphan.pid"
FAKE_CRASH=1 "$swarm" bench idle-wait --bench-dir "$fake" --repeats 1 >out 2>err
check "a crashed program fails the bench" test $? -eq 1
check "with its signal" grep -q "idle-wait: bench_scheduler exited with 139" err
check "it left a process running" test -s "$FAKE_DIR/orphan.pid"
check "which is killed" gone "$(cat "$FAKE_DIR/orphan.pid")"

"$swarm" bench hierarchical --bench-dir "$fake" --repeats 1 >out 2>err
check "a program that writes no figures fails the bench" test $? -eq 1
check "saying so" grep -q "bench_hierarchical wrote no figures" err

# -- SIGINT while a program runs: it is stopped, the bench exits 130 at once
rm -f "$FAKE_DIR/sleeping.pid"
FAKE_SLEEP=1 "$swarm" bench messaging --bench-dir "$fake" --repeats 1 >out 2>err &
bench_pid=$!
for _ in $(seq 1 100); do [ -s "$FAKE_DIR/sleeping.pid" ] && break; sleep 0.05; done
check "the program was running" test -s "$FAKE_DIR/sleeping.pid"
read -r program_pid grandchild_pid <"$FAKE_DIR/sleeping.pid"
t0=$(date +%s%N)
kill -INT $bench_pid
wait $bench_pid
rc=$?
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "SIGINT exits 130" test $rc -eq 130
check "within 4 s (took ${took_ms} ms)" test $took_ms -lt 4000
check "the running program is gone" gone "$program_pid"
check "and what it started" gone "$grandchild_pid"

# -- --timeout: a program past it is stopped, with what it started
rm -f "$FAKE_DIR/sleeping.pid"
t0=$(date +%s%N)
FAKE_SLEEP=1 "$swarm" bench messaging --bench-dir "$fake" --repeats 1 --timeout 2 >out 2>err
rc=$?
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a program past --timeout fails the bench" test $rc -eq 1
check "saying so" grep -q "messaging: timed out after 2 s" err
check "within 6 s (took ${took_ms} ms)" test $took_ms -lt 6000
read -r program_pid grandchild_pid <"$FAKE_DIR/sleeping.pid"
check "the program and what it started are gone" gone "$program_pid" "$grandchild_pid"

# -- the peers: a stand-in peers.mjs; the mock's request log must match its calls
peers=$tmp/peers
mkdir -p "$peers/node_modules"
echo '{"lockfileVersion": 3}' >"$peers/package-lock.json"
sha256sum "$peers/package-lock.json" | cut -d' ' -f1 >"$peers/node_modules/.installed-from-lock"
cp "$source_dir/bench/peers/mock.yaml" "$peers/mock.yaml"
cat >"$peers/peers.mjs" <<'EOF'
import { writeFileSync } from 'node:fs';
const a = {};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].slice(2)] = process.argv[i + 1];
const n = Number(a.n), rounds = Number(a.rounds);
const short = process.env.FAKE_SHORT && a.framework === 'agents' ? 1 : 0;
const calls = [];
for (let i = 0; i < n * (rounds + 1) - short; i++)
  calls.push(fetch(`${a['base-url']}/chat/completions`, { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: `worker ${i}: hi` }] }) })
    .then((r) => r.text()));
await Promise.all(calls);
const cpu = { fetch: 400, langgraph: 6000, agents: 1200 }[a.framework];
writeFileSync(a.out, JSON.stringify({ framework: a.framework, scenario: a.scenario, n,
  latency_ms: Number(a['latency-ms']), wall_ms: { median: 25, min: 24, max: 26 },
  cpu_us_per_call: { median: cpu, min: cpu, max: cpu }, peak_rss_mb: 90,
  added_latency_us: { p50: 100, p99: 200 } }) + '\n');
EOF
if command -v node >/dev/null; then
  reset_counts
  "$swarm" bench fanout --quick --peers --peers-dir "$peers" --bench-dir "$fake" --repeats 1 \
    --json r.json >out 2>err
  check "the peers run beside fanout" test $? -eq 0
  check "each peer framework is a record" \
    test "$(jqf "sorted({r['framework'] for r in d['records'] if r['framework'] != 'smolswarms'})")" = "['agents', 'fetch', 'langgraph']"
  check "LangGraph: 6000 / 10 = 600x ours, target met" \
    test "$(jqf "[(t['measured'], t['met']) for t in d['targets'] if 'LangGraph' in t['target']][0]")" = "(600.0, True)"
  check "the side-by-side table" grep -q "| LangGraph.js | 25.0 | 6,000 | 90.0 | 100 | 200 | 600x |" out
  check "the C++ floor's row" grep -q "| bare Beast client (C++ floor) | - | 5.00 | - | - | - | 0.50x |" out
  FAKE_SHORT=1 "$swarm" bench fanout --quick --peers --peers-dir "$peers" --bench-dir "$fake" \
    --repeats 1 >out 2>err
  check "a peer the mock did not see call for call fails the bench" test $? -eq 1
  check "naming the counts" grep -q "peers: agents fanout n=100: the mock logged 599 requests, expected 600" err
fi

PATH=/nonexistent "$swarm" bench fanout --peers --peers-dir "$peers" --bench-dir "$fake" >out 2>err
check "--peers without Node.js is refused before anything runs" test $? -eq 2
check "naming what is missing" grep -q "needs Node.js >= 20 and npm on PATH (node: not found, npm: not found)" err

# -- the real programs, one quick pass (Release builds)
if [ -n "$real_bench" ]; then
  "$swarm" bench sequential grant messaging --quick --repeats 1 --bench-dir "$real_bench" \
    --json real.json --plots realplots >out 2>err
  check "a real quick pass of sequential, grant and messaging" test $? -eq 0
  cp real.json r.json
  for m in "sequential call_us_p50" "sequential added_us_p50" "grant grant_overhead_us" \
           "messaging dm_msgs_per_s"; do
    set -- $m
    check "real figure $1 $2" test "$(jqf "any('$2' in r['metrics'] for r in d['records'] if r['scenario']=='$1')")" = True
  done
  check "the real call latency has its bare Beast floor" \
    test "$(jqf "[r for r in d['records'] if r['scenario']=='sequential' and 'call_us_p50' in r['metrics']][0]['metrics']['call_us_p50']['floor_name']")" = "bare Beast client"
fi

finish
