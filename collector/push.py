"""What a node ships: its own journal, then the mirrors it holds of its guests' and peers' journals
(var/mirrors/*.db, written by `journal pull`), relayed as the 1.x master relayed its guests' status."""

import os
import re
import time

from collector import schema
from collector.connect import connect, describe
from collector.ship import CHUNK, ship_journal
from core.errors import JournalError, NotFound

MIRRORS = "mirrors"
NAME = re.compile(r"^(?P<node>.+)\.(?P<uuid>[0-9a-f]{32})\.db$")     # journal/mirror.py's file names


def sources(node):
    """[(path, node name or None)]: the node's journal (None: this node), then each mirror file
    `<node>.<uuid>.db`, sorted."""
    found = [(node.journal_path, None)]
    folder = node.var / MIRRORS
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        names = []
    found += [(folder / n, m["node"]) for n, m in ((n, NAME.match(n)) for n in names) if m]
    return found


def push(node, dsn, *, bounds, deadline=None, conn=None, chunk=CHUNK):
    """Ship every source. Returns (shipped list, refusals): a journal refused (exit 6) does not stop the
    others; a collector that cannot be reached raises CollectorError at once."""
    import psycopg

    from journal.store import Journal

    own = conn is None
    conn = conn or connect(dsn, bounds=bounds)
    done, refusals = [], []
    try:
        schema.ensure(conn)
        own_uuid = None
        for path, mirror_of in sources(node):
            if deadline is not None and time.monotonic() > deadline:
                break                 # the bounded attempt after an action: the rest goes next time
            relayed = mirror_of is not None
            try:
                journal = Journal(path, create=False, readonly=True)
            except NotFound:
                continue              # nothing journaled on this node yet (or an empty mirror)
            except JournalError as exc:
                refusals.append(exc)
                continue
            try:
                if not relayed:
                    own_uuid = journal.uuid
                elif journal.uuid == own_uuid:
                    continue          # a mirror of this node's own journal: shipped as itself
                name = mirror_of if relayed else node.name
                done.append(ship_journal(conn, journal, name, node.name, relayed=relayed, deadline=deadline,
                                          chunk=chunk))
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
