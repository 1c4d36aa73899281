"""A host relays the mirrors it holds of its guests' (and peers') journals (var/mirrors/<node>.<uuid>.db):
they arrive under the guest's node and journal, chain-checked, once, whoever ships them."""

import sqlite3

import psycopg

from tests.collector.conftest import make_root
from tests.helpers.cli import journal_rows, osvc
from tests.helpers.launchers import launcher_service


def mirror(guest, host, name):
    """The host's mirror of the guest's journal: a consistent copy (sqlite3 backup), the journal's schema and
    uuid, named as journal/mirror.py names them."""
    src = sqlite3.connect(guest / "var" / "journal.db")
    uuid = src.execute("SELECT value FROM meta WHERE key = 'uuid'").fetchone()[0]
    path = host / "var" / "mirrors" / f"{name}.{uuid}.db"
    path.parent.mkdir(exist_ok=True)
    dst = sqlite3.connect(path)
    src.backup(dst)
    dst.close()
    src.close()
    return uuid


def rows(dsn, node):
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT seq, svc, event, src, dst FROM events WHERE node = %s ORDER BY seq",
                            (node,)).fetchall()


def test_a_host_relays_its_guests_journal(tmp_path, collector_dsn):
    host = make_root(tmp_path, "hv1", collector_dsn)
    guest = make_root(tmp_path, "guest1")            # the guest reaches no collector: its host relays it
    launcher_service(guest)
    assert osvc(guest, "-s", "web", "start", node="guest1").returncode == 0
    uuid = mirror(guest, host, "guest1")

    out = osvc(host, "journal", "push", node="hv1")
    assert out.returncode == 0, out.stderr
    n = len(journal_rows(guest))
    assert out.stdout == f"guest1 journal {uuid} (relayed mirror): shipped {n} records (seq 1..{n}); the collector holds seq 1..{n} of {n}\n"
    local = [(r["seq"], r["svc"], r["event"], r["src"], r["dst"]) for r in journal_rows(guest)]
    assert rows(collector_dsn, "guest1") == local
    with psycopg.connect(collector_dsn) as conn:
        assert conn.execute("SELECT node, relay FROM journals").fetchall() == [("guest1", "hv1")]

    # the guest acts again; the host's next action ships its own records and the refreshed mirror's new ones
    assert osvc(guest, "-s", "web", "stop", node="guest1").returncode == 0
    mirror(guest, host, "guest1")
    launcher_service(host)
    assert osvc(host, "-s", "web", "start", node="hv1").returncode == 0
    local = [(r["seq"], r["svc"], r["event"], r["src"], r["dst"]) for r in journal_rows(guest)]
    assert rows(collector_dsn, "guest1") == local
    assert len(rows(collector_dsn, "hv1")) == len(journal_rows(host))

    # the guest shipping itself later sends nothing twice: the collector's head is per journal
    (guest / "etc" / "node.conf").write_text(f"[collector]\ndsn = {collector_dsn}\n")
    out = osvc(guest, "journal", "push", node="guest1")
    assert out.stdout == f"guest1 journal {uuid}: nothing to ship; the collector holds seq 1..{len(local)} of {len(local)}\n"
    assert rows(collector_dsn, "guest1") == local


def test_a_stale_mirror_ships_nothing_and_a_rewritten_one_is_refused(tmp_path, collector_dsn):
    host = make_root(tmp_path, "hv1", collector_dsn)
    guest = make_root(tmp_path, "guest1", collector_dsn)
    launcher_service(guest)
    assert osvc(guest, "-s", "web", "start", node="guest1").returncode == 0
    uuid = mirror(guest, host, "guest1")                  # the mirror as it was then
    assert osvc(guest, "-s", "web", "stop", node="guest1").returncode == 0   # the guest ships further itself
    n = len(journal_rows(guest))
    out = osvc(host, "journal", "push", node="hv1")
    assert out.returncode == 0
    assert f"guest1 journal {uuid} (relayed mirror): nothing to ship; the collector holds seq 1..{n}" in out.stdout

    path = host / "var" / "mirrors" / f"guest1.{uuid}.db"
    db = sqlite3.connect(path)
    last = db.execute("SELECT max(seq) FROM events").fetchone()[0]
    db.execute("UPDATE events SET hash = zeroblob(32) WHERE seq = ?", (last,))
    db.commit()
    out = osvc(host, "journal", "push", node="hv1")
    assert out.returncode == 6
    assert (f"collector refused journal {uuid} of node guest1 ({path}) at seq {last}: the mirror's row differs "
            f"from the collector's (history rewritten)") in out.stderr
    assert len(rows(collector_dsn, "guest1")) == n
