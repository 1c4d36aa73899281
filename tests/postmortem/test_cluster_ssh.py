"""The cluster timeline over real ssh (tests/helpers/nodes.py: namespace nodes, a real sshd each, key
trust): one action id across a switch, causal order with a clock 10 minutes behind, verified mirrors
(idempotent pulls, a tampered peer refused), `tail --cluster -f` seeing a remote action live, and a
failover told whole by the cluster audit on either node."""

import json
import os
import signal
import sqlite3
import time

import pytest

from journal import lines as fmt
from journal.store import Journal
from tests.helpers.nodes import cluster_service, make_nodes, running

pytestmark = pytest.mark.root


def rows(node, **filters):
    with Journal(node.journal, create=False, readonly=True) as j:
        return j.read(**filters)


def ok(res):
    assert res.returncode == 0, res.stdout + res.stderr
    return res


@pytest.fixture
def nodes():
    with make_nodes(["hv1", "hv2"], skew={"hv2": -600}) as found:     # hv2's clock 10 minutes behind
        cluster_service(found)
        yield found


def switch(nodes):
    hv1, hv2 = nodes["hv1"], nodes["hv2"]
    ok(hv1.osvc("-s", "web", "start"))
    res = ok(hv1.osvc("-s", "web", "switch", "--to", "hv2"))
    assert running(hv1) == [] and running(hv2) == ["a", "b"]
    return res, next(r["action_id"] for r in rows(hv1, kind="action", event="begin")
                     if r["payload"]["action"] == "switch")


def test_a_switch_is_one_action_on_both_nodes_in_causal_order_despite_a_skewed_clock(nodes):
    hv1, hv2 = nodes["hv1"], nodes["hv2"]
    res, aid = switch(nodes)
    assert "osvc-last-hlc" not in res.stderr        # the callee's hlc mark is read, not logged
    mine, theirs = rows(hv1, action_id=aid), rows(hv2, action_id=aid)
    launch = next(r for r in mine if r["event"] == "launch")
    assert launch["payload"] == {"argv": ["osvc-engine", "-s", "web", "start"], "to": "hv2"}
    begin = next(r for r in theirs if r["event"] == "begin")
    with Journal(hv1.journal, create=False, readonly=True) as j:
        uuid = j.uuid
    assert begin["payload"]["parent"] == {"node": "hv1", "journal": uuid, "seq": launch["seq"], "hlc": launch["hlc"]}
    assert theirs[0]["ts"] < launch["ts"] - 500 * 10**9          # hv2's wall clock is really behind
    # merged on hv1 (hv2 pulled by the switch itself): launch, hv2's whole start, then hv1's ssh record and end
    out = ok(hv1.osvc("journal", "tail", "--cluster", "--no-pull", "-n", "all", "--action", aid, "-o", "json")).stdout
    order = [(r["node"], r["event"]) for r in map(json.loads, out.splitlines())]
    i = order.index(("hv1", "launch"))
    assert order[:i] == [(r["node"], r["event"]) for r in mine if r["seq"] < launch["seq"]]
    assert order[i + 1:i + 1 + len(theirs)] == [("hv2", r["event"]) for r in theirs]
    assert order[i + 1 + len(theirs):] == [("hv1", "ssh"), ("hv1", "end"), ("hv1", "status")]
    # the audit: one entry, hv2's start nested under the launch line
    text = ok(hv1.osvc("journal", "audit", "--cluster", "--no-pull", "--action", aid)).stdout
    lines = text.splitlines()
    assert lines[0].startswith("web switch: ok after ") and lines[0].endswith(f"[act:{aid[:8]}] on hv1")
    at = next(k for k, x in enumerate(lines) if " launch " in x)
    assert lines[at + 1].startswith("      web start: ok after ") and lines[at + 1].endswith(f"[act:{aid[:8]}] on hv2")
    assert "        where       hv2" in lines
    shown = lambda rs: [r for r in rs if r["kind"] in ("transition", "command") or r["event"] == "launch"]
    assert text.count("[act:") == 2 + len(shown(mine)) + len(shown(theirs))     # two headers, every line
    entry, = json.loads(ok(hv1.osvc("journal", "audit", "--cluster", "--no-pull", "--action", aid,
                                     "--format", "json")).stdout)
    assert (entry["node"], entry["action"], entry["outcome"]) == ("hv1", "switch", "ok")
    part, = entry["parts"]
    assert (part["launched_by"], part["node"], part["action"], part["outcome"]) == (
        {"node": "hv1", "seq": launch["seq"]}, "hv2", "start", "ok")


