"""Reading the collector: every node's records merged on (hlc, node, seq), as stored row tuples in the
journal's column order (journal.chain.COLUMNS), so the local renderers (journal.lines, journal.tail's
Printer, postmortem.audit) print them unchanged.

Cursors are per journal, `{uuid: seq}`: a follower reads, for each journal whose head moved, the rows
after its own position up to that head, all in one REPEATABLE READ snapshot with the heads. A row and the
head that covers it are committed together (collector.ship), so that snapshot holds every row up to each
head and none is ever skipped or repeated, whatever the order in which nodes' transactions commit (a
single arrival id could skip a row committed after a higher one).
"""

from journal import chain

COLS = ", ".join(f"e.{c}" for c in chain.COLUMNS)
ORDER = "e.hlc, e.node, e.seq"
# filter keyword -> (column, operator), as journal.store.FILTERS (the collector has no seq filter:
# seqs are per journal)
FILTERS = {"svc": ("svc", "="), "rid": ("rid", "="), "node": ("node", "="), "kind": ("kind", "="),
           "action_id": ("action_id", "="), "since_ns": ("ts", ">="), "until_ns": ("ts", "<")}

def where(filters, prefix="e."):
    conds, args = [], []
    for key, value in filters.items():
        if value is None:
            continue
        column, op = FILTERS[key]
        conds.append(f"{prefix}{column} {op} %s")
        args.append(value)
    return conds, args

def _row(r):
    """A collector row as the journal's stored tuple: durable as the 0/1 the journal stores."""
    return (*r[:13], 1 if r[13] else 0, bytes(r[14]))

def heads(conn):
    """{journal uuid (hex): head seq}."""
    return {u.hex: s for u, s in conn.execute("SELECT journal, seq FROM heads")}

class FleetSource:
    """Every journal's matching records in (hlc, node, seq) order, as stored row tuples (`scan`)."""

    def __init__(self, conn):
        self.conn = conn

    def scan(self, chunk=5000, **filters):
        unknown = set(filters) - set(FILTERS)
        if unknown:            # seq filters have no meaning across journals
            raise ValueError(f"filters {sorted(unknown)}: not across journals")
        conds, args = where(filters)
        sql = f"SELECT {COLS} FROM events e" + (" WHERE " + " AND ".join(conds) if conds else "") + f" ORDER BY {ORDER}"
        with self.conn.transaction():
            with self.conn.cursor(name="osvc_scan") as cur:      # server-side: streamed, not all in memory
                cur.itersize = chunk
                cur.execute(sql, args)
                for r in cur:
                    yield _row(r)


def snapshot(conn, filters, last=None):
    """(rows, cursors): the matching rows (the newest `last` of them when given, else all) and the heads,
    read in one snapshot. The connection is left with no transaction open."""
    conds, args = where(filters)
    cond = " WHERE " + " AND ".join(conds) if conds else ""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    try:
        cursors = heads(conn)
        if last == 0:
            rows = []
        elif last is None:
            rows = conn.execute(f"SELECT {COLS} FROM events e{cond} ORDER BY {ORDER}", args).fetchall()
        else:
            rows = conn.execute(f"SELECT * FROM (SELECT {COLS} FROM events e{cond} ORDER BY e.hlc DESC, e.node DESC, "
                                f"e.seq DESC LIMIT %s) e ORDER BY {ORDER}", [*args, int(last)]).fetchall()
    finally:
        conn.execute("COMMIT")
    return [_row(r) for r in rows], cursors

def newer(conn, filters, cursors):
    """(rows, cursors): the matching rows after each journal's cursor up to its current head, merged, and
    the new cursors. One REPEATABLE READ snapshot (see the module's docstring)."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    try:
        now = heads(conn)
        moved = [(u, cursors.get(u, 0), s) for u, s in now.items() if s > cursors.get(u, 0)]
        rows = []
        if moved:
            conds, args = where(filters)
            extra = "".join(f" AND {c}" for c in conds)
            rows = conn.execute(
                f"SELECT {COLS} FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[]) AS c(journal, after, upto) "
                f"CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.journal = c.journal AND e.seq > c.after "
                f"AND e.seq <= c.upto{extra}) e ORDER BY {ORDER}",
                [[m[0] for m in moved], [m[1] for m in moved], [m[2] for m in moved], *args]).fetchall()
    finally:
        conn.execute("COMMIT")
    return [_row(r) for r in rows], {**cursors, **now}

def follow(listener, reader, filters, cursors, emit, *, stop=None, wait=1.0):
    """Print what arrives: each notification (collector.ship notifies on every commit) wakes a read of the
    rows after the cursors; `wait` seconds without one read anyway (a notification is lost when the
    listener's connection drops; the cursors are the truth). `listener` must already LISTEN, before the
    snapshot `cursors` come from, so nothing committed in between is missed. `cursors` is updated in place
    after each batch printed, so a caller whose connection failed resumes exactly there. Ends on Ctrl-C or
    stop()."""
    while not (stop and stop()):
        for _ in listener.notifies(timeout=wait, stop_after=1):
            pass
        rows, now = newer(reader, filters, cursors)
        if rows:
            emit(rows)
        cursors.update(now)
