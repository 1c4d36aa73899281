"""Several writer processes, kill -9 at random points, and a follower: real processes, real files."""

import json
import os
import random
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from journal import store
from journal.store import Journal
from journal.verify import verify
from tests.helpers import journal_writer
from tests.helpers.paths import REPO

WRITER = Path(journal_writer.__file__)     # also run as a script (python tests/helpers/journal_writer.py)


def parse_acks(text):
    return [tuple(map(int, line.split())) for line in text.splitlines() if line.strip()]


def check_acked(j, acks):
    """Every acknowledged (seq, writer, k) is in the journal, with that writer's record."""
    if not acks:
        return
    rows = {r["seq"]: r for r in j.read(seq_min=min(a[0] for a in acks), seq_max=max(a[0] for a in acks))}
    for seq, wid, k in acks:
        assert seq in rows, f"acknowledged seq {seq} lost"
        assert rows[seq]["payload"] == {"w": wid, "k": k}, (seq, rows[seq]["payload"])


def test_writer_processes_get_contiguous_seqs_and_a_valid_chain(tmp_path, monkeypatch):
    path = tmp_path / "var" / "journal.db"
    monkeypatch.setattr(store, "SVC_EVERY", 16)   # recorded in the file: the writers merge every 16
    Journal(path).close()
    writers, count = 4, 400
    procs = [subprocess.Popen([sys.executable, str(WRITER), str(path), str(w), str(count), str(w)],
                              stdout=subprocess.PIPE, text=True) for w in range(writers)]
    acks = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        acks += parse_acks(out)
    j = Journal(path)
    assert len(acks) == writers * count
    assert sorted(a[0] for a in acks) == list(range(1, writers * count + 1))   # contiguous, no dup
    assert verify(j).records == writers * count
    assert j.svc_index_problem() is None
    check_acked(j, acks)
    for w in range(writers):   # each writer's records are in its own order
        ks = [r["payload"]["k"] for r in j.read(svc=f"svc{w}")]
        assert ks == list(range(count))


def _fork_writer(path, wid, seed):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # child: write until killed
        os.close(r)
        try:
            journal_writer.run(str(path), wid, None, seed, w)
        finally:
            os._exit(1)
    os.close(w)
    return pid, r


def _drain(fd):
    chunks = []
    while True:
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    return b"".join(chunks).decode()


@pytest.mark.slow
def test_kill_9_writers_at_random_points(tmp_path, monkeypatch):
    """300 cycles: 2 writers, each killed -9 at a random moment (mid-transaction, mid-merge of the
    service index, mid-anchor write, mid-creation on the first cycle). After each: the journal opens,
    the chain verifies from the last verified point, the anchor is consistent, the service index
    matches the records, and every acknowledged record is there."""
    path = tmp_path / "var" / "journal.db"
    monkeypatch.setattr(store, "SVC_EVERY", 16)   # the forked writers create the journal with it
    rnd = random.Random(20240501)
    checkpoint = None
    total_acks = 0
    for cycle in range(300):
        children = [_fork_writer(path, w, rnd.randrange(1 << 30)) for w in range(2)]
        early = {pid: b"" for pid, _ in children}
        if cycle % 10:
            # Most cycles kill a writer that is appending for sure (its first ack is in), whatever the
            # load on the machine; every tenth kills at once, possibly mid-creation or mid-open.
            for pid, fd in children:
                if select.select([fd], [], [], 10)[0]:
                    early[pid] = os.read(fd, 65536)
        deadline = {pid: time.monotonic() + rnd.uniform(0, 0.02) for pid, _ in children}
        for pid, _ in sorted(children, key=lambda c: deadline[c[0]]):
            time.sleep(max(0.0, deadline[pid] - time.monotonic()))
            os.kill(pid, signal.SIGKILL)
        acks = []
        for pid, fd in children:
            os.waitpid(pid, 0)
            acks += parse_acks(early[pid].decode() + _drain(fd))
        if not path.exists():
            assert not acks
            continue
        j = Journal(path)
        res = verify(j, start=checkpoint if cycle % 50 else None)   # full walk every 50 cycles
        assert res.warnings == [] and j.svc_index_problem() is None
        check_acked(j, acks)
        checkpoint = (res.last_seq, res.last_hash)
        total_acks += len(acks)
        j.close()
    j = Journal(path)
    assert verify(j).records >= total_acks > 1000


def test_follower_sees_every_record_once_in_order_during_concurrent_appends(tmp_path):
    root = tmp_path / "root"
    path = root / "var" / "journal.db"
    Journal(path).append_one({"svc": "seed"})
    env = {**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "node1"}
    follower = subprocess.Popen([sys.executable, "-m", "cli", "journal", "tail", "-f", "-n", "all", "-o", "json"],
                                env=env, stdout=subprocess.PIPE, text=True, cwd=REPO)
    lines = queue.Queue()   # a reader thread: select() cannot see lines already in Python's buffer
    threading.Thread(target=lambda: [lines.put(x) for x in follower.stdout], daemon=True).start()
    try:
        writers = [subprocess.Popen([sys.executable, str(WRITER), str(path), str(w), "300", str(w)],
                                    stdout=subprocess.DEVNULL) for w in range(3)]
        for p in writers:
            assert p.wait(timeout=120) == 0
        expected = 1 + 3 * 300
        seqs = []
        deadline = time.monotonic() + 30
        while len(seqs) < expected and time.monotonic() < deadline:
            try:
                seqs.append(json.loads(lines.get(timeout=1.0))["seq"])
            except queue.Empty:
                pass
        # anything extra (a repeat) would show up now
        with pytest.raises(queue.Empty):
            lines.get(timeout=0.3)
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    assert seqs == list(range(1, expected + 1))
