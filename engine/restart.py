"""The `restart` keyword (docs/agent-reference.md §1.9): a status evaluation that finds a resource down, whose
previous cached status was up, starts it again, up to `restart` tries, 1 s apart.

    status --refresh  ->  evaluate  ->  apply_policy: candidates(spec, previous, current)
                      ->  restart_resources()  ->  evaluate again

Each try is an ordinary journaled `start` action restricted to that rid (`--rid`), run by the same
executor as a manual start: lock, guards, transitions, commands. The lock is only probed: while
another action runs, the restart is skipped (that action owns the service). Only the status
handlers apply the policy (engine/commands/status.py hands `apply_policy` to engine/refresh.py).
"""

NOT_DOWN = ("up", "stdby up", "n/a", "undef")
WAS_UP = ("up", "stdby up")
RETRY_DELAY = 1.0


def candidates(spec, previous, current):
    """([(rid, tries)], {rid: status log line}) from the previous and the fresh status documents.

    Pure: a resource with `restart = N` found not up, whose previous status was up, is a candidate;
    one whose previous status was anything else gets the reference's explanation in its log."""
    before = (previous or {}).get("resources", {})
    now = current.get("resources", {})
    chosen, notes = [], {}
    for res in spec.resources:
        tries = int(res.restart or 0)
        entry = now.get(res.rid)
        if tries <= 0 or entry is None or res.disabled or entry["status"] in NOT_DOWN:
            continue
        was = before.get(res.rid, {}).get("status", "undef")
        if was in WAS_UP:
            chosen.append((res.rid, tries))
        else:
            notes[res.rid] = f"not restarted because previous status is {was}"
    return chosen, notes


def start_request(rid):
    """The request of one try: `start --rid RID --cluster`, the lock only probed."""
    from engine.request import ActionRequest

    return ActionRequest("start", argv=("restart", "--rid", rid), rid=rid, cluster=True, waitlock=0)


def apply_policy(node, spec, drivers, previous, doc, log):
    """Restart what went down since the last evaluation (the `restart` keyword), then re-evaluate
    (engine/refresh.py's `policy`)."""
    from engine import probe

    chosen, notes = candidates(spec, previous, doc)
    if chosen and restart_resources(node, spec.name, chosen, log):
        doc = probe.evaluate(node, spec, drivers)
    for rid, note in notes.items():
        doc["resources"][rid]["log"].append(note)
    return doc


def restart_resources(node, svc, chosen, log, sleep=None):
    """Start each chosen rid again, up to its tries. Returns the rids restarted."""
    import time

    from core.errors import LockTimeout, OsvcError
    from engine.executor import Executor
    from engine.states import is_frozen

    sleep = sleep or time.sleep
    if is_frozen(node, svc):
        log.info("resource restart skipped: service is frozen")
        return []
    restarted = []
    for rid, tries in chosen:
        for i in range(1, tries + 1):
            log.info(f"restart resource {rid}. try number {i}/{tries}")
            try:
                Executor(node, svc, start_request(rid)).run()
            except LockTimeout:
                log.info("resource restart skipped: an action is running")
                return restarted
            except OsvcError:
                if i < tries:
                    sleep(RETRY_DELAY)
                continue
            log.info(f"monitored resource {rid} restarted.")
            restarted.append(rid)
            break
    return restarted
