"""Crash injection through the real CLI: kill an action with SIGKILL right after its Nth journaled
transition (OSVC_CRASH_AT_TRANSITION=N), then recover, check and resume.

    START = ["start", "app#1.start", "app#1.started", ..., "started"]   # an uncrashed start's transitions

    def test_start_kill_points(...):                  # the matrix's range is what an uncrashed start does
        ...run the start...
        assert transition_names(root, "svc", action_id) == START

    @pytest.mark.slow
    @pytest.mark.parametrize("n", kill_points(START))  # one test a kill point: ids 1-start, 2-app#1.start...
    def test_start_killed_at_every_transition(..., n):
        cycle = crash_cycle(root, "svc", ["start"], n, wrap=wrap)
        ...

Every cycle asserts the invariants of a recovery (the interrupted action is closed as interrupted,
each machine matches what a fresh probe sees, `journal verify` and `journal replay --check` pass)
and returns what the test needs to assert the rest (the recovered states, the resumed action's
commands).
"""

import json
import signal
import time
from pathlib import Path

import pytest

from tests.helpers.cli import journal_rows, osvc

CRASH_ENV = "OSVC_CRASH_AT_TRANSITION"


def actions(root, svc):
    """[(action_id, begin payload, end payload or None)] in journal order."""
    rows = [r for r in journal_rows(root, svc=svc, kind="action") if r["event"] in ("begin", "end")]
    out, ends = [], {r["action_id"]: r["payload"] for r in rows if r["event"] == "end"}
    for r in rows:
        if r["event"] == "begin":
            out.append((r["action_id"], r["payload"], ends.get(r["action_id"])))
    return out


def count_transitions(root, svc, action_id):
    return len([r for r in journal_rows(root, svc=svc, kind="transition", action_id=action_id)
                if not r["event"].startswith("recover_")])


def transition_names(root, svc, action_id):
    """['start', 'app#1.start', ...]: `rid.event` (`event` for the service) of an action's transitions,
    recoveries left out, in journal order."""
    return [f"{r['rid']}.{r['event']}" if r["rid"] else r["event"]
            for r in journal_rows(root, svc=svc, kind="transition", action_id=action_id)
            if not r["event"].startswith("recover_")]


def kill_points(names):
    """The parameters of a crash matrix: n = 1..len(names), killed right after transition n, the test id
    naming it (`3-app#1.started`)."""
    return [pytest.param(n, id=f"{n}-{name}") for n, name in enumerate(names, 1)]


def commands_of(root, svc, action_id):
    """[(rid, argv)] of an action's commands, in order."""
    return [(r["rid"], r["payload"].get("argv") or []) for r in journal_rows(root, svc=svc, kind="command",
                                                                             action_id=action_id)]


def states(root, svc):
    return json.loads((root / "var" / svc / "states.json").read_text())


FAILED = ("start-failed", "stop-failed", "ha-failed")


def verify_and_check(root, node="node1"):
    """`journal verify` and `journal replay --check`, in this process (the code the CLI runs)."""
    from core.node import Node
    from engine.history.snapshots import check_snapshots
    from journal import verify
    from postmortem.replay import divergences
    from journal.store import Journal

    with Journal(Path(root) / "var" / "journal.db") as j:
        verify.verify(j, checks=(check_snapshots,))   # raises JournalError naming the first problem
        found, _ = divergences(Node(Path(root), node), j)
    assert found == []


def no_open_action(root, svc):
    from engine.recovery import open_action
    from journal.store import Journal

    with Journal(Path(root) / "var" / "journal.db") as j:
        return open_action(j, svc) is None


def check_in_line(root, svc, wrap=(), settle=10.0, node="node1"):
    """Journal, machines and reality agree: verify, replay --check, and every resource's machine
    state says what a fresh probe (status --refresh) sees. A loop device detached while udev still
    held it lingers a moment (autoclear): a mismatch is probed again for up to `settle` seconds."""
    verify_and_check(root, node)
    deadline = time.monotonic() + settle
    while True:
        r = osvc(root, "-s", svc, "print", "status", "--refresh", "--format", "json", wrap=wrap, node=node)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        wrong = []
        for rid, e in doc["resources"].items():
            # only up and down are claims about reality (warn, n/a: a sync not run yet, an app not
            # evaluated while the instance is down, HA not enabled); a failed state is true whatever
            # the probe says (the last start or stop failed)
            expected = {"up": ("up", "ha-enabled"), "down": ("down", "ha-disabled")}.get(e["status"])
            if expected and e["state"] not in expected + FAILED:
                wrong.append(f"{rid}: probed {e['status']} but its machine says {e['state']}")
        if not wrong:
            return doc
        assert time.monotonic() < deadline, "; ".join(wrong)
        time.sleep(0.2)


class Cycle:
    def __init__(self, crashed_id, crashed_steps, recovered, recovered_states, resumed_id, resume_rc, resume_out):
        self.crashed_id = crashed_id
        self.crashed_steps = crashed_steps
        self.recovered = recovered                  # rid -> [from, to, probed] (payload of the end)
        self.recovered_states = recovered_states    # states.json right after recover
        self.resumed_id = resumed_id
        self.resume_rc = resume_rc
        self.resume_out = resume_out


def crash_cycle(root, svc, argv, n, wrap=(), resume=True, node="node1"):
    """Crash `osvc-engine -s svc argv...` at its nth transition, recover, check, resume."""
    r = osvc(root, "-s", svc, *argv, wrap=wrap, env={CRASH_ENV: str(n)}, node=node)
    assert r.returncode == -signal.SIGKILL, f"crash at transition {n}: rc {r.returncode}\n{r.stdout}{r.stderr}"
    crashed_id, begin, end = actions(root, svc)[-1]
    assert end is None, "the killed action has no end"
    assert count_transitions(root, svc, crashed_id) == n

    r = osvc(root, "-s", svc, "recover", wrap=wrap, node=node)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"action '{begin['action']}' ({crashed_id}) recovered: its process (pid {begin['pid']}) is dead" in r.stdout
    last_id, _, end = actions(root, svc)[-1]
    assert last_id == crashed_id and end["outcome"] == "interrupted"
    for row in journal_rows(root, svc=svc, kind="transition", action_id=crashed_id):
        if row["event"].startswith("recover_"):
            assert row["payload"]["reason"].startswith(f"interrupted action {crashed_id}: its process")
    recovered_states = states(root, svc)
    check_in_line(root, svc, wrap, node=node)
    assert no_open_action(root, svc)
    if not resume:
        return Cycle(crashed_id, begin["steps"], end["recovered"], recovered_states, None, None, None)

    r = osvc(root, "-s", svc, "recover", "--resume", wrap=wrap, node=node)
    resumed_id, rbegin, rend = actions(root, svc)[-1]
    assert rbegin["resumes"] == crashed_id and rbegin["argv"] == begin["argv"]
    assert rend is not None and rend["outcome"] in ("ok", "failed")
    check_in_line(root, svc, wrap, node=node)
    return Cycle(crashed_id, begin["steps"], end["recovered"], recovered_states, resumed_id, r.returncode,
                 r.stdout + r.stderr)
