"""SCSI-3 reservation commands (reference §6.3): `prstatus`, the 1.x aliases, and `diskupdate`.

    prstatus          the status tree of the scsireserv resources only; exit code = their merged status
                      (0 up, 1 down, 2 warn, 3 n/a). `prstart`/`prstop` are executor actions (engine.plan).
    scsireserv        alias of prstart;  scsirelease: prstop;  scsicheckreserv: prstatus
    diskupdate        refresh the VM disk lists (vmdg and container disklist()) against the last known
                      ones (var/<svc>/disks.json), and the reservation set: where this node holds the
                      reservation, reserve the added disks and release the removed ones. Prints what
                      changed; journals one `observation` / `diskupdate` record (before/after per rid).
"""

import json
import os

DISKS_NAME = "disks.json"


def _pr_resources(spec):
    return [r for r in spec.resources if r.type == "scsireserv" and not r.encap]


def _drivers(node, spec, opts, runners=None):
    """Every driver of the service, sharing one rid -> driver table so a scsireserv or vmdg driver uses
    the same peer instance."""
    from drivers.runner import Runner
    from core.log import resource_logger, service_logger
    from drivers.registry import build_drivers

    service_logger(node, spec.name)
    shared = {}
    if runners is None:
        runner = Runner()
        runners = lambda rid: runner  # noqa: E731 - status probes: one quiet runner, no journal
    drivers = build_drivers(node, spec, runners=runners, loggers=lambda rid: resource_logger(spec.name, rid),
                            opts=opts, extra={"drivers": shared})
    shared.update({rid: d for rid, d in drivers.items() if d is not None})
    return drivers


# --- prstatus ---------------------------------------------------------------------------------------
def prstatus(node, svc, opts):
    from core.record import replace
    import sys

    from engine import probe

    from domain import render
    from domain import status as st
    from config.build import load_service

    spec = load_service(node, svc)
    pr = _pr_resources(spec)
    if not pr:
        print(f"{svc}: no scsireserv resource (set scsireserv = true in a disk or container section)")
        return st.INT[st.NA]
    drivers = _drivers(node, spec, opts)
    doc = probe.evaluate(node, replace(spec, resources=pr), drivers)
    if opts.format == "json":
        print(json.dumps(doc, indent=2))
    else:
        color = opts.color == "yes" or (opts.color == "auto" and sys.stdout.isatty())
        sys.stdout.write(render.render(doc, color=color))
    return st.exit_code(doc)


# --- 1.x aliases ----------------------------------------------------------------------------------------
def _as(action, node, svc, opts):
    from engine.executor import run_action

    opts.action = action
    return run_action(node, svc, opts)


def scsireserv(node, svc, opts):
    return _as("prstart", node, svc, opts)


def scsirelease(node, svc, opts):
    return _as("prstop", node, svc, opts)


def scsicheckreserv(node, svc, opts):
    return prstatus(node, svc, opts)


# --- diskupdate ---------------------------------------------------------------------------------------
def disks_path(node, svc):
    return node.svc_var(svc) / DISKS_NAME


def read_disks(node, svc) -> dict:
    try:
        return json.loads(disks_path(node, svc).read_text())
    except (OSError, ValueError):
        return {}


def write_disks(node, svc, table):
    from core.files import write_atomic

    write_atomic(disks_path(node, svc), json.dumps(table, indent=1, sort_keys=True))


def disk_holders(spec) -> list:
    """Resources with a VM disk list: vmdg resources, any scsireserv peer, and containers no vmdg speaks
    for (a vmdg lists its container's disks: one list per VM)."""
    peers = {r.conf.get("peer") for r in _pr_resources(spec)}
    grouped = {r.conf.get("container_id") for r in spec.resources if r.type == "vmdg"}
    return [r for r in spec.resources
            if not r.encap and not r.disabled and r.type != "scsireserv"
            and (r.type == "vmdg" or r.rid in peers or (r.family == "container" and r.rid not in grouped))]


