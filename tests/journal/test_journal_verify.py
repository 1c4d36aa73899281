"""Tamper suite: every way of rewriting history is caught by verify, naming the first bad seq."""

import os
import shutil
import sqlite3
import subprocess
import sys

import msgpack
import pytest

from core.errors import JournalError
from journal import anchor
from journal.store import COLUMNS, Journal
from journal.verify import iter_verified, verify
from tests.helpers.paths import REPO

N = 20


def fill(path, n=N, node="node1", durable=True):
    j = Journal(path)
    for i in range(n):
        j.append_one({"node": node, "svc": "web1", "rid": "app#1", "kind": "transition", "event": "start",
                      "src": "down", "dst": "up", "payload": {"i": i}}, durable=durable)
    return j


@pytest.fixture
def j(tmp_path):
    journal = fill(tmp_path / "a" / "journal.db")
    yield journal
    journal.close()


def sql(journal, *statements):
    conn = sqlite3.connect(journal.path, isolation_level=None)
    conn.execute("BEGIN")
    for stmt in statements:
        if isinstance(stmt, tuple):
            conn.execute(*stmt)
        else:
            conn.execute(stmt)
    conn.execute("COMMIT")
    conn.close()


def row(journal, seq):
    conn = sqlite3.connect(journal.path)
    r = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE seq = ?", (seq,)).fetchone()
    conn.close()
    return r


