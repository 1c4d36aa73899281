"""sync_nodes / sync_drp / sync_all through the CLI: node.conf's local transport, the .sync lock,
the not-up refusal, and the journal."""

import shutil

import pytest

from tests.helpers.cli import journal_rows, osvc, write_launcher

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
