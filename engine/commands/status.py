"""`print status`, `json status`, `status`: serve the cached document, or evaluate and cache it."""

import json
import sys


def _color(request):
    return request.color == "yes" or (request.color == "auto" and sys.stdout.isatty())


def current_document(node, svc, refresh=False):
    """The service's status document: the valid cache, else a fresh evaluation (then cached);
    `refresh`: a journaled evaluation. Evaluations here apply the restart policy."""
    from engine import states

    if refresh:
        return journaled_refresh(node, svc)
    doc = states.read_cache(node, svc)        # the fast path: nothing else imported
    if doc is not None:
        return doc
    from engine.refresh import refresh_document
    from engine.restart import apply_policy

    return refresh_document(node, svc, policy=apply_policy)


def journaled_refresh(node, svc):
    """`--refresh`: recover an interrupted action first, evaluate, journal the status when it changed."""
    from engine.history.observations import after_evaluation
    from engine.recovery import recover_locked
    from engine.refresh import refresh_document
    from engine.restart import apply_policy
    from engine.session import Session

    with Session(node, svc, None, mint=False) as session:
        recover_locked(node, svc, session.journal)
        doc = refresh_document(node, svc, policy=apply_policy, refresh_guests=True)
        after_evaluation(node, svc, session.journal, doc, session.action_id, session.log)
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


def print_status(node, svc, request):
    from domain import render

    doc = _load_from(request.from_file) if request.from_file else current_document(node, svc, request.refresh)
    if request.format == "json":
        print(json.dumps(doc, indent=2))
    else:
        sys.stdout.write(render.render(doc, color=_color(request), show_disabled=request.show_disabled))
    return 0


def json_status(node, svc, request):
    return print_status(node, svc, request.with_(format="json"))


def status(node, svc, request):
    from domain import status as st

    return st.exit_code(current_document(node, svc, request.refresh))
