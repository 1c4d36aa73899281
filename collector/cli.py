"""The collector's side of `osvc-engine journal ...` (postmortem/cli.py parses, names these functions and
renders): `push`, the `--collector` sources of `tail`, `audit` and `report`, and the lag `stats` shows.
The collector shares the postmortem layer without importing it: these take parsed options and give back
what the local renderers read."""

import json
import sys

from collector.connect import (
    PATIENT,
    CollectorError,
    connect,
    describe,
    dsn_of,
    require_dsn,
    where,
)


def _node():
    from core.node import Node

    return Node.from_env()


# -- journal push ------------------------------------------------------------------------------------------

def cmd_push(opts):
    """Ship the node's journal and its mirrors; one line (or JSON object) per journal. Exit 6 when a
    journal was refused (the others are shipped all the same), 1 when the collector cannot be reached."""
    from collector.push import push

    node = _node()
    done, refusals = push(node, require_dsn(node), bounds=PATIENT)
    if getattr(opts, "output", "text") == "json":
        for s in done:
            print(json.dumps({**{f: getattr(s, f) for f in s._fields}, "shipped": s.count}, sort_keys=True))
    else:
        for s in done:
            what = f"shipped {s.count} records (seq {s.before + 1}..{s.after})" if s.count else "nothing to ship"
            relay = " (relayed mirror)" if s.relayed else ""
            print(f"{s.node} journal {s.uuid}{relay}: {what}; the collector holds seq 1..{s.after} "
                  f"of {s.local}")
    if not done and not refusals:
        print(f"{node.name}: nothing journaled here yet ({node.journal_path}), no mirror: nothing to ship")
    for exc in refusals:
        print(f"osvc-engine: error: {exc}", file=sys.stderr)
    return max((exc.exit_code for exc in refusals), default=0)


# -- the readers -------------------------------------------------------------------------------------------

def _reader(autocommit=False):
    import psycopg

    from collector import schema

    dsn = require_dsn(_node())
    conn = connect(dsn, autocommit=autocommit)
    try:
        if schema.version(conn) == 0:
            raise CollectorError(f"{where(dsn)} holds no journal yet (its schema is not created): run "
                                 f"`osvc-engine journal push` on a node first")
        if not autocommit:
            conn.commit()
    except psycopg.Error as exc:
        conn.close()
        raise CollectorError(describe(exc, dsn)) from None
    except BaseException:
        conn.close()
        raise
    return conn, dsn


class FleetSources:
    """The collector as postmortem's cluster readers read this node and its mirrors (postmortem.cluster.Sources):
    `rows(**filters)`, every journal's stored rows merged on (hlc, node, seq); `journals`, read-only journals
    holding the service's rows of each journal that has some (what the report folds the status from, by seq:
    each a throwaway copy, collector.materialize), made when first asked for."""

    def __init__(self, conn, svc=None):
        from collector.read import FleetSource

        self.conn = conn
        self.svc = svc
        self.fleet = FleetSource(conn)
        self._copies = None

    def rows(self, **filters):
        return self.fleet.scan(**filters)

    @property
    def journals(self):
        if self._copies is None:
            from collector.materialize import Materialized

            uuids = [u.hex for (u,) in self.conn.execute("SELECT DISTINCT journal FROM events WHERE svc = %s",
                                                         (self.svc,))]
            self.conn.commit()
            self._copies = []
            for uuid in uuids:
                self._copies.append(Materialized(self.conn, uuid, self.svc))
        return [c.journal for c in self._copies]

    def close(self):
        for c in self._copies or ():
            c.close()
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def sources(opts):
    """`audit|report --collector`: the fleet, read like `--cluster` reads this node and its mirrors, so an
    action that ran on several nodes is one entry with its remote parts nested (postmortem.audit)."""
    conn, _ = _reader()
    return FleetSources(conn, getattr(opts, "svc", None))


