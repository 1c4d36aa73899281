"""Verification with a forked helper process (long journals): same contract as the single-process walk.

The helper reads and checks chunks and ships the rows it checked; this process yields exactly those
(and reads and checks itself the chunks the helper leaves it). A row is yielded only once its link is
confirmed, the first bad seq is named exactly, and a helper that dies is a clear JournalError.
Small chunks (5 rows) and PARALLEL_MIN = 0 make the helper run on a 23-row journal: chunks 1-5, 6-10,
11-15, 16-20, 21-23. Every test runs three times: the helper checks every chunk (share 0), it leaves
every 3rd chunk to this process (share 3: seqs 11-15 are its own), and it leaves one whenever this
process has read everything (the default, adaptive: who checks which chunk depends on timing).
"""

import marshal

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import msgpack
import pytest

from core.errors import JournalError
from journal import verify
from journal.store import SELECT, Journal
from tests.helpers.paths import REPO

N = 23
CHUNK = 5


def fill(path, n=N, group=1, durable=True):
    j = Journal(path)
    recs = [{"node": "node1", "svc": f"svc{i % 3}", "rid": "app#1", "kind": "transition", "event": "start",
             "src": "down", "dst": "up", "payload": {"i": i}} for i in range(n)]
    for k in range(0, n, group):
        j.append(recs[k:k + group], durable=durable)
    return j


@pytest.fixture(params=[0, 3, None], ids=["helper-checks-all", "parent-checks-every-3rd", "adaptive"])
def share(request, monkeypatch):
    monkeypatch.setattr(verify, "PARENT_SHARE", request.param)
    return request.param


@pytest.fixture
def helpers(monkeypatch, share):
    return recorded_helpers(monkeypatch)


def recorded_helpers(monkeypatch):
    """Every helper the walks start from now on, from 0 rows (to check they ran, and were reaped)."""
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


def test_a_modified_row_in_a_chunk_this_process_checks_itself(j, helpers, share):
    sql(j, "UPDATE events SET svc = 'other' WHERE seq = 13")
    assert walk(j) == (list(range(1, 13)), "seq 13: modified: its content no longer matches its hash "
                                           "(or seq 12 was rewritten with a recomputed hash)")
    assert reaped(helpers[0])


def test_a_modified_row_in_the_chunk_after_it_is_named(j, helpers):
    """Seqs 16-20: the helper resumed from the stored hash of seq 15, after the chunk it skipped."""
    sql(j, "UPDATE events SET payload = ? WHERE seq = 16", (msgpack.packb({"i": 0}),))
    seen, why = walk(j, decoded=False)
    assert seen == list(range(1, 16)) and why.startswith("seq 16: modified")


def test_a_deleted_row_in_a_chunk_this_process_checks_itself(j, helpers):
    sql(j, "DELETE FROM events WHERE seq = 14")
    assert walk(j) == (list(range(1, 14)), "seq 14: missing: the chain jumps from seq 13 to seq 15 (rows deleted)")


def child(fake):
    """A fake helper body: whatever happens in it, the forked child leaves with os._exit (never
    returns into pytest)."""
    def run(*args):
        try:
            fake(*args)
        finally:
            os._exit(0)
    return run


def _ship(fd, after, prev, rows, bad=-1):
    data = marshal.dumps(rows)
    os.write(fd, verify._HEAD.pack(after, prev, bad, len(rows), len(data)) + data)


def _chunks(path, after, prev, chunk):
    """The journal's chunks as the helper cuts them: (after, prev, rows)."""
    conn = sqlite3.connect(str(path))
    rows = conn.execute(f"{SELECT} WHERE seq > ? ORDER BY seq", (after,)).fetchall()
    for k in range(0, len(rows), chunk):
        part = rows[k:k + chunk]
        yield after, prev, part
        after, prev = part[-1][0], part[-1][14]


@child
def _out_of_step(path, after, prev, salt, chunk, fd, share=0, claims=None):
    """Ships the first chunk, then the third one in place of the second (as if it had skipped one)."""
    first, _, third, *_ = _chunks(path, after, prev, chunk)
    _ship(fd, *first)
    _ship(fd, *third)


@child
def _wrong_link(path, after, prev, salt, chunk, fd, share=0, claims=None):
    """Ships the first chunk, then the second one claiming it chained from another hash."""
    first, (a, _, rows), *_ = _chunks(path, after, prev, chunk)
    _ship(fd, *first)
    _ship(fd, a, b"\x01" * 32, rows)


@pytest.mark.parametrize("fake", [_out_of_step, _wrong_link])
def test_a_helper_chunk_that_does_not_start_where_this_walk_is_is_not_taken(j, helpers, monkeypatch, fake):
    """A chunk from the helper is taken only when it starts at the seq and hash this walk ended on;
    otherwise the helper is stopped and this process walks on alone, with the same result."""
    monkeypatch.setattr(verify, "_helper", fake)
    assert walk(j) == (list(range(1, N + 1)), None)
    assert reaped(helpers[0])
    sql(j, "UPDATE events SET payload = ? WHERE seq = 12", (msgpack.packb({"i": 0}),))
    assert walk(j) == (list(range(1, 12)), "seq 12: modified: its content no longer matches its hash "
                                           "(or seq 11 was rewritten with a recomputed hash)")


