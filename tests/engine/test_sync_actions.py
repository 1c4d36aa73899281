"""sync_nodes / sync_drp / sync_all through the CLI: node.conf's local transport, the .sync lock,
the not-up refusal, and the journal."""

import shutil

import pytest

from tests.helpers.cli import journal_rows, osvc, write_launcher
from tests.helpers.sim import sim_node_conf, sim_pool_roots

pytestmark = pytest.mark.skipif(not shutil.which("rsync"), reason="rsync missing (apt-get install rsync)")


@pytest.fixture
def pool(tmp_path):
    roots = {n: tmp_path / n for n in ("node1", "node2", "node3")}
    for root in roots.values():
        for sub in ("etc", "var", "log"):
            (root / sub).mkdir(parents=True)
        (root / "etc" / "node.conf").write_text(
            "[transport]\nkind = local\n\n[roots]\n" + "".join(f"{n} = {r}\n" for n, r in roots.items()))
    data = tmp_path / "data"
    data.mkdir()
    (data / "db.dump").write_text("rows")
    state = tmp_path / "state"
    state.mkdir()
    write_launcher(roots["node1"] / "etc" / "db.d" / "a",
                   f'case "$1" in start) touch {state}/a;; stop) rm -f {state}/a;; status) [ -e {state}/a ];; esac')
    (roots["node1"] / "etc" / "db.env").write_text(
        "[DEFAULT]\nnodes = node1 node2\ndrpnodes = node3\n\n"
        "[app#1]\nscript = a\nstart = 10\nstop = 10\ncheck = 10\n\n"
        f"[sync#1]\nsrc = {data}/*\ndst = /srv/db/\ntarget = nodes drpnodes\n")
    return roots


def copied(roots, node):
    folder = roots[node] / "fs" / "srv" / "db"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_sync_nodes_then_drp(pool):
    assert osvc(pool["node1"], "-s", "db", "start").returncode == 0
    res = osvc(pool["node1"], "-s", "db", "sync_nodes")
    assert res.returncode == 0, res.stderr
    assert (copied(pool, "node2"), copied(pool, "node3")) == (["db.dump"], [])
    assert (pool["node2"] / "etc" / "db.env").read_text() == (pool["node1"] / "etc" / "db.env").read_text()
    assert osvc(pool["node1"], "-s", "db", "sync_drp").returncode == 0
    assert copied(pool, "node3") == ["db.dump"]
    begins = [r["payload"]["action"] for r in journal_rows(pool["node1"], svc="db", kind="action")
              if r["event"] == "begin"]
    assert begins == ["start", "sync_nodes", "sync_drp"]
    rsyncs = [r["payload"]["argv"][-1] for r in journal_rows(pool["node1"], svc="db", kind="command")
              if r["event"] == "rsync" and r["rid"] == "sync#1"]
    assert [p.split("/fs/")[0].rsplit("/", 1)[1] for p in rsyncs if "/fs/srv/db" in p] == ["node2", "node3"]


def test_sync_all_refused_when_not_up_unless_forced(pool):
    res = osvc(pool["node1"], "-s", "db", "sync_all")
    assert res.returncode == 0
    assert "won't sync this resource for a service not up" in res.stdout + res.stderr
    assert copied(pool, "node2") == []
    assert osvc(pool["node1"], "-s", "db", "sync_all", "--force").returncode == 0
    assert (copied(pool, "node2"), copied(pool, "node3")) == (["db.dump"], ["db.dump"])


def test_sync_takes_its_own_lock_and_dry_run_changes_nothing(pool):
    res = osvc(pool["node1"], "-s", "db", "sync_nodes", "--dry-run", "--force")
    # sync#i0 is the engine's own config sync: the env file and launchers go to every peer too
    assert res.stdout.splitlines() == ["db: sync_nodes", "  sync_nodes sync#1", "  sync_nodes sync#i0"]
    assert copied(pool, "node2") == []
    osvc(pool["node1"], "-s", "db", "sync_nodes", "--force")
    assert (pool["node1"] / "var" / "lock" / "db.sync").exists()
    assert not (pool["node1"] / "var" / "lock" / "db").exists()


