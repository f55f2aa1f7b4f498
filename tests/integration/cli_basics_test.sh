#!/usr/bin/env bash
# The `swarm` basics: --version, validate, init (+ a run of every architecture's pair against
# `swarm mock-llm`), architectures, unknown commands, run --task -/--task-file/--no-memory and
# the shell completion scripts.
# Usage: cli_basics_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$(realpath "$1") src=$(realpath "$2")
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1 # `swarm run` keeps its state in ./state by default; init writes here

sw() { # args... ; sets rc
  "$swarm" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

# -- --version: the CMake project version and CAF's
version=$(sed -n 's/^project(smolswarms VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
sw --version
check "--version exits 0" test "$rc" -eq 0
check "--version prints the project version" has out "^swarm $version (CAF 0\.17\.[0-9]*)$"

# -- unknown commands: named, with the nearest one
sw rn --task x
check "an unknown command exits 2" test "$rc" -eq 2
check "an unknown command suggests the nearest" has err "unknown command 'rn'; did you mean 'run'?"
sw memory stat
check "an unknown nested command suggests the nearest" has err "unknown command 'memory stat'; did you mean 'memory stats'?"
sw frobnicate
check "a command with no near name lists the commands" sh -c "test $rc -eq 2 && grep -q \"unknown command 'frobnicate' (commands: run, validate\" '$tmp/err'"

# -- architectures: the library's table, every architecture the reader accepts
sw architectures
check "architectures exits 0" test "$rc" -eq 0
check "architectures lists a key of hierarchical" has out "keys: lead, max_subtasks, max_attempts, review"
check "architectures lists the common keys" has out "common keys (every architecture): architecture, members"
sw architectures --json
cp "$tmp/out" "$tmp/architectures.json"
archs=$(python3 -c "import json; print(' '.join(a['name'] for a in json.load(open('$tmp/architectures.json'))['architectures']))")
check "architectures --json names eight architectures" test "$(echo "$archs" | wc -w)" -eq 8

# -- validate: every problem with path and line; exit 2 when any spec is bad
cat >"$tmp/bad.yaml" <<'YAML'
name: bad
swarm:
  architecture: concurrent
  lead: boss
agents:
  - name: a
    modle: gpt
YAML
sw validate "$src/examples/research.yaml" "$src/examples/company.yaml"
check "valid specs exit 0" test "$rc" -eq 0
check "a valid spec is summarised" has out "research.yaml: ok (research, concurrent, 3 agents)"
check "a sub-swarm is counted" has out "company.yaml: ok (company, hierarchical, 7 agents, 1 sub-swarm)"
sw validate "$src/examples/research.yaml" "$tmp/bad.yaml" "$tmp/missing.yaml"
check "a bad spec exits 2" test "$rc" -eq 2
check "every problem: the wrong key" has err "swarm.lead: key 'lead' does not apply to architecture 'concurrent' (line 4)"
check "every problem: the misspelt key" has err "agents\[0\].modle: unknown key (did you mean 'model'?) (line 7)"
check "the problems are counted per file" has err "bad.yaml: 2 problems:"
check "a missing file is named" has err "cannot read spec '$tmp/missing.yaml'"
check "the good spec is still reported" has out "research.yaml: ok"
sw validate
check "validate without a spec exits 2" test "$rc" -eq 2
# the library's checks before spawning: URLs as swarm run resolves them, unset api_key_env
cat >"$tmp/urls.yaml" <<'YAML'
name: urls
agents:
  - name: a
  - {name: b, url: "http://models.example"}
YAML
sw validate "$tmp/urls.yaml"
check "a malformed agent URL exits 2" test "$rc" -eq 2
check "a malformed URL is named with its agent, even after an agent without one" has err "urls.yaml: invalid_argument: agent 'b', the agent's url: .*did you mean http://models.example/v1?"
sw validate "$src/examples/research.yaml" --llm-url "http://127.0.0.1:8089"
check "a --llm-url without its API version exits 2" sh -c "test $rc -eq 2 && grep -q 'did you mean http://127.0.0.1:8089/v1' '$tmp/err'"
sw validate "$src/examples/research.yaml" --llm-url "http://127.0.0.1:8089/v1"
check "a good --llm-url passes" test "$rc" -eq 0
check "and no endpoint note then" sh -c "! grep -q 'no LLM endpoint' '$tmp/err'"
sw validate "$src/examples/research.yaml"
check "no endpoint yet is not a problem" test "$rc" -eq 0
check "but a note says swarm run needs one" has err "note: 1 spec names no LLM endpoint for some agent; swarm run needs --llm-url or OPENAI_BASE_URL"
cat >"$tmp/keys.yaml" <<'YAML'
name: keys
llm: {url: "http://127.0.0.1:8089/v1", api_key_env: SWARM_TEST_UNSET_KEY}
agents: [{name: a}]
YAML
sw validate "$tmp/keys.yaml"
check "an unset api_key_env is a warning, not a problem" sh -c "test $rc -eq 0 && grep -q 'warning: api_key_env names SWARM_TEST_UNSET_KEY' '$tmp/err'"

# -- init: every architecture's pair is valid and runs against its mock
for arch in $archs; do
  sw init --architecture "$arch" "s_$arch"
  check "init $arch exits 0" test "$rc" -eq 0
  check "init $arch names both files" has out "wrote s_$arch.yaml ($arch swarm 's_$arch') and s_$arch.mock.yaml"
  check "init $arch spec is commented" grep -q "^# s_$arch: a $arch swarm" "s_$arch.yaml"
  sw validate "s_$arch.yaml"
  check "init $arch spec validates" test "$rc" -eq 0
  check "init $arch spec has its architecture" has out "(s_$arch, $arch,"
  task=$(sed -n 's/^#   swarm run .* --task "\(.*\)" --llm-url.*/\1/p' "s_$arch.yaml")
  check "init $arch spec suggests a task" test -n "$task"
  start_mock "s_$arch.mock.yaml"
  sw run "s_$arch.yaml" --task "$task" --llm-url "$url" --data-dir "$tmp/state_$arch" --json -q
  check "init $arch runs against its mock (exit 0)" test "$rc" -eq 0
  check "init $arch: no rule fell through to the default reply" sh -c "! grep -q 'no scripted answer' '$tmp/out'"
  check "init $arch: a non-empty answer" python3 -c "
import json; r=json.load(open('$tmp/out')); assert r['text'].strip() and not r.get('error'), r"
  stop_mock
done
sw init --architecture graph s_graph
check "init refuses to overwrite (exit 2)" test "$rc" -eq 2
check "init names the existing file" has err "'s_graph.yaml' already exists; not overwriting it"
rm s_graph.yaml
sw init --architecture graph s_graph
check "init refuses when only the mock script exists" test "$rc" -eq 2
check "and writes nothing" test ! -e s_graph.yaml
sw init "bad name"
check "init refuses a name that is not a spec name" sh -c "test $rc -eq 2 && grep -q \"the name 'bad name' must be\" '$tmp/err'"
sw init --architecture pyramid p
check "init refuses an unknown architecture" test "$rc" -eq 2
mkdir sub
sw init sub/nested
check "init into a directory, default architecture concurrent" sh -c "test $rc -eq 0 && grep -q 'architecture: concurrent' sub/nested.yaml && grep -q '^name: nested$' sub/nested.yaml"

# -- run --task - and --task-file (the concurrent template quotes the task)
start_mock s_concurrent.mock.yaml
printf 'piped task\n' | "$swarm" run s_concurrent.yaml --task - --llm-url "$url" -q >"$tmp/out" 2>"$tmp/err"
check "--task - exits 0" test $? -eq 0
check "--task - reads stdin (without the final newline)" has out 'For "piped task":'
printf 'task from a file\n' >"$tmp/task.txt"
sw run s_concurrent.yaml --task-file "$tmp/task.txt" --llm-url "$url" -q
check "--task-file exits 0" test "$rc" -eq 0
check "--task-file reads the file" has out 'For "task from a file":'
printf ' \n\n' | "$swarm" run s_concurrent.yaml --task - --llm-url "$url" -q >"$tmp/out" 2>"$tmp/err"
check "an empty task from stdin exits 2" test $? -eq 2
check "an empty task is named" has err "the task is empty (--task - (standard input))"
: >"$tmp/empty.txt"
sw run s_concurrent.yaml --task-file "$tmp/empty.txt" --llm-url "$url"
check "an empty task file exits 2" sh -c "test $rc -eq 2 && grep -q \"the task is empty (--task-file '$tmp/empty.txt')\" '$tmp/err'"
sw run s_concurrent.yaml --task-file "$tmp/nope.txt" --llm-url "$url"
check "a missing task file exits 2 naming it" sh -c "test $rc -eq 2 && grep -q \"cannot read --task-file '$tmp/nope.txt'\" '$tmp/err'"
sw run s_concurrent.yaml --task x --task-file "$tmp/task.txt" --llm-url "$url"
check "--task and --task-file exclude each other" test "$rc" -eq 2
sw run s_concurrent.yaml --task "   " --llm-url "$url"
check "a blank --task exits 2" sh -c "test $rc -eq 2 && grep -q 'the task is empty (--task)' '$tmp/err'"
stop_mock

# -- run --no-memory: nothing recalled, nothing stored
cat >"$tmp/keeper.yaml" <<'YAML'
name: keeper
memory: {working: true, long_term: true}
tools: [{name: memory_write}]
agents:
  - name: keeper
    system_prompt: You are keeper. Remember what you are told.
    tools: [memory_write]
YAML
cat >"$tmp/keeper.mock.yaml" <<'YAML'
rules:
  - match: {system: "^You are keeper", user: "recall", history: "launch is on Tuesday"}
    reply: "RECALLED: yes"
  - match: {system: "^You are keeper", user: "recall"}
    reply: "RECALLED: no"
  - match: {system: "^You are keeper", history: "\ntool: "}
    reply: "noted"
  - match: {system: "^You are keeper"}
    tool_calls:
      - {name: memory_write, arguments: {text: "the launch is on Tuesday"}}
YAML
start_mock "$tmp/keeper.mock.yaml"
sw run "$tmp/keeper.yaml" --task "store the launch date" --llm-url "$url" --data-dir "$tmp/mem" -q
check "a run with memory exits 0" test "$rc" -eq 0
sw memory stats --data-dir "$tmp/mem"
check "a run with memory stores" sh -c "grep -q '^records: [1-9]' '$tmp/out'"
sw run "$tmp/keeper.yaml" --task "recall the launch date" --llm-url "$url" --data-dir "$tmp/mem" -q
check "a run with memory recalls" has out "RECALLED: yes"
sw run "$tmp/keeper.yaml" --task "recall the launch date" --llm-url "$url" --data-dir "$tmp/mem" -q --no-memory
check "--no-memory exits 0" test "$rc" -eq 0
check "--no-memory recalls nothing" has out "RECALLED: no"
sw run "$tmp/keeper.yaml" --task "store the launch date" --llm-url "$url" --data-dir "$tmp/nomem" -q --no-memory
check "--no-memory: the model's memory_write is refused, the run ends" test "$rc" -eq 0
sw memory stats --data-dir "$tmp/nomem"
check "--no-memory stores nothing" has out "^records: 0 "
sw run --resume r1 --no-memory --data-dir "$tmp/mem"
check "--no-memory with --resume is refused" test "$rc" -eq 2
stop_mock

# -- completion scripts: valid syntax, every subcommand, generated from the app
subcommands=$("$swarm" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF {print $1}')
check "the help lists subcommands" test "$(echo "$subcommands" | wc -w)" -ge 7
for shell in bash zsh; do
  "$swarm" completion "$shell" >"$tmp/completion.$shell" 2>"$tmp/err"
  check "completion $shell exits 0" test $? -eq 0
  for sub in $subcommands stats search journal; do
    check "completion $shell mentions $sub" grep -q -- "\"swarm\( memory\)\? $sub\")" "$tmp/completion.$shell"
  done
  check "completion $shell has run's options" grep -q -- "--task-file" "$tmp/completion.$shell"
done
check "bash -n accepts the bash script" bash -n "$tmp/completion.bash"
if command -v zsh >/dev/null; then
  check "zsh -n accepts the zsh script" zsh -n "$tmp/completion.zsh"
  # zsh's completion builtins replaced by stubs that print what they were given
  zsh_complete() { # words... ; prints what _swarm offers for the last word
    zsh -c 'compadd() { shift; echo "$*"; }; _describe() { echo "${(P)2}"; }; _files() { echo FILES; }
            compdef() { :; }; source "$1"; shift; words=("$@"); CURRENT=$#; _swarm' \
      _ "$tmp/completion.zsh" "$@"
  }
  zsh_complete swarm memory s >"$tmp/out" 2>"$tmp/err"
  check "zsh offers memory's subcommands with descriptions" has out '^stats:records per namespace'
  check "zsh offers an option's choices" test "$(zsh_complete swarm run --approve '')" = "ask yes no"
  check "zsh offers files after a valued option" test "$(zsh_complete swarm run --data-dir '')" = "FILES"
fi
complete_words() { # words... ; prints the bash completions of the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _swarm; echo "${COMPREPLY[*]}"' \
    _ "$tmp/completion.bash" "$@"
}
check "bash completes a subcommand" test "$(complete_words swarm r)" = "run"
check "bash completes a nested subcommand" test "$(complete_words swarm memory s)" = "stats search"
check "bash completes an option" test "$(complete_words swarm run --task-)" = "--task-file"
check "bash completes an option's choices" test "$(complete_words swarm run --approve '')" = "ask yes no"
check "bash completes architectures" test "$(complete_words swarm init --architecture g)" = "group_chat graph"
check "bash completes a positional's choices" test "$(complete_words swarm completion '')" = "bash zsh"
sw completion fish
check "an unknown shell exits 2" test "$rc" -eq 2

finish
