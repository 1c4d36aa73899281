"""Write-ahead under relaxed step ends (engine/executor.py run_step, engine/session.py Session.relaxed).

A step's end (`started`, `stopped`) and the service's begin and end are journaled relaxed: no fsync of
their own, made durable by the next durable record. The rule that must hold: every effect (a start or
stop command) happens after the durable begin of its resource's step, so a power loss at any moment
leaves a journal that shows every effect that happened as at least begun, and recovery probes it.

Two tests of it: the journal order of a whole start and stop (each command after a durable begin), and
a power-loss matrix: kill the action after each transition, drop what a power loss may drop (every
record after the last durable one; the anchor from a boot before), then recover and check that journal,
machines and reality agree. Either fails if a begin were journaled relaxed (or after its effect).
"""

import sqlite3

import pytest

from core.record import replace
from journal import anchor
from tests.helpers.cli import journal_rows, osvc
from tests.helpers.crash import (
    CRASH_ENV,
    actions,
    check_in_line,
    count_transitions,
    kill_points,
    no_open_action,
    states,
)
from tests.helpers.launchers import launcher_service, running

START = ["start", "app#1.start", "app#1.started", "app#2.start", "app#2.started", "app#3.start", "app#3.started",
         "started"]
STOP = ["stop", "app#3.stop", "app#3.stopped", "app#2.stop", "app#2.stopped", "app#1.stop", "app#1.stopped",
        "stopped"]
BEGINS = ("start", "stop")


@pytest.fixture
def svc(osvc_root):
    return launcher_service(osvc_root)


def effects_follow_durable_begins(root, action_id):
    """Assert, over the action's records in journal order, that each start/stop command comes after the
    durable begin of its resource's step, with no relaxed record in between that a power loss could take
    without taking the command's begin too. Returns the action's (event, durable) transitions."""
    rows = journal_rows(root, svc="web", action_id=action_id)
    last_durable, begun = 0, {}
    for r in rows:
        if r["kind"] == "transition" and r["rid"] and r["event"] in BEGINS:
            assert r["durable"], f"{r['rid']} {r['event']}: a step's begin must be durable"
            begun[r["rid"]] = r["seq"]
        argv = r["payload"].get("argv") or [] if r["kind"] == "command" else []
        if argv[-1:] in (["start"], ["stop"]):
            assert r["rid"] in begun, f"{r['rid']}: {argv[-1]} ran before its step began"
            assert last_durable >= begun[r["rid"]], \
                f"{r['rid']}: {argv[-1]} ran while its begin (seq {begun[r['rid']]}) was not yet durable"
        if r["durable"]:
            last_durable = r["seq"]
    assert rows[-1]["kind"] != "transition" or rows[-1]["durable"] or any(
        x["durable"] and x["seq"] > rows[-1]["seq"] for x in rows), "the action's last transition is never synced"
    return [(f"{r['rid']}.{r['event']}" if r["rid"] else r["event"], r["durable"])
            for r in rows if r["kind"] == "transition"]


def test_every_effect_follows_a_durable_begin(osvc_root, svc):
    for argv, names in ((["start"], START), (["stop"], STOP)):
        assert osvc(osvc_root, "-s", "web", *argv).returncode == 0
        action_id, _, end = actions(osvc_root, "web")[-1]
        assert end["outcome"] == "ok"
        seen = effects_follow_durable_begins(osvc_root, action_id)
        assert [name for name, _ in seen] == names
        # begins durable; the steps' ends and the service's transitions relaxed (the end record syncs them)
        assert [durable for name, durable in seen] == [name.split(".")[-1] in BEGINS and "." in name for name in names]
        end_row = next(r for r in journal_rows(osvc_root, svc="web", kind="action", action_id=action_id)
                       if r["event"] == "end")
        assert end_row["durable"]


def test_a_failed_step_stays_durable(osvc_root, svc):
    (svc / "b.fail").touch()
    assert osvc(osvc_root, "-s", "web", "start").returncode != 0
    action_id, _, end = actions(osvc_root, "web")[-1]
    assert end["outcome"] == "failed"
    seen = effects_follow_durable_begins(osvc_root, action_id)    # the rollback's stops too
    assert ("app#2.start_failed", True) in seen


def power_loss(root):
    """What a power loss may leave: the records up to the last durable one (a durable commit fsyncs the
    WAL as a whole), and the anchor of the boot before (verify tells lost relaxed records from a
    truncation by the boot id). Returns the events dropped."""
    db = root / "var" / "journal.db"
    with sqlite3.connect(db) as conn:
        (last_durable,) = conn.execute("SELECT max(seq) FROM events WHERE durable = 1").fetchone()
        dropped = [e for (e,) in conn.execute("SELECT event FROM events WHERE seq > ? ORDER BY seq", (last_durable,))]
        conn.execute("DELETE FROM events WHERE seq > ?", (last_durable,))
    conn.close()
    other_boot = bytes(b ^ 0xFF for b in anchor.BOOT_ID)
    with open(anchor.path_for(db), "r+b") as fh:     # each slot as it was, written in the boot before
        data = fh.read(2 * anchor.SLOT)
        for i in range(2):
            head = anchor.unpack(data[i * anchor.SLOT:(i + 1) * anchor.SLOT])
            if head is not None:
                fh.seek(i * anchor.SLOT)
                fh.write(anchor.pack(replace(head, boot=other_boot)))
    return dropped


def power_loss_cycle(root, state, argv, n):
    r = osvc(root, "-s", "web", *argv, env={CRASH_ENV: str(n)})
    assert r.returncode == -9, r.stdout + r.stderr
    crashed_id, _, end = actions(root, "web")[-1]
    assert end is None and count_transitions(root, "web", crashed_id) == n
    up_before = running(state)
    dropped = power_loss(root)
    r = osvc(root, "-s", "web", "recover")
    assert r.returncode == 0, r.stdout + r.stderr
    assert no_open_action(root, "web")
    check_in_line(root, "web")               # verify, replay --check, every machine as the probe sees it
    recovered = states(root, "web")
    for rid, name in (("app#1", "a"), ("app#2", "b"), ("app#3", "c")):
        assert (recovered[rid] == "up") == (name in up_before), (rid, recovered, up_before, dropped)
    return dropped


@pytest.mark.parametrize("n", [3, 7])
def test_power_loss_after_a_relaxed_started(osvc_root, svc, n):
    """The start's `app#N.started` is lost with the power: app#N was started, the journal says `starting`;
    recovery probes it up."""
    dropped = power_loss_cycle(osvc_root, svc, ["start"], n)
    assert dropped[-1] == "started"
    assert states(osvc_root, "web")[f"app#{n // 2}"] == "up"


@pytest.mark.slow
@pytest.mark.parametrize("n", kill_points(START))
def test_start_power_loss_at_every_transition(osvc_root, svc, n):
    power_loss_cycle(osvc_root, svc, ["start"], n)


@pytest.mark.slow
@pytest.mark.parametrize("n", kill_points(STOP))
def test_stop_power_loss_at_every_transition(osvc_root, svc, n):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    power_loss_cycle(osvc_root, svc, ["stop"], n)