def test_pull_is_idempotent_and_verify_checks_the_mirrors(nodes):
    hv1, hv2 = nodes["hv1"], nodes["hv2"]
    switch(nodes)
    with Journal(hv2.journal, create=False, readonly=True) as j:
        uuid, head = j.uuid, j.last_seq()
    # the switch pulled hv2 at its end: nothing new
    assert ok(hv1.osvc("journal", "pull")).stdout.startswith(f"node hv2: 0 new records (mirror of journal {uuid} "
                                                             f"at seq {head}) in ")
    ok(hv2.osvc("-s", "web", "stop"))
    added = len(rows(hv2)) - head
    first = ok(hv1.osvc("journal", "pull", "--node", "hv2")).stdout
    assert first.startswith(f"node hv2: {added} new records (mirror of journal {uuid} at seq {head + added}) in ")
    again = ok(hv1.osvc("journal", "pull", "--node", "hv2")).stdout
    assert again.startswith(f"node hv2: 0 new records (mirror of journal {uuid} at seq {head + added}) in ")
    mirror = hv1.mirrors / f"hv2.{uuid}.db"
    assert oct(mirror.stat().st_mode & 0o777) == "0o444"
    with Journal(mirror, create=False, readonly=True) as m:
        assert [r["hash"] for r in m.read()] == [r["hash"] for r in rows(hv2)]
    out = ok(hv1.osvc("journal", "verify")).stdout
    assert f"mirror {nodes.root}/var/mirrors/hv2.{uuid}.db: node hv2, {head + added} records, chain intact" in out


def test_a_mirror_refuses_a_tampered_peer_and_stays_as_it_was(nodes):
    hv1, hv2 = nodes["hv1"], nodes["hv2"]
    switch(nodes)
    with Journal(hv2.journal, create=False, readonly=True) as j:
        uuid, head = j.uuid, j.last_seq()
    mirror = hv1.mirrors / f"hv2.{uuid}.db"
    before = mirror.read_bytes()
    ok(hv2.osvc("-s", "web", "stop"))
    # a row after the mirror's head changed on hv2 (its hash left as it was)
    with sqlite3.connect(hv2.journal) as db:
        db.execute("UPDATE events SET dst = 'up' WHERE seq = ?", (head + 3,))
    res = hv1.osvc("journal", "pull", "--node", "hv2")
    assert res.returncode == 6, res.stderr
    assert f"node hv2: journal {uuid}: seq {head + 3} does not chain" in res.stderr
    assert "left as it was" in res.stderr and mirror.read_bytes() == before
    # history rewritten before the mirror's head: the peer refuses the mirror's cursor, the pull names
    # the first row that differs from the mirror's copy
    with sqlite3.connect(hv2.journal) as db:
        db.execute("UPDATE events SET hash = zeroblob(32) WHERE seq = ?", (head - 2,))
        db.execute("UPDATE events SET hash = zeroblob(32) WHERE seq = ?", (head,))
    res = hv1.osvc("journal", "pull", "--node", "hv2")
    assert res.returncode == 6, res.stderr
    assert f"node hv2: journal {uuid}: seq {head - 2} differs from the mirror's copy (history rewritten" in res.stderr
    assert mirror.read_bytes() == before
    assert ok(hv1.osvc("journal", "verify")).returncode == 0       # the mirror itself is whole


def test_tail_cluster_follow_sees_a_remote_action_live(nodes):
    hv1, hv2 = nodes["hv1"], nodes["hv2"]
    switch(nodes)
    follower = hv1.popen(["osvc-engine", "journal", "tail", "--cluster", "-f", "-s", "web", "-n", "0"])
    try:
        assert "node hv2: following" in _read_until(follower.stderr, "following")
        ok(hv2.osvc("-s", "web", "stop"))
        aid = rows(hv2, event="begin")[-1]["action_id"]
        expected = [fmt.line(r) for r in rows(hv2, action_id=aid)]     # hv2's stop, every record
        seen = _read_until(follower.stdout, expected[-1])
        assert [x for x in seen.splitlines() if not x.startswith("-- ")] == expected
    finally:
        os.killpg(follower.pid, signal.SIGTERM)
        follower.wait()


def test_tail_cluster_follow_says_a_peer_is_unreachable_and_resumes_from_its_mirror(nodes):
    hv1, hv2 = nodes["hv1"], nodes["hv2"]
    switch(nodes)
    follower = hv1.popen(["osvc-engine", "journal", "tail", "--cluster", "-f", "-s", "web", "-n", "0"])
    try:
        _read_until(follower.stderr, "node hv2: following")
        hv2.link(False)
        assert "warning: node hv2: no word from it for 5s (down, or the link is); retrying every 2s" in \
            _read_until(follower.stderr, "retrying")
        ok(hv2.osvc("-s", "web", "stop"))               # while hv1 cannot see it
        hv2.link(True)
        aid = rows(hv2, event="begin")[-1]["action_id"]
        expected = [fmt.line(r) for r in rows(hv2, action_id=aid)]
        seen = _read_until(follower.stdout, expected[-1], limit=120)
        assert [x for x in seen.splitlines() if not x.startswith("-- ")] == expected
    finally:
        os.killpg(follower.pid, signal.SIGTERM)
        follower.wait()


