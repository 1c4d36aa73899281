"""The fleet views: `journal tail|audit|report --collector` print what the local commands print, merged on
(hlc, node, seq); a follower sees another node's action as it is shipped; `journal stats` shows the lag."""

import io
import json
import os
import queue
import signal
import subprocess
import threading

from tests.helpers.cli import COMMAND, journal_rows, osvc
from tests.helpers.launchers import launcher_service


def rendered(rows, mode="text"):
    """What journal.tail's Printer prints for these stored rows (the local renderer)."""
    from journal.tail import Printer

    out = io.StringIO()
    Printer(out, None, mode).emit(rows)
    return out.getvalue()


def stored_rows(root):
    from journal.store import Journal

    with Journal(root / "var" / "journal.db", create=False, readonly=True) as j:
        return j.raw()


def two_nodes(node_roots):
    roots = {name: node_roots(name) for name in ("node1", "node2")}
    for name, root in roots.items():
        launcher_service(root)
    for action in ("start", "stop"):
        for name, root in roots.items():
            assert osvc(root, "-s", "web", action, node=name).returncode == 0
    return roots


def test_tail_audit_and_report_read_from_the_collector_as_from_the_journal(node_roots, tmp_path):
    roots = two_nodes(node_roots)
    r1 = roots["node1"]
    for args in (("tail", "-n", "all"), ("tail", "-n", "all", "-o", "json"), ("tail", "-n", "5", "-s", "web"),
                 ("audit", "-s", "web"), ("audit", "--kind", "stop")):
        local = osvc(r1, "journal", *args)
        fleet = osvc(r1, "journal", *args, "--collector", "--node", "node1")
        assert local.returncode == fleet.returncode == 0, fleet.stderr
        assert fleet.stdout == local.stdout, args
    # json: the local objects, plus the parts an action ran on other nodes (as --cluster): none here
    local = json.loads(osvc(r1, "journal", "audit", "--format", "json").stdout)
    fleet = json.loads(osvc(r1, "journal", "audit", "--format", "json", "--collector", "--node", "node1").stdout)
    assert [e.pop("parts") for e in fleet] == [[], []]
    assert fleet == local
    local = osvc(r1, "journal", "report", "-s", "web", "-o", str(tmp_path / "local.html"))
    fleet = osvc(r1, "journal", "report", "-s", "web", "--collector", "-o", str(tmp_path / "fleet.html"))
    assert local.returncode == fleet.returncode == 0, fleet.stderr
    # the latest action of web in the fleet is node2's stop (it ran last): drawn from node2's journal
    r2 = roots["node2"]
    osvc(r2, "journal", "report", "-s", "web", "-o", str(tmp_path / "node2.html"), node="node2")
    # the same page, its status said to be node2's (the node that ran it)
    assert (tmp_path / "fleet.html").read_text() == (tmp_path / "node2.html").read_text().replace(
        "status from replay of the journal (engine.history.fold)",
        "status from replay of the journal (engine.history.fold), on node node2")
    assert "<h1>web stop: <span class=\"outcome-ok\">ok</span></h1>" in (tmp_path / "fleet.html").read_text()


def test_the_fleet_tail_merges_every_node_on_hlc_node_seq(node_roots):
    roots = two_nodes(node_roots)
    rows = sorted(stored_rows(roots["node1"]) + stored_rows(roots["node2"]), key=lambda r: (r[2], r[3], r[0]))
    out = osvc(roots["node1"], "journal", "tail", "--collector", "-n", "all")
    assert out.returncode == 0, out.stderr
    assert out.stdout == rendered(rows)
    assert {line.split()[1] for line in out.stdout.splitlines() if not line.startswith("--")} == {"node1", "node2"}
    audit = json.loads(osvc(roots["node1"], "journal", "audit", "--collector", "--format", "json").stdout)
    assert [(e["svc"], e["action"], e["node"]) for e in audit] == [
        ("web", "start", "node1"), ("web", "start", "node2"), ("web", "stop", "node1"), ("web", "stop", "node2")]


