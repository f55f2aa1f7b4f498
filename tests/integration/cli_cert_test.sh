#!/usr/bin/env bash
# `swarm cert` end to end: a cluster CA and node certificates (`openssl verify` accepts them),
# `cert check` passing them and refusing a missing flag, an encrypted key and another CA's
# certificate (exit 2, the file named), refusing to overwrite without --force, bad node names.
# Usage: cli_cert_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cert() { # args... ; sets rc
  "$swarm" cert "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

d="$tmp/pki"
o="$tmp/other"

# -- a CA and two nodes
cert ca "$d"
check "cert ca exits 0" test "$rc" -eq 0
check "cert ca names ca.crt" has out "wrote $d/ca.crt"
check "cert ca names ca.key" has out "wrote $d/ca.key"
check "ca.key is mode 600" test "$(stat -c %a "$d/ca.key")" = 600
cert node "$d" n1
check "cert node exits 0" test "$rc" -eq 0
check "cert node names n1.crt" has out "wrote $d/n1.crt"
check "cert node names n1.key" has out "wrote $d/n1.key"
check "n1.key is mode 600" test "$(stat -c %a "$d/n1.key")" = 600
cert node "$d" 127.0.0.1_4242
check "a node named host_port" test "$rc" -eq 0
check "openssl verifies n1 against the CA" sh -c "openssl verify -CAfile '$d/ca.crt' '$d/n1.crt' >/dev/null"

# -- check
cert check --tls-cert "$d/n1.crt" --tls-key "$d/n1.key" --tls-ca "$d/ca.crt"
check "cert check exits 0" test "$rc" -eq 0
check "cert check prints the subject and the end" has out "^ok: CN=n1, valid until 20[0-9-]* [0-9:]* UTC$"
cert check --tls-cert "$d/n1.crt" --tls-key "$d/n1.key"
check "a missing --tls-ca exits 2" test "$rc" -eq 2
check "a missing --tls-ca is named" has err "swarm cert check: .*--tls-ca is missing"
openssl pkey -in "$d/n1.key" -aes256 -passout pass:x -out "$tmp/enc.key" 2>/dev/null
cert check --tls-cert "$d/n1.crt" --tls-key "$tmp/enc.key" --tls-ca "$d/ca.crt"
check "an encrypted key exits 2" test "$rc" -eq 2
check "an encrypted key is named, with the way out" has err "$tmp/enc.key is encrypted.*openssl pkey"
cert check --tls-cert "$d/n1.crt" --tls-key "$d/127.0.0.1_4242.key" --tls-ca "$d/ca.crt"
check "another node's key exits 2" test "$rc" -eq 2
check "another node's key is named" has err "is not the key of --tls-cert $d/n1.crt"
cert ca "$o"
cert node "$o" n1
cert check --tls-cert "$o/n1.crt" --tls-key "$o/n1.key" --tls-ca "$d/ca.crt"
check "another CA's certificate exits 2" test "$rc" -eq 2
check "another CA's certificate is named" has err "--tls-cert $o/n1.crt (CN=n1) is issued by .*, not by the cluster CA"

# -- no overwriting without --force
cp "$d/ca.crt" "$tmp/ca.before"
cert ca "$d"
check "cert ca over a CA exits 2" test "$rc" -eq 2
check "cert ca names the existing file" has err "$d/ca.crt already exists.*--force"
check "the CA is unchanged" cmp -s "$d/ca.crt" "$tmp/ca.before"
cp "$d/n1.crt" "$tmp/n1.before"
cert node "$d" n1
check "cert node over a node exits 2" test "$rc" -eq 2
check "cert node names the existing file" has err "$d/n1.crt already exists"
cert node "$d" n1 --force
check "cert node --force exits 0" test "$rc" -eq 0
check "cert node --force replaced the certificate" sh -c "! cmp -s '$d/n1.crt' '$tmp/n1.before'"
cert ca "$d" --force
check "cert ca --force exits 0" test "$rc" -eq 0
check "cert ca --force replaced the CA" sh -c "! cmp -s '$d/ca.crt' '$tmp/ca.before'"
cert check --tls-cert "$d/n1.crt" --tls-key "$d/n1.key" --tls-ca "$d/ca.crt"
check "a node of the replaced CA no longer checks" test "$rc" -eq 2

# -- bad names, no CA
cert node "$d" "../evil"
check "a bad node name exits 2" test "$rc" -eq 2
check "a bad node name gives the rule" has err "must be 1 to 64 letters, digits"
check "a bad node name writes nothing" test ! -e "$tmp/evil.crt"
cert node "$tmp/empty" n1
check "a node without a CA exits 2" test "$rc" -eq 2
check "a node without a CA names the file and the command" has err "$tmp/empty/ca.crt is missing.*swarm cert ca $tmp/empty"
cert frobnicate
check "an unknown cert subcommand exits 2" test "$rc" -eq 2

finish
