"""The vocabulary tables (domain/families.py, domain/actions.py, the state words of machines/defs.py):
every order and set derived from them is the one the engine used when each was spelled out by hand,
every place that once listed them reads them, and a new family or action is one row."""

import pytest

from domain import actions, families
from domain.families import Family


# --- families ------------------------------------------------------------------------------------
# The literals each module held before the table (engine/model.py, plan.py, status.py, render.py,
# evaluate.py, keywords.py): the derived values must be these, in this order where order matters.
ORDERS = {
    "CONFIG_ORDER": ("container", "hb", "ip", "disk", "fs", "share", "app", "sync"),
    "START_ORDER": ("ip", "disk", "fs", "share", "container", "app", "encap", "hb"),
    "GROUPS": ("container", "ip", "disk", "fs", "share", "app", "sync", "hb"),
    "AVAIL_FAMILIES": ("container", "ip", "disk", "fs", "share", "app"),
    "AVAIL_ORDER": ("container", "disk", "share", "fs", "ip", "app"),
    "FORGED_DOWN": ("container", "ip", "disk", "fs", "share", "hb"),
}
SETS = {
    "GATE_FAMILIES": ("ip", "disk", "fs", "share", "container"),
    "GATED_FAMILIES": ("app", "sync"),
    "GATE_EXCLUDED_TYPES": ("scsireserv", "drbd"),
    "TYPED_FAMILIES": ("container", "disk", "sync", "hb", "share"),
}


@pytest.mark.parametrize("name", ORDERS)
def test_each_order_is_the_one_spelled_out_before(name):
    assert getattr(families, name) == ORDERS[name]


@pytest.mark.parametrize("name", SETS)
def test_each_set_is_the_one_spelled_out_before(name):
    assert sorted(getattr(families, name)) == sorted(SETS[name])


def test_the_other_columns_are_the_ones_spelled_out_before():
    assert families.RID_ALIASES == {"vmdg": "disk", "vg": "disk", "loop": "disk", "drbd": "disk", "pool": "disk",
                                    "vdisk": "disk"}
    assert families.MACHINE_KINDS == {"container": "container", "hb": "hb", "ip": "resource", "disk": "resource",
                                      "fs": "resource", "share": "resource", "app": "resource", "sync": "resource",
                                      "encap": "encap"}
    assert families.row("container").timeouts is families.TIMEOUTS
    assert families.TIMEOUTS["ovm"] == (180, 120) and families.TIMEOUTS[""] == (600, 60)


def test_every_place_reads_the_table():
    from config import keywords
    from domain import render, service, status
    from engine import plan, probe

    assert service.FAMILIES is families.CONFIG_ORDER
    assert plan.START_ORDER is families.START_ORDER
    assert status.GROUPS is families.GROUPS and status.AVAIL_FAMILIES is families.AVAIL_FAMILIES
    assert status.FORGED_DOWN is families.FORGED_DOWN and status.RID_FAMILIES is families.RID_ALIASES
    assert render.AVAIL_ORDER is families.AVAIL_ORDER
    assert probe.GATE_FAMILIES is families.GATE_FAMILIES and probe.GATED_FAMILIES is families.GATED_FAMILIES
    assert probe.GATE_EXCLUDED_TYPES is families.GATE_EXCLUDED_TYPES
    assert keywords.DEPRECATED_FAMILIES is families.RID_ALIASES
    assert list(keywords.FAMILIES) == list(families.CONFIG_ORDER)
    assert set(keywords._KEYWORDS) == set(families.CONFIG_ORDER), "keywords of a family that is not one"


def test_ranks_are_unique_and_the_columns_agree():
    for rank in families.RANKS:
        values = [getattr(f, rank) for f in families.ROWS if getattr(f, rank) is not None]
        assert len(values) == len(set(values)), rank
    for f in families.ROWS:
        assert f.probe in ("gate", "gated", ""), f
        assert not f.not_gating or f.probe == "gate", f
        assert f.avail is None or f.group is not None, f"{f.name}: in avail but no group"
        # a section family runs a machine; so does the one step that is no section (encap: the guest's part)
        assert (f.config is None and f.name != "encap") == (f.machine is None), f"{f.name}: machine column"
    assert set(families.FORGED_DOWN) <= set(families.GROUPS)
    assert set(families.AVAIL_FAMILIES) == set(families.AVAIL_ORDER)


def test_machine_kinds_are_names_of_the_machines():
    from machines import defs

    assert set(families.MACHINE_KINDS.values()) <= set(defs.KINDS)
    for kind in set(families.MACHINE_KINDS.values()):
        assert (kind, "start") in defs.PHASES and (kind, "stop") in defs.PHASES