def test_a_follower_sees_another_nodes_action_as_it_arrives(node_roots):
    observer = node_roots("observer")
    r2 = node_roots("node2")
    launcher_service(r2)
    assert osvc(r2, "-s", "web", "start", node="node2").returncode == 0
    env = {**os.environ, "OSVC_ROOT": str(observer), "OSVC_NODENAME": "observer"}
    follower = subprocess.Popen([*COMMAND, "journal", "tail", "--collector", "-f", "-n", "1", "--kind", "action"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True).start()
    try:
        first = [lines.get(timeout=60), lines.get(timeout=60)]      # the day, then the newest action record
        assert first[1].split()[1:4] == ["node2", "web", "end"]
        assert osvc(r2, "-s", "web", "stop", node="node2").returncode == 0     # shipped by the action's end
        stop = [r for r in stored_rows(r2) if r[6] == "action"][-2:]           # its begin and end
        seen = [lines.get(timeout=60) for _ in stop]
        assert "".join(seen) == rendered(stop).split("\n", 1)[1]               # same lines, no day header
    finally:
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=60) == 0
    assert follower.stderr.read() == ""


def test_stats_shows_the_collectors_lag(tmp_path, collector_dsn):
    from tests.collector.conftest import make_root

    root = make_root(tmp_path, "node1")
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    (root / "etc" / "node.conf").write_text(f"[collector]\ndsn = {collector_dsn}\n")
    last = len(journal_rows(root))
    out = osvc(root, "journal", "stats", "-o", "json")
    lag = json.loads(out.stdout)["collector"]
    assert (lag["collector_seq"], lag["behind"], lag["local_seq"]) == (0, last, last)
    text = osvc(root, "journal", "stats").stdout.splitlines()[-1]
    assert text.startswith(f"collector {last} records behind (holds seq 1..0 of {last}, oldest unshipped from ")
    assert osvc(root, "journal", "push").returncode == 0
    assert osvc(root, "journal", "stats").stdout.splitlines()[-1] == f"collector up to date (seq {last})"
    (root / "etc" / "node.conf").write_text("[collector]\ndsn = host=/nonexistent dbname=x connect_timeout=2\n")
    out = osvc(root, "journal", "stats")
    assert out.returncode == 0
    assert out.stdout.splitlines()[-1].startswith("collector cannot reach collector /nonexistent:5432/x: ")
    assert out.stdout.splitlines()[-1].endswith(": lag unknown")


def test_a_switch_is_one_fleet_entry_with_the_destinations_start_nested(tmp_path, sim, collector_dsn):
    from tests.helpers.cli import write_launcher
    from tests.helpers.launchers import SCRIPT
    from tests.helpers.sim import sim_pool_roots

    roots = sim_pool_roots(tmp_path / "nodes", sim)
    for name, root in roots.items():
        with open(root / "etc" / "node.conf", "a") as conf:
            conf.write(f"\n[collector]\ndsn = {collector_dsn}\n")
        (root / "state").mkdir()
        write_launcher(root / "etc" / "web.d" / "a", SCRIPT.format(state=root / "state", name="a"))
        (root / "etc" / "web.env").write_text("[DEFAULT]\nnodes = node1 node2\n\n"
                                              "[app#1]\nscript = a\nstart = 10\nstop = 10\ncheck = 10\n")
    r1 = roots["node1"]
    assert osvc(r1, "-s", "web", "start").returncode == 0
    assert osvc(r1, "-s", "web", "switch", "--to", "node2").returncode == 0
    aid = next(r["action_id"] for r in journal_rows(r1, kind="action") if r["payload"].get("action") == "switch")
    # both nodes shipped their part at their action's end; the fleet tells it as node1's mirror of node2 does
    cluster = osvc(r1, "journal", "audit", "--cluster", "--no-pull", "--action", aid[:8])
    fleet = osvc(r1, "journal", "audit", "--collector", "--action", aid[:8])
    assert cluster.returncode == fleet.returncode == 0, fleet.stderr
    assert fleet.stdout == cluster.stdout
    lines = fleet.stdout.splitlines()
    assert lines[0].startswith("web switch: ok after ") and lines[0].endswith(f"[act:{aid[:8]}] on node1")
    assert any(line.strip().startswith("web start: ok after ") and line.endswith("on node2") for line in lines)
    pages = {}
    for how in ("--cluster", "--collector"):
        out = osvc(r1, "journal", "report", "-s", "web", how, *(("--no-pull",) if how == "--cluster" else ()),
                   "-o", str(tmp_path / f"{how[2:]}.html"))
        assert out.returncode == 0, out.stderr
        pages[how] = (tmp_path / f"{how[2:]}.html").read_text()
    assert pages["--collector"] == pages["--cluster"]
    assert f"web switch [act:{aid[:8]}]" in pages["--collector"]
