"""The service actions of the collector: `pull` (the 1.7+ meaning: the collector's copy of the env file
to etc/), and the collector's part of `push` (engine.commands.encap:push reconciles the guests' copies;
collector.hook runs this part after it)."""

import os

from collector.connect import PATIENT, CollectorError, connect, describe, require_dsn
from core.errors import NotFound, OsvcError


class Refused(OsvcError):
    """pull would replace a newer local env file (exit 1)."""


def _when(ns):
    from journal import lines as fmt

    return f"{fmt.date_of(ns)} {fmt.clock(ns)}"


def pull(node, svc, request):
    """Write the collector's env file of `svc` to etc/, with its modification time (so newest-wins
    comparisons stay true). A local file newer than the collector's copy is kept unless --force."""
    import psycopg

    from collector import schema, service_data
    from core.files import write_atomic

    dsn = require_dsn(node)
    try:
        with connect(dsn, bounds=PATIENT) as conn:
            found = service_data.fetch(conn, svc) if schema.version(conn) else None
    except psycopg.Error as exc:
        raise CollectorError(describe(exc, dsn)) from None
    if found is None:
        raise NotFound(f"the collector has no env file of service {svc}: push it from a node that has it "
                       f"(`osvc-engine -s {svc} push`)")
    text, mtime_ns, source, _ = found
    path = node.env_file(svc)
    try:
        st = path.stat()
        local = path.read_text()
    except FileNotFoundError:
        st = local = None
    if local == text:
        print(f"{path}: already the collector's copy (pushed by {source}, modified {_when(mtime_ns)})")
        return 0
    if st is not None and st.st_mtime_ns > mtime_ns and not request.force:
        raise Refused(f"{path} is newer (modified {_when(st.st_mtime_ns)}) than the collector's copy (pushed by "
                      f"{source}, modified {_when(mtime_ns)}): nothing written. Push it "
                      f"(`osvc-engine -s {svc} push`), or overwrite it with `osvc-engine -s {svc} pull --force`")
    write_atomic(path, text, durable=True)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    print(f"{path}: written from the collector (pushed by {source}, modified {_when(mtime_ns)})")
    return 0


def push_service(node, svc, dsn, bounds=PATIENT):
    """The collector's part of `push`: the env file and the status document. Returns the line to print."""
    import psycopg

    from collector import schema, service_data

    try:
        with connect(dsn, bounds=bounds) as conn:
            schema.ensure(conn)
            stored = service_data.store(conn, node, svc)
    except psycopg.Error as exc:
        raise CollectorError(describe(exc, dsn)) from None
    status = " and its status" if stored.status else " (no status cached yet)"
    if stored.kept:
        return f"{svc}: env file{status} stored in the collector"
    return (f"{svc}: status stored in the collector; it keeps a newer env file (from {stored.node}, modified "
            f"{_when(stored.mtime_ns)}): pull it with `osvc-engine -s {svc} pull`" if stored.status else
            f"{svc}: the collector keeps a newer env file (from {stored.node}, modified {_when(stored.mtime_ns)}): "
            f"pull it with `osvc-engine -s {svc} pull`")
