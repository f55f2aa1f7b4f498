"""What the Python tests of `swarm serve` share: the command line (SWARM SOURCE_DIR), a temporary
directory, counted checks, bounded waits, `swarm` child processes with a log each (killed at the
end), their ports, and the run of a test's main with its summary and exit status."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

SWARM, SRC = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix=os.path.basename(sys.argv[0]).removesuffix(".py") + ".")
PROCS = []
counts = {"passed": 0, "failed": 0}


def check(what, cond, detail=""):
    if cond:
        counts["passed"] += 1
    else:
        counts["failed"] += 1
        print(f"FAILED: {what}" + (f"\n  {detail}" if detail else ""), flush=True)
    return cond


def wait_for(pred, seconds, step=0.05):
    end = time.time() + seconds
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def start(args, name):
    """`swarm ARGS` with its output in TMP/NAME.log and no OPENAI_* environment."""
    log = open(os.path.join(TMP, name + ".log"), "w")
    p = subprocess.Popen([SWARM] + args, stdout=log, stderr=subprocess.STDOUT,
                         env={k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")})
    PROCS.append(p)
    return p


def log_of(name):
    return open(os.path.join(TMP, name + ".log")).read()


def read_port(path, name):
    """The port a child wrote to `path`; the test ends (showing its log) if none within 15 s."""
    ok = wait_for(lambda: os.path.exists(path) and open(path).read().strip(), 15)
    if not ok:
        print(f"FAILED: {name} did not start:\n" + log_of(name))
        sys.exit(1)
    return int(open(path).read())


def run(main, name):
    """Runs `main`, kills what is left, shows the logs on a failure, prints the summary and
    exits 0 only when every check passed."""
    try:
        main()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        if counts["failed"]:
            for f in sorted(os.listdir(TMP)):
                if f.endswith(".log"):
                    print(f"--- {f}\n" + open(os.path.join(TMP, f)).read()[-3000:])
        shutil.rmtree(TMP, ignore_errors=True)
    print(f"{name}: {counts['passed']} passed, {counts['failed']} failed")
    sys.exit(1 if counts["failed"] else 0)
