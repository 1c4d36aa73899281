"""`osvc-engine journal push` and the ship after each action, against a real PostgreSQL server
(tests/collector/conftest.py): what arrives, exactly once, in order; what is refused."""

import sqlite3
import threading

import psycopg

from tests.collector.conftest import make_root
from tests.helpers.cli import journal_rows, osvc
from tests.helpers.launchers import launcher_service


def collector_rows(dsn, node=None):
    """[(node, seq, svc, rid, event, src, dst)] of the collector, by node then seq."""
    cond, args = ("WHERE node = %s", (node,)) if node else ("", ())
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT node, seq, svc, rid, event, src, dst FROM events {cond} ORDER BY node, seq",
                            args).fetchall()


def local_rows(root, node):
    return [(node, r["seq"], r["svc"], r["rid"], r["event"], r["src"], r["dst"]) for r in journal_rows(root)]


def count(dsn, table="events"):
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_an_action_ships_its_records_and_push_twice_stores_them_once(node_roots, collector_dsn):
    root = node_roots("node1")
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    # the ship after the action already sent everything the start journaled, in order
    assert collector_rows(collector_dsn) == local_rows(root, "node1")
    uuid = sqlite3.connect(root / "var" / "journal.db").execute("SELECT value FROM meta WHERE key = 'uuid'").fetchone()[0]
    last = len(journal_rows(root))

    out = osvc(root, "journal", "push")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"node1 journal {uuid}: nothing to ship; the collector holds seq 1..{last} of {last}\n"
    out = osvc(root, "journal", "push")
    assert count(collector_dsn) == last
    with psycopg.connect(collector_dsn) as conn:
        assert conn.execute("SELECT journal::text, seq FROM heads").fetchall() == [
            (f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}", last)]
        # the payload as jsonb, for SQL: the begin's action and argv
        begin = conn.execute("SELECT payload_json->>'action', payload_json->'argv' FROM events "
                             "WHERE kind = 'action' AND event = 'begin'").fetchone()
    assert begin == ("start", ["osvc-engine", "-s", "web", "start"])


def test_push_ships_the_backlog_from_the_collectors_head(tmp_path, collector_dsn):
    root = make_root(tmp_path, "node1")          # no collector configured yet: actions ship nothing
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    assert osvc(root, "-s", "web", "stop").returncode == 0
    (root / "etc" / "node.conf").write_text(f"[collector]\ndsn = {collector_dsn}\n")
    before = len(journal_rows(root))
    out = osvc(root, "journal", "push", "-o", "json")
    assert out.returncode == 0, out.stderr
    assert f'"after": {before}, "before": 0' in out.stdout and f'"shipped": {before}' in out.stdout
    assert collector_rows(collector_dsn) == local_rows(root, "node1")


def test_two_nodes_pushing_concurrently_each_arrive_whole(node_roots, collector_dsn):
    roots = [node_roots(f"node{i}") for i in (1, 2, 3)]
    for root in roots:
        launcher_service(root)
    results = {}

    def cycle(root, name):
        results[name] = [osvc(root, "-s", "web", action, node=name).returncode
                         for action in ("start", "stop", "start")] + \
                        [osvc(root, "journal", "push", node=name).returncode]

    threads = [threading.Thread(target=cycle, args=(root, f"node{i}")) for i, root in enumerate(roots, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {f"node{i}": [0, 0, 0, 0] for i in (1, 2, 3)}
    for i, root in enumerate(roots, 1):
        assert collector_rows(collector_dsn, f"node{i}") == local_rows(root, f"node{i}")
    with psycopg.connect(collector_dsn) as conn:
        assert conn.execute("SELECT node, relay FROM journals ORDER BY node").fetchall() == [
            ("node1", "node1"), ("node2", "node2"), ("node3", "node3")]


def test_a_tampered_journal_is_refused_and_nothing_of_the_batch_is_stored(tmp_path, collector_dsn):
    root = make_root(tmp_path, "node1")
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    db = sqlite3.connect(root / "var" / "journal.db")
    uuid = db.execute("SELECT value FROM meta WHERE key = 'uuid'").fetchone()[0]
    last = db.execute("SELECT max(seq) FROM events").fetchone()[0]
    db.execute("UPDATE events SET dst = 'up' WHERE seq = 5")      # rewritten history, hash left as it was
    db.commit()
    (root / "etc" / "node.conf").write_text(f"[collector]\ndsn = {collector_dsn}\n")
    out = osvc(root, "journal", "push")
    assert out.returncode == 6
    assert out.stderr == (
        f"osvc-engine: error: collector refused journal {uuid} of node node1 ({root}/var/journal.db) at seq 5: "
        f"it does not chain from seq 4: its content was modified, or the history before it rewritten; nothing "
        f"of this batch (seq 1..{last}) was stored. Check it with `osvc-engine journal verify` on node1\n")
    assert count(collector_dsn) == 0
    with psycopg.connect(collector_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM heads").fetchone()[0] == 0     # its transaction rolled back


def test_history_rewritten_below_the_collectors_head_is_refused(node_roots, collector_dsn):
    root = node_roots("node1")
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    shipped = count(collector_dsn)
    db = sqlite3.connect(root / "var" / "journal.db")
    db.execute("UPDATE events SET hash = zeroblob(32) WHERE seq = ?", (shipped,))
    db.commit()
    out = osvc(root, "journal", "push")
    assert out.returncode == 6
    assert f"at seq {shipped}: the row differs from the one the collector holds (history rewritten)" in out.stderr
    assert count(collector_dsn) == shipped
