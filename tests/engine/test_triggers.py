"""Resource triggers (engine/triggers.py) through the real CLI, on the launcher service `web`.

The trigger `note` appends one line per call to a file: its argument, the OPENSVC_* variables it
sees and which launchers run at that moment, so the lines show what ran, in what order, relative
to the driver's own work.
"""

import pytest

from drivers.base import DriverError
from engine import triggers
from tests.helpers.cli import journal_rows, osvc, transitions, write_launcher
from tests.helpers.launchers import launcher_service, running

NOTE = """\
echo "$1 $OPENSVC_SVCNAME $OPENSVC_RID $OPENSVC_ACTION running=$(ls {state} | tr '\\n' ,)" >> {log}
exit "${{2:-0}}"
"""


@pytest.fixture
def svc(osvc_root):
    state = launcher_service(osvc_root)
    write_launcher(osvc_root / "note", NOTE.format(state=state, log=osvc_root / "notes"))
    return state


def configure(root, rid, **keywords):
    """Add trigger keywords to a resource section of web.env (`note` stands for the trigger script)."""
    env = root / "etc" / "web.env"
    lines = "".join(f"{k} = {v.replace('note', str(root / 'note'))}\n" for k, v in keywords.items())
    env.write_text(env.read_text().replace(f"[{rid}]\n", f"[{rid}]\n{lines}"))


def notes(root):
    path = root / "notes"
    return path.read_text().splitlines() if path.exists() else []


def trigger_commands(root):
    """(keyword, argv, rc) of each trigger command the journal holds, in order."""
    return [(c["payload"]["trigger"], c["payload"]["argv"][1:], c["payload"]["rc"])
            for c in journal_rows(root, svc="web", kind="command") if "trigger" in c["payload"]]


def test_triggers_run_around_the_driver_in_order(osvc_root, svc):
    configure(osvc_root, "app#2", pre_start="note pre", blocking_pre_start="note bpre",
              post_start="note post", blocking_post_start="note bpost",
              pre_stop="note prestop", post_stop="note poststop")
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    assert notes(osvc_root) == ["pre web app#2 start running=a,", "bpre web app#2 start running=a,",
                                "post web app#2 start running=a,b,", "bpost web app#2 start running=a,b,"]
    assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
    assert notes(osvc_root)[4:] == ["prestop web app#2 stop running=a,b,", "poststop web app#2 stop running=a,"]
    assert trigger_commands(osvc_root) == [
        ("pre_start", ["pre"], 0), ("blocking_pre_start", ["bpre"], 0), ("post_start", ["post"], 0),
        ("blocking_post_start", ["bpost"], 0), ("pre_stop", ["prestop"], 0), ("post_stop", ["poststop"], 0)]
    commands = journal_rows(osvc_root, svc="web", kind="command")
    assert all(c["rid"] == "app#2" for c in commands if "trigger" in c["payload"])
    # the triggers add commands, not transitions
    assert [t for t in transitions(osvc_root, "web") if t[0] == "app#2"] == [
        ("app#2", "start", "down", "starting"), ("app#2", "started", "starting", "up"),
        ("app#2", "stop", "up", "stopping"), ("app#2", "stopped", "stopping", "down")]


