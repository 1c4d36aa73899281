"""A service's env file and status document in the collector: what `push` stores, what `pull` writes back.

The env file is one per service whatever the node (peers keep it in sync): the collector keeps the newest
by modification time, as the encap reconciliation does between host and guest, so a node pushing an older
copy never replaces a newer one. The status is per service instance (service, node): the latest cached
document (var/<svc>/status.json), as the engine left it after its last action or refresh.
"""

import hashlib
import json

from core.record import Record


class Stored(Record):
    svc: str
    kept: bool               # the env file sent is now the collector's copy
    node: str                # the node whose copy the collector holds
    mtime_ns: int
    status: bool             # a status document was stored


def store(conn, node, svc):
    """Store the env file text and the latest status document of `svc` on `node`. One transaction."""
    from engine.states import read_cache

    path = node.env_file(svc)
    text = path.read_text()
    mtime_ns = path.stat().st_mtime_ns
    digest = hashlib.sha256(text.encode()).hexdigest()
    doc = read_cache(node, svc, stale_ok=True)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO service_configs AS c (svc, text, digest, mtime_ns, node) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (svc) DO UPDATE SET text = EXCLUDED.text, digest = EXCLUDED.digest, "
            "mtime_ns = EXCLUDED.mtime_ns, node = EXCLUDED.node, pushed_at = now() "
            "WHERE c.mtime_ns <= EXCLUDED.mtime_ns RETURNING node, mtime_ns",
            (svc, text, digest, mtime_ns, node.name)).fetchone()
        kept = row is not None
        if not kept:
            row = conn.execute("SELECT node, mtime_ns FROM service_configs WHERE svc = %s", (svc,)).fetchone()
        if doc is not None:
            conn.execute("INSERT INTO service_status (svc, node, doc) VALUES (%s, %s, %s) ON CONFLICT (svc, node) "
                         "DO UPDATE SET doc = EXCLUDED.doc, pushed_at = now()",
                         (svc, node.name, json.dumps(doc)))
    return Stored(svc, kept, row[0], row[1], doc is not None)


def fetch(conn, svc):
    """(text, mtime_ns, node, pushed_at) of the collector's env file of `svc`, or None."""
    row = conn.execute("SELECT text, mtime_ns, node, pushed_at FROM service_configs WHERE svc = %s",
                       (svc,)).fetchone()
    conn.commit()
    return row
