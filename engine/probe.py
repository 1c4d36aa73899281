"""Status evaluation: ask each resource's driver, apply the flags, build the document.

engine/states.py caches it (`var/<svc>/status.json`); `--refresh` and every state-changing action
rebuild it through here.
"""

from domain.families import GATE_EXCLUDED_TYPES, GATE_FAMILIES, GATED_FAMILIES, status_type
from engine.states import is_frozen, load_states


def resource_type(res):
    """`ip`, `fs`, `app`, or `<family>.<driver type>` where the type names a driver (container.hpvm...)."""
    return status_type(res.family, res.type)


def resource_status(res, driver):
    """(value, logs) of one resource, flags applied (docs/agent-reference.md §2.3)."""
    from domain import status as st

    if res.disabled:
        return "n/a", ["disabled"]
    if "nostatus" in res.tags:
        return "n/a", ["nostatus tag"]
    if driver is None:
        return "undef", [f"no driver for {resource_type(res)}"]
    try:
        value, logs = driver.status()
    except Exception as exc:  # a probe failing is a status, not a crash
        return "undef", [f"error: {exc}"]
    return st.standby(value, res.standby), list(logs)


# Resources whose avail gates the app and sync probes (docs/agent-reference.md §6.4: "not evaluated (instance not
# up)"): GATE_FAMILIES but their GATE_EXCLUDED_TYPES (SCSI reservations and drbd do not say whether
# the instance runs); GATED_FAMILIES are probed after them (domain.families' probe column).


def instance_avail(spec, values):
    """The avail of the ip/disk/fs/share/container resources (None when the service has none)."""
    from domain import status as st

    avail = None
    for res in spec.resources:
        if res.family in GATE_FAMILIES and res.type not in GATE_EXCLUDED_TYPES and not res.disabled \
                and not res.in_guest:
            value = st.parse(values[res.rid][0])
            avail = value if avail is None else st.MERGE[avail, value]
    return None if avail is None else st.PUBLIC[avail]


def prepare(drivers, hook):
    """Each driver class's classmethod `hook` (Driver.prepare_status, Driver.prepare_start) with its drivers of
    `drivers`: checks that are commands may run in one spawn for them all (the app's [app#N]: one /bin/sh for
    every check instead of a spawn each). The drivers the hooks answered (what they return); a failure there
    is nobody's: each driver then probes for itself."""
    by_class, answered = {}, set()
    for driver in drivers:
        by_class.setdefault(type(driver), []).append(driver)
    for cls, group in by_class.items():
        try:
            answered.update(getattr(cls, hook)(group) or ())
        except Exception:  # noqa: BLE001, S110 - a probe failing is a status (resource_status), never a crash
            pass
    return answered


def _prepare(todo, drivers):
    """prepare_status with the drivers of `todo` resource_status will ask status() (not disabled, no nostatus
    tag): the rids whose status() needs no probe of its own any more (answered, or never asked)."""
    asked = [res for res in todo if drivers.get(res.rid) is not None and not res.disabled
             and "nostatus" not in res.tags]
    answered = prepare([drivers[res.rid] for res in asked], "prepare_status")
    return {res.rid for res in todo} - {res.rid for res in asked if drivers[res.rid] not in answered}


def _probe_all(resources, drivers):
    """rid -> (value, logs), probing concurrently: probes are commands, mostly waiting."""
    todo = [r for r in resources if not r.in_guest]   # the guest engine evaluates its own
    results = {r.rid: ("n/a", []) for r in resources if r.in_guest}
    ready = _prepare(todo, drivers)
    results.update({r.rid: resource_status(r, drivers.get(r.rid)) for r in todo if r.rid in ready})
    todo = [r for r in todo if r.rid not in ready]   # a thread each costs ~1 ms: only for real probes
    if len(todo) <= 1:
        results.update({r.rid: resource_status(r, drivers.get(r.rid)) for r in todo})
        return results
    from concurrent.futures import ThreadPoolExecutor

    from drivers.runner import import_sh

    import_sh()    # here, not in a probe thread: its first import swaps importlib.metadata process-wide
    with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
        for res, result in zip(todo, pool.map(lambda r: resource_status(r, drivers.get(r.rid)), todo)):
            results[res.rid] = result
    return results


def evaluate(node, spec, drivers, states=None, refresh_guests=False):
    """Build the status document of `spec` on this node. `drivers` maps rid -> Driver (or None).

    Two waves of concurrent probes: first everything but app and sync, then app and sync with the
    instance's avail in their context (an app is not checked where the instance is not up)."""
    from domain import status as st
    from domain.families import machine_of
    from machines.defs import machine_def

    states = load_states(node, spec.name) if states is None else states
    first = [r for r in spec.resources if r.family not in GATED_FAMILIES]
    values = _probe_all(first, drivers)
    avail = instance_avail(spec, values)
    gated = [r for r in spec.resources if r.family in GATED_FAMILIES]
    for res in gated:
        driver = drivers.get(res.rid)
        if driver is not None and avail is not None:
            ctx = driver.ctx      # what the engine already knows stays (a sync action's service_avail)
            if ctx.instance_avail is None:
                ctx.instance_avail = avail      # app: check only a running instance
            if ctx.service_avail is None:
                ctx.service_avail = avail       # sync: passive node or active one
    values.update(_probe_all(gated, drivers))
    rows = []
    for res in spec.resources:
        driver = drivers.get(res.rid)
        value, logs = values[res.rid]
        try:
            label = driver.label() if driver is not None else res.rid
        except Exception:
            label = res.rid
        rows.append({
            "rid": res.rid, "type": resource_type(res), "status": value, "label": label, "log": logs,
            "monitor": res.monitor, "disable": res.disabled, "optional": res.optional,
            "encap": res.encap, "tags": sorted(res.tags),
            "state": states.get(res.rid) or machine_def(machine_of(res.family)).initial,
        })
    from datetime import datetime, timezone   # only when evaluating: the cached read never needs it

    updated = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    from engine.encap import guest_documents

    guests = guest_documents(node, spec, drivers, values, refresh=refresh_guests)   # None: no guest to fold
    doc = st.aggregate(rows, guests, svcname=spec.name, nodename=node.name,
                       frozen=is_frozen(node, spec.name), updated=updated)
    if spec.default.get("show_disabled") is False:
        doc["show_disabled"] = False    # DEFAULT.show_disabled: the tree hides them (the cached read loads no config)
    return doc