def tail(opts, filters, out=None):
    """`journal tail --collector [-f]`: the newest matching records of every node (all of them with
    --since), merged, then with -f what arrives, woken by LISTEN/NOTIFY."""
    from collector import read
    from core.errors import UsageError
    from journal.tail import Printer

    if opts.cursor is not None or opts.cursor_file or opts.show_cursor:
        raise UsageError("--cursor, --cursor-file and --show-cursor name one journal's record: not with "
                         "--collector, whose position is one cursor per journal (use --since to start from a time)")
    out = out or sys.stdout
    filters = {k: v for k, v in filters.items() if v is not None}
    last = opts.lines
    if last is None:
        last = None if opts.since else 10
    elif last == "all":
        last = None
    conn, dsn = _reader(autocommit=True)
    listener = None
    try:
        try:
            if opts.follow:
                listener = _listen(dsn)           # before the snapshot: nothing committed after it is missed
            printer = Printer(out, None, opts.output)
            rows, cursors = read.snapshot(conn, filters, last)
            printer.emit(rows)
        except _psycopg_error() as exc:
            raise CollectorError(describe(exc, dsn)) from None
        while opts.follow:
            try:
                read.follow(listener, conn, filters, cursors, printer.emit)
            except (CollectorError, _psycopg_error()) as exc:
                # the collector restarted or the network dropped: the per-journal cursors say where to resume
                why = exc if isinstance(exc, CollectorError) else describe(exc, dsn)
                print(f"osvc-engine: warning: following stopped: {why}; reconnecting every {RETRY_SECONDS:g}s, "
                      f"then going on from where it stopped", file=sys.stderr, flush=True)
                conn, listener = _reconnect(dsn, conn, listener)
    except KeyboardInterrupt:
        pass
    finally:
        for c in (conn, listener):
            if c is not None:
                c.close()
    return 0


RETRY_SECONDS = 2.0


def _listen(dsn):
    from collector.ship import CHANNEL

    listener = connect(dsn, autocommit=True)
    listener.execute(f"LISTEN {CHANNEL}")
    return listener


def _reconnect(dsn, *old):
    """(reader, listener) once the collector answers again; the listener first (see tail)."""
    import time

    for c in old:
        try:
            c.close()
        except Exception:       # a dead connection's close: nothing to keep from it
            pass
    while True:
        time.sleep(RETRY_SECONDS)
        try:
            listener = _listen(dsn)
        except (CollectorError, _psycopg_error()):
            continue
        try:
            return connect(dsn, autocommit=True), listener
        except CollectorError:
            listener.close()


def _psycopg_error():
    import psycopg

    return psycopg.Error


# -- journal stats -----------------------------------------------------------------------------------------

def lag(journal):
    """What the collector holds of this node's journal: None without a collector, else a dict (with
    `error` when it cannot be asked: stats never fails for it)."""
    node = _node()
    dsn = dsn_of(node)
    if dsn is None:
        return None
    from collector.connect import BOUNDED

    last, _ = journal.head()
    info = {"journal": journal.uuid, "local_seq": last}
    try:
        with connect(dsn, bounds=BOUNDED, autocommit=True) as conn:
            from collector import schema

            row = None
            if schema.version(conn):
                row = conn.execute("SELECT seq, extract(epoch FROM shipped_at) FROM heads WHERE journal = %s",
                                   (journal.uuid,)).fetchone()
    except (CollectorError, _psycopg_error()) as exc:
        return {**info, "error": str(exc) if isinstance(exc, CollectorError) else describe(exc, dsn)}
    seq = row[0] if row else 0
    info.update(collector_seq=seq, behind=max(last - seq, 0), shipped_at=float(row[1]) if row else None)
    oldest = journal.raw(limit=1, seq_after=seq) if last > seq else []
    info["oldest_unshipped_ts"] = oldest[0][1] if oldest else None
    return info


def lag_text(info):
    """The `collector` line of `journal stats`."""
    from journal import lines as fmt

    if "error" in info:
        return f"collector {info['error']}: lag unknown"
    if not info["behind"]:
        return f"collector up to date (seq {info['collector_seq']})"
    since = info["oldest_unshipped_ts"]
    when = f", oldest unshipped from {fmt.date_of(since)} {fmt.clock(since)}" if since else ""
    return f"collector {info['behind']} records behind (holds seq 1..{info['collector_seq']} of {info['local_seq']}{when})"
