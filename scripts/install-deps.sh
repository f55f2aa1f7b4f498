#!/usr/bin/env bash
# Installs the Debian packages SmolSwarms builds and tests with, only those that are missing, and
# the npm packages of the e2e tests (tests/e2e) when their lock changed.
# Idempotent: a machine that has everything returns at once without touching apt.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config clang-format
  libcaf-dev librocksdb-dev libboost1.81-dev libboost-json1.81-dev catch2 libssl-dev
  libspdlog-dev libcli11-dev libyaml-cpp-dev libre2-dev libhnswlib-dev libbenchmark-dev bubblewrap
  libcurl4-openssl-dev # bench_fanout's libcurl floor
  openssl curl python3 python3-jsonschema
  gnuplot-nox # swarm bench --plots
  clang libclang-rt-14-dev # the fuzz targets (make fuzz): clang with libFuzzer
  chromium # the dashboard's browser test (tests/e2e, driven by playwright-core)
  wrk # swarm serve's load test (tests/integration/serve_load_test.sh)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm packages of the e2e tests (playwright-core, openai), as their lock pins them; again
# only when the lock changed since the last install.
e2e="$(dirname "$0")/../tests/e2e"
if command -v npm >/dev/null; then
  want=$(sha256sum "$e2e/package-lock.json" | cut -d' ' -f1)
  have=$(cat "$e2e/node_modules/.lock-sha256" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    echo "install-deps: npm ci in tests/e2e"
    (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$e2e/node_modules/.lock-sha256"
  fi
else
  echo "install-deps: npm not found: the e2e tests (tests/e2e) need Node.js >= 20 and npm" >&2
fi
