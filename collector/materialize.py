"""One journal's records from the collector as a journal file: what `journal report --collector` reads.

The report draws one action with the status before and after it, folded from that journal's records
by seq (engine.history): those only make sense inside one journal. So the rows of the service in the
journal that ran the action are written, as stored (same columns, payload bytes, hashes), into a
throwaway SQLite file with the journal's schema and uuid, and the local report code reads it through
journal.store.Journal, read-only, like any journal.
"""

import shutil
import sqlite3
import tempfile
from pathlib import Path

from journal import chain

SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, hlc INTEGER NOT NULL, node TEXT, svc TEXT, "
    "rid TEXT, kind TEXT, machine TEXT, event TEXT, src TEXT, dst TEXT, action_id TEXT, payload BLOB, "
    "durable INTEGER, hash BLOB NOT NULL)",
    "CREATE INDEX events_action ON events (action_id)",
)


class Materialized:
    """A read-only Journal over the copy; closing it removes the copy."""

    def __init__(self, conn, uuid, svc):
        from journal.store import Journal

        self.folder = tempfile.mkdtemp(prefix="osvc-collector-")
        path = Path(self.folder) / "journal.db"
        db = sqlite3.connect(path)
        try:
            for sql in SCHEMA:
                db.execute(sql)
            db.executemany("INSERT INTO meta VALUES (?, ?)", [("uuid", uuid), ("format", "1")])
            marks = ", ".join("?" * len(chain.COLUMNS))
            with conn.cursor(name="osvc_copy") as cur:
                cur.itersize = 5000
                cur.execute(f"SELECT {', '.join(chain.COLUMNS)} FROM events WHERE journal = %s AND svc = %s "
                            f"ORDER BY seq", (uuid, svc))
                db.executemany(f"INSERT INTO events VALUES ({marks})",
                               ((*r[:13], 1 if r[13] else 0, bytes(r[14])) for r in cur))
            conn.commit()
            db.commit()
        finally:
            db.close()
        self.journal = Journal(path, create=False, readonly=True)

    def close(self):
        self.journal.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.journal

    def __exit__(self, *exc):
        self.close()
