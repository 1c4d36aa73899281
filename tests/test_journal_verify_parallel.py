"""Verification with a forked helper process (long journals): same contract as the single-process walk.

The helper checks the links of chunk k while this process reads and decodes it; a chunk is yielded only
once it is confirmed, the first bad seq is named exactly, and a helper that dies is a clear JournalError.
Small chunks (5 rows) and PARALLEL_MIN = 0 make the helper run on a 23-row journal.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading

import msgpack
import pytest

from engine.errors import JournalError
from journal import verify
from journal.store import SELECT, Journal

N = 23
CHUNK = 5
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fill(path, n=N, group=1, durable=True):
    j = Journal(path)
    recs = [{"node": "node1", "svc": f"svc{i % 3}", "rid": "app#1", "kind": "transition", "event": "start",
             "src": "down", "dst": "up", "payload": {"i": i}} for i in range(n)]
    for k in range(0, n, group):
        j.append(recs[k:k + group], durable=durable)
    return j


@pytest.fixture
def helpers(monkeypatch):
    """Every helper the walks start (to check they ran, and were reaped)."""
    made = []

    class Recorded(verify._Helper):
        def __init__(self, *args):
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(verify, "PARALLEL_MIN", 0)
    monkeypatch.setattr(verify, "_Helper", Recorded)
    return made


@pytest.fixture
def j(tmp_path):
    journal = fill(tmp_path / "journal.db")
    yield journal
    journal.close()


def sql(journal, stmt, args=()):
    conn = sqlite3.connect(journal.path, isolation_level=None)
    conn.execute(stmt, args)
    conn.close()


def walk(journal, decoded=True):
    """(seqs yielded, the error raised or None)."""
    seen = []
    try:
        for rec in verify.iter_verified(journal, decoded=decoded, chunk=CHUNK):
            seen.append(rec["seq"] if decoded else rec[0])
    except JournalError as exc:
        return seen, str(exc)
    return seen, None


def reaped(helper):
    with pytest.raises(ChildProcessError):
        os.waitpid(helper.pid, os.WNOHANG)
    return helper.status is not None


def test_an_untouched_journal_is_walked_with_the_helper(j, helpers):
    assert walk(j) == (list(range(1, N + 1)), None)
    assert walk(j, decoded=False) == (list(range(1, N + 1)), None)
    assert len(helpers) == 2 and all(reaped(h) for h in helpers)
    assert all(os.WIFEXITED(h.status) and os.WEXITSTATUS(h.status) == 0 for h in helpers)
    res = verify.verify(j)
    assert (res.records, res.last_seq, res.warnings) == (N, N, [])


def test_decoded_records_are_those_of_the_single_process_walk(j, helpers, monkeypatch):
    parallel = list(verify.iter_verified(j, chunk=CHUNK))
    monkeypatch.setattr(verify, "PARALLEL_MIN", 10**9)
    assert parallel == list(verify.iter_verified(j, chunk=CHUNK)) and len(helpers) == 1


def test_a_modified_row_in_the_second_chunk_is_named_and_nothing_after_it_is_yielded(j, helpers):
    sql(j, "UPDATE events SET payload = ? WHERE seq = 7", (msgpack.packb({"i": 666}),))
    assert walk(j) == ([1, 2, 3, 4, 5, 6], "seq 7: modified: its content no longer matches its hash "
                                           "(or seq 6 was rewritten with a recomputed hash)")
    assert reaped(helpers[0])


def test_a_modified_first_row_of_a_chunk_is_named(j, helpers):
    sql(j, "UPDATE events SET dst = 'down' WHERE seq = 11")
    seen, why = walk(j, decoded=False)
    assert seen == list(range(1, 11)) and why.startswith("seq 11: modified")


def test_a_modified_last_row_is_named(j, helpers):
    sql(j, "UPDATE events SET payload = ? WHERE seq = ?", (msgpack.packb({"i": -1}), N))
    assert walk(j) == (list(range(1, N)), f"seq {N}: modified: its content no longer matches its hash")


def test_a_deleted_row_in_the_last_chunk_is_named(j, helpers):
    sql(j, "DELETE FROM events WHERE seq = 22")
    assert walk(j) == (list(range(1, 22)), "seq 22: missing: the chain jumps from seq 21 to seq 23 (rows deleted)")
    with pytest.raises(JournalError, match=r"^seq 22: missing"):
        verify.verify(j)


def test_rows_the_helper_read_differently_are_checked_here(j, helpers, monkeypatch):
    """A chunk whose rows differ between the two reads (the file changed in between) is never taken
    on the helper's word: this process checks it itself, with the same result."""
    versions = iter(range(10**6))
    monkeypatch.setattr(j, "data_version", lambda: next(versions))   # another connection commits all the time
    parent = os.getpid()
    real = verify._fingerprint
    monkeypatch.setattr(verify, "_fingerprint", lambda rows: real(rows) + (os.getpid() != parent))
    assert walk(j) == (list(range(1, N + 1)), None)
    sql(j, "UPDATE events SET payload = ? WHERE seq = 12", (msgpack.packb({"i": 0}),))
    assert walk(j) == (list(range(1, 12)), "seq 12: modified: its content no longer matches its hash "
                                           "(or seq 11 was rewritten with a recomputed hash)")


