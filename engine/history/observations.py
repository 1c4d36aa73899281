"""The status observation the engine journals after an evaluation worth keeping (an action's end,
`status --refresh`), and the snapshot that follows when a service is due one. engine/history/fold.py
reads these records back: both sides of the payload's format live in this package.
"""

from engine.history.fold import meta_hash


def status_payload(doc) -> dict:
    """The compact record of a status document: per rid [status, log], overall, avail; the
    metadata (type, label, flags, tags) under `meta`, with its hash `mh` (see journal_status)."""
    resources = doc.get("resources") or {}
    meta = {rid: [e.get("type"), e.get("label") or "", bool(e.get("monitor")), bool(e.get("disable")),
                  bool(e.get("optional")), bool(e.get("encap")), list(e.get("tags") or [])]
            for rid, e in resources.items()}
    return {"resources": {rid: [e.get("status"), list(e.get("log") or [])] for rid, e in resources.items()},
            "overall": doc.get("overall"), "avail": doc.get("avail"), "mh": meta_hash(meta), "meta": meta,
            "updated": doc.get("updated", "")}


_COMPARED = ("resources", "overall", "avail", "mh")


LAST_STATUS = {"rid": "", "kind": "observation", "event": "status"}


def journal_status(journal, node, svc, doc, action_id=""):
    """Journal the evaluated document (relaxed) when it differs from the last one journaled for svc.
    The metadata rides along only when its hash changed, so a routine record is a few dozen bytes.
    Returns the seq, or None when nothing changed."""
    new = status_payload(doc)
    found = journal.newest(svc=svc, **LAST_STATUS)
    last = found["payload"] if found else {}
    if all(last.get(k) == new[k] for k in _COMPARED):
        return None
    if last.get("mh") == new["mh"]:
        del new["meta"]
    return journal.append_one({"node": node, "svc": svc, "kind": "observation", "event": "status",
                               "action_id": action_id or "", "payload": new}, durable=False)


def journal_guests(journal, node, svc, doc, action_id=""):
    """Journal each guest document a host folded (doc["encap"]: container name -> document) when it
    differs from the last one journaled for that container, its `updated` aside: an audit can show what
    the guest engine answered. The record's rid is the container's name."""
    seqs = []
    for name, guest in sorted((doc.get("encap") or {}).items()):
        found = journal.newest(svc=svc, rid=name, kind="observation", event="guest-status")
        last = dict(found["payload"].get("document") or {}) if found else None
        if last is not None and {**last, "updated": ""} == {**guest, "updated": ""}:
            continue
        seqs.append(journal.append_one({"node": node, "svc": svc, "rid": name, "kind": "observation",
                                        "event": "guest-status", "action_id": action_id or "",
                                        "payload": {"container": name, "document": guest}}, durable=False))
    return seqs


def after_evaluation(node, svc, journal, doc, action_id="", log=None):
    """After an evaluation worth journaling (an action's end, `status --refresh`): the status record
    when it changed, then a snapshot when the service is due one. A journal refusal here is logged,
    not raised: the evaluation and the action it follows stand."""
    from core.errors import JournalError
    from engine.history import snapshots

    try:
        journal_status(journal, node.name, svc, doc, action_id)
        journal_guests(journal, node.name, svc, doc, action_id)
        snapshots.maybe_write(journal, svc, snapshots.interval(node))
    except JournalError as exc:
        if log is not None:
            log.warning(f"status not journaled: {exc}")
