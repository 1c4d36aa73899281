"""Journal soak: writers killed -9 at random for a long time, a follower checking exactly-once.

    python tests/soak/journal_soak.py [--minutes 10] [--writers 3] [--dir DIR]

Not part of `make test` (minutes long). Each cycle forks WRITERS writer processes that append
(durable, relaxed, groups) until killed -9 at a random moment; after each cycle the journal must
open, verify incrementally (fully every 100 cycles), and hold every acknowledged record. A
`journal tail -f -o json` follower runs the whole time; at the end it must have printed every seq
exactly once, in order. Exits non-zero at the first violation, printing it.
"""

import argparse
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)       # run by hand as a script: tests.helpers is importable whatever the install

from journal.store import Journal  # noqa: E402
from journal.verify import verify  # noqa: E402
from tests.helpers import journal_writer  # noqa: E402


def fork_writer(path, wid, seed):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            journal_writer.run(path, wid, None, seed, w)
        finally:
            os._exit(1)
    os.close(w)
    return pid, r


def drain(fd):
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    os.close(fd)
    return [tuple(map(int, x.split())) for x in data.decode().splitlines() if x.strip()]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--writers", type=int, default=3)
    ap.add_argument("--dir", default=None)
    opts = ap.parse_args(argv)
    root = tempfile.mkdtemp(prefix="journal-soak-", dir=opts.dir)
    path = os.path.join(root, "var", "journal.db")
    Journal(path).close()
    env = {**os.environ, "OSVC_ROOT": root, "OSVC_NODENAME": "node1"}
    follower = subprocess.Popen([sys.executable, "-m", "cli", "journal", "tail", "-f", "-n", "all", "-o", "json"],
                                env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in follower.stdout], daemon=True).start()
    rnd = random.Random()
    end = time.monotonic() + opts.minutes * 60
    cycle, acked, checkpoint = 0, 0, None
    try:
        while time.monotonic() < end:
            kids = [fork_writer(path, w, rnd.randrange(1 << 30)) for w in range(opts.writers)]
            time.sleep(rnd.uniform(0, 0.05))
            for pid, _ in kids:
                time.sleep(rnd.uniform(0, 0.01))
                os.kill(pid, signal.SIGKILL)
            acks = []
            for pid, fd in kids:
                os.waitpid(pid, 0)
                acks += drain(fd)
            with Journal(path) as j:
                res = verify(j, start=checkpoint if cycle % 100 else None)
                if res.warnings:
                    raise SystemExit(f"cycle {cycle}: unexpected warnings {res.warnings}")
                if acks:
                    rows = {r["seq"]: r["payload"] for r in j.read(seq_min=min(a[0] for a in acks))}
                    for seq, w, k in acks:
                        if rows.get(seq) != {"w": w, "k": k}:
                            raise SystemExit(f"cycle {cycle}: acknowledged seq {seq} lost or wrong: {rows.get(seq)}")
                checkpoint = (res.last_seq, res.last_hash)
            acked += len(acks)
            cycle += 1
            if cycle % 100 == 0:
                print(f"cycle {cycle}: {checkpoint[0]} records, {acked} acknowledged, all present", flush=True)
        total = checkpoint[0] if checkpoint else 0
        seen = []
        deadline = time.monotonic() + 60
        while len(seen) < total and time.monotonic() < deadline:
            try:
                seen.append(json.loads(lines.get(timeout=1))["seq"])
            except queue.Empty:
                pass
        if seen != list(range(1, total + 1)):
            raise SystemExit(f"follower saw {len(seen)} records, expected 1..{total} once each, in order")
        print(f"ok: {cycle} kill cycles, {total} records, {acked} acknowledged, follower exact")
        return 0
    finally:
        follower.terminate()
        follower.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
