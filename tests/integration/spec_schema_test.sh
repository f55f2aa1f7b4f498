#!/usr/bin/env bash
# `swarm schema`: the JSON Schema (draft 2020-12) generated from the spec reader's tables. Every
# example spec (examples/*.yaml, not the *.mock.yaml scripts) and every `swarm init` template
# validates against it with python3's jsonschema; specs with a wrong type, an unknown key, a key of
# another architecture or a missing required key do not, and `swarm validate` refuses them too.
# Usage: spec_schema_test.sh SWARM_BINARY SOURCE_DIR
set -uo pipefail
swarm=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 passed=0

fail() {
  failures=$((failures + 1))
  echo "FAILED: $1"
  [ -f "$tmp/out" ] && sed 's/^/  /' "$tmp/out"
}
pass() { passed=$((passed + 1)); }

# validate EXPECT FILE...: each file (YAML or JSON) against the schema; EXPECT is valid or invalid.
# Prints one line per file: "valid FILE" or "invalid FILE: PATH: MESSAGE".
validate() {
  python3 - "$tmp/schema.json" "$@" <<'PY'
import json, sys
import jsonschema, yaml
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
expect, files = sys.argv[2], sys.argv[3:]
ok = True
for name in files:
    errors = sorted(validator.iter_errors(yaml.safe_load(open(name))), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        print(f"invalid {name}: {'.'.join(map(str, e.absolute_path))}: {e.message}")
    else:
        print(f"valid {name}")
    ok = ok and (not errors) == (expect == "valid")
sys.exit(0 if ok else 1)
PY
}

if "$swarm" schema >"$tmp/schema.json" 2>"$tmp/out" &&
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"' "$tmp/schema.json"; then
  pass
else
  fail "swarm schema prints a draft 2020-12 schema"
fi

examples=()
for f in "$src"/examples/*.yaml; do
  case $f in *.mock.yaml) continue ;; esac
  examples+=("$f")
done
if [ ${#examples[@]} -ge 10 ] && validate valid "${examples[@]}" >"$tmp/out" 2>&1; then
  pass
else
  fail "every example spec validates against the schema (${#examples[@]} examples)"
fi

for architecture in $("$swarm" architectures --json |
  python3 -c 'import json,sys; print(" ".join(a["name"] for a in json.load(sys.stdin)["architectures"]))'); do
  if (cd "$tmp" && "$swarm" init --architecture "$architecture" "init_$architecture" >"$tmp/out" 2>&1) &&
    validate valid "$tmp/init_$architecture.yaml" >"$tmp/out" 2>&1; then
    pass
  else
    fail "swarm init --architecture $architecture writes a spec the schema accepts"
  fi
done

# bad NAME KEY_PATH SPEC: the schema refuses SPEC naming KEY_PATH, and swarm validate refuses it.
bad() {
  local name=$1 where=$2
  printf '%s' "$3" >"$tmp/$name.yaml"
  if validate invalid "$tmp/$name.yaml" >"$tmp/out" 2>&1 && grep -q "invalid .*: $where" "$tmp/out"; then
    pass
  else
    fail "the schema refuses $name at $where"
  fi
  "$swarm" validate --llm-url http://127.0.0.1:1/v1 "$tmp/$name.yaml" >"$tmp/out" 2>&1
  if [ $? -eq 2 ]; then pass; else fail "swarm validate refuses $name"; fi
}
bad wrong_type "agents.0" 'name: t
agents: [{name: a, temperature: hot}]
'
bad unknown_key "agents.0" 'name: t
agents: [{name: a, modle: m}]
'
bad other_architecture "swarm" 'name: t
agents: [{name: a}]
swarm: {architecture: collaborative, judge: a}
'
bad missing_role "swarm" 'name: t
agents: [{name: a}]
swarm: {architecture: hierarchical}
'
bad sub_swarm_members "swarms.team" 'name: t
agents: [{name: a}]
swarms: {team: {architecture: sequential}}
'
bad out_of_range "swarm.quorum" 'name: t
agents: [{name: a}, {name: b}]
swarm: {architecture: collaborative, quorum: 1}
'
bad custom_tool "tools.0" 'name: t
agents: [{name: a}]
tools: [{name: mine}]
'

echo "spec_schema_test: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
