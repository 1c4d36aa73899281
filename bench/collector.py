"""Collector benchmark: `journal push` against a plain COPY of the same rows into the same table, and the
lag from an action's end to a `journal tail --collector -f` follower printing it. Same run, same server.

    python bench/collector.py [--quick]

A throwaway PostgreSQL server (tests/helpers/pg.py: initdb in a temp folder, unix socket only, default
durability settings: fsync on) holds the collector. The push side is what `osvc-engine journal push`
does (collector.push.push): read the journal's rows from SQLite, check each one's hash chain from the
collector's head, derive the payload's jsonb, COPY them 20,000 a transaction with the head row locked,
advance the head, notify. The COPY side sends the very tuples the push sends (prepared in memory
beforehand, jsonb text included) with one COPY in one transaction into the same, emptied, table: the
database's own cost of storing them. Each side runs in turns, best of 3. The lag is per action: the end
record's own timestamp (the wall clock when the journal appended it) to the moment the follower's line
reaches this process. Prints, never fails: not a timed assertion.
"""

import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers import pg


def build_journal(root, n):
    """A node journal of n records: actions of 50 records (begin, transitions, commands with output
    tails, end), 100 a transaction, as the engine writes them."""
    from journal.store import Journal

    with Journal(root / "var" / "journal.db") as j:
        batch = []
        for i in range(n):
            aid = f"{i // 50:016x}"
            kind = ("action", "transition", "command")[0 if i % 50 in (0, 49) else 1 + i % 2]
            payload = ({"argv": ["/srv/etc/web.d/app", "start"], "rc": 0, "duration": 0.012, "pid": 4000 + i,
                        "out_tail": "starting app ... done\n" * 3} if kind == "command" else
                       {"action": "start", "argv": ["osvc-engine", "-s", f"svc{i % 40}", "start"], "user": "root"}
                       if kind == "action" else {"duration": 0.02})
            batch.append({"node": "node1", "svc": f"svc{(i // 50) % 40}", "rid": f"app#{i % 5}", "kind": kind,
                          "machine": "resource" if kind == "transition" else "", "event": "start",
                          "src": "down", "dst": "starting", "action_id": aid, "payload": payload})
            if len(batch) == 100:
                j.append(batch)
                batch = []
        if batch:
            j.append(batch)


def prepared_rows(root):
    """The tuples the push sends, built ahead (what a plain COPY of the same rows sends)."""
    from collector.ship import payload_json
    from journal.store import Journal

    with Journal(root / "var" / "journal.db", create=False, readonly=True) as j:
        return [(j.uuid, *r[:13], r[13] == 1, r[14], payload_json(r[12])) for r in j.scan()]


def empty(conn):
    conn.execute("TRUNCATE events, heads, journals")
    conn.commit()


def copy_run(conn, rows):
    from collector.ship import COPY_SQL

    t = time.perf_counter()
    with conn.transaction():
        with conn.cursor().copy(COPY_SQL) as copy:
            for r in rows:
                copy.write_row(r)
    conn.commit()
    return time.perf_counter() - t


def push_run(conn, node, dsn):
    from collector.connect import PATIENT
    from collector.push import push

    t = time.perf_counter()
    done, refusals = push(node, dsn, bounds=PATIENT, conn=conn)
    elapsed = time.perf_counter() - t
    assert not refusals and done[0].after == done[0].local, (done, refusals)
    return elapsed


def throughput(server, n):
    import psycopg

    from collector import schema
    from core.node import Node

    dsn = server.create_database("bench_push")
    root = Path(tempfile.mkdtemp(prefix="osvc-bench-"))
    (root / "var").mkdir()
    try:
        build_journal(root, n)
        rows = prepared_rows(root)
        node = Node(root, "node1")
        with psycopg.connect(dsn) as conn:
            schema.ensure(conn)
            copies, pushes = [], []
            for _ in range(3):
                empty(conn)
                copies.append(copy_run(conn, rows))
                empty(conn)
                pushes.append(push_run(conn, node, dsn))
        return n / min(pushes), n / min(copies)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def lag(server, actions):
    from tests.collector.conftest import make_root
    from tests.helpers.cli import COMMAND, osvc
    from tests.helpers.launchers import launcher_service

    dsn = server.create_database("bench_lag")
    base = Path(tempfile.mkdtemp(prefix="osvc-bench-"))
    try:
        node, observer = make_root(base, "node1", dsn), make_root(base, "observer", dsn)
        launcher_service(node, names="a")
        assert osvc(node, "-s", "web", "start").returncode == 0
        env = {**os.environ, "OSVC_ROOT": str(observer), "OSVC_NODENAME": "observer"}
        follower = subprocess.Popen([*COMMAND, "journal", "tail", "--collector", "-f", "-n", "1", "--kind", "action",
                                     "-o", "json"], env=env, stdout=subprocess.PIPE, text=True)
        arrivals = queue.Queue()
        threading.Thread(target=lambda: [arrivals.put((time.time_ns(), line)) for line in follower.stdout],
                         daemon=True).start()
        arrivals.get(timeout=60)                  # the newest action record: the follower is listening
        import json

        lags = []
        try:
            for i in range(actions):
                assert osvc(node, "-s", "web", ("stop", "start")[i % 2]).returncode == 0
                while True:
                    seen, line = arrivals.get(timeout=60)
                    rec = json.loads(line)
                    if rec["event"] == "end":
                        lags.append((seen - rec["ts"]) / 1e6)
                        break
        finally:
            follower.terminate()
            follower.wait()
        return lags
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv):
    reason = pg.absent_reason()
    if reason:
        print(f"skipped: {reason}")
        return 0
    quick = "--quick" in argv
    n, actions = (20_000, 10) if quick else (100_000, 40)
    server = pg.Server(durable=True)
    try:
        server.start()
        push_rate, copy_rate = throughput(server, n)
        lags = sorted(lag(server, actions))
    finally:
        server.remove()
    p50 = statistics.median(lags)
    p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
    print(f"{'case':<46}{'value':>12}{'vs COPY':>10}  goal")
    print(f"{f'push, {n:,} records (rec/s)':<46}{push_rate:>12,.0f}{push_rate / copy_rate:>9.2f}x  >= 0.5x COPY")
    print(f"{'plain COPY of the same rows (rec/s)':<46}{copy_rate:>12,.0f}{1:>9.2f}x")
    print(f"{f'action end -> follower, p50 ({len(lags)} actions, ms)':<46}{p50:>12.1f}")
    print(f"{f'action end -> follower, p99 ({len(lags)} actions, ms)':<46}{p99:>12.1f}{'':>10}  < 1000 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
