"""Replay snapshots: a service's folded state every N of its records, stored beside the events.

Table `snapshots` in journal.db (created on first write; the chain and its verification ignore it):
one row per (svc, seq): the ServiceView state (msgpack) folded up to and including record `seq`,
the chain hash of that record, and a digest over (journal uuid, svc, seq, hash, state).

Trust: a snapshot is only a cache of the fold. Replay uses the newest snapshot <= its target after
two cheap checks (its digest, and its hash against the chain at its seq); a snapshot failing either
is skipped with a warning and replay folds from the one before it, or from the start. `journal
verify` goes further: it re-folds every service from the chain and compares each snapshot's content,
so even a snapshot rewritten with a recomputed digest is caught there.

The engine writes a snapshot at the end of an action once the service has `[journal]
snapshot_interval` (node.conf, default 100) of its own records past its last snapshot: the interval
follows each service's own volume (a busy service gets snapshots often, a quiet one rarely, each about
every 100 of its records), and the fold a replay needs is bounded by it. At 100 a point-in-time replay
of a service folds at most 100 records (0.73 ms measured, against 13.7 ms for a full fold of 1000).
"""

import sqlite3

import msgpack

from core.digest import sha256  # not hashlib: OpenSSL's import (~3 ms) outweighs the hashing
from core.errors import JournalError

DEFAULT_INTERVAL = 100
SCHEMA = ("CREATE TABLE IF NOT EXISTS snapshots (svc TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, "
          "state BLOB NOT NULL, digest BLOB NOT NULL, PRIMARY KEY (svc, seq))")


def _digest(journal, svc, seq, h, blob) -> bytes:
    return sha256(b"osvc-engine snapshot\0" + journal.salt
                  + msgpack.packb([svc, seq, h, blob], use_bin_type=True)).digest()


def _exists(conn) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshots'").fetchone() is not None


def _hash_bytes(h):
    return bytes.fromhex(h) if isinstance(h, str) else h


def write(journal, view):
    """Store view (folded up to view.seq) as a snapshot of its service."""
    h = journal.hash_at(view.seq)
    if h is None:
        raise JournalError(f"snapshot of {view.svc}: seq {view.seq} is not in the journal")
    blob = msgpack.packb(view.state(), use_bin_type=True)
    conn = journal.connection
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(SCHEMA)
        conn.execute("INSERT OR REPLACE INTO snapshots (svc, seq, hash, state, digest) VALUES (?, ?, ?, ?, ?)",
                     (view.svc, view.seq, h, blob, _digest(journal, view.svc, view.seq, h, blob)))
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise journal._error(exc) from None


def candidates(journal, svc, max_seq=None):
    """(seq, hash, state blob, digest) of svc's snapshots, newest first, seq <= max_seq (an iterator)."""
    conn = journal.connection
    if not _exists(conn):
        return iter(())
    sql = "SELECT seq, hash, state, digest FROM snapshots WHERE svc = ?"
    args = [svc]
    if max_seq is not None:
        sql += " AND seq <= ?"
        args.append(int(max_seq))
    return conn.execute(sql + " ORDER BY seq DESC", args)     # a cursor: the newest is usually enough


def problem(journal, svc, row):
    """Why a snapshot row cannot be trusted (digest, chain), or None."""
    seq, h, blob, digest = row
    if _digest(journal, svc, seq, h, blob) != digest:
        return f"snapshot of {svc} at seq {seq}: its digest does not match its content (modified)"
    if journal.hash_at(seq) != h:
        return f"snapshot of {svc} at seq {seq}: the chain hash at seq {seq} differs (journal rewritten or replaced)"
    return None


def load(journal, svc, max_seq=None):
    """(ServiceView or None, warnings): the newest trustworthy snapshot of svc at or before max_seq."""
    warnings = []
    rows = candidates(journal, svc, max_seq)
    try:
        return _first_sound(journal, svc, rows, warnings), warnings
    finally:
        if hasattr(rows, "close"):
            rows.close()        # an unfinished SELECT would hold a read transaction open


