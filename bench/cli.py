"""CLI speed: `print status` from the cache, start/stop of a 5-launcher service, per-resource overhead.

Ratios are against a bare interpreter (`python3 -c pass`) measured in the same run. The reference agent,
run here from source, took ~250 ms for `print status` and ~2.5 s to start 5 do-nothing launchers.
Usage: python bench/cli.py [--quick]
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


def timed(argv, env, n):
    """Median wall time (s) of n runs of argv."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def make_service(root, launchers):
    etc = root / "etc"
    (etc / "bench.d").mkdir(parents=True)
    (root / "var").mkdir()
    (root / "log").mkdir()
    (etc / "bench.env").write_text("[DEFAULT]\nnodes = benchnode\n")
    for i in range(launchers):
        for prefix, arg in (("S", "start"), ("K", "stop"), ("C", "status")):
            script = etc / "bench.d" / f"{prefix}{10 + i}app{i}"
            script.write_text("#!/bin/sh\nexit 0\n")
            script.chmod(0o755)


def main(argv):
    n = 5 if "--quick" in argv else 15
    root = Path(tempfile.mkdtemp(prefix="osvc-bench-"))
    try:
        make_service(root, LAUNCHERS)
        env = {**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "benchnode"}
        svc = [str(BIN), "-s", "bench"]
        base = timed([sys.executable, "-c", "pass"], env, n)
        subprocess.run(svc + ["print", "status", "--refresh"], env=env, capture_output=True, check=True)
        status = timed(svc + ["print", "status"], env, n)
        startstop = timed(["sh", "-c", f"{BIN} -s bench start && {BIN} -s bench stop"], env, max(3, n // 3))
        launcher = timed(["sh", "-c", "/bin/true"], env, n)
        per_resource = (startstop / 2 - base) / LAUNCHERS - launcher
        rows = [
            ("python3 -c pass (baseline)", base * 1e3, 1.0, ""),
            ("print status (cached)", status * 1e3, status / base, "goal <= 4x baseline"),
            (f"start + stop, {LAUNCHERS} launchers", startstop * 1e3, startstop / base, "goal < 500 ms"),
            ("engine overhead per resource action", per_resource * 1e3, per_resource / base,
             "goal < 30 ms beyond the launcher"),
        ]
        print(f"{'measure':<40} {'ms':>9} {'x baseline':>11}  goal")
        for name, ms, ratio, goal in rows:
            print(f"{name:<40} {ms:>9.1f} {ratio:>11.2f}  {goal}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
