"""The journal store: append, read, hlc, durability flags, permissions, failures (real SQLite files)."""

import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from core.errors import JournalError, NotFound, UsageError
from journal import anchor
from journal.store import Journal
from journal.verify import verify


def rec(i, **kw):
    base = {"node": "node1", "svc": f"svc{i % 3}", "rid": f"ip#{i % 2}", "kind": "transition",
            "machine": "ip", "event": "start", "src": "down", "dst": "starting",
            "action_id": f"act{i // 10}", "payload": {"i": i}}
    base.update(kw)
    return base


@pytest.fixture
def jpath(tmp_path):
    return tmp_path / "var" / "journal.db"


def test_append_read_roundtrip(jpath):
    with Journal(jpath) as j:
        assert j.append([rec(0), rec(1)]) == [1, 2]
        assert j.append_one({"svc": "web1"}, durable=False) == 3
        rows = j.read()
    assert [r["seq"] for r in rows] == [1, 2, 3]
    first, _, third = rows
    assert first["payload"] == {"i": 0} and first["durable"] is True
    assert {k: first[k] for k in ("node", "svc", "rid", "kind", "machine", "event", "src", "dst", "action_id")} == \
        {"node": "node1", "svc": "svc0", "rid": "ip#0", "kind": "transition", "machine": "ip",
         "event": "start", "src": "down", "dst": "starting", "action_id": "act0"}
    # missing keys default to '' and payload to {}
    assert third["rid"] == "" and third["payload"] == {} and third["durable"] is False
    assert len(third["hash"]) == 64 and third["hash"] != first["hash"]


def test_files_are_private_and_schema_is_what_the_docs_say(jpath):
    j = Journal(jpath)            # kept open: the -wal and -shm files exist while it is
    j.append_one(rec(0))
    for suffix in ("", ".head", "-wal", "-shm"):
        path = f"{jpath}{suffix}"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    conn = sqlite3.connect(jpath)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
    assert cols == ["seq", "ts", "hlc", "node", "svc", "rid", "kind", "machine", "event", "src", "dst",
                    "action_id", "payload", "durable", "hash"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {r[1]: [c[2] for c in conn.execute(f"PRAGMA index_info({r[1]})")]
               for r in conn.execute("PRAGMA index_list(events)")}
    assert indexes == {"events_kind": ["kind"], "events_action": ["action_id"], "events_ts": ["ts"]}
    # the service index is a side table keyed (svc, seq), its merge interval recorded in the file
    assert [r[1] for r in conn.execute("PRAGMA table_info(svc_index)")] == ["svc", "seq"]
    assert "WITHOUT ROWID" in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'svc_index'").fetchone()[0]
    assert conn.execute("SELECT value FROM meta WHERE key = 'svc_index_every'").fetchone()[0] == "4096"
    # every filter reads in seq order from its index (the rowid ends each entry): no sort step
    for filters in ({"svc": "x"}, {"svc": "x", "rid": "y"}, {"kind": "x"}, {"action_id": "x"},
                    {"svc": "x", "seq_after": 5}, {"kind": "x", "seq_after": 5}):
        select, args = j._select(filters)
        plan = " ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {select} ORDER BY seq", args))
        assert "USING" in plan and "TEMP B-TREE" not in plan and "SCAN" not in plan, (filters, plan)
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    uuid = conn.execute("SELECT value FROM meta WHERE key='uuid'").fetchone()[0]
    assert uuid == Journal(jpath).uuid and len(uuid) == 32


# The index sets of journals made by earlier versions (they have no side table): (svc) until the
# side table, and the first (svc, rid, seq), (kind, seq), (action_id, seq).
EARLIER_INDEXES = {
    "service index": {"events_svc": "svc", "events_kind": "kind", "events_action": "action_id", "events_ts": "ts"},
    "first indexes": {"events_svc_rid": "svc, rid, seq", "events_kind": "kind, seq",
                      "events_action": "action_id, seq"},
}


def make_earlier_journal(jpath, indexes):
    Journal(jpath).close()
    conn = sqlite3.connect(jpath, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
                                "AND sql IS NOT NULL").fetchall():
        conn.execute(f"DROP INDEX {name}")
    conn.execute("DROP TABLE svc_index")
    conn.execute("DELETE FROM meta WHERE key = 'svc_index_every'")
    for name, cols in indexes.items():
        conn.execute(f"CREATE INDEX {name} ON events ({cols})")
    conn.close()


@pytest.mark.parametrize("indexes", EARLIER_INDEXES.values(), ids=EARLIER_INDEXES.keys())
def test_a_journal_with_earlier_indexes_still_serves_every_filter(jpath, indexes):
    """Journals created before keep their indexes and have no side table: they open, append, answer the
    same queries (through their own service index) and verify."""
    make_earlier_journal(jpath, indexes)
    with Journal(jpath) as j:
        j.append([rec(i) for i in range(5000)])
        assert sqlite3.connect(jpath).execute("SELECT name FROM sqlite_master WHERE name = 'svc_index'").fetchall() == []
        assert [r["seq"] for r in j.read(svc="svc1", rid="ip#0", seq_max=30)] == [5, 11, 17, 23, 29]
        assert [r["seq"] for r in j.read(action_id="act2")] == list(range(21, 31))
        assert j.newest(svc="svc2", kind="transition")["seq"] == 5000 - 5000 % 3
        select, args = j._select({"svc": "svc1"})
        plan = " ".join(r[3] for r in j.connection.execute(f"EXPLAIN QUERY PLAN {select} ORDER BY seq", args))
        assert "USING INDEX events_svc" in plan, plan
        assert verify(j).records == 5000


