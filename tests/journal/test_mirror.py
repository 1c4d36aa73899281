"""The raw stream and the mirrors without a network: rows exported as stored, accepted only when they
chain from the mirror's head, all or nothing; a pull through the local transport; the merged order.
(tests/postmortem/test_cluster_ssh.py does the same over real ssh.)"""

import io

import pytest

from core.node import Node
from drivers.peer import NodePeer
from drivers.transport import LocalTransport
from engine.pull import pull_peer
from journal import raw
from journal.mirror import ChainBreak, Mirror, listing
from journal.store import Journal


def fill(path, node, n, svc="web", floor=0):
    with Journal(path) as j:
        j.observe_hlc(floor)
        j.append([{"node": node, "svc": svc, "kind": "action", "event": f"e{i}", "payload": {"i": i}}
                  for i in range(n)])
        return j.uuid


def stream(path, after=0):
    out = io.BytesIO()
    with Journal(path, create=False, readonly=True) as j:
        raw.export_raw(j, out, "node2", after=after)
    return raw.parse(out.getvalue())


def test_the_raw_stream_is_the_stored_rows_after_the_cursor(tmp_path):
    path = tmp_path / "journal.db"
    uuid = fill(path, "node2", 5)
    head, rows, end = stream(path, after=2)
    assert head == {"raw": 1, "journal": uuid, "node": "node2", "after": 2, "head": 5} and end == 5
    with Journal(path, create=False, readonly=True) as j:
        assert rows == [list(r) for r in j.raw(seq_min=3)]
    assert isinstance(rows[0][12], bytes) and len(rows[0][14]) == 32


def test_a_mirror_takes_rows_that_chain_and_refuses_the_rest_untouched(tmp_path):
    path = tmp_path / "journal.db"
    uuid = fill(path, "node2", 6)
    _, rows, _ = stream(path)
    folder = tmp_path / "mirrors"
    with Mirror(folder, "node2", uuid) as m:
        assert m.accept(rows[:3]) == 3 and m.accept(rows[:3]) == 0        # again: nothing added
        before = m.path.read_bytes()
        bad = [list(r) for r in rows[3:]]
        bad[1][8] = "forged"                                              # seq 5 changed, hash kept
        with pytest.raises(ChainBreak, match=f"node node2: journal {uuid}: seq 5 does not chain") as err:
            m.accept(bad)
        assert err.value.seq == 5 and err.value.exit_code == 6
        with pytest.raises(ChainBreak, match="seq 4 is missing"):
            m.accept(rows[4:])
        assert m.path.read_bytes() == before and m.head()[0] == 3
        assert m.accept(rows[3:]) == 3 and m.verify() == (6, 6)
    with Journal(folder / f"node2.{uuid}.db", create=False, readonly=True) as j:   # readers read it as a journal
        assert [r["event"] for r in j.read()] == [f"e{i}" for i in range(6)]


def test_pull_through_the_local_transport_is_idempotent_and_follows_a_replaced_journal(tmp_path):
    roots = {n: tmp_path / n for n in ("node1", "node2")}
    for root in roots.values():
        (root / "var").mkdir(parents=True)
    node1, peer = Node(roots["node1"], "node1"), NodePeer("node2", LocalTransport(roots))
    uuid = fill(roots["node2"] / "var" / "journal.db", "node2", 4)
    first = pull_peer(node1, peer)
    assert (first.node, first.journal, first.added, first.head) == ("node2", uuid, 4, 4)
    assert pull_peer(node1, peer).added == 0
    fill(roots["node2"] / "var" / "journal.db", "node2", 2)
    assert pull_peer(node1, peer).added == 2
    # node2's journal replaced (a new uuid): a new mirror, the old one kept
    for f in (roots["node2"] / "var").glob("journal.db*"):
        f.unlink()
    new = fill(roots["node2"] / "var" / "journal.db", "node2", 3)
    assert pull_peer(node1, peer).journal == new
    assert sorted(u for _, u, _ in listing(roots["node1"] / "var" / "mirrors")) == sorted([uuid, new])


def test_the_cluster_merge_orders_on_hlc_node_seq(tmp_path):
    from postmortem.cluster import Sources

    roots = {n: tmp_path / n for n in ("node1", "node2")}
    for root in roots.values():
        (root / "var").mkdir(parents=True)
    far = (2 ** 46) << 16
    fill(roots["node1"] / "var" / "journal.db", "node1", 2)
    fill(roots["node2"] / "var" / "journal.db", "node2", 2, floor=far)     # its hlcs far ahead
    fill(roots["node1"] / "var" / "journal.db", "node1", 1, floor=far + 10)      # after node2's
    node1 = Node(roots["node1"], "node1")
    pull_peer(node1, NodePeer("node2", LocalTransport(roots)))
    with Sources(node1) as src:
        assert [(r["node"], r["seq"]) for r in src.merged()] == [
            ("node1", 1), ("node1", 2), ("node2", 1), ("node2", 2), ("node1", 3)]


def test_export_raw_on_the_command_line_checks_its_cursor(osvc_root):
    import subprocess

    from journal import cursor
    from tests.helpers.cli import COMMAND

    path = osvc_root / "var" / "journal.db"
    fill(path, "node1", 4)
    with Journal(path, create=False, readonly=True) as j:
        at2 = cursor.make(j.uuid, 2, j.hash_at(2))
    run = lambda *a: subprocess.run([*COMMAND, "journal", "export", "--raw", *a], capture_output=True, check=False)
    res = run("--cursor", at2)
    assert res.returncode == 0, res.stderr
    head, rows, end = raw.parse(res.stdout)
    assert (head["after"], [r[0] for r in rows], end) == (2, [3, 4], 4)
    assert run("--cursor", at2[:-4] + "0000").returncode == 6              # its record is not that one
    assert run("--cursor", at2.replace("j=", "j=0", 1)[:-1]).returncode == 2
    assert run("-s", "web").returncode == 2                                 # --raw sends every row


def test_verify_checks_the_mirrors_and_names_a_modified_row(osvc_root):
    import sqlite3

    from tests.helpers.cli import osvc

    fill(osvc_root / "var" / "journal.db", "node1", 2)
    peer = osvc_root.parent / "peer.db"
    uuid = fill(peer, "node2", 5)
    with Journal(peer, create=False, readonly=True) as j, Mirror(osvc_root / "var" / "mirrors", "node2", uuid) as m:
        m.accept([list(r) for r in j.raw()])
    res = osvc(osvc_root, "journal", "verify")
    assert res.returncode == 0 and f"mirrors/node2.{uuid}.db: node node2, 5 records, chain intact (last seq 5)" in res.stdout
    with sqlite3.connect(osvc_root / "var" / "mirrors" / f"node2.{uuid}.db") as db:
        db.execute("UPDATE events SET event = 'forged' WHERE seq = 4")
    res = osvc(osvc_root, "journal", "verify")
    assert res.returncode == 6 and f"node2.{uuid}.db: seq 4 does not chain (modified)" in res.stderr
