"""`print status`, `json status`, `status`: serve the cached document, or evaluate and cache it."""

import json
import sys


def _color(opts):
    return opts.color == "yes" or (opts.color == "auto" and sys.stdout.isatty())


def current_document(node, svc, refresh=False):
    """The service's status document: the valid cache, else a fresh evaluation (then cached)."""
    from engine import states

    if not refresh:
        doc = states.read_cache(node, svc)
        if doc is not None:
            return doc
        return refresh_document(node, svc)
    return journaled_refresh(node, svc)


def journaled_refresh(node, svc):
    """`--refresh`: recover an interrupted action first, evaluate, journal the status when it changed."""
    import os

    from core.log import service_logger
    from engine.recovery import recover_locked
    from engine.history.observations import after_evaluation
    from journal.store import Journal

    with Journal(node.journal_path) as journal:
        recover_locked(node, svc, journal)
        doc = refresh_document(node, svc)
        after_evaluation(node, svc, journal, doc, os.environ.get("OSVC_ACTION_ID", ""), service_logger(node, svc))
    return doc


def refresh_document(node, svc, spec=None):
    from engine import probe, states
    from config.build import load_service
    from core.log import resource_logger, service_logger
    from drivers.registry import build_drivers
    from drivers.runner import Runner

    spec = spec or load_service(node, svc)
    log = service_logger(node, svc)
    runner = Runner()   # status probes: no journal sink
    drivers = build_drivers(node, spec, runners=lambda rid: runner, loggers=lambda rid: resource_logger(svc, rid))
    previous = states.read_cache(node, svc, stale_ok=True)
    doc = probe.evaluate(node, spec, drivers)
    if any(res.restart for res in spec.resources):
        doc = _apply_restart_policy(node, spec, drivers, previous, doc, log)
    states.write_cache(node, svc, doc)
    return doc


def _apply_restart_policy(node, spec, drivers, previous, doc, log):
    """Restart what went down since the last evaluation (the `restart` keyword), then re-evaluate."""
    from engine import probe, restart

    chosen, notes = restart.candidates(spec, previous, doc)
    if chosen and restart.restart_resources(node, spec.name, chosen, log):
        doc = probe.evaluate(node, spec, drivers)
    for rid, note in notes.items():
        doc["resources"][rid]["log"].append(note)
    return doc


def _load_from(path):
    from core.errors import NotFound, UsageError

    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise NotFound(f"--from {path}: no such file")
    except ValueError as exc:
        raise UsageError(f"--from {path}: not a status document ({exc})")


def print_status(node, svc, opts):
    from domain import render

    doc = _load_from(opts.from_file) if opts.from_file else current_document(node, svc, opts.refresh)
    if opts.format == "json":
        print(json.dumps(doc, indent=2))
    else:
        sys.stdout.write(render.render(doc, color=_color(opts), show_disabled=getattr(opts, "show_disabled", None)))
    return 0


def json_status(node, svc, opts):
    opts.format = "json"
    return print_status(node, svc, opts)


def status(node, svc, opts):
    from domain import status as st

    return st.exit_code(current_document(node, svc, opts.refresh))