def test_read_filters_and_last(jpath):
    with Journal(jpath, clock=iter(range(10**18, 10**18 + 10**12, 10**9)).__next__) as j:
        for i in range(30):
            j.append_one(rec(i))
        assert [r["seq"] for r in j.read(svc="svc1")] == list(range(2, 31, 3))
        assert [r["seq"] for r in j.read(svc="svc1", rid="ip#0")] == [5, 11, 17, 23, 29]
        assert [r["seq"] for r in j.read(action_id="act2")] == list(range(21, 31))
        assert [r["seq"] for r in j.read(seq_min=5, seq_max=7)] == [5, 6, 7]
        assert [r["seq"] for r in j.read(last=3)] == [28, 29, 30]
        assert [r["seq"] for r in j.read(svc="svc0", last=2)] == [25, 28]
        t5 = j.read(seq_min=5, seq_max=5)[0]["ts"]
        assert [r["seq"] for r in j.read(since_ns=t5, until_ns=t5 + 2 * 10**9)] == [5, 6]
        assert j.read(node="other") == [] and len(j.read(kind="transition")) == 30
        assert j.last_seq() == 30


class SteppingClock:
    """A wall clock the test moves by hand, including backwards."""

    def __init__(self, ns):
        self.ns = ns

    def __call__(self):
        return self.ns


def test_hlc_is_monotonic_when_the_wall_clock_steps_back(jpath):
    clock = SteppingClock(1_700_000_000_000_000_000)
    j = Journal(jpath, clock=clock)
    j.append([rec(0), rec(1)])
    clock.ns -= 3600 * 10**9          # NTP steps the clock back one hour
    j.append_one(rec(2))
    clock.ns += 1                      # same millisecond: the counter moves
    j.append_one(rec(3))
    j.close()
    # a new process with the stepped-back clock recovers the hlc from the last row
    j2 = Journal(jpath, clock=SteppingClock(clock.ns - 10**9))
    j2.append_one(rec(4))
    rows = j2.read()
    hlcs = [r["hlc"] for r in rows]
    assert hlcs == sorted(set(hlcs)), hlcs
    assert hlcs[0] >> 16 == 1_700_000_000_000 and hlcs[1] == hlcs[0] + 1
    assert rows[2]["ts"] < rows[1]["ts"]     # ts is the wall clock, it went back
    assert hlcs[2] == hlcs[1] + 1            # hlc did not
    # the clock catches up: hlc follows the wall clock again
    j2._clock = SteppingClock(1_700_000_001_000_000_000)
    j2.append_one(rec(5))
    assert j2.read(last=1)[0]["hlc"] == 1_700_000_001_000 << 16
    j2.observe_hlc((1_700_000_005_000 << 16) + 7)   # a peer's clock is ahead
    j2.append_one(rec(6))
    assert j2.read(last=1)[0]["hlc"] == (1_700_000_005_000 << 16) + 8


def test_anchor_follows_commits_with_durable_mark(jpath):
    j = Journal(jpath)
    j.append([rec(0), rec(1)])
    head = anchor.read(j.anchor_path)
    assert (head.seq, head.dseq, head.last_durable) == (2, 2, True)
    j.append_one(rec(2), durable=False)
    head = anchor.read(j.anchor_path)
    assert (head.seq, head.dseq, head.last_durable) == (3, 2, False)
    assert head.hash == bytes.fromhex(j.read(last=1)[0]["hash"]) and head.uuid == j.uuid


def test_a_relaxed_commit_carries_the_durable_head_another_writer_made(jpath):
    """Two writers. A relaxed commit carries the last durable head known: its own when nobody else
    committed since, else the anchor's, where another writer's durable commit may be."""
    a, b = Journal(jpath), Journal(jpath)
    a.append_one(rec(0))                                   # seq 1, durable
    a.append_one(rec(1), durable=False)                    # seq 2: a's own durable head
    assert (anchor.read(a.anchor_path).seq, anchor.read(a.anchor_path).dseq) == (2, 1)
    b.append_one(rec(2))                                   # seq 3, durable, by b
    a.append_one(rec(3), durable=False)                    # seq 4: b committed since a's last commit
    head = anchor.read(a.anchor_path)
    assert (head.seq, head.dseq, head.last_durable) == (4, 3, False)
    assert head.dhash == bytes.fromhex(a.read(seq_min=3, seq_max=3)[0]["hash"])
    a.append_one(rec(4), durable=False)                    # seq 5: a alone again, same durable head
    assert (anchor.read(a.anchor_path).seq, anchor.read(a.anchor_path).dseq) == (5, 3)
    a.close()
    b.close()


