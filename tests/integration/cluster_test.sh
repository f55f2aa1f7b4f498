#!/usr/bin/env bash
# Cluster membership with real processes on loopback: `swarm node` x 3 joined through one seed,
# `swarm cluster status` from other processes; a killed node is down at once, a stopped one
# unreachable within its failure timeout and up again when it continues, a restarted one rejoins,
# SIGTERM leaves; mutual TLS admits the CA's nodes and refuses another CA's, and status queries
# over TLS never drop the links between nodes; bad options are refused before anything listens.
# Usage: cluster_test.sh SWARM_BINARY
swarm=$(realpath "$1")
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Under ASan, CAF 0.17.6's middleman sometimes leaves a reference cycle of its BASP broker and
# proxies behind when an actor system that loaded it shuts down under load (indirect leaks
# only, all inside libcaf_io/libcaf_core): the node processes of this test do not check leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
cd "$tmp" || exit 1

# Starts node NAME (log $tmp/NAME.log, address $tmp/NAME.addr) with the remaining arguments;
# sets node_pid. Exits the test if it does not listen within 10 s.
start_node() { # name args...
  local name=$1
  shift
  rm -f "$tmp/$name.addr"
  "$swarm" node --name "$name" --listen 127.0.0.1:0 --address-file "$tmp/$name.addr" "$@" \
    2>"$tmp/$name.log" &
  node_pid=$!
  pids="$pids $node_pid"
  for _ in $(seq 1 200); do
    [ -s "$tmp/$name.addr" ] && return 0
    sleep 0.05
  done
  echo "FAILED: node $name did not start:"
  cat "$tmp/$name.log"
  exit 1
}

# The state of member MEMBER as the node at ADDRESS sees it ("" if it is not listed).
state_of() { # address member [link args...]
  local address=$1 member=$2
  shift 2
  "$swarm" cluster status --cluster "$address" --json --timeout-ms 3000 "$@" 2>"$tmp/err" |
    python3 -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
print(next((n["state"] for n in nodes if n["name"] == sys.argv[1]), ""))' "$member" 2>/dev/null
}

# Waits up to SECONDS for member MEMBER to be in STATE as seen from ADDRESS; prints how long it
# took in ms (on success).
wait_state() { # address member state seconds [link args...]
  local address=$1 member=$2 want=$3 seconds=$4
  shift 4
  local start now
  start=$(date +%s%N)
  while :; do
    [ "$(state_of "$address" "$member" "$@")" = "$want" ] && break
    now=$(date +%s%N)
    [ $(((now - start) / 1000000000)) -ge "$seconds" ] && return 1
    sleep 0.1
  done
  waited_ms=$((($(date +%s%N) - start) / 1000000))
  return 0
}

plain=(--insecure --heartbeat-ms 100 --failure-timeout-ms 1000 --reconnect-ms 300)

# -- refused before anything listens
"$swarm" node --listen 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err"
check "no TLS files and no --insecure: exit 2" test $? -eq 2
check "... naming both ways" has err "--tls-cert.*--insecure"
"$swarm" node --listen 10.1.2.3:0 --insecure >"$tmp/out" 2>"$tmp/err"
check "--insecure on a non-loopback address: exit 2" test $? -eq 2
check "... saying loopback only" has err "loopback"
"$swarm" node --listen 127.0.0.1:0 --insecure --join 192.0.2.1:4000 >"$tmp/out" 2>"$tmp/err"
check "--insecure joining a non-loopback seed: exit 2" test $? -eq 2
"$swarm" node --listen 127.0.0.1 --insecure >"$tmp/out" 2>"$tmp/err"
check "--listen without a port: exit 2 naming it" has err "port is missing"
"$swarm" node --listen 127.0.0.1:0 --insecure --name "a b" >"$tmp/out" 2>"$tmp/err"
check "a node name with a space: exit 2" has err "node name 'a b'"
"$swarm" node --listen 127.0.0.1:0 --insecure --heartbeat-ms 500 --failure-timeout-ms 600 \
  >"$tmp/out" 2>"$tmp/err"
check "a failure timeout under two heartbeats: refused" has err "two heartbeat intervals"
"$swarm" cluster status --cluster 127.0.0.1:1 --insecure >"$tmp/out" 2>"$tmp/err"
check "status of no cluster: exit 1" test $? -eq 1
check "... naming the address" has err "node_unreachable: no cluster node answers at 127.0.0.1:1"

# -- three plain nodes through one seed
start_node n1 "${plain[@]}"
a1=$(cat "$tmp/n1.addr")
start_node n2 "${plain[@]}" --join "$a1"
p2=$node_pid
start_node n3 "${plain[@]}" --join "$a1"
p3=$node_pid
a3=$(cat "$tmp/n3.addr")
check "n3 sees n2 up (learnt from the seed's welcome)" wait_state "$a3" n2 up 10 --insecure
check "n1 sees n3 up" wait_state "$a1" n3 up 10 --insecure
"$swarm" cluster status --cluster "$a1" --insecure >"$tmp/out" 2>"$tmp/err"
check "the status table lists the three nodes" test "$(grep -c -E '^n[123] ' "$tmp/out")" -eq 3
check "... with their state" test "$(grep -c ' up ' "$tmp/out")" -eq 3