def test_sync_runs_presync_here_and_postsync_on_each_peer_reached(sim, tmp_path):
    """srp (docs/agent-reference.md §5.12, §6.1): the sync exports the SRP here (presync), sends the export with the
    config (sync#i0, same path on the peer), then runs `postsync` on the peer, which imports it."""
    roots = sim_pool_roots(tmp_path, sim)
    sim.vmsim("define", "srp", "s1", "--set", "rootpath=/var/hpsrp/s1", "--set", "ip=10.1.2.3")
    (roots["node1"] / "etc" / "srp1.env").write_text(
        "[DEFAULT]\nnodes = node1 node2\n\n[container#1]\ntype = srp\nname = s1\n")
    res = osvc(roots["node1"], "-s", "srp1", "sync_all", "--force")
    assert res.returncode == 0, res.stdout + res.stderr

    export, imported = roots["node1"] / "var" / "s1.xml", roots["node2"] / "var" / "s1.xml"
    here = [(r["rid"], r["payload"]["argv"]) for r in journal_rows(roots["node1"], svc="srp1", kind="command")]
    assert here[0] == ("container#1", ["srp", "-batch", "-export", "s1", "-xfile", str(export)])
    assert ("sync#i0", ["rsync", "-HpogDtrlx", "--numeric-ids", "--exclude=*.core", "--", str(export), str(imported)]) in here
    postsync = here[-1]
    assert postsync[0] == "" and postsync[1][-5:] == ["-s", "srp1", "postsync", "--waitlock", "3600"]
    assert imported.read_text() == export.read_text()
    assert (roots["node2"] / "etc" / "srp1.env").exists()

    there = journal_rows(roots["node2"], svc="srp1")
    assert [r["payload"]["action"] for r in there if r["kind"] == "action" and r["event"] == "begin"] == ["postsync"]
    assert [r["payload"]["argv"] for r in there if r["kind"] == "command"] == [
        ["srp", "-batch", "-import", "-xfile", str(imported), "allow_sw_mismatch=yes", "autostart=no"]]
    assert sim.show("srp", "s1")["extra"]["ip"] == "10.1.2.3"


def test_a_sync_that_reaches_no_peer_runs_no_postsync(sim, tmp_path):
    root = tmp_path / "node1"
    for sub in ("etc", "var", "log"):
        (root / sub).mkdir(parents=True)
    sim_node_conf(root, sim)
    sim.vmsim("define", "srp", "s1")
    (root / "etc" / "srp1.env").write_text("[DEFAULT]\nnodes = node1\n\n[container#1]\ntype = srp\nname = s1\n")
    res = osvc(root, "-s", "srp1", "sync_all", "--force")
    assert res.returncode == 0, res.stdout + res.stderr
    argvs = [r["payload"]["argv"] for r in journal_rows(root, svc="srp1", kind="command")]
    assert argvs == [["srp", "-batch", "-export", "s1", "-xfile", str(root / "var" / "s1.xml")]]


def test_sync_triggers_wrap_the_copy_and_a_blocking_one_fails_the_sync(pool, tmp_path):
    """pre/post_sync_nodes run around the copy (the pre trigger sees nothing copied yet, the post
    one sees the file on node2); sync_all runs the sync_nodes and sync_drp triggers; a failed
    blocking_pre_sync_drp fails sync_drp before anything reaches node3."""
    log, trig = tmp_path / "triggers.log", tmp_path / "trig"
    seen = pool["node2"] / "fs" / "srv" / "db" / "db.dump"
    write_launcher(trig, f'[ -e {seen} ] && copied=copied || copied=nothing\n'
                         f'echo "$1 $OPENSVC_ACTION $copied" >> {log}\nexit "${{2:-0}}"')
    env = pool["node1"] / "etc" / "db.env"
    env.write_text(env.read_text() + f"pre_sync_nodes = {trig} pre\npost_sync_nodes = {trig} post\n"
                                     f"blocking_pre_sync_drp = {trig} bpre 1\n")
    assert osvc(pool["node1"], "-s", "db", "start").returncode == 0
    assert osvc(pool["node1"], "-s", "db", "sync_nodes").returncode == 0
    assert log.read_text().splitlines() == ["pre sync_nodes nothing", "post sync_nodes copied"]
    res = osvc(pool["node1"], "-s", "db", "sync_drp")
    assert res.returncode == 1
    assert "blocking error" in res.stdout + res.stderr and "sync_drp failed on sync#1" in res.stdout + res.stderr
    assert copied(pool, "node3") == []
    log.unlink()
    assert osvc(pool["node1"], "-s", "db", "sync_all").returncode == 1
    assert log.read_text().splitlines() == ["pre sync_nodes copied", "bpre sync_drp copied"]


def test_sync_requires(pool):
    """sync_nodes_requires not met fails the sync with the agent's message; sync_drp_requires =
    impossible makes sync_drp a no-op for the resource."""
    env = pool["node1"] / "etc" / "db.env"
    env.write_text(env.read_text() + "sync_nodes_requires = app#1(down)\nsync_drp_requires = impossible\n")
    assert osvc(pool["node1"], "-s", "db", "start").returncode == 0
    res = osvc(pool["node1"], "-s", "db", "sync_nodes")
    assert res.returncode == 1
    assert "requires on resource app#1 in state down, current state up" in res.stdout + res.stderr
    res = osvc(pool["node1"], "-s", "db", "sync_drp")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "skip sync_drp: sync_drp_requires is impossible" in res.stdout
    assert (copied(pool, "node2"), copied(pool, "node3")) == ([], [])
