"""CLI speed: `print status` from the cache, start/stop of a 5-launcher service, per-resource overhead.

    python bench/cli.py [--quick]

Ratios are against a bare interpreter (`python3 -c pass`, the venv's python) measured in the same run.
The reference agent, run here from source, took ~250 ms for `print status` and ~2.5 s to start 5
do-nothing launchers.

Per-resource overhead is the marginal cost of one more resource: start+stop of the same service with
5 and with 15 launchers; (difference / 10 / 2 actions) minus what the launcher itself costs (`/bin/sh`
running `exit 0`). What every command pays once (interpreter, imports, config, lock, journal) is the
fixed cost: shown as its own row, with `import sh` (the command runner's library) measured apart.
Never a timed assertion: this prints, it does not fail.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "osvc-engine"
LAUNCHERS = 5
MORE = 15


def timed(argv, env, n):
    """Median wall time (s) of n runs of argv."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def make_service(root, name, launchers):
    etc = root / "etc"
    (etc / f"{name}.d").mkdir(parents=True)
    (root / "var").mkdir(exist_ok=True)
    (root / "log").mkdir(exist_ok=True)
    (etc / f"{name}.env").write_text("[DEFAULT]\nnodes = benchnode\n")
    for i in range(launchers):
        for prefix in ("S", "K", "C"):
            script = etc / f"{name}.d" / f"{prefix}{10 + i}app{i}"
            script.write_text("#!/bin/sh\nexit 0\n")
            script.chmod(0o755)


def startstop(name, env, n):
    return timed(["sh", "-c", f"{BIN} -s {name} start && {BIN} -s {name} stop"], env, n)


def main(argv):
    n = 5 if "--quick" in argv else 15
    root = Path(tempfile.mkdtemp(prefix="osvc-bench-"))
    try:
        make_service(root, "bench", LAUNCHERS)
        make_service(root, "bench15", MORE)
        env = {**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "benchnode"}
        base = timed([sys.executable, "-c", "pass"], env, n)
        import_sh = timed([sys.executable, "-c", "import sh"], env, n) - base
        subprocess.run([str(BIN), "-s", "bench", "print", "status", "--refresh"], env=env,
                       capture_output=True, check=True)
        status = timed([str(BIN), "-s", "bench", "print", "status"], env, n)
        runs = max(3, n // 3)
        ss5 = startstop("bench", env, runs)
        ss15 = startstop("bench15", env, runs)
        launcher = timed(["sh", "-c", "exit 0"], env, n)
        per_resource = (ss15 - ss5) / (MORE - LAUNCHERS) / 2 - launcher
        fixed = ss5 / 2 - LAUNCHERS * (per_resource + launcher)
        rows = [
            ("python3 -c pass (baseline)", base, ""),
            ("print status (cached)", status, "goal <= 4x baseline"),
            (f"start + stop, {LAUNCHERS} launchers", ss5, "goal < 500 ms"),
            (f"start + stop, {MORE} launchers", ss15, ""),
            ("engine overhead per resource action", per_resource, "goal < 30 ms beyond the launcher"),
            ("fixed cost per command (start or stop)", fixed, ""),
            ("  of which: import sh", import_sh, ""),
        ]
        print(f"{'measure':<40} {'ms':>9} {'x baseline':>11}  goal")
        for name, seconds, goal in rows:
            print(f"{name:<40} {seconds * 1e3:>9.1f} {seconds / base:>11.2f}  {goal}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
