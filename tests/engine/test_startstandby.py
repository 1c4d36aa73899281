"""startstandby with the 1.5 launcher folder: `S*.standby@<node|nodes|drpnodes>` run on the nodes
they name, nothing else starts, and a plain start ignores them."""

from tests.helpers.cli import osvc, transitions, write_launcher


def make_service(root, state):
    folder = root / "etc" / "db.d"
    for name in ("S10app", "S20web.standby@node1", "S30sync.standby@drpnodes", "S40mon.standby@nodes",
                 "S50other.standby@node9"):
        write_launcher(folder / name, f'[ "$1" = start ] && echo {name} >> {state}/ran; exit 0')
    (root / "etc" / "db.env").write_text("[DEFAULT]\nnodes = node1 node2\ndrpnodes = node3\n")


def ran(state):
    path = state / "ran"
    return path.read_text().split() if path.exists() else []


def test_startstandby_runs_this_nodes_standby_launchers(osvc_root, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    make_service(osvc_root, state)
    res = osvc(osvc_root, "-s", "db", "startstandby")
    assert res.returncode == 0, res.stderr
    assert ran(state) == ["S20web.standby@node1", "S40mon.standby@nodes"]
    assert transitions(osvc_root, "db")[1:3] == [("app", "start", "down", "starting"),
                                                 ("app", "started", "starting", "up")]


def test_drp_node_runs_the_drpnodes_launchers(osvc_root, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    make_service(osvc_root, state)
    assert osvc(osvc_root, "-s", "db", "startstandby", node="node3").returncode == 0
    assert ran(state) == ["S30sync.standby@drpnodes"]


def test_start_ignores_standby_launchers_and_no_launcher_means_nothing_planned(osvc_root, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    make_service(osvc_root, state)
    assert osvc(osvc_root, "-s", "db", "start").returncode == 0
    assert ran(state) == ["S10app"]
    dry = osvc(osvc_root, "-s", "db", "startstandby", "--dry-run", node="node9")
    assert "app" in dry.stdout
    nothing = osvc(osvc_root, "-s", "db", "startstandby", "--dry-run", node="node5")
    assert nothing.stdout.splitlines() == ["db: startstandby", "  nothing to do"]


def test_a_failed_startstandby_rolls_back_with_the_stop_launchers(osvc_root, tmp_path):
    """The rollback of a startstandby stops what it started (K*), it does not run the standby
    launchers again."""
    state = tmp_path / "state"
    state.mkdir()
    folder = osvc_root / "etc" / "db.d"
    write_launcher(folder / "S10web.standby@node1", f'echo "S10 $1" >> {state}/ran; exit 0')
    write_launcher(folder / "S20bad.standby@node1", f'echo "S20 $1" >> {state}/ran; exit 1')
    write_launcher(folder / "K10web", f'echo "K10 $1" >> {state}/ran; exit 0')
    (osvc_root / "etc" / "db.env").write_text("[DEFAULT]\nnodes = node1 node2\n")
    res = osvc(osvc_root, "-s", "db", "startstandby")
    assert res.returncode != 0
    assert (state / "ran").read_text().splitlines() == ["S10 start", "S20 start", "K10 stop"]
