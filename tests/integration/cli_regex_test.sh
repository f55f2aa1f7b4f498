#!/usr/bin/env bash
# No regex can hang a run (issue J): a router route, a graph `when` and a mock `match` of the form
# (a+)+$ against a text of 45 `a`s then `c` -- 2^45 steps for a backtracking matcher, which ran at
# 100 % CPU past every deadline, SIGINT and SIGTERM (std::regex did) -- decide at once; `swarm
# validate` refuses a back reference by field and line.
# Usage: cli_regex_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$1 src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1 # `swarm run` keeps its state in ./state by default

task="$(printf 'a%.0s' $(seq 1 45))c"

cat >"$tmp/mock.yaml" <<'EOF'
rules:
  - match: {system: "^You are steady"}
    reply: "steady answered"
  - match: {system: "^You are hungry"}
    reply: "hungry answered"
  - match: {system: "^You are judge"}
    reply: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"
default:
  reply: "no member named here"
EOF
start_mock "$tmp/mock.yaml"

# The dispatcher names no member, so the routes decide: the catastrophic one must not match.
cat >"$tmp/router.yaml" <<'EOF'
name: regex_router
llm: {model: mock, max_tokens: 50, timeout_ms: 20000}
swarm:
  architecture: router
  router: dispatcher
  members: [hungry, steady]
  routes:
    - {match: "(a+)+$", to: hungry}
  fallback: steady
agents:
  - {name: hungry, system_prompt: You are hungry.}
  - {name: steady, system_prompt: You are steady.}
  - {name: dispatcher, system_prompt: You are dispatcher.}
EOF
timeout -k 5 90 "$swarm" run "$tmp/router.yaml" --task "$task" --llm-url "$url" --json \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
check "the router run with a catastrophic route exits 0 (124: it hung)" test "$rc" -eq 0
check "the fallback member answered" has out "steady answered"
check "the route decision says fallback" has out "; fallback)"
check "the catastrophic route did not match" sh -c "! grep -q 'hungry answered' $tmp/out"

# A graph whose `when` is catastrophic on the judge's answer (45 `a`s then `c`): the edge does not
# hold, the other edge's member answers.
cat >"$tmp/graph.yaml" <<'EOF'
name: regex_graph
llm: {model: mock, max_tokens: 50, timeout_ms: 20000}
swarm:
  architecture: graph
  members: [judge, hungry, steady]
  edges:
    - {from: judge, to: hungry, when: "(a+)+$"}
    - {from: judge, to: steady, when: "c$"}
agents:
  - {name: judge, system_prompt: You are judge.}
  - {name: hungry, system_prompt: You are hungry.}
  - {name: steady, system_prompt: You are steady.}
EOF
timeout -k 5 90 "$swarm" run "$tmp/graph.yaml" --task "judge this" --llm-url "$url" --json \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
check "the graph run with a catastrophic when exits 0 (124: it hung)" test "$rc" -eq 0
check "the edge whose when holds was taken" has out "steady answered"
check "the catastrophic edge was not" sh -c "! grep -q 'hungry answered' $tmp/out"

# The mock's `match` too: its first rule is catastrophic on the members' requests (the task); the
# spec's route is harmless here, so only the mock is put to the test.
sed 's|{match: "(a+)+$", to: hungry}|{match: "^zzz", to: hungry}|' "$tmp/router.yaml" \
  >"$tmp/plain_router.yaml"
{
  echo 'rules:'
  echo '  - match: {user: "(a+)+$"}'
  echo '    reply: "the backtracking rule matched"'
  sed -n '2,$p' "$tmp/mock.yaml"
} >"$tmp/hostile.mock.yaml"
start_named_mock hostile "$tmp/hostile.mock.yaml"
timeout -k 5 90 "$swarm" run "$tmp/plain_router.yaml" --task "$task" --llm-url "$url" --json \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
check "the run against a mock with a catastrophic match exits 0 (124: it hung)" test "$rc" -eq 0
check "the mock answered by the next rule" has out "steady answered"
check "its catastrophic rule did not match" sh -c "! grep -q 'backtracking rule' $tmp/out"

# RE2 syntax: a back reference is refused by field and line before anything runs.
sed 's|{match: "(a+)+$", to: hungry}|{match: "(a)\\\\1", to: hungry}|' "$tmp/router.yaml" \
  >"$tmp/backref.yaml"
timeout -k 5 30 "$swarm" validate "$tmp/backref.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a back reference fails validation" test "$rc" -ne 0
check "the problem names the field, the cause and the line" \
  grep -q 'swarm.routes\[0\].match: invalid regex: back references are not supported (RE2 syntax): \\1 (line 8)' \
  "$tmp/out" "$tmp/err"

finish
