# The prologue every shell test of `swarm` shares, sourced after the test has read its arguments
# (into `swarm`, absolute, and whatever else its usage line names):
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It makes a temporary directory ($tmp, removed at exit with every mock still running), clears
# the OPENAI_* environment, counts checks ($passed, $failures) and starts `swarm mock-llm`.
# A test may define on_exit (more cleanup, run once $pids are gone) and on_failure (more to show
# on a failure).
# shellcheck shell=bash
set -uo pipefail
tmp=$(mktemp -d)
unset OPENAI_BASE_URL OPENAI_API_KEY OPENAI_MODEL
failures=0 passed=0
mock_pid="" # the mock of start_mock
pids=""     # the mocks of start_named_mock, and whatever else the test adds: killed at exit

cleanup() {
  for p in $pids; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  declare -F on_exit >/dev/null && on_exit
  [ -n "$mock_pid" ] && kill -TERM "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() { # description: counts a failure and shows the last command's output
  failures=$((failures + 1))
  echo "FAILED: $1"
  echo "--- stdout"; head -c 4000 "$tmp/out" 2>/dev/null; echo
  echo "--- stderr"; head -c 4000 "$tmp/err" 2>/dev/null; echo
  declare -F on_failure >/dev/null && on_failure
  return 0
}

check() { # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    fail "$what"
  fi
}

has() { grep -q -- "$2" "$tmp/$1"; } # file under $tmp, pattern

finish() { # the summary line; the script's exit status: 0 when nothing failed
  echo "$(basename "$0" .sh): $passed passed, $failures failed"
  [ "$failures" -eq 0 ]
}

# Starts `swarm mock-llm` with SCRIPT on a free port (files $tmp/NAME.port and $tmp/NAME.mock);
# sets url (".../v1"), base (without /v1) and launched_pid. Exits the test if it does not start
# within 10 s.
launch_mock() { # name script [mock-llm args...]
  local name=$1 script=$2
  shift 2
  rm -f "$tmp/$name.port"
  "$swarm" mock-llm --port 0 --port-file "$tmp/$name.port" --script "$script" "$@" \
    >"$tmp/$name.mock" 2>&1 &
  launched_pid=$!
  for _ in $(seq 1 200); do
    [ -s "$tmp/$name.port" ] && break
    sleep 0.05
  done
  if [ ! -s "$tmp/$name.port" ]; then
    echo "FAILED: the mock LLM ($name) did not start:"
    cat "$tmp/$name.mock"
    exit 1
  fi
  base="http://127.0.0.1:$(cat "$tmp/$name.port")"
  url="$base/v1"
}

start_mock() { # script [mock-llm args...]: the one mock of the moment ($mock_pid, $tmp/mock.mock)
  launch_mock mock "$@"
  mock_pid=$launched_pid
}

stop_mock() { # stops start_mock's mock; fails unless it exits cleanly on SIGTERM
  [ -n "$mock_pid" ] || return 0
  kill -TERM "$mock_pid" && wait "$mock_pid"
  local rc=$?
  mock_pid=""
  rm -f "$tmp/mock.port"
  return $rc
}

start_named_mock() { # name script [mock-llm args...]: one of several mocks, killed at exit
  launch_mock "$@"
  pids="$pids $launched_pid"
}
