"""The service side table (journal/store.py SVC_TABLE): filled in batches, read as if it were an index.

A small merge interval (8) makes every case cross several merges with a few dozen records."""

import random
import sqlite3

import pytest

from journal import store
from journal.store import Journal
from journal.verify import verify
from tests.helpers.cli import osvc

EVERY = 8
SERVICES = ("web", "db", "app", "lb", "quiet")


@pytest.fixture
def small_every(monkeypatch):
    monkeypatch.setattr(store, "SVC_EVERY", EVERY)


@pytest.fixture
def j(tmp_path, small_every):
    with Journal(tmp_path / "journal.db") as journal:
        yield journal


def rec(svc, i, rnd):
    return {"node": "node1", "svc": svc, "rid": rnd.choice(("", "app#1", "fs#1")),
            "kind": rnd.choice(("transition", "action", "observation")),
            "event": rnd.choice(("begin", "end", "start", "status")), "payload": {"i": i}}


def side_table(path):
    return sorted(sqlite3.connect(path).execute("SELECT svc, seq FROM svc_index"))


def check_reads(j, everything):
    """Each service read through the side table gives what a filter over the whole journal gives."""
    for svc in SERVICES:
        mine = [r for r in everything if r["svc"] == svc]
        assert j.read(svc=svc) == mine
        assert j.read(svc=svc, last=2) == mine[-2:]
        assert list(j.scan(svc=svc, chunk=3)) == j.raw(svc=svc)   # chunked: seq_after through both halves
        for after in (0, 5, 9, len(everything) - 3):
            assert [r["seq"] for r in j.read(svc=svc, seq_min=after + 1)] == \
                [r["seq"] for r in mine if r["seq"] > after]
        for rid, kind, events in (("", "action", ("begin", "end")), ("app#1", "transition", "start")):
            want = [r for r in mine if r["rid"] == rid and r["kind"] == kind
                    and r["event"] in (events if isinstance(events, tuple) else (events,))]
            assert j.newest(svc=svc, rid=rid, kind=kind, event=events) == (want[-1] if want else None)


def test_service_reads_match_a_full_scan_across_merges(j):
    """Groups of every size, some crossing one merge point, some several: after each append the side table
    holds exactly the rows up to the last multiple of the interval, and service reads see every row."""
    rnd = random.Random(7)
    i = 0
    for size in (1, 1, 3, 7, 8, 9, 1, 20, 2, 5, 16, 1, 33, 4):
        group = []
        for _ in range(size):
            group.append(rec(rnd.choice(SERVICES[:-1]), i, rnd))   # "quiet" never writes
            i += 1
        j.append(group, durable=rnd.random() < 0.5)
        everything = j.read()
        head = everything[-1]["seq"]
        merged = head // EVERY * EVERY
        assert side_table(j.path) == sorted((r["svc"], r["seq"]) for r in everything if r["seq"] <= merged)
        check_reads(j, everything)
    assert verify(j).records == i == 111


def test_the_merge_interval_is_the_one_recorded_in_the_file(tmp_path, monkeypatch):
    """A journal keeps the interval it was created with, whatever the code's default is later."""
    path = tmp_path / "journal.db"
    monkeypatch.setattr(store, "SVC_EVERY", EVERY)
    Journal(path).close()
    monkeypatch.setattr(store, "SVC_EVERY", 4096)
    with Journal(path) as j:
        j.append([{"svc": f"s{i % 3}"} for i in range(20)])
        assert side_table(path) == sorted((f"s{(seq - 1) % 3}", seq) for seq in range(1, 17))
        assert [r["seq"] for r in j.read(svc="s1")] == list(range(2, 21, 3))


def test_a_group_rolled_back_merges_nothing(j):
    """The merge is part of the appending transaction: a failed append leaves no side-table row either."""
    j.append([{"svc": "web"} for _ in range(7)])
    blocker = sqlite3.connect(j.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    j.busy_timeout = 0.1
    j.connection.execute("PRAGMA busy_timeout = 100")
    with pytest.raises(store.JournalError, match="locked"):
        j.append([{"svc": "db"} for _ in range(3)])
    blocker.execute("ROLLBACK")
    assert side_table(j.path) == [] and j.last_seq() == 7
    j.append([{"svc": "db"} for _ in range(3)])
    assert side_table(j.path) == [("db", 8)] + [("web", s) for s in range(1, 8)]


@pytest.mark.parametrize("damage, says", [
    ("DELETE FROM svc_index WHERE seq = 3", "15 entries for the 16 records merged so far; it differs for web)"),
    ("UPDATE svc_index SET svc = 'db' WHERE seq = 1",
     "16 entries for the 16 records merged so far; it differs for db, web)"),
    ("INSERT INTO svc_index VALUES ('web', 18)", "17 entries for the 16 records merged so far; it differs for web)"),
    ("UPDATE svc_index SET seq = 17 WHERE seq = 15",
     "16 entries for the 16 records merged so far; it differs for web)"),
    ("INSERT INTO svc_index VALUES ('lb', 2)", "17 entries for the 16 records merged so far; it differs for lb)"),
])
def test_verify_names_a_damaged_service_index_and_reindex_rebuilds_it(tmp_path, small_every, damage, says):
    """The side table is outside the chain: verify compares it with the records, says what is wrong and
    what to run (exit 6); --reindex rebuilds it from the records and the journal verifies again."""
    root = tmp_path / "root"
    with Journal(root / "var" / "journal.db") as j:
        j.append([{"svc": ("web", "db")[i % 2], "payload": {"i": i}} for i in range(20)])
        want = side_table(j.path)
    conn = sqlite3.connect(root / "var" / "journal.db", isolation_level=None)
    conn.execute(damage)
    conn.close()
    out = osvc(root, "journal", "verify")
    assert out.returncode == 6, out
    assert "the service index does not match the records (it holds " + says in out.stderr
    assert "rebuild the index with `osvc-engine journal verify --reindex`" in out.stderr
    out = osvc(root, "journal", "verify", "--reindex")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"journal {root}/var/journal.db: service index rebuilt (16 entries)\n")
    assert "20 records, chain intact" in out.stdout
    assert side_table(root / "var" / "journal.db") == want


def test_several_services_at_once(j):
    """A tuple of services (any of them) reads the records themselves: same answer, no side table."""
    j.append([{"svc": SERVICES[i % 4], "payload": {"i": i}} for i in range(30)])
    assert [r["seq"] for r in j.read(svc=("web", "app"))] == [s for s in range(1, 31) if (s - 1) % 4 in (0, 2)]
