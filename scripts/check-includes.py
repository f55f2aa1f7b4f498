#!/usr/bin/env python3
"""Fails when a project include points the wrong way through the layers (runtime/core -> net, memory -> actors -> runtime -> serve -> apps),
reaches into another module's internal/ or detail/, or a header pulls in Beast/Asio/RocksDB
(detail/ headers are a folder's private plumbing: they may, and only that folder includes them)."""
import pathlib
import re
import subprocess
import sys

# folder -> project folders it may include (besides itself)
ALLOWED = {
    "runtime/core": set(),
    "net": {"runtime/core"},
    "memory": {"runtime/core"},
    "mock_llm": {"runtime/core"},
    "actors": {"runtime/core", "net"},  # http_get uses net/http_fetch.hpp
    "runtime": {"runtime/core", "net", "memory", "actors"},
    "serve": {"runtime", "runtime/core", "net"},  # the HTTP API over the runtime
    # `swarm memory` reads the store; `swarm cert` and the cluster commands use net/cluster_tls
    "apps": {"runtime", "runtime/core", "mock_llm", "memory", "net", "serve"},
    "examples": {"runtime", "runtime/core"},
    "bench": None,  # any public header
    "tests": None,
    "fuzz": None,  # fuzz targets are tests: they may reach a parser's private header
}
FOLDERS = sorted((k for k in ALLOWED), key=len, reverse=True)
HEAVY_IN_HEADERS = re.compile(r'#\s*include\s*<(boost/beast|boost/asio|rocksdb/)')
INCLUDE = re.compile(r'#\s*include\s*"([^"]+)"')


def folder_of(path):
    for f in FOLDERS:
        if path == f or path.startswith(f + "/"):
            return f
    return None


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    files = subprocess.run(["git", "ls-files", "*.cpp", "*.hpp"], cwd=root, capture_output=True,
                           text=True, check=True).stdout.split()
    problems = []
    for rel in files:
        own = folder_of(rel)
        text = (root / rel).read_text(errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            m = INCLUDE.search(line)
            if m:
                target = m.group(1)
                tf = folder_of(target)
                private = "/internal/" in target or "/detail/" in target
                if private and tf != own and own not in ("tests", "fuzz"):
                    problems.append(f"{rel}:{n}: reaches into another module's private header: "
                                    f"{target}")
                allowed = ALLOWED.get(own)
                if tf and own and tf != own and allowed is not None and tf not in allowed:
                    problems.append(f"{rel}:{n}: {own}/ may not include {tf}/ ({target})")
            if rel.endswith(".hpp") and "/detail/" not in rel and HEAVY_IN_HEADERS.search(line):
                problems.append(f"{rel}:{n}: heavy include in a header: {line.strip()}")
    for p in problems:
        print(p)
    if problems:
        print(f"check-includes: {len(problems)} problem(s)")
        return 1
    print(f"check-includes: {len(files)} files ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