def test_a_failed_trigger_is_logged_and_the_action_goes_on(osvc_root, svc):
    configure(osvc_root, "app#1", pre_start="note pre 3", post_stop="/nonexistent/cmd")
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pre_start failed (rc 3): not a blocking trigger, start goes on" in r.stdout
    assert running(svc) == ["a", "b", "c"]
    r = osvc(osvc_root, "-s", "web", "stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "post_stop failed (" in r.stdout and "not a blocking trigger, stop goes on" in r.stdout
    assert running(svc) == []


def test_a_blocking_pre_trigger_fails_the_start_before_the_driver(osvc_root, svc):
    # app#1's blocking_pre_stop would fail too: a rollback runs no trigger, so app#1 is stopped anyway
    configure(osvc_root, "app#1", blocking_pre_stop="note bprestop 1")
    configure(osvc_root, "app#2", blocking_pre_start="note bpre 2")
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    assert f"pre trigger {osvc_root / 'note'} bpre 2 blocking error" in r.stdout + r.stderr
    assert "blocking_pre_start: rc 2" in r.stdout
    assert running(svc) == []           # b never started, a was rolled back
    assert notes(osvc_root) == ["bpre web app#2 start running=a,"]
    seq = transitions(osvc_root, "web")
    assert ("app#2", "start_failed", "starting", "start-failed") in seq
    assert ("app#1", "stopped", "stopping", "down") in seq
    assert trigger_commands(osvc_root) == [("blocking_pre_start", ["bpre", "2"], 2)]
    commands = [(c["rid"], c["payload"]["argv"][1:]) for c in journal_rows(osvc_root, svc="web", kind="command")]
    assert commands == [("app#1", ["start"]), ("app#2", ["bpre", "2"]), ("app#1", ["stop"])]


def test_a_blocking_post_trigger_failure_rolls_the_resource_back(osvc_root, svc):
    configure(osvc_root, "app#3", blocking_post_start="note bpost 1")
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    assert "post trigger" in r.stdout + r.stderr and "blocking error" in r.stdout + r.stderr
    assert notes(osvc_root) == ["bpost web app#3 start running=a,b,c,"]
    assert running(svc) == []           # c started, then the rollback stopped it with a and b
    assert "trying to rollback start on app#1, app#2, app#3" in r.stdout


def test_only_a_pipe_and_or_semicolon_call_for_a_shell(osvc_root, svc):
    configure(osvc_root, "app#1", pre_start='echo "two  spaces" $HOME', post_start="echo one && echo two",
              pre_stop="echo $OPENSVC_ACTION; exit 4")
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
    cmds = {c["payload"]["trigger"]: c["payload"] for c in journal_rows(osvc_root, svc="web", kind="command")
            if "trigger" in c["payload"]}
    assert cmds["pre_start"]["argv"] == ["echo", "two  spaces", "$HOME"]      # its words, no expansion
    assert cmds["pre_start"]["out_tail"] == "two  spaces $HOME\n"
    assert cmds["post_start"]["argv"] == ["/bin/sh", "-c", "echo one && echo two"]
    assert cmds["post_start"]["out_tail"] == "one\ntwo\n"
    assert (cmds["pre_stop"]["out_tail"], cmds["pre_stop"]["rc"]) == ("stop\n", 4)


def test_shutdown_runs_the_stop_triggers_and_scoping_picks_the_node(osvc_root, svc):
    configure(osvc_root, "app#1", **{"pre_stop": "note any", "pre_stop@node2": "note node2"})
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    assert osvc(osvc_root, "-s", "web", "shutdown").returncode == 0
    assert notes(osvc_root) == ["any web app#1 stop running=a,"]     # stopped last: c and b are down


def test_planned_order_and_sync_all():
    conf = {"post_sync_drp": "d", "blocking_pre_sync_nodes": "bn", "pre_sync_nodes": "n", "pre_start": "s",
            "blocking_post_sync_drp": "bd"}
    assert list(triggers.planned(conf, "pre", "sync_all")) == [
        ("pre_sync_nodes", "sync_nodes", "n"), ("blocking_pre_sync_nodes", "sync_nodes", "bn")]
    assert list(triggers.planned(conf, "post", "sync_all")) == [
        ("post_sync_drp", "sync_drp", "d"), ("blocking_post_sync_drp", "sync_drp", "bd")]
    assert list(triggers.planned(conf, "pre", "start")) == [("pre_start", "start", "s")]
    assert list(triggers.planned(conf, "pre", "presync")) == []


def test_argv_refuses_what_it_cannot_run():
    assert triggers.argv("a 'b c'") == ["a", "b c"]
    assert triggers.argv("a | b") == ["/bin/sh", "-c", "a | b"]
    with pytest.raises(DriverError, match="cannot be parsed .*fix its quoting"):
        triggers.argv("echo 'unclosed")
    with pytest.raises(DriverError, match="empty trigger command"):
        triggers.argv("  ")


def test_dry_run_shows_requirements_and_triggers_and_runs_none(osvc_root, svc):
    configure(osvc_root, "app#2", post_start="note post", blocking_pre_start="note bpre", pre_stop="note x")
    env = osvc_root / "etc" / "web.env"
    env.write_text(env.read_text().replace("[app#3]\n", "[app#3]\nstart_requires = app#1 app#2(up)\n"))
    r = osvc(osvc_root, "-s", "web", "--dry-run", "start")
    assert r.returncode == 0, r.stderr
    note = osvc_root / "note"
    assert r.stdout.splitlines() == [
        "web: start",
        "  start app#1          down -> starting -> up",
        "  start app#2          down -> starting -> up",
        f"    blocking_pre_start: {note} bpre",
        f"    post_start: {note} post",
        "  start app#3          down -> starting -> up",
        "    requires: app#1(up,stdby up) app#2(up)",
    ]
    assert notes(osvc_root) == [] and running(svc) == []