def test_a_new_family_is_one_row():
    """A family added to the table lands in every order and set it has a column for."""
    vm = Family("vm", 90, 55, 90, 70, "resource", "gate", True, True, aliases=("vmx",))
    rows = (*families.ROWS, vm)
    assert families.by("config", rows)[-1] == "vm"
    assert families.by("start", rows) == ("ip", "disk", "fs", "share", "container", "vm", "app", "encap", "hb")
    assert families.by("group", rows)[-1] == "vm" and families.by("avail", rows)[-1] == "vm"
    # and the table's own order, the one a reader sees, says nothing: only the columns do
    assert families.by("start", tuple(reversed(rows))) == families.by("start", rows)


def test_unknown_family():
    with pytest.raises(ValueError, match="unknown resource family 'vm'"):
        families.row("vm")
    with pytest.raises(ValueError, match="no state machine for resource family 'vm'"):
        families.machine_of("vm")


# --- actions -----------------------------------------------------------------------------------------
def test_the_cli_lists_the_table():
    import cli

    assert list(cli.ACTIONS) == list(actions.ACTIONS)
    for name, (handler, needs_service, text, example) in cli.ACTIONS.items():
        row = actions.ACTIONS[name]
        assert (handler, needs_service, text, example) == (row.handler, row.needs_service, row.help, row.example)
        assert example.startswith("osvc-engine -s ") and f" {name.split()[0]}" in example, name


def test_handlers_resolve():
    import importlib

    for row in actions.ROWS:
        module, func = row.handler.split(":")
        assert callable(getattr(importlib.import_module(module), func)), row.handler


# The executor's, planner's and audit's sets as they were spelled out before the table.
def test_planned_actions_are_the_ones_spelled_out_before():
    every = families.START_ORDER
    before = {
        "start": ("start", every, False), "stop": ("stop", every, False), "startstandby": ("start", every, True),
        "shutdown": ("stop", every, False), "startip": ("start", ("ip",), False), "stopip": ("stop", ("ip",), False),
        "startdisk": ("start", ("disk",), False), "stopdisk": ("stop", ("disk",), False),
        "startfs": ("start", ("disk", "fs"), False), "stopfs": ("stop", ("disk", "fs"), False),
        "startshare": ("start", ("share",), False), "stopshare": ("stop", ("share",), False),
        "startcontainer": ("start", ("container",), False), "stopcontainer": ("stop", ("container",), False),
        "startapp": ("start", ("app",), False), "stopapp": ("stop", ("app",), False),
        "starthb": ("start", ("hb",), False), "stophb": ("stop", ("hb",), False),
        "prstart": ("start", ("disk",), False), "prstop": ("stop", ("disk",), False),
    }
    assert {a: (actions.ACTIONS[a].direction, actions.ACTIONS[a].families, actions.ACTIONS[a].standby_only)
            for a in actions.PLANNED} == before
    assert {a.name: a.type_filter for a in actions.ROWS if a.type_filter} == {"prstart": "scsireserv",
                                                                            "prstop": "scsireserv"}


def test_executor_sets_are_the_ones_spelled_out_before():
    assert actions.ROLLBACK == {"start", "startstandby", "boot", "startip", "startdisk", "startfs", "startshare",
                                "startcontainer", "startapp", "starthb", "prstart"}
    assert actions.WITHOUT_CLUSTER == {"boot", "startstandby"}
    assert actions.COMPOSITE == {"restart": ("stop", "start")}
    assert actions.SYNC_ACTIONS == ("sync_nodes", "sync_drp", "sync_all")
    assert actions.SYNC_HOOKS == ("presync", "postsync")
    assert actions.lock_name("sync_all", "web") == "web.sync" and actions.lock_name("postsync", "web") == "web"
    assert actions.lock_name("start", "web") == "web" and actions.lock_name("print status", "web") is None


def test_audit_kinds_are_the_ones_the_audit_found_before():
    """Before: a table of 11 names plus every action starting with start or stop; failover, takeover and
    giveback (1.x actions this engine does not have) are gone."""
    before = {"restart": ("stop", "start"), "migrate": ("migration",), "switch": ("failover",),
              "recover": ("recovery",), "boot": ("start",), "shutdown": ("stop",), "prstart": ("start",),
              "prstop": ("stop",)}
    for name in actions.ACTIONS:
        expected = set(before.get(name, ()))
        expected |= {k for k in ("start", "stop") if name.startswith(k)}
        assert set(actions.AUDIT_OF.get(name, ())) == expected, name
    assert all(k in actions.AUDIT_KINDS for kinds in actions.AUDIT_OF.values() for k in kinds)


