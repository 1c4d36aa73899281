"""SCSI-3 reservation commands (docs/agent-reference.md §6.3): `prstatus`, the 1.x aliases, and `diskupdate`.

    prstatus          the status tree of the scsireserv resources only; exit code = their merged status
                      (0 up, 1 down, 2 warn, 3 n/a). `prstart`/`prstop` are executor actions (engine.plan).
    scsireserv        alias of prstart;  scsirelease: prstop;  scsicheckreserv: prstatus
    diskupdate        refresh the VM disk lists (vmdg and container disklist()) against the last known
                      ones (var/<svc>/disks.json), and the reservation set: where this node holds the
                      reservation, reserve the added disks and release the removed ones. Prints what
                      changed; journals one `observation` / `diskupdate` record (before/after per rid).
"""

import json

DISKS_NAME = "disks.json"


def _pr_resources(spec):
    return [r for r in spec.resources if r.type == "scsireserv" and not r.in_guest]


def _drivers(node, spec, request, runners=None):
    """Every driver of the service, shared: a scsireserv or vmdg driver asking `ctx.driver_of` gets
    the same instance. `runners`: default one quiet runner (status probes: nothing journaled)."""
    from engine.session import probe_drivers

    return probe_drivers(node, spec, request, runners=runners, share=True)


# --- prstatus ---------------------------------------------------------------------------------------
def prstatus(node, svc, request):
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
    drivers = _drivers(node, spec, request)
    doc = probe.evaluate(node, replace(spec, resources=pr), drivers)
    if request.format == "json":
        print(json.dumps(doc, indent=2))
    else:
        color = request.color == "yes" or (request.color == "auto" and sys.stdout.isatty())
        sys.stdout.write(render.render(doc, color=color))
    return st.exit_code(doc)


# --- 1.x aliases ----------------------------------------------------------------------------------------
def _as(action, node, svc, request):
    from engine.executor import run_action

    return run_action(node, svc, request.with_(action=action))


def scsireserv(node, svc, request):
    return _as("prstart", node, svc, request)


def scsirelease(node, svc, request):
    return _as("prstop", node, svc, request)


def scsicheckreserv(node, svc, request):
    return prstatus(node, svc, request)


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
            if not r.in_guest and not r.disabled and r.type != "scsireserv"
            and (r.type == "vmdg" or r.rid in peers or (r.family == "container" and r.rid not in grouped))]


def diskupdate(node, svc, request):
    """One journaled action (its commands and an `observation diskupdate` record) under the service
    lock; --dry-run journals nothing and changes no reservation."""
    from engine.session import Session
    from engine.states import is_frozen

    session = Session(node, svc, request)
    if not request.dry_run:
        session.open()
    try:
        if is_frozen(node, svc) and not request.force and not request.dry_run:
            session.refuse(session.frozen_message())
        with session.lock("diskupdate"):
            return _diskupdate(node, svc, session)
    finally:
        session.close()


def _diskupdate(node, svc, session):
    from drivers.base import DriverError

    spec, request, resource_logger = session.spec, session.request, session.loggers
    if request.dry_run:                  # the commands are logged, not journaled
        from drivers.runner import Runner

        runners = lambda rid: Runner(log=resource_logger(rid))
    else:
        runners = session.runner
    drivers = _drivers(node, spec, request, runners=runners)
    known = read_disks(node, svc)
    table, changes, failures = dict(known), {}, []
    for res in disk_holders(spec):
        rlog = resource_logger(res.rid)
        drv = drivers.get(res.rid)
        if drv is None or not drv.supports("disklist"):
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
        rlog = resource_logger(pr.rid)
        if not drv.supported():
            rlog.info("sg_persist not found: no reservation to refresh")
            continue
        if not drv.held(change["before"] + change["added"]):
            rlog.info("the reservation is not held on this node: nothing to refresh")
            continue
        if request.dry_run:
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

    if not request.dry_run:
        write_disks(node, svc, table)
        session.record("observation", "diskupdate", payload={
            "disks": {rid: {"before": c["before"], "after": c["after"]} for rid, c in changes.items()},
            "reserved": reserved, "released": released, "failed": failures, "argv": list(request.argv)})
    return 1 if failures else 0
