"""The action executor end to end, through the real CLI in child processes, on app launchers.

Each launcher keeps its state in a real file; `<name>.fail` makes its start fail. The journal is read
back with the store's reader and compared with the exact transition sequences.
"""

import subprocess
import sys

import pytest

from tests.helpers.cli import journal_rows, osvc, transitions
from tests.helpers.launchers import launcher_service, running
from tests.helpers.paths import DATA


@pytest.fixture
def svc(osvc_root):
    """Service `web` of three 1.8 launchers app#1..3 (a, b, c), started in that order."""
    return launcher_service(osvc_root)


def test_start_stop_journal_and_status(osvc_root, svc):
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stderr + r.stdout
    assert running(svc) == ["a", "b", "c"]
    r = osvc(osvc_root, "-s", "web", "print", "status")
    assert r.stdout.splitlines()[:2] == ["web", "overall                   up"]
    assert "|  '- app#3          .... up       c" in r.stdout.splitlines()
    start = [("", "start", "idle", "starting")]
    for rid in ("app#1", "app#2", "app#3"):
        start += [(rid, "start", "down", "starting"), (rid, "started", "starting", "up")]
    start += [("", "started", "starting", "started")]
    assert transitions(osvc_root, "web") == start

    r = osvc(osvc_root, "-s", "web", "stop")
    assert r.returncode == 0, r.stderr
    assert running(svc) == []
    stop = [("", "stop", "started", "stopping")]
    for rid in ("app#3", "app#2", "app#1"):       # the mirror order
        stop += [(rid, "stop", "up", "stopping"), (rid, "stopped", "stopping", "down")]
    stop += [("", "stopped", "stopping", "stopped")]
    assert transitions(osvc_root, "web") == start + stop

    actions = journal_rows(osvc_root, svc="web", kind="action")
    assert [(a["event"], a["payload"]["action"]) for a in actions] == [
        ("begin", "start"), ("end", "start"), ("begin", "stop"), ("end", "stop")]
    begin = actions[0]["payload"]
    assert begin["argv"][-1] == "start" and begin["pid"] > 0 and begin["boot_id"]
    assert {a["action_id"] for a in actions[:2]} != {a["action_id"] for a in actions[2:]}
    # every transition of an action carries its action id, and the config was journaled once
    assert len(journal_rows(osvc_root, svc="web", kind="config")) == 1
    commands = journal_rows(osvc_root, svc="web", kind="command")
    assert [c["payload"]["rc"] for c in commands if c["payload"]["argv"][-1] == "start"] == [0, 0, 0]


def test_failed_start_rolls_back_only_what_it_started(osvc_root, svc):
    (svc / "a").touch()                    # a was already running before the action: left alone
    (svc / "c.fail").touch()
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    assert "c cannot start" in r.stdout + r.stderr
    assert "trying to rollback start on app#2" in r.stdout
    assert running(svc) == ["a"]
    seq = transitions(osvc_root, "web")
    assert ("app#3", "start_failed", "starting", "start-failed") in seq
    assert seq[-4:] == [("", "rollback", "start-failed", "rolling-back"),
                        ("app#2", "stop", "up", "stopping"), ("app#2", "stopped", "stopping", "down"),
                        ("", "rolled_back", "rolling-back", "start-failed")]
    rolled = [t for t in seq if t[1] in ("stop", "stopped")]
    assert rolled == [("app#2", "stop", "up", "stopping"), ("app#2", "stopped", "stopping", "down")]
    end = journal_rows(osvc_root, svc="web", kind="action")[-1]
    assert end["payload"]["outcome"] == "failed" and end["payload"]["rc"] == 1


def test_disable_rollback(osvc_root, svc):
    (svc / "c.fail").touch()
    r = osvc(osvc_root, "-s", "web", "start", "--disable-rollback")
    assert r.returncode == 1
    assert "skip rollback start: as instructed by --disable-rollback" in r.stdout
    assert running(svc) == ["a", "b"]


def test_optional_failure_is_passed_over(osvc_root, svc):
    env = osvc_root / "etc" / "web.env"
    env.write_text(env.read_text().replace("check = 20", "check = 20\noptional = true"))
    (svc / "b.fail").touch()
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ignore start error on optional resource" in r.stdout
    assert running(svc) == ["a", "c"]
    assert ("app#2", "start_failed", "starting", "start-failed") in transitions(osvc_root, "web")


def test_frozen_service_refuses_and_force_overrides(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "freeze").returncode == 0
    assert osvc(osvc_root, "-s", "web", "frozen").returncode == 1
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    assert "Abort action 'start' for frozen service. Use --force to override." in r.stderr
    assert running(svc) == []
    assert transitions(osvc_root, "web") == []
    refused = journal_rows(osvc_root, svc="web", kind="action")
    assert [(x["event"], x["payload"]["reason"][:12]) for x in refused] == [("refused", "Abort action")]
    assert osvc(osvc_root, "-s", "web", "start", "--force").returncode == 0
    assert running(svc) == ["a", "b", "c"]
    assert osvc(osvc_root, "-s", "web", "thaw").returncode == 0
    assert osvc(osvc_root, "-s", "web", "frozen").returncode == 0
    flags = [r["event"] for r in journal_rows(osvc_root, svc="web", kind="config") if r["event"] != "env"]
    assert flags == ["freeze", "thaw"]


def test_dry_run_leaves_no_trace(osvc_root, svc):
    r = osvc(osvc_root, "-s", "web", "--dry-run", "start")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "web: start",
        "  start app#1          down -> starting -> up",
        "  start app#2          down -> starting -> up",
        "  start app#3          down -> starting -> up",
    ]
    assert running(svc) == []
    assert not (osvc_root / "var" / "journal.db").exists()
    assert not (osvc_root / "var" / "lock").exists()


