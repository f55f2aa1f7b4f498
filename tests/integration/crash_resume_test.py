#!/usr/bin/env python3
"""Crash test of the run journal (issue C): start a multi-agent run against the mock LLM,
SIGKILL `swarm run` at a random moment, resume it with `swarm run --resume`, and check that

  * the resumed run completes (exit 0, a result naming every panel);
  * the mock received no repeated request for a call the journal had finished;
  * resumed requests + journaled calls = the calls of a whole run (nothing redone, nothing lost);
  * the journal is intact: every call journaled before the kill is still there afterwards;
  * no acknowledged memory write was lost: every agent answer a coordinator acted on (a journaled
    step) had been written to working memory first, and is there after the kill; after the
    resume every agent's note is there exactly once.

Usage: crash_resume_test.py SWARM_BINARY SOURCE_DIR [TRIALS]
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CALLS_PER_RUN = 12  # tests/integration/data/crash_swarm.yaml: three panels of four agents


def main():
    swarm, src = sys.argv[1], sys.argv[2]
    trials = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    data = os.path.join(src, "tests", "integration", "data")
    spec = os.path.join(data, "crash_swarm.yaml")
    tmp = tempfile.mkdtemp(prefix="swarm-crash-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    log = os.path.join(tmp, "requests.jsonl")
    port_file = os.path.join(tmp, "port")
    mock = subprocess.Popen([swarm, "mock-llm", "--port", "0", "--port-file", port_file,
                             "--script", os.path.join(data, "crash_swarm.mock.yaml"),
                             "--request-log", log],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    failures = []
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261121")))
    try:
        deadline = time.time() + 10
        while not (os.path.exists(port_file) and os.path.getsize(port_file) > 0):
            if time.time() > deadline:
                raise SystemExit("mock LLM did not start")
            time.sleep(0.05)
        url = "http://127.0.0.1:%s/v1" % open(port_file).read().strip()
        kills_mid_run = 0
        for trial in range(trials):
            ok, mid = one_trial(swarm, spec, url, env, tmp, log, trial, rng, failures)
            kills_mid_run += 1 if mid else 0
        # The test is only meaningful if most kills land while calls are still to be made.
        if kills_mid_run < trials // 2:
            failures.append("only %d of %d kills landed mid-run" % (kills_mid_run, trials))
        print("crash_resume_test: %d trials, %d killed mid-run, %d failures"
              % (trials, kills_mid_run, len(failures)))
    finally:
        mock.send_signal(signal.SIGTERM)
        mock.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def journaled_numbers(swarm, data_dir, run_id, env):
    """Mock request numbers of the calls in the run's journal (replies are "reply #N")."""
    out = subprocess.run([swarm, "memory", "journal", run_id, "--data-dir", data_dir, "--json"],
                         capture_output=True, text=True, env=env, timeout=60)
    if out.returncode != 0:
        if "no store here" in out.stderr or "unknown_run" in out.stderr:
            return None, "not started"  # killed before the run's header was written
        return None, out.stderr.strip()
    return set(int(n) for n in re.findall(r"reply #(\d+)", out.stdout)), ""


def swarm_json_lines(swarm, args, env):
    out = subprocess.run([swarm] + args + ["--json"], capture_output=True, text=True, env=env,
                         timeout=60)
    if out.returncode != 0:
        return None, out.stderr.strip()
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()], ""


AGENTS = {"%s%d" % (p, i) for p in "abc" for i in range(1, 5)}


def check_memory(swarm, data_dir, run_id, env, failures, after_resume):
    """Acknowledged working-memory writes are all there (see the module doc)."""
    lines, err = swarm_json_lines(swarm, ["memory", "journal", run_id, "--data-dir", data_dir],
                                  env)
    notes, err2 = swarm_json_lines(swarm, ["memory", "working", run_id, "--data-dir", data_dir],
                                   env)
    if lines is None or notes is None:
        failures.append("%s: cannot read journal or working memory: %s %s" % (run_id, err, err2))
        return
    ids = [n["id"] for n in notes]
    acted_on = [l["task_id"] for l in lines
                if l.get("type") == "step" and l["agent"].split("/")[-1] in AGENTS]
    lost = [t for t in acted_on if "%s:%s" % (run_id, t) not in ids]
    if lost:
        failures.append("%s: acknowledged notes lost: %s" % (run_id, lost))
    if after_resume and (len(ids) != len(AGENTS) or len(set(ids)) != len(ids)):
        failures.append("%s: %d notes (%d distinct) after resume, expected %d"
                        % (run_id, len(ids), len(set(ids)), len(AGENTS)))