def put(journal, values):
    return (f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", values)


def fails(journal, pattern):
    with pytest.raises(JournalError, match=pattern) as info:
        verify(journal)
    return str(info.value)


def test_an_untouched_journal_verifies(j):
    res = verify(j)
    assert (res.records, res.last_seq, res.warnings) == (N, N, [])
    assert [r["seq"] for r in iter_verified(j)] == list(range(1, N + 1))
    # incremental: resume from a trusted point
    assert verify(j, start=(10, row(j, 10)[14])).records == N - 10


def test_empty_journal_verifies(tmp_path):
    assert verify(Journal(tmp_path / "journal.db")).records == 0


def test_modified_payload(j):
    sql(j, ("UPDATE events SET payload = ? WHERE seq = 5", (msgpack.packb({"i": 99}),)))
    fails(j, r"^seq 5: modified")


def test_modified_column(j):
    sql(j, "UPDATE events SET dst = 'down' WHERE seq = 7")
    fails(j, r"^seq 7: modified")


def test_modified_last_row(j):
    sql(j, f"UPDATE events SET event = 'stop' WHERE seq = {N}")
    fails(j, rf"^seq {N}: modified")


def test_deleted_row(j):
    sql(j, "DELETE FROM events WHERE seq = 5")
    fails(j, r"^seq 5: missing: the chain jumps from seq 4 to seq 6 \(rows deleted\)")


def test_deleted_rows_and_first_row(j):
    sql(j, "DELETE FROM events WHERE seq BETWEEN 5 AND 7")
    fails(j, r"^seqs 5\.\.7: missing")
    sql(j, "DELETE FROM events WHERE seq = 1")
    fails(j, r"^seq 1: missing: the chain jumps from seq 0 to seq 2")


def test_reordered_rows(j):
    a, b = row(j, 5), row(j, 6)
    sql(j, "DELETE FROM events WHERE seq IN (5, 6)", put(j, (5, *b[1:])), put(j, (6, *a[1:])))
    fails(j, r"^seq 5: holds the record written as seq 6: rows reordered")


def test_inserted_row_with_renumbering(j):
    forged = (5, *row(j, 5)[1:12], msgpack.packb({"i": "forged"}), 1, os.urandom(32))
    sql(j, "UPDATE events SET seq = -seq WHERE seq >= 5", "UPDATE events SET seq = 1 - seq WHERE seq < 0",
        put(j, forged))
    fails(j, r"^seq 5: inserted: not part of the chain \(seq 6 chains directly from seq 4\)")


def test_inserted_row_at_the_end(j):
    forged = (N + 1, *row(j, N)[1:14], os.urandom(32))
    sql(j, put(j, forged))
    fails(j, rf"^seq {N + 1}: inserted")


def test_deleted_row_with_renumbering(j):
    sql(j, "DELETE FROM events WHERE seq = 5", "UPDATE events SET seq = -seq WHERE seq > 5",
        "UPDATE events SET seq = -seq - 1 WHERE seq < 0")
    fails(j, r"^seq 5: renumbered: it was written as seq 6")


def test_truncated_tail(j):
    sql(j, "DELETE FROM events WHERE seq > 15")
    fails(j, rf"^seq 16: truncated tail: the head anchor records durable seq {N} but the journal ends at seq 15")


def test_truncated_relaxed_tail_in_this_boot(tmp_path):
    jr = fill(tmp_path / "journal.db", durable=False)
    sql(jr, "DELETE FROM events WHERE seq > 15")
    fails(jr, rf"^seq 16: truncated tail: .*seq {N} written in this boot")


def test_relaxed_records_lost_in_a_machine_crash_are_a_warning_not_a_tamper(tmp_path):
    jr = fill(tmp_path / "journal.db", durable=False)
    jr.append_one({"svc": "web1"}, durable=True)              # seq 21 durable
    for _ in range(3):
        jr.append_one({"svc": "web1"}, durable=False)         # 22..24 relaxed
    # what a power loss looks like: the relaxed commits never reached the disk, and the anchor
    # (written after them, unsynced) did; the machine rebooted since.
    sql(jr, "DELETE FROM events WHERE seq > 21")
    head = anchor.read(jr.anchor_path)
    anchor.Writer(jr.anchor_path).write(anchor.Head(head.seq, head.hash, head.dseq, head.dhash, head.uuid,
                                                    b"\x01" * 16, False))
    res = verify(jr)
    assert res.records == 21
    assert res.warnings == ["seqs 22..24 (relaxed) were lost: the machine crashed or lost power after they "
                            "were written; relaxed records do not survive that"]
    sql(jr, "DELETE FROM events WHERE seq > 20")               # a durable record lost is never excused
    fails(jr, r"^seq 21: truncated tail: the head anchor records durable seq 21")


def test_rows_spliced_from_another_journal(j, tmp_path):
    other = fill(tmp_path / "b" / "journal.db", node="node1")   # same shape, same node: only the chain differs
    spliced = [row(other, s) for s in range(10, 15)]
    sql(j, "DELETE FROM events WHERE seq BETWEEN 10 AND 14", *[put(j, r) for r in spliced])
    fails(j, r"^seqs 10\.\.14: spliced: 5 row\(s\) that do not belong to this journal's chain")


def test_database_replaced_by_another_journal(j, tmp_path):
    other = fill(tmp_path / "b" / "journal.db", n=N + 5)
    other.close()
    path = j.path
    j.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.unlink(f"{path}{suffix}")
    shutil.copy(other.path, path)
    fails(Journal(path), r"head anchor .* belongs to journal [0-9a-f]{32} but the database is journal")


def test_rewritten_history_with_recomputed_hashes_is_caught_by_the_anchor(j):
    # An attacker who knows the algorithm rewrites seq 20 and re-chains it: only the anchor knows.
    from journal import chain

    last = row(j, N)
    values = (*last[:8], "stop", *last[9:14])
    forged = chain.row_hash(row(j, N - 1)[14], j.salt, values, chain.make_canonical())
    sql(j, f"DELETE FROM events WHERE seq = {N}", put(j, (*values, forged)))
    fails(j, rf"^seq {N}: differs from the head anchor: history rewritten")


def test_missing_anchor_then_reanchor(j, tmp_path):
    os.unlink(j.anchor_path)
    fails(j, r"head anchor .* is missing: cannot tell whether the tail was truncated.*--reanchor")
    env = {**os.environ, "OSVC_ROOT": str(tmp_path / "root"), "OSVC_NODENAME": "node1"}
    var = tmp_path / "root" / "var"
    var.mkdir(parents=True)
    os.link(j.path, var / "journal.db")
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{j.path}{suffix}"):
            os.link(f"{j.path}{suffix}", var / f"journal.db{suffix}")
    cli = [sys.executable, "-m", "cli", "journal", "verify"]
    out = subprocess.run(cli, env=env, capture_output=True, text=True, cwd=str(REPO))
    assert out.returncode == 6
    assert out.stderr.startswith("osvc-engine: error: head anchor ")
    out = subprocess.run([*cli, "--reanchor"], env=env, capture_output=True, text=True,
                         cwd=str(REPO))
    assert out.returncode == 0, out.stderr
    out = subprocess.run(cli, env=env, capture_output=True, text=True, cwd=str(REPO))
    assert out.returncode == 0 and f"{N} records, chain intact" in out.stdout


def test_cli_names_the_first_bad_seq_and_exits_6(j, tmp_path):
    sql(j, "DELETE FROM events WHERE seq = 3")
    env = {**os.environ, "OSVC_ROOT": str(tmp_path / "a" / ".."), "OSVC_NODENAME": "node1"}
    root = tmp_path / "root2"
    (root / "var").mkdir(parents=True)
    j.close()
    for suffix in ("", "-wal", "-shm", ".head"):
        if os.path.exists(f"{j.path}{suffix}"):
            shutil.copy(f"{j.path}{suffix}", root / "var" / f"journal.db{suffix}")
    env["OSVC_ROOT"] = str(root)
    out = subprocess.run([sys.executable, "-m", "cli", "journal", "verify"], env=env, capture_output=True,
                         text=True, cwd=str(REPO))
    assert out.returncode == 6
    assert out.stderr == ("osvc-engine: error: seq 3: missing: the chain jumps from seq 2 to seq 4 "
                          "(rows deleted)\n")