def test_lock_race_names_the_holder(osvc_root, svc):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from core.lock import ServiceLock\n"
         f"with ServiceLock({str(osvc_root / 'var' / 'lock' / 'web')!r}, 'stop', 5):\n"
         "    print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = osvc(osvc_root, "-s", "web", "start", "--waitlock", "1")
        assert r.returncode == 5
        assert f"holder pid {holder.pid}, holder intent 'stop'" in r.stderr
        assert running(svc) == []
        assert transitions(osvc_root, "web") == []
    finally:
        holder.kill()
        holder.wait()
    # the holder died: its flock is gone, the next action runs
    assert osvc(osvc_root, "-s", "web", "start", "--waitlock", "1").returncode == 0


def test_restart_is_one_action(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    assert osvc(osvc_root, "-s", "web", "restart").returncode == 0
    assert running(svc) == ["a", "b", "c"]
    rows = journal_rows(osvc_root, svc="web")
    restart_id = [r for r in rows if r["kind"] == "action"][-1]["action_id"]
    events = [(r["rid"], r["event"]) for r in rows if r["action_id"] == restart_id and r["kind"] == "transition"]
    assert events[0] == ("", "stop") and events[-1] == ("", "started")
    assert ("", "stopped") in events and ("", "start") in events


def test_sub_action_and_rid_selection(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start", "--rid", "app#2").returncode == 0
    assert running(svc) == ["b"]
    r = osvc(osvc_root, "-s", "web", "start", "--rid", "fs#9")
    assert r.returncode == 2
    assert "no resource match the given --rid, --subset and --tags specifiers" in r.stderr
    assert osvc(osvc_root, "-s", "web", "stopapp").returncode == 0
    assert running(svc) == []


def test_observed_status_moves_the_machine(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    (svc / "b").unlink()                   # b died behind the engine's back
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    obs = [o for o in journal_rows(osvc_root, svc="web", kind="observation") if o["rid"]]  # '': status documents
    assert [(o["rid"], o["payload"]["status"], o["payload"]["believed"]) for o in obs] == [("app#2", "down", "up")]
    seq = transitions(osvc_root, "web")
    assert ("app#2", "observed_down", "up", "down") in seq


def test_several_services_and_globs(osvc_root, svc):
    (osvc_root / "etc" / "web2.env").write_text("[DEFAULT]\nnodes = node1\n")
    r = osvc(osvc_root, "-s", "web*", "--dry-run", "start")
    assert r.returncode == 0
    assert "web: start" in r.stdout and "web2: start" in r.stdout
    r = osvc(osvc_root, "-s", "nosuch", "start")
    assert r.returncode == 4
    assert f"unknown service 'nosuch' in {osvc_root}/etc (services there: web, web2)" in r.stderr


def test_hb_driven_service_needs_cluster(osvc_root):
    text = (DATA / "seeds" / "ovmguest1.env").read_text()
    (osvc_root / "etc" / "ovmguest1.env").write_text(text)
    r = osvc(osvc_root, "-s", "ovmguest1", "start", node="ovmnode1", env={})
    assert r.returncode == 1
    assert ("this service is managed by a clusterware, thus direct service manipulation is disabled (start). "
            "the --cluster option circumvent this safety net.") in r.stderr
    assert transitions(osvc_root, "ovmguest1") == []


def test_non_prd_service_refused_on_prd_node(osvc_root, svc):
    (osvc_root / "etc" / "node.conf").write_text("[node]\nenv = PRD\n")
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    assert "PRD node" in r.stderr
    assert running(svc) == []


def test_show_disabled_default_and_overrides(osvc_root, svc):
    """DEFAULT.show_disabled = false leaves disabled resources out of the tree (the cached document
    says so); --show-disabled and --hide-disabled override either way. The json document keeps them."""
    import json
    import re

    def drawn(*extra):
        return re.findall(r"app#\d", osvc(osvc_root, "-s", "web", "print", "status", *extra).stdout)

    env = osvc_root / "etc" / "web.env"
    env.write_text(env.read_text().replace("[app#2]\n", "[app#2]\ndisable = true\n"))
    assert drawn() == ["app#1", "app#2", "app#3"]
    assert drawn("--hide-disabled") == ["app#1", "app#3"]
    env.write_text(env.read_text().replace("nodes = node1\n", "nodes = node1\nshow_disabled = false\n"))
    assert drawn() == ["app#1", "app#3"]
    assert drawn() == ["app#1", "app#3"]        # again, from the cached document
    assert drawn("--show-disabled") == ["app#1", "app#2", "app#3"]
    r = osvc(osvc_root, "-s", "web", "print", "status", "--format", "json")
    assert "app#2" in json.loads(r.stdout)["resources"]


# SIGINT back to its default before the engine starts: a child of a shell without job control inherits it ignored.
SIGINT_DEFAULT = (sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                  "os.execvp(sys.argv[1], sys.argv[1:])")


def test_ctrl_c_during_a_start_ends_the_action_as_failed(osvc_root, svc):
    (osvc_root / "etc" / "web.d" / "b").write_text("#!/bin/sh\n[ \"$1\" = start ] && kill -INT $PPID && sleep 5\n")
    r = osvc(osvc_root, "-s", "web", "start", wrap=SIGINT_DEFAULT)
    assert r.returncode == 130, r.stdout + r.stderr
    end = [a for a in journal_rows(osvc_root, svc="web", kind="action") if a["event"] == "end"]
    assert [(e["payload"]["outcome"], e["payload"]["error"]) for e in end] == [("failed", "KeyboardInterrupt")]
