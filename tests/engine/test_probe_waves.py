"""engine/probe.py: each driver class's prepare_status runs before a wave's probes, so the [app#N] checks
of an evaluation run in one spawn (drivers/app.py App.prepare_status), with the same verdicts; and a start
sub-action runs the checks its [app#N] starts begin with in one spawn before its first step
(App.prepare_start)."""

import json

from tests.helpers.cli import osvc, write_launcher

ENV = """[DEFAULT]
nodes = node1
"""
APP = """
[app#{i}]
script = {name}
start = {i}
stop = {i}
check = {i}
"""
# Each run of the launcher logs `<action> <its process group>`: the runner gives every spawn its own group.
SCRIPT = """\
echo "$1 $(cut -d' ' -f5 /proc/$$/stat)" >> {log}
f="{state}/{name}"
case "$1" in
  start) touch "$f" ;;
  stop) rm -f "$f" ;;
  status) [ -e "$f" ] ;;
esac
"""


def service(root, names="abc", extra=""):
    state, log = root / "state", root / "calls.log"
    state.mkdir()
    text = ENV
    for i, name in enumerate(names, 1):
        write_launcher(root / "etc" / "web.d" / name, SCRIPT.format(log=log, state=state, name=name))
        text += APP.format(i=i, name=name) + (extra if i == 2 else "")
    (root / "etc" / "web.env").write_text(text)
    return state, log


def calls(log):
    """[(action, process group)] of the launcher runs since the last call, and empties the log."""
    lines = log.read_text().split("\n") if log.exists() else []
    log.write_text("")
    return [tuple(x.split()) for x in lines if x]


def statuses(doc):
    return {rid: e["status"] for rid, e in doc["resources"].items()}


def test_the_checks_after_an_action_run_in_one_batch_with_the_same_verdicts(osvc_root):
    state, log = service(osvc_root)
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    runs = calls(log)
    # the starts' three checks in one spawn, then the three starts (a spawn each), then the evaluation's checks
    assert [a for a, _ in runs] == ["status"] * 3 + ["start"] * 3 + ["status"] * 3
    before, starts, after = ({g for _, g in runs[k:k + 3]} for k in (0, 3, 6))
    assert len(before) == 1 and len(starts) == 3 and len(after) == 1 and before != after, runs
    assert not (before | after) & starts, runs
    doc = json.loads((osvc_root / "var" / "web" / "status.json").read_text())
    assert statuses(doc) == {"app#1": "up", "app#2": "up", "app#3": "up"}

    (state / "b").unlink()                       # app#2 down behind the engine's back
    r = osvc(osvc_root, "-s", "web", "print", "status", "--refresh", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert statuses(json.loads(r.stdout)) == {"app#1": "up", "app#2": "down", "app#3": "up"}
    runs = calls(log)
    assert len(runs) == 3 and len({g for _, g in runs}) == 1


def test_a_disabled_resource_is_not_checked(osvc_root):
    _, log = service(osvc_root, extra="disable = true\n")
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    calls(log)
    r = osvc(osvc_root, "-s", "web", "print", "status", "--refresh", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert statuses(json.loads(r.stdout)) == {"app#1": "up", "app#2": "n/a", "app#3": "up"}
    runs = calls(log)
    assert len(runs) == 2 and len({g for _, g in runs}) == 1


def test_a_start_batch_check_that_finds_an_app_up_skips_its_start(osvc_root):
    """The batch's answer is each start's check: an app already up logs `already started`, its launcher's
    start never runs, and the others start."""
    state, log = service(osvc_root)
    (state / "b").touch()
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stderr
    assert "WEB.APP#2   b is already started" in r.stdout
    runs = calls(log)
    assert [a for a, _ in runs] == ["status"] * 3 + ["start"] * 2 + ["status"] * 3
    assert len({g for _, g in runs[:3]}) == 1


def test_a_lone_app_start_checks_on_its_own(osvc_root):
    """One [app#N]: nothing to batch, its start checks for itself, just before it starts."""
    _, log = service(osvc_root, names="a")
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    runs = calls(log)
    assert [a for a, _ in runs] == ["status", "start", "status"]
    assert len({g for _, g in runs}) == 3
