#!/usr/bin/env bash
# Disk full (issue C): runs disk_full_probe on a small file system mounted in a private mount
# namespace: a 4 MiB tmpfs, or else an 8 MiB ext4 loop file. Fails (never skips) when neither can be had.
# Usage: disk_full_test.sh DISK_FULL_PROBE
set -uo pipefail
probe=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mnt="$tmp/mnt"
mkdir -p "$mnt"

if ! command -v unshare >/dev/null; then
  echo "FAILED: disk full test needs unshare(1) (util-linux) for a private mount namespace"
  exit 1
fi

# 1. tmpfs in a private mount namespace (root, or a user namespace mapped to root).
why=""
for ns in "unshare -m" "unshare -U -r -m"; do
  if $ns sh -c "mount -t tmpfs -o size=4m tmpfs '$mnt'" 2>"$tmp/err"; then
    echo "disk full: tmpfs of 4 MiB ($ns)"
    exec $ns sh -c "mount -t tmpfs -o size=4m tmpfs '$mnt' && '$probe' '$mnt'"
  fi
  why="$why; $ns + mount tmpfs: $(tr '\n' ' ' <"$tmp/err")"
done

# 2. an ext4 loop file (needs root and a loop device).
if command -v mkfs.ext4 >/dev/null && truncate -s 8M "$tmp/disk.img" 2>"$tmp/err" &&
  mkfs.ext4 -q -F "$tmp/disk.img" 2>>"$tmp/err"; then
  if unshare -m sh -c "mount -o loop '$tmp/disk.img' '$mnt'" 2>>"$tmp/err"; then
    echo "disk full: ext4 loop file of 8 MiB"
    unshare -m sh -c "mount -o loop '$tmp/disk.img' '$mnt' && '$probe' '$mnt'"
    exit $?
  fi
fi
why="$why; loop file: $(tr '\n' ' ' <"$tmp/err")"
echo "FAILED: disk full test cannot get a small file system: neither a tmpfs in a private mount" \
  "namespace nor a loop file could be mounted (needs root or user namespaces)${why}"
exit 1
