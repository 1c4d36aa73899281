"""Status evaluation: ask each resource's driver, apply the flags, build and cache the document.

The cached document (`var/<svc>/status.json`) is a derived view: `print status` serves it while it is
newer than the env file, `--refresh` and every state-changing action rebuild it.
"""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

CACHE_NAME = "status.json"
STATES_NAME = "states.json"
FROZEN_NAME = "frozen"


def resource_type(res):
    """`ip`, `fs`, `app`, or `<family>.<driver type>` where the type names a driver (container.hpvm...)."""
    if res.type and res.family in ("container", "disk", "sync", "hb", "share"):
        return f"{res.family}.{res.type}"
    return res.family


def cache_path(node, svc) -> Path:
    return node.svc_var(svc) / CACHE_NAME


def is_frozen(node, svc) -> bool:
    return (node.svc_var(svc) / FROZEN_NAME).exists()


def write_atomic(path: Path, text: str, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_cache(node, svc, stale_ok=False):
    """The cached document if it is still valid (newer than the env file and launchers), else None.

    stale_ok: return it even when outdated (the previous status the restart policy compares with)."""
    path = cache_path(node, svc)
    try:
        cache_mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    for dep in () if stale_ok else (node.env_file(svc), node.launchers_dir(svc)):
        try:
            if dep.stat().st_mtime > cache_mtime:
                return None
        except FileNotFoundError:
            pass
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def load_states(node, svc) -> dict:
    """rid -> machine state, as the last action left them ('' key for the service machine)."""
    try:
        with open(node.svc_var(svc) / STATES_NAME) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def save_states(node, svc, states: dict):
    write_atomic(node.svc_var(svc) / STATES_NAME, json.dumps(states, sort_keys=True))


def resource_status(res, driver):
    """(value, logs) of one resource, flags applied (reference §2.3)."""
    from engine import status as st

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


def evaluate(node, spec, drivers, states=None):
    """Build the status document of `spec` on this node. `drivers` maps rid -> Driver (or None)."""
    from engine import status as st
    from machines.defs import kind_of, machine_def

    states = load_states(node, spec.name) if states is None else states
    rows = []
    for res in spec.resources:
        driver = drivers.get(res.rid)
        # encap resources are evaluated by the guest engine, not here
        value, logs = ("n/a", []) if res.encap else resource_status(res, driver)
        try:
            label = driver.label() if driver is not None else res.rid
        except Exception:
            label = res.rid
        rows.append({
            "rid": res.rid, "type": resource_type(res), "status": value, "label": label, "log": logs,
            "monitor": res.monitor, "disable": res.disabled, "optional": res.optional,
            "encap": res.encap, "tags": sorted(res.tags), "state": states.get(res.rid) or machine_def(kind_of(res.family)).initial,
        })
    updated = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc = st.aggregate(rows, None, svcname=spec.name, nodename=node.name,
                       frozen=is_frozen(node, spec.name), updated=updated)
    return doc


def write_cache(node, svc, doc):
    write_atomic(cache_path(node, svc), json.dumps(doc, indent=1))