def _first_sound(journal, svc, rows, warnings):
    from engine.history.fold import ServiceView

    for row in rows:
        why = problem(journal, svc, row)
        if why is None:
            try:
                view = ServiceView.from_state(msgpack.unpackb(row[2], raw=False, strict_map_key=False))
            except (ValueError, TypeError, KeyError, msgpack.ExtraData) as exc:
                why = f"snapshot of {svc} at seq {row[0]}: unreadable ({exc})"
            else:
                if view.svc == svc and view.seq == row[0]:
                    return view
                why = f"snapshot of {svc} at seq {row[0]}: holds {view.svc} at seq {view.seq}"
        warnings.append(f"{why}; ignored, replaying from an older snapshot or the start")
    return None


def interval(node) -> int:
    try:
        return max(1, int(node.setting("journal", "snapshot_interval", DEFAULT_INTERVAL)))
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL


def maybe_write(journal, svc, every=DEFAULT_INTERVAL):
    """After an action: snapshot svc when it has `every` records past its newest snapshot.
    Reads at most every+1 rows to decide; folds only what the snapshot needs. Returns the seq or None."""
    from engine.history.fold import ServiceView, fold

    view, _ = load(journal, svc)
    start = view.seq if view is not None else 0
    if len(journal.raw(limit=every, svc=svc, seq_after=start)) < every:
        return None
    view = view or ServiceView(svc)
    fold(journal.scan(svc=svc, seq_after=start), svc, {svc: view})
    write(journal, view)
    return view.seq


def build_all(journal, every=DEFAULT_INTERVAL, chunk=20000):
    """One pass over the whole journal: a snapshot of each service every `every` of its records
    (bench and maintenance; the engine writes them incrementally). Returns how many were written."""
    from engine.history.fold import SVC, ServiceView, apply

    views, written = {}, 0
    for row in journal.scan(chunk=chunk):
        name = row[SVC]
        if not name:
            continue
        view = views.get(name)
        if view is None:
            view = views[name] = ServiceView(name)
        apply(view, row)
        if view.records % every == 0:
            write(journal, view)
            written += 1
    return written


def check(journal, rows=None):
    """Every snapshot against the chain: digest, hash at its seq, and its content against a fresh
    fold of the journal up to that seq. Returns the list of problems (empty when all are sound).
    `rows`: the journal's rows in seq order (verify passes the ones it already walked)."""
    from engine.history.fold import SVC, ServiceView, apply

    conn = journal.connection
    if not _exists(conn):
        return []
    snaps = {}
    for svc, seq, h, blob, digest in conn.execute("SELECT svc, seq, hash, state, digest FROM snapshots"):
        snaps.setdefault(seq, []).append((svc, (seq, h, blob, digest)))
    if not snaps:
        return []
    problems = []
    views = {}
    last = max(snaps)
    for row in rows if rows is not None else journal.scan():
        seq = row[0]
        if seq > last:
            break
        name = row[SVC]
        if name:
            view = views.get(name)
            if view is None:
                view = views[name] = ServiceView(name)
            apply(view, row)
        for svc, srow in snaps.pop(seq, ()):
            why = problem(journal, svc, srow)
            if why is None:
                stored = msgpack.unpackb(srow[2], raw=False, strict_map_key=False)
                fresh = views.get(svc, ServiceView(svc)).state()
                fresh = msgpack.unpackb(msgpack.packb(fresh, use_bin_type=True), raw=False, strict_map_key=False)
                if stored != fresh:
                    diff = sorted(k for k in set(stored) | set(fresh) if stored.get(k) != fresh.get(k))
                    why = (f"snapshot of {svc} at seq {seq}: its content differs from the fold of the chain "
                           f"({', '.join(diff)})")
            if why:
                problems.append(why)
    for seq, items in sorted(snaps.items()):
        for svc, _ in items:
            problems.append(f"snapshot of {svc} at seq {seq}: seq {seq} is not in the journal")
    return problems


def drop(journal) -> int:
    """Remove every snapshot; returns how many there were."""
    conn = journal.connection
    if not _exists(conn):
        return 0
    conn.execute("BEGIN IMMEDIATE")
    n = conn.execute("DELETE FROM snapshots").rowcount
    conn.execute("COMMIT")
    return n


def check_snapshots(journal):
    """journal.verify's check of the replay snapshots against the verified chain: digest, hash, content."""
    problems = check(journal)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise JournalError(f"{problems[0]}{more}. The event chain itself is intact: rebuild the snapshots "
                           f"with `osvc-engine journal snapshot`")
