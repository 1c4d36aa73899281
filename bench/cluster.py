"""Cluster timeline benchmark: `journal pull` over real ssh against `ssh peer cat` of the same bytes, and
the (hlc, node, seq) merge of 3 journals against reading the three with sqlite3 alone.

    python bench/cluster.py [--quick]        (the pull part needs root: namespace nodes, a real sshd)

Pull: two namespace nodes (tests/helpers/nodes.py). hv2's journal holds N records written as the engine
writes them (actions of 50 records, 100 a transaction); hv1 runs `osvc-engine journal pull --node hv2`
into an empty mirror (removed before each run): the remote `journal export --raw` (an interpreter
started, rows read and packed), ssh, parsing, the chain check of every row, the insert. The baseline
is `ssh hv2 cat FILE > /dev/null` from hv1, FILE being the very stream that export writes: what moving
those bytes over the same ssh costs. Merge: three journals of N records each (one node's own journal,
two mirrors), read through postmortem.cluster.Sources (a k-way heapq merge of three scans on
(hlc, node, seq)) against a plain `SELECT * FROM events ORDER BY seq` of each file with sqlite3, one
after the other (no merge). Turns, best of 3. Prints, never fails: not a timed assertion.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build_journal(path, node, n, floor=0):
    from journal.store import Journal

    with Journal(path) as j:
        j.observe_hlc(floor)
        batch = []
        for i in range(n):
            kind = ("action", "transition", "command")[0 if i % 50 in (0, 49) else 1 + i % 2]
            payload = ({"argv": ["/srv/etc/web.d/app", "start"], "rc": 0, "duration": 0.012, "pid": 4000 + i,
                        "out_tail": "starting app ... done\n" * 3} if kind == "command" else
                       {"action": "start", "argv": ["osvc-engine", "-s", f"svc{i % 40}", "start"], "user": "root"}
                       if kind == "action" else {"duration": 0.02})
            batch.append({"node": node, "svc": f"svc{(i // 50) % 40}", "rid": f"app#{i % 5}", "kind": kind,
                          "machine": "resource" if kind == "transition" else "", "event": "start",
                          "src": "down", "dst": "starting", "action_id": f"{i // 50:016x}", "payload": payload})
            if len(batch) == 100:
                j.append(batch)
                batch = []
        if batch:
            j.append(batch)
        return j.uuid


def best(fn, runs=3):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_pull(n):
    from tests.helpers.nodes import make_nodes

    with make_nodes(["hv1", "hv2"]) as nodes:
        hv1, hv2 = nodes["hv1"], nodes["hv2"]
        build_journal(hv2.journal, "hv2", n)
        res = subprocess.run(hv2.argv(["osvc-engine", "journal", "export", "--raw"]), capture_output=True, check=False)
        assert res.returncode == 0, res.stderr
        data = res.stdout
        (hv2.folder / "var" / "raw.stream").write_bytes(data)      # what the export sends, as a file there

        def pull():
            shutil.rmtree(hv1.mirrors, ignore_errors=True)
            r = hv1.osvc("journal", "pull", "--node", "hv2")
            assert r.returncode == 0 and f"{n} new records" in r.stdout, r.stdout + r.stderr

        def cat():
            r = subprocess.run(hv1.argv(["ssh", "-q", "-o", "BatchMode=yes", "-n", "hv2", "cat", f"{nodes.root}/var/raw.stream"]),
                               capture_output=True, check=False)
            assert r.returncode == 0 and len(r.stdout) == len(data), r.stderr

        t_pull, t_cat = [], []
        for _ in range(3):          # turns: a drift of the box's speed lands on both sides
            t_pull.append(best(pull, 1))
            t_cat.append(best(cat, 1))
        tp, tc = min(t_pull), min(t_cat)
        print(f"pull over ssh, {n:,} records ({len(data) / 1e6:.1f} MB raw stream), best of 3")
        print(f"  journal pull --node hv2      {tp:7.3f} s  {n / tp:>10,.0f} rec/s")
        print(f"  ssh hv2 cat (same bytes)     {tc:7.3f} s  {n / tc:>10,.0f} rec/s")
        print(f"  ratio pull/cat               {tc / tp:7.2f}x")


def bench_merge(n):
    from core.node import Node
    from journal.mirror import Mirror, folder_of
    from journal.store import Journal
    from postmortem.cluster import Sources

    base = Path(tempfile.mkdtemp(prefix="osvc-bench-cluster-"))
    try:
        root = base / "node1"
        (root / "var").mkdir(parents=True)
        build_journal(root / "var" / "journal.db", "node1", n)
        files = [root / "var" / "journal.db"]
        for name in ("node2", "node3"):
            src = base / f"{name}.db"
            uuid = build_journal(src, name, n)
            with Journal(src, create=False, readonly=True) as j, Mirror(folder_of(files[0]), name, uuid) as m:
                m.accept([list(r) for r in j.scan()])
                files.append(m.path)
        node = Node(root, "node1")

        def merged():
            with Sources(node) as src:
                count = sum(1 for _ in src.rows())
            assert count == 3 * n

        def plain():
            count = 0
            for f in files:
                conn = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
                count += len(conn.execute("SELECT * FROM events ORDER BY seq").fetchall())
                conn.close()
            assert count == 3 * n

        t_m, t_p = [], []
        for _ in range(3):
            t_m.append(best(merged, 1))
            t_p.append(best(plain, 1))
        tm, tp = min(t_m), min(t_p)
        print(f"merge of 3 journals of {n:,} records (one journal, two mirrors), best of 3")
        print(f"  Sources.rows() (heapq merge) {tm:7.3f} s  {3 * n / tm:>10,.0f} rec/s")
        print(f"  sqlite3 alone, no merge      {tp:7.3f} s  {3 * n / tp:>10,.0f} rec/s")
        print(f"  ratio merge/sqlite3          {tp / tm:7.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv):
    n = 20_000 if "--quick" in argv else 100_000
    if os.geteuid() == 0 and shutil.which("sshd"):
        bench_pull(n)
    else:
        print("pull over ssh: skipped (needs root and sshd: namespace nodes)")
    bench_merge(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