def test_bad_records_are_refused_and_nothing_of_the_group_is_written(jpath):
    j = Journal(jpath)
    j.append_one(rec(0))
    with pytest.raises(UsageError, match="unknown key.*actionid"):
        j.append([rec(1), {"svc": "x", "actionid": "typo"}])
    with pytest.raises(UsageError, match="payload cannot be encoded"):
        j.append([rec(1), {"svc": "x", "payload": {"f": object()}}])
    assert j.last_seq() == 1
    assert verify(j).records == 1


def test_lock_timeout_is_a_clear_journal_error(jpath):
    j = Journal(jpath, busy_timeout=0.2)
    j.append_one(rec(0))
    holder = sqlite3.connect(jpath, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(JournalError, match=rf"journal {jpath} is locked.*0.2s.*nothing was written"):
            j.append([rec(1), rec(2)])
    finally:
        holder.execute("ROLLBACK")
    assert j.append_one(rec(3)) == 2          # the lock is free again: seq continues, no hole
    assert verify(j).records == 2


def test_missing_journal_is_not_created_by_readers(tmp_path):
    with pytest.raises(NotFound, match="no journal at"):
        Journal(tmp_path / "var" / "journal.db", create=False)
    assert not (tmp_path / "var").exists()


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "journal.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="not a journal database"):
        Journal(path)


def test_concurrent_creators_agree_on_one_journal(tmp_path):
    path = tmp_path / "var" / "journal.db"
    code = ("import sys; from journal.store import Journal; j = Journal(sys.argv[1]); "
            "j.append_one({'svc': 'x'}); print(j.uuid)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    uuids = {p.communicate()[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(uuids) == 1
    j = Journal(path)
    assert j.last_seq() == 4 and verify(j).records == 4


def test_import_is_light():
    code = "import sys, journal.store, journal.tail, journal.verify; print('sqlite_utils' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_seal_numbers_times_and_chains_rows_from_the_head():
    """chain.seal alone: seq after the head's, ts = now, hlc = wall ms when ahead of the head's hlc
    else head + 1, each hash = row_hash of its values from the previous hash."""
    from journal import chain

    pack, salt = chain.make_canonical(), bytes(16)
    now = 1_700_000_000_123_456_789
    wall = (now // 1_000_000) << 16

    def blank(svc):
        return [0, 0, 0, "n1", svc, "", "transition", "svc", "start", "down", "up", "a1", b"\x80", 1]

    # the clock ahead of the head, on it (same ms: the counter moves), behind it (stepped back)
    for head_hlc, first_hlc in ((wall - 5, wall), (wall, wall + 1), (wall + 7, wall + 8)):
        rows = [blank("a"), blank("b")]
        head = chain.seal(rows, 41, b"h" * 32, head_hlc, now, salt, pack)
        assert [r[:3] for r in rows] == [[42, now, first_hlc], [43, now, first_hlc + 1]]
        assert rows[0][14] == chain.row_hash(b"h" * 32, salt, rows[0][:14], pack)
        assert rows[1][14] == chain.row_hash(rows[0][14], salt, rows[1][:14], pack)
        assert head == (43, rows[1][14], first_hlc + 1)


@pytest.mark.parametrize("sizes", [(1, 63, 64, 65), (200, 1, 129)])
def test_groups_of_any_size_span_several_insert_statements(jpath, sizes):
    """A group is inserted MULTI_ROWS rows per statement: groups below, at and above that size
    (and several times it) come back whole, in order, with contiguous seqs, and chain."""
    from journal.store import MULTI_ROWS

    assert MULTI_ROWS == 64
    with Journal(jpath) as j:
        i = 0
        for size in sizes:
            assert j.append([rec(k) for k in range(i, i + size)]) == list(range(i + 1, i + size + 1))
            i += size
        rows = j.read()
        assert [r["payload"]["i"] for r in rows] == list(range(i))
        assert [r["seq"] for r in rows] == list(range(1, i + 1))
        assert [r["svc"] for r in rows] == [f"svc{k % 3}" for k in range(i)]
        assert verify(j).records == i


def test_a_group_failing_in_its_second_insert_statement_leaves_nothing(jpath):
    """All or nothing across the statements of one group: a row of the second 64-row statement is
    refused (a trigger stands in for any failure there), the whole group is rolled back."""
    with Journal(jpath) as j:
        j.append([rec(0)])
        conn = sqlite3.connect(jpath)
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.seq = 70 "
                     "BEGIN SELECT RAISE(ABORT, 'row 70 refused'); END")
        conn.commit()
        conn.close()
        with pytest.raises(JournalError, match="row 70 refused; nothing was written"):
            j.append([rec(k) for k in range(1, 101)])
        assert j.last_seq() == 1 and len(j.read()) == 1
        assert j.append([rec(1)]) == [2]            # the journal goes on: seq 2 chains from seq 1
        assert verify(j).records == 2
