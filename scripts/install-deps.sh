#!/usr/bin/env bash
# Installs the Debian packages SmolSwarms builds and tests with, only those that are missing.
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
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
