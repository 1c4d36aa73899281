"""`push` (docs/encapsulation-and-cluster.md §1.6): the env file reconciled with each running guest's
copy, newest wins, under the service lock and one journaled action. A guest skips it: its host pushes."""


def push(node, svc, request) -> int:
    from engine import encap
    from engine.session import Session

    with Session(node, svc, request) as session:
        spec, log = session.spec, session.log
        if spec.guest:
            log.info("push: skipped in a guest, its host pushes the env file")
            return 0
        containers = encap.containers(spec)
        if not containers:
            log.info("push: no container with encap resources, nothing to reconcile")
            return 0
        with session.lock("push"):
            session.record("action", "begin", payload=session.begin_payload(digest=spec.digest))
            drivers = session.drivers()
            outcomes, error = {}, None
            for res in containers:
                guest = encap.Guest(node, spec, res, drivers[res.rid])
                if not guest.is_up():
                    log.info(f"skip push to {guest.name}: the container is not running here")
                    continue
                try:
                    outcomes[guest.name] = guest.push(session.runner(encap.step_rid(res.rid)).run, log, session)
                except Exception as exc:      # the others still get theirs; the action ends failed
                    log.error(str(exc))
                    error = error or exc
            session.record("action", "end", payload={"action": "push", "outcomes": outcomes,
                                                     "outcome": "ok" if error is None else "failed",
                                                     "rc": 0 if error is None else 1})
            return session.outcome(error)
