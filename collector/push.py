"""What a node ships: its own journal, then the mirrors it holds of its guests' and peers' journals
(var/mirrors/*.db, written by `journal pull`), relayed as the 1.x master relayed its guests' status."""

import os

from collector import schema
from collector.connect import connect, describe
from collector.ship import ship_journal
from core.errors import JournalError, NotFound

MIRRORS = "mirrors"


def sources(node):
    """[(path, relayed)]: the node's journal, then each mirror file, sorted."""
    found = [(node.journal_path, False)]
    folder = node.var / MIRRORS
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".db"))
    except OSError:
        names = []
    found += [(folder / n, True) for n in names]
    return found


def _node_of(journal, default):
    """A mirror's node: the node of its first record (a journal holds its own node's records)."""
    rows = journal.raw(limit=1)
    return rows[0][3] if rows and rows[0][3] else default


def push(node, dsn, *, bounds, deadline=None, conn=None):
    """Ship every source. Returns (shipped list, refusals): a journal refused (exit 6) does not stop the
    others; a collector that cannot be reached raises CollectorError at once."""
    import psycopg

    from journal.store import Journal

    own = conn is None
    conn = conn or connect(dsn, bounds=bounds)
    done, refusals = [], []
    try:
        schema.ensure(conn)
        for path, relayed in sources(node):
            try:
                journal = Journal(path, create=False, readonly=True)
            except NotFound:
                continue              # nothing journaled on this node yet (or an empty mirror)
            except JournalError as exc:
                refusals.append(exc)
                continue
            try:
                name = _node_of(journal, path.name.split(".")[0]) if relayed else node.name
                done.append(ship_journal(conn, journal, name, node.name, relayed=relayed, deadline=deadline))
            except JournalError as exc:
                refusals.append(exc)
            finally:
                journal.close()
    except psycopg.Error as exc:
        from collector.connect import CollectorError

        raise CollectorError(f"{describe(exc, dsn)}; nothing of the failed batch was stored, the journal keeps "
                             f"it for the next push") from None
    finally:
        if own:
            conn.close()
    return done, refusals