def test_records_appended_during_the_walk(j, tmp_path, helpers):
    """A live journal: another writer appends while the walk runs; every record is yielded once."""
    other = Journal(j.path)
    seen = []
    for rec in verify.iter_verified(j, chunk=CHUNK):
        seen.append(rec["seq"])
        if rec["seq"] == 3:
            other.append([{"svc": "late", "payload": {"k": k}} for k in range(7)])
    other.close()
    assert seen == list(range(1, N + 8))
    assert reaped(helpers[0])


def _confirm_first_chunk_then_die(path, after, prev, salt, chunk, fd):
    conn = sqlite3.connect(str(path))
    rows = conn.execute(f"{SELECT} WHERE seq > ? ORDER BY seq LIMIT ?", (after, chunk)).fetchall()
    os.write(fd, verify._MSG.pack(after, len(rows), prev, verify._fingerprint(rows), True))
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_helper_that_dies_is_a_clear_journal_failure_not_a_hang(j, helpers, monkeypatch):
    monkeypatch.setattr(verify, "_helper", _confirm_first_chunk_then_die)
    seen, why = walk(j)
    assert seen == [1, 2, 3, 4, 5]
    assert why == (f"journal verify: the chain-checking helper process (pid {helpers[0].pid}) was killed by "
                   f"signal 9 before it confirmed the next chunk; nothing past the last confirmed record "
                   f"was yielded. Run the command again")
    assert reaped(helpers[0])


def test_a_helper_that_exits_at_once_is_named_with_its_status(j, helpers, monkeypatch):
    monkeypatch.setattr(verify, "_helper", lambda *args: os._exit(3))
    assert walk(j) == ([], f"journal verify: the chain-checking helper process (pid {helpers[0].pid}) exited "
                           f"with status 3 before it confirmed the next chunk; nothing past the last confirmed "
                           f"record was yielded. Run the command again")


def test_a_consumer_that_stops_early_leaves_no_helper_behind(j, helpers):
    it = verify.iter_verified(j, chunk=CHUNK)
    assert [next(it)["seq"] for _ in range(3)] == [1, 2, 3]
    it.close()
    assert reaped(helpers[0])


def test_no_fork_from_a_threaded_process(j, helpers):
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert walk(j) == (list(range(1, N + 1)), None)
    finally:
        stop.set()
        t.join()
    assert helpers == []


def test_a_process_that_ignores_sigchld(j, helpers):
    """Children reaped by the kernel (SIGCHLD ignored): the walk neither fails nor waits."""
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert walk(j) == (list(range(1, N + 1)), None)
    finally:
        signal.signal(signal.SIGCHLD, before)
    assert helpers[0].status is not None


def test_no_helper_with_a_single_cpu(j, helpers, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert walk(j) == (list(range(1, N + 1)), None)
    assert helpers == []


def test_incremental_verification_from_a_trusted_point(j, helpers):
    h = sqlite3.connect(j.path).execute("SELECT hash FROM events WHERE seq = 9").fetchone()[0]
    assert [r[0] for r in verify.iter_verified(j, decoded=False, start=(9, h), chunk=CHUNK)] == list(range(10, N + 1))
    assert len(helpers) == 1


def test_cli_verify_of_a_long_journal(tmp_path):
    """Above PARALLEL_MIN, `journal verify` forks its helper for real (default settings)."""
    n = verify.PARALLEL_MIN + 1234
    root = tmp_path / "root"
    (root / "var").mkdir(parents=True)
    fill(root / "var" / "journal.db", n=n, group=1000, durable=False).close()
    env = {**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "node1"}
    cli = [sys.executable, "-m", "cli", "journal", "verify"]
    out = subprocess.run(cli, env=env, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert f"{n} records, chain intact" in out.stdout
    conn = sqlite3.connect(root / "var" / "journal.db", isolation_level=None)
    conn.execute("UPDATE events SET src = 'up' WHERE seq = ?", (n - 17,))
    conn.close()
    out = subprocess.run(cli, env=env, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 6
    assert out.stderr == (f"osvc-engine: error: seq {n - 17}: modified: its content no longer matches its hash "
                          f"(or seq {n - 18} was rewritten with a recomputed hash)\n")