def one_trial(swarm, spec, url, env, tmp, log, trial, rng, failures):
    run_id = "crash-%d" % trial
    data_dir = os.path.join(tmp, "state-%d" % trial)
    before = len(read_log(log)) if os.path.exists(log) else 0
    proc = subprocess.Popen([swarm, "run", spec, "--task", "Review plan %d" % trial,
                             "--run-id", run_id, "--data-dir", data_dir, "--llm-url", url, "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if trial % 5 == 4:
        time.sleep(rng.uniform(0.0, 0.3))  # early: while the process starts or opens the store
    else:
        # Some time after the run's first request: anywhere in its ~1.2 s of LLM calls.
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(log) and len(read_log(log)) > before:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    mid_run = proc.returncode == -signal.SIGKILL
    first = read_log(log)[before:]
    finished, err = journaled_numbers(swarm, data_dir, run_id, env)
    if finished is None and err == "not started":
        # The header is written before the first LLM call: a run the journal does not know
        # sent nothing, and resuming it is refused by name.
        if first:
            failures.append("%s: %d requests sent before the run was journaled"
                            % (run_id, len(first)))
        res = subprocess.run([swarm, "run", "--resume", run_id, "--data-dir", data_dir, "-q"],
                             capture_output=True, text=True, env=env, timeout=60)
        if res.returncode != 2 or "unknown_run" not in res.stderr:
            failures.append("%s: resuming an unstarted run: exit %d, %s"
                            % (run_id, res.returncode, res.stderr.strip()))
        return True, False
    if finished is None:
        failures.append("%s: journal unreadable after SIGKILL: %s" % (run_id, err))
        return False, mid_run
    check_memory(swarm, data_dir, run_id, env, failures, False)
    digest_of = {r["n"]: r["digest"] for r in first}
    unknown = [n for n in finished if n not in digest_of]
    if unknown:
        failures.append("%s: journal names requests the mock never got: %s" % (run_id, unknown))
    finished_digests = {digest_of[n] for n in finished if n in digest_of}
    mark = len(read_log(log))
    res = subprocess.run([swarm, "run", "--resume", run_id, "--data-dir", data_dir, "--json",
                          "-q"], capture_output=True, text=True, env=env, timeout=120)
    resumed = read_log(log)[mark:]
    if res.returncode != 0:
        failures.append("%s: resume exited %d: %s" % (run_id, res.returncode, res.stderr.strip()))
        return False, mid_run
    try:
        result = json.loads(res.stdout)
    except ValueError:
        failures.append("%s: resume printed no JSON result: %r" % (run_id, res.stdout[:200]))
        return False, mid_run
    members = [m.get("agent", "") for m in result.get("trace", [])]
    if len(members) != 3 or any(m.get("error") for m in result.get("trace", [])):
        failures.append("%s: resumed result lacks a panel: %s" % (run_id, members))
    repeated = [r for r in resumed if r["digest"] in finished_digests]
    if repeated:
        failures.append("%s: %d finished calls were sent again (first: %s)"
                        % (run_id, len(repeated), repeated[0]))
    if len(finished) + len(resumed) != CALLS_PER_RUN:
        failures.append("%s: %d journaled + %d resumed requests != %d calls"
                        % (run_id, len(finished), len(resumed), CALLS_PER_RUN))
    after, err = journaled_numbers(swarm, data_dir, run_id, env)
    if after is None or not finished <= after:
        failures.append("%s: journal lost calls on resume (%s)" % (run_id, err or finished - after))
    elif len(after) != CALLS_PER_RUN:
        failures.append("%s: journal holds %d calls after resume, expected %d"
                        % (run_id, len(after), CALLS_PER_RUN))
    check_memory(swarm, data_dir, run_id, env, failures, True)
    return True, mid_run and len(finished) < CALLS_PER_RUN


if __name__ == "__main__":
    sys.exit(main())
