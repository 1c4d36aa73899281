"""The status cache kept fresh: probe every resource (engine/probe.py) with quiet drivers and cache
the document (engine/states.py).

    doc = current_document(node, svc)                       # the valid cache, else a fresh evaluation
    doc = refresh_document(node, svc, policy=apply_policy)  # evaluate now; `policy` may amend the result

The restart policy (engine/restart.py) is composed on top by the status handlers
(engine/commands/status.py), which alone restart resources; an action reading the status (a sync
checks the service is up here) and a recovery only read it.
"""


def refresh_document(node, svc, spec=None, policy=None, refresh_guests=False):
    """Evaluate svc's status now and cache it. `policy(node, spec, drivers, previous, doc, log) -> doc`,
    when given and a resource has `restart`, sees the previous cached document and may act on it.
    refresh_guests: the guest engines evaluate too (else they answer from their cache)."""
    from config.build import load_service
    from core.log import service_logger
    from engine import probe, states
    from engine.session import probe_drivers

    spec = spec or load_service(node, svc)
    drivers = probe_drivers(node, spec)
    previous = states.read_cache(node, svc, stale_ok=True)
    doc = probe.evaluate(node, spec, drivers, refresh_guests=refresh_guests)
    if policy is not None and any(res.restart for res in spec.resources):
        doc = policy(node, spec, drivers, previous, doc, service_logger(node, svc))
    states.write_cache(node, svc, doc)
    return doc


def current_document(node, svc, policy=None):
    """The service's status document: the valid cache, else a fresh evaluation (then cached)."""
    from engine import states

    doc = states.read_cache(node, svc)
    return doc if doc is not None else refresh_document(node, svc, policy=policy)
