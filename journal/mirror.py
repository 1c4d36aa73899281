"""Mirrors: a peer's journal rows, as stored there, in `var/mirrors/<node>.<uuid>.db`.

One SQLite file per (node, journal uuid), the journal's schema and its `meta.uuid` (so every reader,
`journal.store.Journal(path, readonly=True)`, reads it like a journal), plus `meta.mirror_of` (the
node). Rows are only appended, by `Mirror.accept(header, rows)`, and only when they chain from the
mirror's head: the next seq, and each hash equal to sha256(previous hash + uuid + the row's values)
(journal.chain). Anything else (a peer whose history was rewritten or tampered with) is refused before
anything is written (JournalError, exit 6, naming the node and the first bad seq); the mirror stays as
it was. A peer whose journal was replaced has a new uuid: its rows go to a new mirror file.

The file is mode 0444 and a single file (rollback journal, not WAL): the engine's readers open it
read-only; only a pull writes it, under an exclusive lock of the mirror file (a second pull of the
same peer waits for the first).
"""

import contextlib
import os
import re
import sqlite3
from pathlib import Path

from core.digest import bulk_sha256
from core.errors import JournalError, UsageError
from core.files import make_dirs
from journal import chain
from journal.store import (
    COLUMN_LIST,
    INDEXES,
    SVC_EVERY,
    SVC_MERGE,
    SVC_SCHEMA,
    TABLE,
    insert_rows,
)

FOLDER = "mirrors"
NAME_RE = re.compile(r"^(?P<node>[^/]+)\.(?P<uuid>[0-9a-f]{32})\.db$")
SCHEMA = (f"CREATE TABLE IF NOT EXISTS {TABLE} (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, "
          f"hlc INTEGER NOT NULL, node TEXT, svc TEXT, rid TEXT, kind TEXT, machine TEXT, event TEXT, src TEXT, "
          f"dst TEXT, action_id TEXT, payload BLOB, durable INTEGER, hash BLOB NOT NULL)")
BUSY_SECONDS = 30.0


def folder_of(journal_path) -> Path:
    """The mirrors of the node whose journal is `journal_path`: var/mirrors/ beside it."""
    return Path(journal_path).parent / FOLDER


def path_for(folder, node, uuid) -> Path:
    if not node or "/" in node or node.startswith("."):
        raise UsageError(f"node name {node!r} cannot name a mirror file")
    return Path(folder) / f"{node}.{uuid}.db"


def listing(folder):
    """[(node, uuid, path)] of the mirror files in `folder`, by node then file name."""
    found = []
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    for name in names:
        m = NAME_RE.match(name)
        if m:
            found.append((m.group("node"), m.group("uuid"), Path(folder) / name))
    return found


class ChainBreak(JournalError):
    """Rows that do not chain from a mirror's head: `seq` is the first bad one."""

    def __init__(self, message, seq):
        super().__init__(message)
        self.seq = seq


