"""Crash recovery on app launchers: the crash hook, what makes an action interrupted, the three
ways recovery happens (recover, the next action, status --refresh), and --resume."""

import os
import subprocess
import time

import pytest

from engine import recovery
from tests.helpers.cli import COMMAND, journal_rows, osvc, transitions, write_launcher
from tests.helpers.crash import actions, commands_of, crash_cycle, kill_points, transition_names
from tests.helpers.launchers import SCRIPT, launcher_service, running


# an uncrashed start's transitions: service start, 3 x (start, started), service started
START = ["start", "app#1.start", "app#1.started", "app#2.start", "app#2.started", "app#3.start", "app#3.started",
         "started"]


@pytest.fixture
def svc(osvc_root):
    return launcher_service(osvc_root)


def starts(root, action_id):
    return [rid for rid, argv in commands_of(root, "web", action_id) if argv[-1:] == ["start"]]


# --- units ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, state, seen, dest", [
    ("resource", "starting", "up", "up"), ("resource", "starting", "down", "down"),
    ("resource", "starting", "warn", "start-failed"), ("resource", "stopping", "n/a", "stop-failed"),
    ("resource", "stopping", "stdby up", "up"),
    ("container", "wait-ping", "up", "up"), ("container", "force-stopping", "warn", "stop-failed"),
    ("container", "wait-down", "down", "down"),
    ("hb", "ha-enabling", "up", "ha-enabled"), ("hb", "ha-disabling", "down", "ha-disabled"),
    ("hb", "ha-enabling", "undef", "ha-failed"), ("hb", "ha-enabling", "warn", "ha-failed"),
    ("hb", "ha-disabling", "warn", "ha-disabled"),
])
def test_target_state_follows_the_probe(kind, state, seen, dest):
    assert recovery.target_state(kind, state, seen) == dest


def test_service_target_from_its_resources():
    begin = {"steps": {"start": ["a", "b"]}}
    assert recovery.service_target("starting", begin, {"a": "up", "b": "up"}) == "started"
    assert recovery.service_target("starting", begin, {"a": "up", "b": "down"}) == "start-failed"
    assert recovery.service_target("stopping", {"steps": {"stop": ["a"]}}, {"a": "down"}) == "stopped"
    assert recovery.service_target("stopping", {"steps": {"stop": ["a"]}}, {"a": "stop-failed"}) == "stop-failed"
    assert recovery.service_target("rolling-back", begin, {"a": "down", "b": "down"}) == "start-failed"


def test_process_gone():
    from engine.session import boot_id

    boot = boot_id()
    now = time.time_ns()
    assert recovery.process_gone({"pid": os.getpid(), "boot_id": boot}, now) is None
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert recovery.process_gone({"pid": sleeper.pid, "boot_id": boot}, now) is None
        # the same pid, but a process that started well after the action began: pid reuse
        assert recovery.process_gone({"pid": sleeper.pid, "boot_id": boot}, now - 3600 * 10**9) == \
            f"its pid {sleeper.pid} now belongs to a process started after the action began"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert recovery.process_gone({"pid": sleeper.pid, "boot_id": boot}, now) == \
        f"its process (pid {sleeper.pid}) is dead"
    assert recovery.process_gone({"pid": os.getpid(), "boot_id": "0" * 36}, now).startswith(
        "the node rebooted since (boot id 00000000, now ")


def test_the_crash_hook_kills_right_after_the_nth_transition(osvc_root, svc):
    r = osvc(osvc_root, "-s", "web", "start", env={"OSVC_CRASH_AT_TRANSITION": "4"})
    assert r.returncode == -9
    assert transitions(osvc_root, "web") == [("", "start", "idle", "starting"), ("app#1", "start", "down", "starting"),
                                             ("app#1", "started", "starting", "up"),
                                             ("app#2", "start", "down", "starting")]
    assert running(svc) == ["a"]                  # b's start never ran: the crash came first
    action_id, begin, end = actions(osvc_root, "web")[-1]
    assert end is None and begin["pid"] > 0
    r = osvc(osvc_root, "journal", "replay", "--check")
    assert r.returncode == 1
    assert f"web: action start [act:{action_id[:8]}] was interrupted and not recovered: " \
           f"run `osvc-engine -s web recover`" in r.stdout.splitlines()


# --- recover at every transition boundary -------------------------------------------------------------

def test_start_kill_points(osvc_root, svc):
    """The matrix below kills the start after each of these: what an uncrashed start journals."""
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    action_id = actions(osvc_root, "web")[-1][0]
    assert transition_names(osvc_root, "web", action_id) == START


@pytest.mark.slow
@pytest.mark.parametrize("n", kill_points(START))
def test_start_killed_at_every_transition(osvc_root, svc, n):
    assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
    cycle = crash_cycle(osvc_root, "web", ["start"], n)
    assert cycle.resume_rc == 0, cycle.resume_out
    assert running(svc) == ["a", "b", "c"]
    started_before = [rid for rid, st in cycle.recovered_states.items() if rid and st == "up"]
    # what the crashed action had started is not started again by the resumed one
    assert set(starts(osvc_root, cycle.crashed_id)) == set(started_before)
    assert not set(starts(osvc_root, cycle.resumed_id)) & set(started_before), n
    assert sorted(starts(osvc_root, cycle.crashed_id) + starts(osvc_root, cycle.resumed_id)) == \
        ["app#1", "app#2", "app#3"]
    assert len(actions(osvc_root, "web")) == 3            # the stop, the crashed start, the resumed one