# -- a killed node is down at once
kill -KILL "$p2"
check "kill -9 n2: n1 sees it down within 3 s" wait_state "$a1" n2 down 3 --insecure
echo "killed node seen down after ${waited_ms:-?} ms"
check "... and so does n3" wait_state "$a3" n2 down 3 --insecure

# -- a stopped node (a partition) is unreachable within its failure timeout, then up again
kill -STOP "$p3"
check "SIGSTOP n3: n1 sees it unreachable within 1 s + 3 s" wait_state "$a1" n3 unreachable 4 \
  --insecure
echo "stopped node seen unreachable after ${waited_ms:-?} ms (failure timeout 1000 ms)"
kill -CONT "$p3"
check "SIGCONT n3: up again within 10 s" wait_state "$a1" n3 up 10 --insecure

# -- a restarted node rejoins under its name, a newer incarnation
old=$("$swarm" cluster status --cluster "$a1" --insecure --json 2>/dev/null |
  python3 -c 'import json,sys; print([n["incarnation"] for n in json.load(sys.stdin)["nodes"] if n["name"]=="n2"][0])')
start_node n2 "${plain[@]}" --join "$a1"
check "n2 restarted: n1 sees it up again" wait_state "$a1" n2 up 10 --insecure
new=$("$swarm" cluster status --cluster "$a1" --insecure --json 2>/dev/null |
  python3 -c 'import json,sys; print([n["incarnation"] for n in json.load(sys.stdin)["nodes"] if n["name"]=="n2"][0])')
check "... with a newer incarnation" test "$new" -gt "$old"
check "n3 sees the new n2 too" wait_state "$a3" n2 up 10 --insecure

# -- a seed written otherwise than its node's address ("localhost:PORT")
port1=${a1##*:}
start_node n4 "${plain[@]}" --join "localhost:$port1"
p4=$node_pid
check "n4 joined through localhost:PORT: n1 sees it up" wait_state "$a1" n4 up 10 --insecure
check "... and n2 too (named by n1's welcome)" wait_state "$(cat "$tmp/n2.addr")" n4 up 10 --insecure
kill -KILL "$p4"

# -- SIGTERM drains and leaves
kill -TERM "$p3"
timeout 15 tail --pid="$p3" -f /dev/null
check "SIGTERM: n3 exits within 15 s" test $? -eq 0
wait "$p3"
check "... with status 0" test $? -eq 0
check "... saying it left" has n3.log "left the cluster"
check "n1 sees n3 left" wait_state "$a1" n3 left 3 --insecure

# -- mutual TLS
"$swarm" cert ca pki >/dev/null && "$swarm" cert node pki t1 >/dev/null &&
  "$swarm" cert node pki t2 >/dev/null && "$swarm" cert ca other >/dev/null &&
  "$swarm" cert node other evil >/dev/null
check "certificates made" test -s pki/t2.key -a -s other/evil.key
tls() { echo --tls-cert "$1/$2.crt" --tls-key "$1/$2.key" --tls-ca "$1/ca.crt"; }
fast=(--heartbeat-ms 100 --failure-timeout-ms 1000 --reconnect-ms 300)
# shellcheck disable=SC2046
start_node t1 $(tls pki t1) "${fast[@]}"
at1=$(cat "$tmp/t1.addr")
# shellcheck disable=SC2046
start_node t2 $(tls pki t2) "${fast[@]}" --join "$at1"
# shellcheck disable=SC2046
check "TLS: t1 sees t2 up" wait_state "$at1" t2 up 10 $(tls pki t2)
# shellcheck disable=SC2046
start_node evil $(tls other evil) "${fast[@]}" --join "$at1"
sleep 2
# shellcheck disable=SC2046
check "a node of another CA is never admitted" test "$(state_of "$at1" evil $(tls pki t2))" = ""
# shellcheck disable=SC2046
"$swarm" cluster status --cluster "$at1" $(tls other evil) >"$tmp/out" 2>"$tmp/err"
check "a status query with another CA's certificate is refused (exit 1)" test $? -eq 1
"$swarm" cluster status --cluster "$at1" --insecure >"$tmp/out" 2>"$tmp/err"
check "... and one without TLS" test $? -eq 1
for _ in 1 2 3; do
  # shellcheck disable=SC2046
  "$swarm" cluster status --cluster "$at1" $(tls pki t1) >/dev/null 2>&1
done
# CAF 0.17.6 left OpenSSL's error queue behind after each of these and dropped the t1-t2 link.
check "refused handshakes and ended queries never drop a healthy link" \
  bash -c "! grep -q 'member t2 .* down' '$tmp/t1.log'"
"$swarm" node --listen 127.0.0.1:0 --tls-cert pki/t1.crt --tls-key pki/t1.key \
  --tls-ca pki/missing.crt >"$tmp/out" 2>"$tmp/err"
check "a missing CA file: exit 2 before listening" test $? -eq 2
check "... naming it" has err "missing.crt"

finish