class Mirror:
    """One mirror file, open for appending (a pull) or checking."""

    def __init__(self, folder, node, uuid, create=True):
        self.node, self.uuid = node, uuid
        self.path = path_for(folder, node, uuid)
        self.salt, self.genesis = chain.salt(uuid), chain.genesis(uuid)
        exists = self.path.exists()
        if not exists and not create:
            raise JournalError(f"no mirror of node {node} journal {uuid} at {self.path}")
        if not exists:
            make_dirs(self.path.parent)
        self._mode = None
        if exists and not os.access(self.path, os.W_OK):
            # 0444 keeps everything but a pull from writing it; root writes anyway, its owner opens it up
            # for the time of the pull (close() puts 0444 back)
            try:
                self._mode = self.path.stat().st_mode & 0o777
                os.chmod(self.path, self._mode | 0o200)
            except OSError as exc:
                raise JournalError(f"mirror {self.path} cannot be written: {exc.strerror}") from None
        try:
            self._conn = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            if not exists:
                self._create()
            meta = dict(self._conn.execute("SELECT key, value FROM meta"))
        except sqlite3.Error as exc:
            raise JournalError(f"mirror {self.path}: {exc}") from None
        if meta.get("uuid") != uuid:
            raise JournalError(f"mirror {self.path} holds journal {meta.get('uuid')}, not {uuid}: "
                               f"its name was changed; move it away")
        self.every = int(meta.get("svc_index_every") or 0)

    def _create(self):
        conn = self._conn
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute(SCHEMA)
        for name, cols in INDEXES:
            conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} ({', '.join(cols)})")
        conn.execute(SVC_SCHEMA)
        conn.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         [("uuid", self.uuid), ("format", "1"), ("svc_index_every", str(SVC_EVERY)),
                          ("mirror_of", self.node)])
        conn.execute("COMMIT")
        os.chmod(self.path, 0o444)

    def head(self):
        """(seq, hash) of the mirror's last row; (0, genesis) when empty."""
        row = self._conn.execute(f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, self.genesis)

    def cursor(self):
        """The peer-side cursor of the mirror's head (journal.cursor), or None when empty."""
        from journal import cursor

        seq, h = self.head()
        return cursor.make(self.uuid, seq, h) if seq else None

    def check(self, rows, seq, prev):
        """Each row must follow (seq, prev): the next seq, the hash of its values. Raises ChainBreak."""
        pack, sha = chain.make_canonical(), bulk_sha256()     # a pull checks every row a peer exports
        for row in rows:
            if len(row) != len(chain.COLUMNS):
                raise self._break(row[0] if row else seq + 1, "is not a journal row")
            if row[0] != seq + 1:
                raise self._break(seq + 1, f"is missing (the peer sent seq {row[0]} next)")
            if not isinstance(row[12], bytes) or not isinstance(row[14], bytes):
                raise self._break(row[0], "has no stored payload or hash")
            h = chain.row_hash(prev, self.salt, row[:14], pack, sha)
            if h != row[14]:
                raise self._break(row[0], "does not chain from the one before it (modified, or history "
                                          "rewritten)")
            seq, prev = row[0], h
        return seq, prev

    def _break(self, seq, what):
        return ChainBreak(f"node {self.node}: journal {self.uuid}: seq {seq} {what}; nothing of this pull was "
                          f"written to the mirror {self.path} (it is left as it was). Run `osvc-engine journal "
                          f"verify` on node {self.node}", seq)

    def accept(self, rows):
        """Append the rows after checking they chain from the head (all or nothing). Returns how many."""
        if not rows:
            return 0
        with self.appending() as append:
            return append(rows)

    @contextlib.contextmanager
    def appending(self):
        """One write transaction: `append(rows)` checks each batch against the head so far and inserts
        it (rows a racing pull already wrote are skipped); all of it is committed at the end, or none when
        anything raised. A pull streams a peer's rows through it as they arrive."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")       # a concurrent pull of this peer waits here
        except sqlite3.Error as exc:
            raise JournalError(f"mirror {self.path}: {exc}") from None
        try:
            base = self.head()
            state = list(base)                    # (seq, hash) the next rows must follow

            def append(rows):
                seq, prev = state
                rows = [r for r in rows if r[0] > seq] if rows and rows[0][0] <= seq else rows
                if not rows:
                    return 0
                self._check_overlap(rows, seq)
                state[:] = self.check(rows, seq, prev)
                insert_rows(conn, rows)
                return len(rows)

            yield append
            last, begun = state[0], base[0]
            if self.every and last // self.every != begun // self.every:
                conn.execute(SVC_MERGE, (begun // self.every * self.every, last // self.every * self.every))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise JournalError(f"mirror {self.path}: {exc}; nothing was written") from None
            raise

    def _check_overlap(self, rows, seq):
        if rows[0][0] != seq + 1:
            raise self._break(seq + 1, f"is missing (the peer sent seq {rows[0][0]} first)")

    def hashes(self, upto):
        """{seq: hash} of the mirror's rows up to `upto` (the comparison that finds a rewritten row)."""
        return dict(self._conn.execute(f"SELECT seq, hash FROM {TABLE} WHERE seq <= ?", (upto,)))

    def verify(self):
        """(records, last seq) after walking the whole chain; ChainBreak at the first bad row."""
        pack, sha = chain.make_canonical(), bulk_sha256()
        seq, prev = 0, self.genesis
        for row in self._conn.execute(f"SELECT {COLUMN_LIST} FROM {TABLE} ORDER BY seq"):
            if row[0] != seq + 1:
                raise ChainBreak(f"mirror {self.path}: seq {seq + 1} is missing", seq + 1)
            h = chain.row_hash(prev, self.salt, row[:14], pack, sha)
            if h != row[14]:
                raise ChainBreak(f"mirror {self.path}: seq {row[0]} does not chain (modified)", row[0])
            seq, prev = row[0], h
        return seq, seq

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._mode is not None:
            os.chmod(self.path, self._mode)
            self._mode = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