def test_recovery_journal_of_a_start_killed_mid_resource(osvc_root, svc):
    osvc(osvc_root, "-s", "web", "start", env={"OSVC_CRASH_AT_TRANSITION": "4"})   # app#2 starting
    r = osvc(osvc_root, "-s", "web", "recover")
    action_id = actions(osvc_root, "web")[-1][0]
    rows = [r for r in journal_rows(osvc_root, svc="web", action_id=action_id) if r["kind"] != "command"]
    tail = [(r["kind"], r["rid"], r["event"], r["src"], r["dst"]) for r in rows[-3:]]
    assert tail == [("transition", "app#2", "recover_down", "starting", "down"),
                    ("transition", "", "recover_start_failed", "starting", "start-failed"),
                    ("action", "", "end", "", "")]
    assert rows[-3]["payload"]["status"] == "down"
    end = rows[-1]["payload"]
    assert end["outcome"] == "interrupted" and end["rc"] == 1
    assert end["recovered"] == {"app#2": ["starting", "down", "down"], "": ["starting", "start-failed", None]}
    assert "WARNING WEB         action 'start' (" in r.stdout
    assert "app#2: starting -> down (probed down)" in r.stdout
    assert osvc(osvc_root, "-s", "web", "recover").stdout == "web: no interrupted action\n"
    r = osvc(osvc_root, "journal", "audit", "-s", "web", "--kind", "recovery")
    assert r.returncode == 0 and action_id[:8] in r.stdout


def test_the_next_action_recovers_first(osvc_root, svc):
    osvc(osvc_root, "-s", "web", "start", env={"OSVC_CRASH_AT_TRANSITION": "3"})   # app#1 up, the rest not
    r = osvc(osvc_root, "-s", "web", "stop")
    assert r.returncode == 0, r.stderr
    assert "was interrupted: its process (pid" in r.stdout
    (crashed, _, end), (stop_id, begin, stop_end) = actions(osvc_root, "web")[-2:]
    assert end["outcome"] == "interrupted" and begin["action"] == "stop" and stop_end["outcome"] == "ok"
    assert running(svc) == []
    assert osvc(osvc_root, "journal", "replay", "--check").returncode == 0


def test_status_refresh_recovers_and_resume_is_refused_after_another_action(osvc_root, svc):
    osvc(osvc_root, "-s", "web", "start", env={"OSVC_CRASH_AT_TRANSITION": "6"})
    assert osvc(osvc_root, "-s", "web", "status", "--refresh").returncode == 2     # a, b up, c down: warn
    assert actions(osvc_root, "web")[-1][2]["outcome"] == "interrupted"
    assert osvc(osvc_root, "journal", "replay", "--check").returncode == 0
    assert osvc(osvc_root, "-s", "web", "startapp", "--rid", "app#3").returncode == 0
    r = osvc(osvc_root, "-s", "web", "recover", "--resume")
    assert r.returncode == 1
    assert "web: nothing to resume: its last action did not end as interrupted" in r.stderr


def test_print_status_without_refresh_does_not_recover(osvc_root, svc):
    osvc(osvc_root, "-s", "web", "start", env={"OSVC_CRASH_AT_TRANSITION": "2"})
    before = len(journal_rows(osvc_root))
    assert osvc(osvc_root, "-s", "web", "print", "status").returncode == 0
    assert len(journal_rows(osvc_root)) == before
    assert actions(osvc_root, "web")[-1][2] is None


def test_a_running_action_is_not_recovered(osvc_root, svc):
    write_launcher(osvc_root / "etc" / "web.d" / "b", SCRIPT.format(state=svc, name="b").replace(
        'touch "$f" ;;', 'touch "$f"; sleep 3 ;;'))
    proc = subprocess.Popen([*COMMAND, "-s", "web", "start"],
                            env={**os.environ, "OSVC_ROOT": str(osvc_root), "OSVC_NODENAME": "node1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not any(r["event"] == "start" and r["rid"] == "app#2" for r in journal_rows(osvc_root, kind="transition")):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = osvc(osvc_root, "-s", "web", "recover", "--waitlock", "0")
        assert r.returncode == 5                       # the live action holds the lock
        assert osvc(osvc_root, "journal", "replay", "--check").returncode == 0   # in progress: skipped
        assert osvc(osvc_root, "-s", "web", "status", "--refresh").returncode in (0, 1, 2)
    finally:
        assert proc.wait(timeout=60) == 0
    assert actions(osvc_root, "web")[-1][2]["outcome"] == "ok"
    assert all(e["outcome"] != "interrupted" for _, _, e in actions(osvc_root, "web"))