def _read_until(stream, text, limit=60):
    """What `stream` printed up to the first line holding `text` (the deadline only fails the test, it
    measures nothing). Reads the file descriptor itself: a buffered readline would hide lines from select."""
    import selectors

    fd = stream.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    got, deadline = "", time.monotonic() + limit
    while text not in got:
        if time.monotonic() > deadline or not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            raise AssertionError(f"never printed {text!r}; got:\n{got}")
        data = os.read(fd, 65536)
        if not data:
            raise AssertionError(f"ended before printing {text!r}; got:\n{got}")
        got += data.decode()
    return got


@pytest.fixture
def synced_nodes():
    """Nodes whose clocks agree: the failover's actions are independent (nothing launched hv2's start),
    so the merge orders them by their clocks, which must then be right."""
    with make_nodes(["hv1", "hv2"]) as found:
        cluster_service(found)
        yield found


def test_a_failover_is_told_whole_by_the_cluster_audit_on_either_node(synced_nodes):
    hv1, hv2 = synced_nodes["hv1"], synced_nodes["hv2"]
    # hv1 dies in the middle of its start (SIGKILL right after its 3rd transition)...
    res = hv1.osvc("-s", "web", "start", env={"OSVC_CRASH_AT_TRANSITION": "3"})
    assert res.returncode == -signal.SIGKILL or res.returncode == 128 + signal.SIGKILL, res.stderr
    hv1.link(False)
    # ...and is unreachable while the heartbeat daemon starts the service on hv2
    ok(hv2.osvc("-s", "web", "start", "--cluster"))
    res = ok(hv2.osvc("journal", "audit", "--cluster"))
    assert "warning: node hv1 is unreachable" in res.stderr
    hv1.link(True)
    ok(hv1.osvc("-s", "web", "recover"))
    texts = [ok(n.osvc("journal", "audit", "--cluster", "-s", "web")).stdout for n in (hv1, hv2)]
    assert texts[0] == texts[1]
    heads = [x for x in texts[0].splitlines() if x.startswith("web ")]
    assert [h.split(":")[0] for h in heads] == ["web start", "web start"]
    assert heads[0].startswith("web start: interrupted after ") and "  where       hv1" in texts[0]
    assert heads[1].startswith("web start: ok after ") and "  where       hv2" in texts[0]
    assert "  interrupted its process (pid" in texts[0] and "recovered by root" in texts[0]
    assert texts[0].index("  where       hv1") < texts[0].index("  where       hv2")


def test_the_cluster_report_draws_the_remote_part_as_lanes_of_its_own(nodes):
    hv1 = nodes["hv1"]
    _, aid = switch(nodes)
    ok(hv1.osvc("journal", "report", "--cluster", "-s", "web", "-o", f"{nodes.root}/switch.html"))
    page = (hv1.folder / "switch.html").read_text()
    assert f"web switch [act:{aid[:8]}]" in page
    for lane in ("app#1", "app#2", "hv2:web", "hv2:app#1", "hv2:app#2"):
        assert f">{lane}</text>" in page
    assert "on node hv1" in page


def test_sync_all_copies_the_env_file_to_the_peer_over_ssh(synced_nodes):
    hv1, hv2 = synced_nodes["hv1"], synced_nodes["hv2"]
    env = hv1.folder / "etc" / "web.env"
    env.write_text(env.read_text() + "\n# edited on hv1\n")
    ok(hv1.osvc("-s", "web", "sync_all", "--force"))
    assert (hv2.folder / "etc" / "web.env").read_text() == env.read_text()
    rsync = [r for r in rows(hv1, kind="command") if r["event"] == "rsync"]
    assert rsync and all(r["payload"]["rc"] == 0 for r in rsync)
    assert any(a.startswith("hv2:") for r in rsync for a in r["payload"]["argv"])


def test_three_nodes_one_audit_each_switch_nested_where_it_was_launched():
    with make_nodes(["hv1", "hv2", "hv3"], skew={"hv3": -300}) as nodes:
        cluster_service(nodes)
        hv1, hv2, hv3 = nodes["hv1"], nodes["hv2"], nodes["hv3"]
        ok(hv1.osvc("-s", "web", "start"))
        ok(hv1.osvc("-s", "web", "switch", "--to", "hv2"))
        ok(hv2.osvc("-s", "web", "switch", "--to", "hv3"))
        assert running(hv3) == ["a", "b"] and running(hv1) == running(hv2) == []
        pulled = ok(hv1.osvc("journal", "pull")).stdout.splitlines()
        assert [x.split(":")[0] for x in pulled] == ["node hv2", "node hv3"]
        text = ok(hv1.osvc("journal", "audit", "--cluster", "--no-pull", "-s", "web")).stdout
        heads = [x for x in text.splitlines() if x.lstrip().startswith("web ")]
        # (indent, action, the node a part ran on: said when the entry has parts or is one)
        shape = [(len(x) - len(x.lstrip()), x.split()[1], x.rsplit("] on ", 1)[1] if "] on " in x else "")
                 for x in heads]
        assert shape == [(0, "start:", ""), (0, "switch:", "hv1"), (6, "start:", "hv2"),
                         (0, "switch:", "hv2"), (6, "start:", "hv3")]
