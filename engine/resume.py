"""`osvc-engine -s SVC recover [--resume]`: close an interrupted action (engine/recovery.py), then,
with --resume, run it again.

The resumed action is the interrupted one's request (engine/request.py `from_begin`: the fields its
`begin` journaled, or its command line in older journals) with `resumes` = the interrupted action's
id. What is already where the action was taking it is not acted on again (the executor's probe
before a step, the drivers' `already started` paths), and what the interrupted action had started
stays in the resumed action's rollback list.
"""


def resume(node, svc, journal):
    """Re-run the interrupted action of svc, on svc only."""
    from core.errors import OsvcError
    from engine.executor import Executor
    from engine.recovery import interrupted_to_resume
    from engine.request import ActionRequest

    found = interrupted_to_resume(journal, svc)
    if found is None:
        raise OsvcError(f"{svc}: nothing to resume: its last action did not end as interrupted")
    action_id, begin, started, up = found
    ex = Executor(node, svc, ActionRequest.from_begin(begin, resumes=action_id))
    ex.changed = list(up)          # what the interrupted action started belongs to this action's rollback,
    ex.inherited = set(started)    # and so does what is seen up only later, like a VM that finished
    #                                booting after the recovery's probe (Executor.hand_to_rollback)
    return ex.run()


def recover_action(node, svc, request):
    """`osvc-engine -s SVC recover [--resume]`: under the service lock (--waitlock, else
    DEFAULT.lock_timeout), recover; print what moved; then resume when asked."""
    from engine.history.observations import after_evaluation
    from engine.recovery import recover
    from engine.refresh import refresh_document
    from engine.session import Session

    with Session(node, svc, request, mint=False) as session:
        with session.lock("recover"):
            result = recover(node, svc, session.journal, spec=session.spec, log=session.log)
        if result is None:
            print(f"{svc}: no interrupted action")
        else:
            moved = ", ".join(f"{rid or 'service'} {a} -> {b}" for rid, (a, b, _) in result["recovered"].items())
            print(f"{svc}: action '{result['action']}' ({result['action_id']}) recovered: {result['reason']}"
                  + (f"; {moved}" if moved else ""))
            # the status cache and record after the recovery, as an action's end does (no restart
            # policy: a recovered stop must not be undone by a restart)
            doc = refresh_document(node, svc, spec=session.spec)
            after_evaluation(node, svc, session.journal, doc, log=session.log)
        if request.resume:
            return resume(node, svc, session.journal)
    return 0
