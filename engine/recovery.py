"""Crash recovery: an action whose process died between its `begin` and its `end`.

An open action (a `begin` without its `end`, from the replay fold) is *interrupted* when the process
that began it is gone: its pid is dead, the node rebooted since (boot id), or the pid now belongs to
a process started after the action began. Recovery then, under the service lock:

1. probes the real status of every resource the journal left in a transient state (`starting`,
   `wait-ping`, `stopping`, `ha-enabling`...) through its driver's status,
2. journals a `recover_<state>` transition (kind `transition`) to the stable state matching what the
   probe saw (up -> up, down -> down, anything else -> the failed state of the direction it was
   going), then the service machine's, from what its resources are now,
3. closes the interrupted action with an `end` whose outcome is `interrupted`,
4. rewrites `var/<svc>/states.json` from the journal (the dead process never saved it).

Recovery records carry the interrupted action's id: its story, read back by `journal audit`, ends
with how it was recovered. Who recovered is in each payload (`recovered_by`).

Entry points: `Executor.run_locked` (the next action on the service), `status --refresh`, and
`osvc-engine -s SVC recover [--resume]` (engine/resume.py: `--resume` re-runs the interrupted action
from the request of its `begin`; `interrupted_to_resume` below finds it). Recovery sits below the
executor: it probes and journals, it never runs an action.
"""

import getpass
import os
import sys

# What up, down, a start and a stop mean to a resource machine: machines.defs.
from machines.defs import BEGINS, START, STOP, direction_of  # noqa: E402
from machines.defs import DOWN_STATES as DOWN_LIKE, UP_STATES as UP_LIKE  # noqa: E402

# The service's last action record that opens or closes an action (refusals are neither).
LAST_BEGIN_END = {"rid": "", "kind": "action", "event": ("begin", "end")}


# --- is the author of an open action gone? ----------------------------------------------------------

