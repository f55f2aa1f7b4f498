#!/usr/bin/env bash
# `swarm run` checks its input before it spawns anything and names the real cause of a failure:
# endpoint URLs, unset api_key_env, run ids, deep YAML, rate limits that can never be met, the
# embeddings endpoint, offline replay, unpriced models, and servers that refuse response_format.
# Usage: cli_checks_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$1 src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1 # `swarm run` keeps its state in ./state by default

run() { # args... ; sets rc
  timeout 120 "$swarm" run "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

lacks() { ! grep -q -- "$2" "$tmp/$1"; }
count() { grep -c -- "$2" "$tmp/$1"; }
chat_requests() { python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$base/stats'))['chat_requests'])"; }

research="$src/examples/research.yaml"
start_mock "$src/examples/research.mock.yaml"

# -- endpoint URLs are checked before anything is spawned: exit 2, no LLM call
run "$research" --task q --llm-url "$base"
check "a URL without /v1 exits 2" test "$rc" -eq 2
check "it names the agent and the flag" has err "agent 'advocate', --llm-url: bad endpoint URL '$base'"
check "it suggests the /v1 path" has err "did you mean $base/v1?"
check "nothing was spawned" lacks err "swarm run: research ("
check "no LLM call was made" test "$(chat_requests)" -eq 0
run "$research" --task q --llm-url "localhost:8089/v1"
check "a URL without scheme exits 2" test "$rc" -eq 2
check "the scheme is named" has err "scheme must be http or https"
OPENAI_BASE_URL="http://" "$swarm" run "$research" --task q >"$tmp/out" 2>"$tmp/err"
check "a URL without host in OPENAI_BASE_URL exits 2" test $? -eq 2
check "the variable and the defect are named" sh -c "grep -q 'OPENAI_BASE_URL' $tmp/err && grep -q 'no host' $tmp/err"
sed "s|^llm:|llm:\n  url: $base/|" "$research" >"$tmp/spec_url.yaml"
run "$tmp/spec_url.yaml" --task q
check "a spec llm.url without /v1 exits 2" test "$rc" -eq 2
check "the spec key is named" has err "spec llm.url: bad endpoint URL"

# -- an api_key_env naming an unset variable: one warning, the run goes on
sed "s|^llm:|llm:\n  api_key_env: SWARM_TEST_NO_SUCH_KEY|" "$research" >"$tmp/key.yaml"
run "$tmp/key.yaml" --task q --llm-url "$url"
check "an unset api_key_env still runs" test "$rc" -eq 0
check "it is one warning naming the variable" test "$(count err 'warning: api_key_env names SWARM_TEST_NO_SUCH_KEY')" -eq 1
check "the warning names the agents" has err "agents 'advocate', 'skeptic', 'pragmatist' will call the endpoint without a key"

# -- no price for the model: the summary says so instead of $0.000000
run "$research" --task q --llm-url "$url"
check "a run without prices exits 0" test "$rc" -eq 0
check "the cost is unknown" has err "spent [0-9]* tokens, cost unknown"
check "per agent too" has err "advocate .* calls  cost unknown"
check "no made-up zero cost" lacks err '\$0.000000'
sed "s|^llm:|resources:\n  prices: [{model: gpt-4o-mini, prompt: 0.15, completion: 0.6}]\nllm:|" "$research" >"$tmp/priced.yaml"
run "$tmp/priced.yaml" --task q --llm-url "$url"
check "with a price the cost is printed" has err 'spent [0-9]* tokens, \$0\.0*[1-9][0-9]* (resources.prices)'
check "and is not unknown" lacks err "cost unknown"

# -- run ids that cannot name a directory: exit 2 before anything runs
for id in .. . a/b "a b" "" "$(printf 'x\001y')" "$(printf 'r%.0s' $(seq 1 129))"; do
  run "$research" --task q --llm-url "$url" --run-id "$id"
  check "run id '$id' exits 2" test "$rc" -eq 2
  check "run id '$id' is named as the problem" has err "run id"
done
run "$research" --task q --llm-url "$url" --run-id "$(printf 'r%.0s' $(seq 1 128))" --quiet
check "a 128-character run id is fine" test "$rc" -eq 0

# -- a document nested 100,000 deep: the nesting is named, no crash
python3 -c "print('[' * 100000)" >"$tmp/deep.yaml"
run "$tmp/deep.yaml" --task q --llm-url "$url"
check "deep YAML exits 2" test "$rc" -eq 2
check "deep YAML names the nesting and line" has err "YAML nesting deeper than 128 levels .* (line 1)"
check "deep YAML is no 'bad file'" lacks err "bad file"

# -- a call that can never fit the endpoint's tokens per minute fails at once, saying why
sed "s|^llm:|resources:\n  endpoints: [{url: default, tokens_per_minute: 100}]\nllm:|" "$research" >"$tmp/tpm.yaml"
start_s=$(date +%s)
run "$tmp/tpm.yaml" --task q --llm-url "$url"
took=$(($(date +%s) - start_s))
check "an estimate over tokens_per_minute fails" test "$rc" -eq 1
check "without waiting for a slot" test "$took" -lt 20
check "naming estimate, limit and endpoint" has err "exceeds tokens_per_minute 100 of endpoint $url"
check "not 'got no slot'" lacks err "got no slot"

# -- memory.embeddings_url falls back to OPENAI_BASE_URL, like the agents' endpoint
sed "s|^llm:|memory: {long_term: true, embeddings_model: mock-embed}\nllm:|" "$research" >"$tmp/mem.yaml"
OPENAI_BASE_URL="$url" timeout 120 "$swarm" run "$tmp/mem.yaml" --task "remember" --data-dir "$tmp/mem" \
  >"$tmp/out" 2>"$tmp/err"
check "embeddings find the endpoint through OPENAI_BASE_URL" test $? -eq 0

# -- a reply the client cannot read names its code once
stop_mock
printf 'faults:\n  - {kind: invalid_json}\n' >"$tmp/badjson.yaml"
start_mock "$tmp/badjson.yaml"
run "$research" --task q --llm-url "$url"
check "unreadable replies fail the run" test "$rc" -eq 1
check "the code is named" has err "llm_invalid_response: response is not JSON"
check "once" lacks err "llm_invalid_response: llm_invalid_response"
stop_mock

# -- --replay needs no endpoint: replayed offline with no URL anywhere
start_mock "$src/examples/research.mock.yaml"
run "$research" --task "offline?" --llm-url "$url" --record "$tmp/rec.jsonl" --data-dir "$tmp/rec"
check "recorded run exits 0" test "$rc" -eq 0
cp "$tmp/out" "$tmp/recorded.txt"
stop_mock
run "$research" --task "offline?" --replay "$tmp/rec.jsonl" --data-dir "$tmp/replay"
check "replay without any URL exits 0" test "$rc" -eq 0
check "and prints the recorded answer" cmp -s "$tmp/out" "$tmp/recorded.txt"

# -- a server that refuses response_format: the plan is asked again, the schema in the prompt
{ cat "$src/examples/company.mock.yaml"; printf 'faults:\n  - {kind: refuse_response_format}\n'; } \
  >"$tmp/refuse.yaml"
start_mock "$tmp/refuse.yaml" --request-log "$tmp/requests.jsonl"
run "$src/examples/company.yaml" --task "Launch?" --llm-url "$url" --data-dir "$tmp/company"
check "a hierarchical run against a refusing server exits 0" test "$rc" -eq 0
check "the lead's plan was followed" has out "Decision: launch a paid beta"
check "the plan request went once with response_format, refused" python3 -c "
import json
lines = [json.loads(l) for l in open('$tmp/requests.jsonl')]
plans = [l for l in lines if l['user'].startswith('Plan the task')]
assert [p['response_format'] for p in plans] == [True, False], plans
assert plans[0]['n'] + 1 == plans[1]['n'] or plans[0]['n'] < plans[1]['n'], plans"
stop_mock

# -- text that is not UTF-8 (issue J 2): repaired where it enters, the run says so and completes
printf 'name: bytes\nagents:\n  - name: a\n    system_prompt: "You are \300 a."\n' >"$tmp/bytes.yaml"
"$swarm" validate "$tmp/bytes.yaml" >"$tmp/out" 2>"$tmp/err"
check "validate accepts a spec with invalid UTF-8" test "$?" -eq 0
check "and says what a run will replace" has err "bytes.yaml: warning: not valid UTF-8: 1 sequence(s)"
printf 'default:\n  reply: "got: {{user}}"\n' >"$tmp/echo.yaml"
start_mock "$tmp/echo.yaml"
run "$tmp/bytes.yaml" --task "$(printf 'say \377\376 hi')" --llm-url "$url" --model mock \
  --data-dir "$tmp/bytes" --events "$tmp/bytes.jsonl"
check "a run with an invalid task and spec exits 0" test "$rc" -eq 0
check "the model got U+FFFD in valid JSON" has out "got: say $(printf '\357\277\275\357\277\275') hi"
check "the task's repair is told" has err "task was not valid UTF-8: 2 sequence(s) replaced by U+FFFD"
check "the spec's repair is told" has err "spec was not valid UTF-8: 1 sequence(s) replaced"
check "the events file has both, valid JSON" python3 -c "
import json
kinds = [json.loads(l) for l in open('$tmp/bytes.jsonl', encoding='utf-8')]
fixed = {e['name']: e['total'] for e in kinds if e['kind'] == 'input_repaired'}
assert fixed == {'spec': 1, 'task': 2}, fixed"
stop_mock

finish
