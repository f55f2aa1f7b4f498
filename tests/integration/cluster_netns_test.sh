#!/usr/bin/env bash
# Cluster membership across a real network: three `swarm node` processes, each in a network
# namespace of its own, joined by veth pairs to a bridge in a fourth namespace, on private
# addresses (10.231.0.1-3) with mutual TLS (`swarm cert`). All see each other up; the bridge port
# of n3 is taken down (a partition): n1 and n2 see n3 unreachable within the failure timeout and
# down within twice it, n3 sees them so too, n1 and n2 still see each other up; the port comes up
# again (the partition heals) and every node sees every other one up. The times measured are
# printed ("detection: ...").
# Needs root and `ip netns`; without them it says why and exits 77 (CTest's skip).
# Usage: cluster_netns_test.sh SWARM_BINARY
swarm=$(realpath "$1")
skip() {
  echo "SKIPPED: $1"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "not root: network namespaces need root"
command -v ip >/dev/null || skip "no 'ip' command (iproute2)"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The node processes do not check leaks (see cluster_test.sh: CAF's middleman at shutdown).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
cd "$tmp" || exit 1

heartbeat_ms=100
failure_ms=1500
reconnect_ms=300
port=4241
prefix="swnt$$"     # namespaces swntPID-hub, swntPID-n1..3: unique per run
hub="$prefix-hub"
made=""             # the namespaces made so far, deleted at exit
declare -A addr=([n1]=10.231.0.1 [n2]=10.231.0.2 [n3]=10.231.0.3)
declare -A pid

on_exit() {
  local ns p
  for ns in $made; do
    # Whatever this test started inside (a status query cut short) goes with the namespace.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
}
trap 'exit 130' INT TERM

# Namespaces of earlier runs of this test killed before they could clean up (their pid is gone).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^swnt[0-9]+-(hub|n[123])$'); do
  old=${ns#swnt}
  old=${old%%-*}
  kill -0 "$old" 2>/dev/null || ip netns del "$ns" 2>/dev/null
done

make_ns() { # name: creates it, or skips the test saying why
  ip netns add "$1" 2>"$tmp/err" || skip "ip netns add failed: $(cat "$tmp/err")"
  made="$made $1"
  ip -n "$1" link set lo up
}

make_ns "$hub"
ip -n "$hub" link add br0 type bridge 2>"$tmp/err" || skip "no bridge in a namespace: $(cat "$tmp/err")"
ip -n "$hub" link set br0 up
for n in n1 n2 n3; do
  make_ns "$prefix-$n"
  ip -n "$hub" link add "h$n" type veth peer name eth0 netns "$prefix-$n" 2>"$tmp/err" ||
    skip "no veth pair: $(cat "$tmp/err")"
  ip -n "$hub" link set "h$n" master br0
  ip -n "$hub" link set "h$n" up
  ip -n "$prefix-$n" addr add "${addr[$n]}/24" dev eth0
  ip -n "$prefix-$n" link set eth0 up
done
# The network itself, before any node (when ping is there): n1 reaches n3 through the bridge.
if command -v ping >/dev/null; then
  ok=no
  for _ in $(seq 1 50); do
    ip netns exec "$prefix-n1" ping -c 1 -W 1 "${addr[n3]}" >/dev/null 2>&1 && ok=yes && break
    sleep 0.1
  done
  check "the namespaces are linked (n1 pings n3)" test "$ok" = yes
fi

"$swarm" cert ca pki >/dev/null && for n in n1 n2 n3; do "$swarm" cert node pki "$n" >/dev/null; done
check "certificates made" test -s pki/n3.key
tls() { echo --tls-cert "$tmp/pki/$1.crt" --tls-key "$tmp/pki/$1.key" --tls-ca "$tmp/pki/ca.crt"; }

start_node() { # name [args...]: `swarm node` in the name's namespace, listening on its address
  local n=$1
  shift
  # shellcheck disable=SC2046
  ip netns exec "$prefix-$n" "$swarm" node --name "$n" --listen "${addr[$n]}:$port" \
    --address-file "$tmp/$n.addr" $(tls "$n") --heartbeat-ms $heartbeat_ms \
    --failure-timeout-ms $failure_ms --reconnect-ms $reconnect_ms "$@" 2>"$tmp/$n.log" &
  pid[$n]=$! # `ip netns exec` execs the command: this is the node's pid
  pids="$pids ${pid[$n]}"
  for _ in $(seq 1 200); do
    [ -s "$tmp/$n.addr" ] && return 0
    sleep 0.05
  done
  echo "FAILED: node $n did not start:"
  cat "$tmp/$n.log"
  exit 1
}

# The state of MEMBER as node N sees it ("" if it is not listed or N does not answer), asked
# from inside N's namespace.
state_of() { # n member
  # shellcheck disable=SC2046
  timeout 10 ip netns exec "$prefix-$1" "$swarm" cluster status --cluster "${addr[$1]}:$port" \
    --json --timeout-ms 3000 $(tls "$1") 2>"$tmp/err" |
    python3 -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
print(next((n["state"] for n in nodes if n["name"] == sys.argv[1]), ""))' "$2" 2>/dev/null
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Waits up to SECONDS for MEMBER to be in one of STATES ("a|b") as N sees it; sets waited_ms
# (from SINCE, ms, default now) and seen (the state).
wait_state() { # n member states seconds [since]
  local n=$1 member=$2 states=$3 seconds=$4 since=${5:-$(now_ms)}
  local deadline=$(($(now_ms) + seconds * 1000))
  waited_ms=""
  while :; do
    seen=$(state_of "$n" "$member")
    if [[ "|$states|" == *"|$seen|"* ]]; then
      waited_ms=$(($(now_ms) - since))
      return 0
    fi
    [ "$(now_ms)" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

on_failure() {
  local n
  for n in n1 n2 n3; do
    echo "--- $n.log"
    tail -n 20 "$tmp/$n.log" 2>/dev/null
  done
}

# -- three nodes, one per namespace
start_node n1
start_node n2 --join "${addr[n1]}:$port"
# n3 joins through n1 alone, as docs/cluster.md shows: it learns n2 from n1's welcome, and links
# to it (a member whose first dial fails is dialled again every reconnect interval).
start_node n3 --join "${addr[n1]}:$port"
for n in n1 n2 n3; do
  for m in n1 n2 n3; do
    [ "$n" = "$m" ] && continue
    check "$n sees $m up" wait_state "$n" "$m" up 15
  done
done
check "n1 listens on its namespace's address, not loopback" has n1.addr "^${addr[n1]}:$port\$"

# -- partition: n3's bridge port goes down
cut=$(now_ms)
ip -n "$hub" link set hn3 down
if wait_state n1 n3 unreachable $((failure_ms / 1000 + 3)) "$cut"; then
  passed=$((passed + 1))
  unreachable_ms=$waited_ms
  # Never before the timeout (less a heartbeat of when the last one was heard, and the tick).
  check "... not before the failure timeout ($unreachable_ms ms)" \
    test "$unreachable_ms" -ge $((failure_ms - 2 * heartbeat_ms))
  check "... and within it, polls included ($unreachable_ms ms)" \
    test "$unreachable_ms" -le $((failure_ms + 1500))
else
  fail "n1 sees n3 unreachable (failure timeout $failure_ms ms; last seen '$seen')"
fi
check "n1 sees n3 down (twice the failure timeout)" \
  wait_state n1 n3 down $((2 * failure_ms / 1000 + 4)) "$cut"
down_ms=$waited_ms
check "... within twice the failure timeout, polls included (${down_ms:-never} ms)" \
  test "${down_ms:-99999}" -le $((2 * failure_ms + 2000))
check "n2 sees n3 down too" wait_state n2 n3 down 5 "$cut"
check "n3, cut off, sees n1 unreachable or down" wait_state n3 n1 "unreachable|down" 5 "$cut"
check "n3 sees n2 unreachable or down" wait_state n3 n2 "unreachable|down" 5 "$cut"
check "n1 still sees n2 up (only n3 is cut off)" test "$(state_of n1 n2)" = up
check "n2 still sees n1 up" test "$(state_of n2 n1)" = up
check "n3's process runs on" kill -0 "${pid[n3]}"

# -- the partition heals: n3 is dialled again (--reconnect-ms) and up everywhere
healed=$(now_ms)
ip -n "$hub" link set hn3 up
check "healed: n1 sees n3 up" wait_state n1 n3 up 20 "$healed"
heal_ms=$waited_ms
check "healed: n2 sees n3 up" wait_state n2 n3 up 20 "$healed"
check "healed: n3 sees n1 up" wait_state n3 n1 up 20 "$healed"
check "healed: n3 sees n2 up" wait_state n3 n2 up 20 "$healed"
heal_all_ms=$(($(now_ms) - healed))

echo "detection: heartbeat $heartbeat_ms ms, failure timeout $failure_ms ms, reconnect" \
  "$reconnect_ms ms; n3 cut off: unreachable on n1 after ${unreachable_ms:-?} ms, down after" \
  "${down_ms:-?} ms; healed: n3 up on n1 after ${heal_ms:-?} ms, everywhere after" \
  "${heal_all_ms:-?} ms (each poll: a TLS status query, ~0.1 s)"

# -- SIGTERM while a member is cut off: CAF's middleman would wait for its connect() to the
# cut-off address for minutes; the node exits within seconds of leaving
ip -n "$hub" link set hn3 down
check "cut off again: n1 sees n3 down" wait_state n1 n3 down 8
term=$(now_ms)
kill -TERM "${pid[n1]}"
timeout 15 tail --pid="${pid[n1]}" -f /dev/null
rc=$?
check "SIGTERM while a member is cut off: n1 exits within 15 s (took $(($(now_ms) - term)) ms)" \
  test $rc -eq 0
kill -KILL "${pid[n1]}" 2>/dev/null
ip -n "$hub" link set hn3 up
check "n2 sees n3 up again" wait_state n2 n3 up 20

# -- every node drains and leaves on SIGTERM, across the namespaces
for n in n1 n2 n3; do kill -TERM "${pid[$n]}" 2>/dev/null; done
for n in n1 n2 n3; do
  timeout 15 tail --pid="${pid[$n]}" -f /dev/null
  check "SIGTERM: $n exits within 15 s" test $? -eq 0
done

finish