def test_every_place_reads_the_actions_table():
    from engine import executor, plan
    from postmortem import audit

    assert executor.START_FAMILY is actions.ROLLBACK and executor.COMPOSITE is actions.COMPOSITE
    assert executor.ALLOW_WITHOUT_CLUSTER is actions.WITHOUT_CLUSTER
    assert plan.ACTIONS is actions.ACTIONS
    assert audit.ACTION_KINDS is actions.AUDIT_OF and audit.KINDS is actions.AUDIT_KINDS


def test_the_columns_agree():
    for a in actions.ROWS:
        assert a.direction in ("", actions.START, actions.STOP), a.name
        assert not a.families or a.direction, f"{a.name}: planned without a direction"
        assert set(a.families) <= set(families.START_ORDER), a.name
        assert tuple(f for f in families.START_ORDER if f in a.families) == a.families, f"{a.name}: start order"
        assert all(part in actions.ACTIONS for part in a.composite), a.name
        assert a.lock in ("", "service", "sync") and a.sync in ("", "action", "hook"), a.name
        assert not a.rollback or a.direction == actions.START, a.name
    assert actions.direction("stopfs") == "stop" and actions.direction("boot") == "start"
    assert actions.direction("restart") == "" and actions.direction("nosuch") == ""


def test_a_new_action_is_one_row(monkeypatch):
    """A row added to the table is planned, listed by the CLI and filed by the audit."""
    from engine import plan

    row = actions._run("startvm", actions.START, ("container",), "start the VMs", "osvc-engine -s web1 startvm")
    monkeypatch.setitem(actions.ACTIONS, "startvm", row)
    res = [_res("vm1", "container"), _res("ip#1", "ip")]
    assert [s.rid for s in plan.plan("startvm", res)] == ["vm1"]
    assert row.rollback and row.audit == ("start",) and row.lock == "service"


def _res(rid, family):
    from domain.service import ResourceSpec

    return ResourceSpec(rid, family)


# --- machine states -----------------------------------------------------------------------------
def test_state_words_are_the_ones_spelled_out_before():
    from machines import defs

    assert defs.UP_STATES == ("up", "ha-enabled") and defs.DOWN_STATES == ("down", "ha-disabled")
    assert defs.SOURCE_STATES == {"start": ("down", "ha-disabled"), "stop": ("up", "ha-enabled")}
    assert defs.DONE_STATES == {"start": ("up", "ha-enabled"), "stop": ("down", "ha-disabled")}
    stop_transient = {s for m in defs.MACHINES.values() for s in m.transient if defs.direction_of(s) == "stop"}
    assert stop_transient == {"stopping", "wait-down", "force-stopping", "ha-disabling"}
    assert defs.BEGINS == {"start": ("start", "enable"), "stop": ("stop", "disable")}
    assert defs.leaving("service", "rolling-back") == ("rolled_back", "rollback_failed")
    assert [defs.direction_of(s) for s in ("wait-ping", "ha-enabling", "migrating", "up", "rolling-back")] == \
        ["start", "start", None, None, None]
    assert defs.is_up("ha-enabled") and not defs.is_up("started") and defs.is_down("ha-disabled")


def test_every_transient_state_is_declared_once():
    from machines import defs

    for m in defs.MACHINES.values():
        assert not set(m.starting) & set(m.stopping), m.kind
        assert set(m.starting) | set(m.stopping) <= set(m.transient), m.kind


def test_the_readers_of_the_state_words():
    from engine import recovery
    from machines import defs
    from postmortem import audit, report

    assert recovery.UP_LIKE is defs.UP_STATES and recovery.DOWN_LIKE is defs.DOWN_STATES
    assert recovery.target_state("container", "force-stopping", "warn") == "stop-failed"
    assert recovery.target_state("container", "migrating", "warn") == "start-failed"
    assert audit.ROLLBACK_END == ("rolled_back", "rollback_failed") and audit.STOP_TRIGGERS == ("stop", "disable")
    assert report.COLORS == {
        "starting": "#4c8bd6", "wait-up": "#6aa5e8", "wait-ping": "#8ab8ee", "wait-operational": "#a9cbf3",
        "stopping": "#e09a3e", "wait-down": "#edb56b", "force-stopping": "#c9541c",
        "ha-enabling": "#4c8bd6", "ha-disabling": "#e09a3e",
        "rolling-back": "#8e63c7", "migrating": "#3aa39a", "switching": "#3aa39a",
    }
    transient = {s for m in defs.MACHINES.values() for s in m.transient}
    assert transient <= set(report.COLORS), "a transient state without a colour in the report"