@pytest.mark.parametrize("n", [N, 13, 15])
def test_records_appended_during_the_walk(tmp_path, helpers, n):
    """A live journal: another writer appends while the walk runs; every record is yielded once, and
    the appended ones are checked too (a row that does not chain is named). n = 13, 15: with share 3
    the last chunk (short, or full) is this process's own."""
    j = fill(tmp_path / "journal.db", n=n)
    other = Journal(j.path)
    seen = []
    for rec in verify.iter_verified(j, chunk=CHUNK):
        seen.append(rec["seq"])
        if rec["seq"] == 3:
            other.append([{"svc": "late", "payload": {"k": k}} for k in range(7)])
    assert seen == list(range(1, n + 8))
    assert reaped(helpers[0])
    sql(j, "UPDATE events SET svc = 'other' WHERE seq = ?", (n + 4,))
    seen, why = walk(j)
    assert seen == list(range(1, n + 4)) and why.startswith(f"seq {n + 4}: modified")
    other.close()
    j.close()


@child
def _confirm_first_chunk_then_die(path, after, prev, salt, chunk, fd, share=0, claims=None):
    (first, *_) = _chunks(path, after, prev, chunk)
    _ship(fd, *first)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_helper_that_dies_is_a_clear_journal_failure_not_a_hang(j, helpers, monkeypatch):
    monkeypatch.setattr(verify, "_helper", _confirm_first_chunk_then_die)
    seen, why = walk(j)
    assert seen == [1, 2, 3, 4, 5]
    assert why == (f"journal verify: the chain-checking helper process (pid {helpers[0].pid}) was killed by "
                   f"signal 9 before it confirmed the next chunk; nothing past the last confirmed record "
                   f"was yielded. Run the command again")
    assert reaped(helpers[0])


def test_a_helper_killed_mid_walk_is_a_clear_journal_failure(j, helpers, monkeypatch, share):
    """The real helper, killed while this process walks: rows it shipped before are yielded, nothing
    after. It is held before its 3rd message, so the kill lands while this process yields chunk 2
    and its pipe holds nothing more. (Whoever checked chunks 1 and 2, the 3rd message is the one
    about chunk 3, rows or "yours".)"""
    real, sent = verify._Writer.send, []

    def send(self, *args):
        if len(sent) == 2:
            time.sleep(60)
        sent.append(1)
        real(self, *args)

    monkeypatch.setattr(verify._Writer, "send", send)
    seen, why = [], None
    try:
        for rec in verify.iter_verified(j, chunk=CHUNK):
            seen.append(rec["seq"])
            if rec["seq"] == 8:
                os.kill(helpers[0].pid, signal.SIGKILL)
    except JournalError as exc:
        why = str(exc)
    assert seen == list(range(1, 11))
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


def own_chunks(journal):
    """The seq each chunk this process reads and checks itself starts after (it reads them with raw)."""
    seen, real = [], journal.raw

    def raw(**kw):
        seen.append(kw["seq_after"])
        return real(**kw)

    journal.raw = raw
    return seen


@pytest.fixture
def adaptive(monkeypatch, tmp_path):
    """A 100-row journal (20 chunks of 5), the default adaptive share, the helper from 0 rows."""
    monkeypatch.setattr(verify, "PARALLEL_MIN", 0)
    monkeypatch.setattr(verify, "PARENT_SHARE", None)
    journal = fill(tmp_path / "journal.db", n=100)
    yield journal
    journal.close()


def test_a_slow_consumer_leaves_the_whole_check_to_the_helper(adaptive):
    """The consumer takes 10 ms per record: the helper is always ahead, this process never waits,
    so it claims no chunk (at most the first one, if it looked before the helper's first message).
    After the helper's last (short) chunk, this process reads once more past seq 100: a live
    journal may have grown since."""
    own = own_chunks(adaptive)
    seqs = []
    for rec in verify.iter_verified(adaptive, chunk=CHUNK):
        seqs.append(rec["seq"])
        time.sleep(0.01)
    assert seqs == list(range(1, 101))
    assert own in ([100], [0, 100], [5, 100]), own


def test_a_slow_helper_leaves_chunks_to_this_process(adaptive, monkeypatch):
    """The helper takes 20 ms to ship each chunk it checked: this process, finding nothing to read,
    claims chunks and checks about every other one itself; every record is yielded once, in order."""
    real = verify._Writer.send

    def slow_send(self, after, prev, bad, rows):
        if rows:
            time.sleep(0.02)
        real(self, after, prev, bad, rows)

    monkeypatch.setattr(verify._Writer, "send", slow_send)
    own = own_chunks(adaptive)
    assert [rec["seq"] for rec in verify.iter_verified(adaptive, chunk=CHUNK)] == list(range(1, 101))
    assert own[-1] == 100 and len(own) >= 6 and own == sorted(set(own)) and all(s % CHUNK == 0 for s in own), own


def test_when_the_last_chunk_is_this_process_s_the_helper_ends_cleanly(j, monkeypatch):
    """Every 5th chunk is this process's: chunk 5 (seqs 21-23) is the last one. The helper says so
    (YOURS_LAST) and exits 0 on its own: it is not left running, nor killed."""
    made = recorded_helpers(monkeypatch)
    monkeypatch.setattr(verify, "PARENT_SHARE", 5)
    own = own_chunks(j)
    assert walk(j) == (list(range(1, N + 1)), None)
    assert own == [20] and made[0].done
    assert reaped(made[0]) and os.WIFEXITED(made[0].status) and os.WEXITSTATUS(made[0].status) == 0
