"""The machines: tables consistent, the running machines accept exactly the tables, write-ahead hook."""

import subprocess
import sys
from collections import deque

import pytest

from machines import defs
from machines.core import (Attached, MachineError, Model, attach, can, detach, detach_all, fire, machine, restore,
                           transitions_of)

KINDS = defs.KINDS


# --- the tables -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_table_is_consistent(kind):
    mdef = defs.machine_def(kind)
    states = set(mdef.states)
    assert len(states) == len(mdef.states), "duplicate state"
    assert mdef.initial in mdef.stable
    seen = {}
    for trigger, sources, dest in transitions_of(kind):
        assert trigger.isidentifier(), trigger
        assert dest in states, (trigger, dest)
        assert set(sources) <= states, (trigger, sources)
        for src in sources:
            # deterministic: one destination per (trigger, source)
            assert seen.setdefault((trigger, src), dest) == dest, (trigger, src)


@pytest.mark.parametrize("kind", KINDS)
def test_every_state_reachable_from_initial(kind):
    mdef = defs.machine_def(kind)
    edges = {}
    for row in mdef.rows:
        if row[1] == defs.ANY:      # recovery rows would make everything trivially reachable
            continue
        for src in row[1]:
            edges.setdefault(src, set()).add(row[2])
    seen, todo = {mdef.initial}, deque([mdef.initial])
    while todo:
        for nxt in edges.get(todo.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(mdef.states)


@pytest.mark.parametrize("kind", KINDS)
def test_every_transient_state_can_end_and_every_stable_state_can_be_recovered(kind):
    mdef = defs.machine_def(kind)
    for s in mdef.stable:
        for any_state in mdef.states:
            assert defs.dest_of(kind, f"recover_{s.replace('-', '_')}", any_state) == s
    for t in mdef.transient:
        assert any(defs.dest_of(kind, trig, t) for trig in defs.triggers_of(kind) if not trig.startswith("recover_"))


def test_design_states_are_present():
    assert set(defs.states_of("container")) >= {"down", "starting", "wait-up", "wait-ping", "wait-operational", "up",
                                                 "stopping", "wait-down", "force-stopping", "migrating",
                                                 "start-failed", "stop-failed"}
    assert set(defs.states_of("hb")) == {"ha-disabled", "ha-enabling", "ha-enabled", "ha-disabling", "ha-failed"}
    assert set(defs.states_of("resource")) == {"down", "starting", "up", "stopping", "start-failed", "stop-failed"}
    assert set(defs.states_of("service")) == {"idle", "starting", "started", "stopping", "stopped", "start-failed",
                                               "stop-failed", "rolling-back", "migrating", "switching"}
    assert "frozen" not in defs.states_of("service")


def test_family_kinds():
    """The families table names each family's machine kind (domain and machines never import each other)."""
    from domain.families import MACHINE_KINDS, machine_of
    from domain.service import FAMILIES

    assert {f: machine_of(f) for f in ("container", "hb", "ip", "disk", "fs", "share", "app", "sync")} == {
        "container": "container", "hb": "hb", "ip": "resource", "disk": "resource", "fs": "resource",
        "share": "resource", "app": "resource", "sync": "resource"}
    assert set(FAMILIES) | {"encap"} == set(MACHINE_KINDS)   # encap: the guest engine's step, no section
    assert set(MACHINE_KINDS.values()) == set(defs.RESOURCE_KINDS), "a family names a kind the machines lack"
    with pytest.raises(ValueError, match="no state machine for resource family 'vm'"):
        machine_of("vm")


def test_steps_walk_the_tables():
    """The executor's step sequences are valid paths from a stable state."""
    for (kind, _direction), step in defs.PHASES.items():
        state = defs.machine_def(kind).initial
        for trig in (step.begin, *step.waypoints):
            state = defs.dest_of(kind, trig, state)
            assert state is not None, (kind, trig)
        assert defs.dest_of(kind, step.ok, state) in defs.machine_def(kind).stable
        assert defs.dest_of(kind, step.failed, state) in defs.machine_def(kind).stable


def test_defs_does_not_import_transitions():
    code = "import sys, machines.defs, machines.cli; print('transitions' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the running machines ------------------------------------------------------------------------
def journaled():
    records = []
    return records, records.append


@pytest.mark.parametrize("kind", KINDS)
def test_machine_accepts_exactly_the_table(kind):
    """Every (state, trigger) pair: allowed by the table <=> the machine moves to the table's dest."""
    records, append = journaled()
    mdef = defs.machine_def(kind)
    for state in mdef.states:
        for trigger in defs.triggers_of(kind):
            m = attach(Model("r", journal=append), kind, state)
            expected = defs.dest_of(kind, trigger, state)
            assert can(m, trigger) is (expected is not None)
            if expected is None:
                with pytest.raises(MachineError):
                    fire(m, trigger)
                assert m.state == state
            else:
                assert fire(m, trigger) is True
                assert m.state == expected
                assert records[-1] == {"kind": "transition", "machine": kind, "event": trigger, "src": state,
                                       "dst": expected, "payload": {}}
            detach(m)


def test_unknown_trigger_is_refused():
    m = attach(Model("fs#1", journal=lambda r: None), "resource")
    with pytest.raises(MachineError, match="no trigger 'wait_up' in the resource machine"):
        fire(m, "wait_up")
    assert not can(m, "wait_up")
    assert not hasattr(m, "to_up"), "auto transitions must be off"


def test_one_shared_machine_per_kind():
    a = attach(Model("a", journal=lambda r: None), "resource")
    b = attach(Model("b", journal=lambda r: None), "resource")
    assert machine("resource") is machine("resource")
    assert a in machine("resource").models and b in machine("resource").models
    detach(a)
    assert a not in machine("resource").models and b in machine("resource").models
    assert not hasattr(a, "start"), "detach removes the bound triggers"
    detach(b)


def test_container_start_sequence_is_journaled_in_order_with_payload():
    records, append = journaled()
    c = attach(Model("ovm", journal=append), "container")
    step = defs.PHASES[("container", "start")]
    fire(c, step.begin, reason="operator start")
    for w in step.waypoints:
        fire(c, w)
    fire(c, step.ok, duration=12.5)
    assert [(r["event"], r["src"], r["dst"]) for r in records] == [
        ("start", "down", "starting"), ("wait_up", "starting", "wait-up"), ("wait_ping", "wait-up", "wait-ping"),
        ("wait_operational", "wait-ping", "wait-operational"), ("started", "wait-operational", "up")]
    assert records[0]["payload"] == {"reason": "operator start"}
    assert records[-1]["payload"] == {"duration": 12.5}
    detach(c)


def test_hook_journals_before_the_state_changes():
    seen = []
    m = Model("ip#1")
    m.journal = lambda rec: seen.append((m.state, rec["src"], rec["dst"]))
    attach(m, "resource")
    fire(m, "start")
    fire(m, "started")
    assert seen == [("down", "down", "starting"), ("starting", "starting", "up")]
    assert m.state == "up"
    detach(m)


def test_failing_journal_aborts_the_transition():
    from core.errors import JournalError

    def refuse(rec):
        raise JournalError("journal is read-only")

    m = attach(Model("fs#1", journal=refuse), "resource", "up")
    with pytest.raises(JournalError, match="read-only"):
        fire(m, "stop")
    assert m.state == "up"
    detach(m)


def test_model_without_journal_cannot_transition():
    from core.errors import JournalError

    m = attach(Model("fs#1"), "resource")
    with pytest.raises(JournalError, match="no journal attached"):
        fire(m, "start")
    assert m.state == "down"
    detach(m)


def test_positional_arguments_are_refused():
    records, append = journaled()
    m = attach(Model("fs#1", journal=append), "resource")
    with pytest.raises(TypeError, match="pass details as keywords"):
        m.start("why")
    assert m.state == "down" and records == []
    detach(m)


def test_restore_and_attach_fire_no_callback():
    calls = []
    m = attach(Model("app", journal=calls.append), "resource", "stop-failed")
    assert m.state == "stop-failed"
    restore(m, "up")
    restore(m, "starting")
    assert m.state == "starting" and calls == []
    fire(m, "started")
    assert len(calls) == 1
    with pytest.raises(ValueError, match="unknown resource state 'wait-up'"):
        restore(m, "wait-up")
    with pytest.raises(ValueError, match="unknown container state 'bogus'"):
        attach(Model("c"), "container", "bogus")
    detach(m)


def test_models_with_callbacks_or_trigger_names_are_refused():
    class WithCallback(Model):
        def on_enter_up(self, ev):
            pass

    class WithTrigger(Model):
        def start(self):
            pass

    with pytest.raises(TypeError, match="on_enter_up"):
        attach(WithCallback("x"), "resource")
    with pytest.raises(TypeError, match="defines start"):
        attach(WithTrigger("x"), "resource")


def test_service_rollback_path():
    records, append = journaled()
    s = attach(Model("", journal=append), "service")
    for t in ("start", "start_failed", "rollback", "rolled_back"):
        fire(s, t)
    assert s.state == "start-failed"
    assert [r["dst"] for r in records] == ["starting", "start-failed", "rolling-back", "start-failed"]
    detach(s)


def test_recovery_from_a_transient_state():
    records, append = journaled()
    c = attach(Model("ovm", journal=append), "container", "wait-ping")   # restored: crashed mid-start
    fire(c, "recover_up", reason="container answers ping after restart")
    assert c.state == "up"
    assert records == [{"kind": "transition", "machine": "container", "event": "recover_up", "src": "wait-ping",
                        "dst": "up", "payload": {"reason": "container answers ping after restart"}}]
    detach(c)


def test_ten_thousand_models_share_one_machine():
    records, append = journaled()
    models = [Model(f"fs#{i}", journal=append) for i in range(10_000)]
    for x in models:                # (a bulk load with GC paused: bench/machines.py attach_many)
        attach(x, "resource")
    m = machine("resource")
    assert len(m.models) >= 10_000
    for x in models[:100]:
        fire(x, "start")
    assert {x.state for x in models[:100]} == {"starting"} and {x.state for x in models[100:]} == {"down"}
    assert len(records) == 100
    for x in models:
        detach(x)
    assert all(x not in m.models for x in models[:10])


def test_attached_detaches_every_model_at_the_end_of_an_action():
    records, append = journaled()
    shared = machine("resource")
    before = len(shared.models)
    with pytest.raises(RuntimeError):
        with Attached() as models:
            a = models.attach(Model("fs#1", journal=append), "resource")
            b = models.attach(Model("", journal=append), "service", "started")
            fire(a, "start")
            assert a in shared.models and b in machine("service").models
            raise RuntimeError("the action failed")
    assert a not in shared.models and b not in machine("service").models and len(shared.models) == before
    assert (a.state, b.state) == ("starting", "started"), "the states stay readable"
    assert not hasattr(a, "start") and models.models == []
    c = attach(Model("ip#1", journal=append), "resource")
    assert detach_all([c]) == [c] and c not in shared.models


def test_the_shared_machines_keep_transitions_own_model_list():
    """No private registry replaces transitions' `models` (machines.core once did, for bulk loads)."""
    assert all(type(machine(kind).models) is list for kind in KINDS)


def test_an_action_leaves_no_model_on_the_shared_machines(osvc_root, capsys):
    """The executor detaches its models when the action ends: a process running several actions
    (restart's nested executors, a resume, in-process tests) does not keep them alive."""
    import cli
    from tests.helpers.launchers import launcher_service

    launcher_service(osvc_root)
    counts = {kind: len(machine(kind).models) for kind in KINDS}
    for action in ("start", "stop", "start"):
        rc = cli.main(["-s", "web", action])
        assert rc == 0, capsys.readouterr().err
        assert {kind: len(machine(kind).models) for kind in KINDS} == counts, action