def _process_start_ns(pid):
    """When pid started (epoch ns, 1 s resolution), or None when unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
        with open("/proc/stat") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])      # field 22, after the command name
    return int((btime + ticks / os.sysconf("SC_CLK_TCK")) * 1e9)


def process_gone(begin_payload, begin_ts_ns):
    """Why the process that began an action is gone (a sentence), or None when it may still run it."""
    from engine.session import boot_id

    pid, boot = begin_payload.get("pid"), begin_payload.get("boot_id")
    current = boot_id()
    if boot and current and boot != current:
        return f"the node rebooted since (boot id {boot[:8]}, now {current[:8]})"
    if not pid:
        return "its begin record names no pid"
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"its process (pid {pid}) is dead"
    except PermissionError:
        pass
    started = _process_start_ns(pid)
    if started is not None and started > begin_ts_ns + 2_000_000_000:
        return f"its pid {pid} now belongs to a process started after the action began"
    return None


def open_action(journal, svc):
    """The service's replayed view when its last action began and never ended, else None (one
    indexed query in the common case: no fold unless an action is open)."""
    last = journal.newest(svc=svc, **LAST_BEGIN_END)
    if not last or last["event"] != "begin":
        return None
    from engine.history.views import replay_service

    view = replay_service(journal, svc)
    return view if view.open else None


# --- what the probes say ------------------------------------------------------------------------------

def target_state(kind, state, value):
    """The stable state of a `kind` machine left in transient `state`, given the probed status value."""
    seen_up, seen_down = value in ("up", "stdby up"), value in ("down", "stdby down")
    if kind == "hb":
        # An hb reports HA not enabled as `warn` (hb.ovm, as the 1.x agent): anything but up means HA is
        # not on. A disable is done then; an enable is not, and ends as an enable failure would.
        if seen_up:
            return "ha-enabled"
        return "ha-disabled" if seen_down or state == "ha-disabling" else "ha-failed"
    if seen_up:
        return "up"
    if seen_down:
        return "down"
    return "stop-failed" if direction_of(state) == STOP else "start-failed"


def planned(action, direction):
    """The rids the begin payload `action` planned in its sub-actions of `direction` (start|stop:
    start, startip, prstart... | stop, shutdown, stopfs...)."""
    from domain.actions import direction as direction_of_action

    return [rid for sub, rids in (action.get("steps") or {}).items()
            if direction_of_action(sub) == direction for rid in rids]


def service_target(state, action, rid_states):
    """The service machine's stable state after recovery: started/stopped when every resource its
    interrupted sub-action planned is where that sub-action was taking it, else the failed state."""
    if state == "stopping":
        rids = planned(action, "stop")
        return "stopped" if all(rid_states.get(r) in DOWN_LIKE for r in rids) else "stop-failed"
    if state == "starting":
        rids = planned(action, "start")
        return "started" if all(rid_states.get(r) in UP_LIKE for r in rids) else "start-failed"
    return "start-failed"     # rolling-back (the start had failed anyway), migrating, switching


# --- recovery ----------------------------------------------------------------------------------------

def recover(node, svc, journal, spec=None, log=None, view=None):
    """Recover svc's interrupted action, if any. The caller holds the service lock.
    Returns a summary dict, or None when no action is interrupted."""
    from engine.session import Session, probe_drivers
    from engine.states import save_states
    from machines.core import Model, attach, detach, fire
    from machines.defs import machine_def

    view = view or open_action(journal, svc)
    if view is None or not view.open:
        return None
    op = view.open
    begin = op["payload"]
    why = process_gone(begin, op["ts"])
    if why is None:
        return None
    if spec is None:
        from config.build import load_service

        spec = load_service(node, svc)
    action, action_id = begin.get("action", "?"), op["action_id"]
    # the records go under the interrupted action's id, without the crash injection (that counts an
    # action's own transitions)
    session = Session(node, svc, None, spec=spec, action_id=action_id, journal=journal, log=log, observers=[])
    log = session.log
    log.warning(f"action '{action}' ({action_id}) was interrupted: {why}. recovering")
    by = {"pid": os.getpid(), "user": getpass.getuser(), "argv": sys.argv[1:]}

    drivers = probe_drivers(node, spec)
    models, recovered = {}, {}
    for rid, kind, probe in _machines(node, spec, drivers):
        model = attach(Model(rid, journal=session.transition_sink(rid)), kind, view.machine_state(rid, kind))
        models[rid] = model
        if model.state in machine_def(kind).stable:
            continue
        value, logs = probe()
        dest = target_state(kind, model.state, value)
        src = model.state
        fire(model, f"recover_{dest.replace('-', '_')}", reason=f"interrupted action {action_id}: {why}",
             status=value, log=list(logs), recovered_by=by)
        recovered[rid] = [src, dest, value]
        log.info(f"{rid}: {src} -> {dest} (probed {value})")
    svc_model = attach(Model("", journal=session.transition_sink("")), "service", view.machine_state("", "service"))
    models[""] = svc_model
    if svc_model.state not in machine_def("service").stable:
        src = svc_model.state
        dest = service_target(src, begin, {rid: m.state for rid, m in models.items()})
        fire(svc_model, f"recover_{dest.replace('-', '_')}", reason=f"interrupted action {action_id}: {why}",
             recovered_by=by)
        recovered[""] = [src, dest, None]
        log.info(f"service: {src} -> {dest}")
    session.record("action", "end", payload={"action": action, "outcome": "interrupted", "rc": 1, "reason": why,
                                             "recovered": recovered, "recovered_by": by,
                                             "duration": round((journal._clock() - op["ts"]) / 1e9, 6)})
    states = {rid: m.state for rid, m in models.items()}
    save_states(node, svc, states)
    for m in models.values():
        detach(m)
    log.info(f"action '{action}' ({action_id}) closed as interrupted; resume it with "
             f"`osvc-engine -s {svc} recover --resume`")
    return {"action": action, "action_id": action_id, "reason": why, "recovered": recovered, "states": states,
            "argv": begin.get("argv")}


def _machines(node, spec, drivers):
    """(rid, machine kind, probe() -> (status, logs)) of every machine an action of spec moves: the
    resources this node acts on, and each container's encap step, whose status is its guest's avail."""
    from domain.families import machine_of
    from engine import encap
    from engine.probe import resource_status

    out = [(res.rid, machine_of(res.family), lambda res=res: resource_status(res, drivers.get(res.rid)))
           for res in spec.resources if not res.in_guest]

    def guest_avail(res):
        drv = drivers.get(res.rid)
        if drv is None:
            return "n/a", []
        doc = encap.Guest(node, spec, res, drv).status(resource_status(res, drv)[0])
        return doc.get("avail", "n/a"), []

    out += [(encap.step_rid(res.rid), "encap", lambda res=res: guest_avail(res)) for res in encap.containers(spec)]
    return out


def recover_locked(node, svc, journal=None, spec=None, log=None, timeout=0.0):
    """Recover svc if its last action is interrupted, taking the service lock (only probed by
    default: while another action runs, that action owns the service). Returns the summary or None."""
    from core.errors import LockTimeout
    from engine.session import Session

    with Session(node, svc, None, spec=spec, mint=False, journal=journal, log=log) as session:
        if open_action(session.journal, svc) is None:
            return None
        try:
            with session.lock("recover", timeout=timeout):
                return recover(node, svc, session.journal, spec=spec, log=session.log)
        except LockTimeout:
            return None


# --- what `recover --resume` re-runs (engine/resume.py) ---------------------------------------------

def interrupted_to_resume(journal, svc):
    """(action_id, begin payload, rids it started, those of them still up) of the service's last
    action when it ended as interrupted, else None."""
    from engine.history.views import replay_service

    last = journal.newest(svc=svc, **LAST_BEGIN_END)
    if not last or last["event"] != "end" or last["payload"].get("outcome") != "interrupted":
        return None
    action_id = last["action_id"]
    records = journal.read(svc=svc, action_id=action_id)
    begin = next((r["payload"] for r in records if r["kind"] == "action" and r["event"] == "begin"), None)
    if begin is None:
        return None
    now = replay_service(journal, svc).states
    started = []
    for r in records:
        if r["kind"] == "transition" and r["rid"] and r["event"] in BEGINS[START] \
                and r["src"] not in UP_LIKE and r["rid"] not in started:
            started.append(r["rid"])
    return action_id, begin, started, [rid for rid in started if now.get(rid) in UP_LIKE]