def diskupdate(node, svc, opts):
    import uuid

    from drivers.base import DriverError
    from drivers.runner import Runner
    from engine.executor import Refused
    from config.build import load_service
    from engine.states import is_frozen
    from core.lock import ServiceLock
    from core.log import resource_logger, service_logger
    from journal.store import Journal

    spec = load_service(node, svc)
    log = service_logger(node, svc)
    if is_frozen(node, svc) and not opts.force and not opts.dry_run:
        reason = "Abort action 'diskupdate' for frozen service. Use --force to override."
        log.error(reason)
        raise Refused(reason)
    action_id = os.environ.get("OSVC_ACTION_ID") or uuid.uuid4().hex[:16]
    journal = None if opts.dry_run else Journal(node.journal_path)

    def record(kind, event, rid="", payload=None, durable=True):
        if journal is not None:
            journal.append_one({"node": node.name, "svc": svc, "rid": rid, "kind": kind, "event": event,
                                "action_id": action_id, "payload": payload or {}}, durable=durable)

    def runners(rid):
        def sink(rec):
            payload = rec.get("payload", {})
            record("command", os.path.basename(str((payload.get("argv") or [""])[0])), rid, payload, False)
        return Runner(log=resource_logger(svc, rid), sink=sink)

    timeout = opts.waitlock if opts.waitlock is not None else float(spec.default.get("lock_timeout") or 60)
    try:
        with ServiceLock(node.lock_path(svc), "diskupdate", timeout):
            return _diskupdate(node, svc, spec, opts, runners, record, resource_logger, DriverError)
    finally:
        if journal is not None:
            journal.close()


def _diskupdate(node, svc, spec, opts, runners, record, resource_logger, DriverError):
    drivers = _drivers(node, spec, opts, runners=runners)
    known = read_disks(node, svc)
    table, changes, failures = dict(known), {}, []
    for res in disk_holders(spec):
        rlog = resource_logger(svc, res.rid)
        drv = drivers.get(res.rid)
        if drv is None or not hasattr(drv, "disklist"):
            continue
        try:
            after = list(dict.fromkeys(str(d) for d in drv.disklist()))
        except DriverError as exc:
            rlog.error(f"can not read the disk list: {exc}")
            failures.append(res.rid)
            continue
        before = list(known.get(res.rid, []))
        table[res.rid] = after
        if res.rid not in known:
            if after:                      # the first inventory is the baseline: nothing to refresh
                rlog.info(f"disk list recorded: {', '.join(after)}")
                changes[res.rid] = {"before": [], "after": after, "added": [], "removed": []}
            continue
        added = [d for d in after if d not in before]
        removed = [d for d in before if d not in after]
        if added or removed:
            for d in added:
                rlog.info(f"disk added: {d}")
            for d in removed:
                rlog.info(f"disk removed: {d}")
        else:
            rlog.info(f"disk list unchanged: {', '.join(after) or 'no disk'}")
        changes[res.rid] = {"before": before, "after": after, "added": added, "removed": removed}

    reserved, released = {}, {}
    for pr in _pr_resources(spec):
        change = changes.get(pr.conf.get("peer"))
        drv = drivers.get(pr.rid)
        if pr.disabled or change is None or drv is None or not (change["added"] or change["removed"]):
            continue
        rlog = resource_logger(svc, pr.rid)
        if not drv.supported():
            rlog.info("sg_persist not found: no reservation to refresh")
            continue
        if not drv.held(change["before"] + change["added"]):
            rlog.info("the reservation is not held on this node: nothing to refresh")
            continue
        if opts.dry_run:
            rlog.info(f"would reserve {', '.join(change['added']) or 'nothing'}, "
                      f"release {', '.join(change['removed']) or 'nothing'}")
            continue
        try:
            if change["added"]:
                drv.reserve_disks(change["added"])
                reserved[pr.rid] = change["added"]
            if change["removed"]:
                drv.release_disks(change["removed"], gone_ok=True)
                released[pr.rid] = change["removed"]
        except DriverError as exc:
            rlog.error(str(exc))
            failures.append(pr.rid)

    if not opts.dry_run:
        write_disks(node, svc, table)
        record("observation", "diskupdate", payload={
            "disks": {rid: {"before": c["before"], "after": c["after"]} for rid, c in changes.items()},
            "reserved": reserved, "released": released, "failed": failures, "argv": opts.argv})
    return 1 if failures else 0
