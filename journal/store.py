"""The journal store: `var/journal.db`, one row per event, hash-chained, seq = commit order.

Append path: the raw sqlite3 connection, `BEGIN IMMEDIATE` (the write lock), then inside the
transaction read the head (seq, hash, hlc), allocate seq, chain the hashes, insert, commit. One
writer at a time holds the lock, so seq order is commit order and a tail reading `seq > last`
never skips a record. Records are encoded before the lock is taken, to keep it short.

Durability per call: durable=True commits with synchronous=FULL (the WAL is fsynced before
append returns); durable=False uses synchronous=NORMAL (survives a process crash, not a power loss).

sqlite_utils is imported only to create the schema: it costs ~80 ms and the hot path needs none of it.

Readers (`Journal(path, readonly=True)`: every `osvc-engine journal` read command) open the file with
SQLite's `mode=ro`, and `immutable=1` when its folder is not writable (a read-only mount, evidence
copied off a dead node): they never write the database, and never create a file beside it in a folder
they cannot write (docs/journal.md, "Reading a journal read-only").
"""

import os
import sqlite3
import time
from itertools import chain as _chain
from operator import itemgetter
from pathlib import Path
from urllib.parse import quote

import msgpack

from core.errors import JournalError, NotFound, UsageError
from core.files import disk_full, make_dirs, no_space
from core.files import space as _space
from journal import anchor, chain

TABLE = "events"
COLUMNS = chain.COLUMNS
COLUMN_LIST = ", ".join(COLUMNS)
SELECT = f"SELECT {COLUMN_LIST} FROM {TABLE}"
# A group is inserted MULTI_ROWS rows per statement (INSERT ... VALUES (...), (...), ...): one
# statement run instead of one per row saves ~1.5 us per record against executemany (measured
# 8.4 vs 10.1 us per record, 100 per transaction). 64 rows = 960 parameters, under the 999 of old
# SQLite builds; at most 64 distinct statements, which the connection's statement cache keeps.
MULTI_ROWS = 64
_INSERTS = {}


def insert_sql(n):
    """The INSERT of n rows (1 <= n <= MULTI_ROWS), built once per size."""
    sql = _INSERTS.get(n)
    if sql is None:
        row = f"({', '.join('?' * len(COLUMNS))})"
        sql = _INSERTS[n] = f"INSERT INTO {TABLE} ({COLUMN_LIST}) VALUES {', '.join([row] * n)}"
    return sql


INSERT = insert_sql(1)


def insert_rows(conn, rows, _flatten=_chain.from_iterable):
    """Insert the stored rows (lists in COLUMNS order), MULTI_ROWS per statement."""
    for k in range(0, len(rows), MULTI_ROWS):
        part = rows[k:k + MULTI_ROWS]
        conn.execute(insert_sql(len(part)), list(_flatten(part)))


HEAD = f"SELECT seq, hash, hlc FROM {TABLE} ORDER BY seq DESC LIMIT 1"
RECORD_KEYS = frozenset(chain.TEXT_KEYS) | {"payload"}

# (name, columns): the indexes of the events table, each on an append-local key (kind, action id and
# ts grow with seq), so a commit dirties one leaf page per index. No seq column: every SQLite index
# ends with the rowid (= seq), so `kind = ? ORDER BY seq` reads in seq order without a sort.
# No index on node: a node's journal holds (almost) only its own node, an index there selects
# nothing and costs every append (~10% of group-commit throughput with 100k rows, measured).
INDEXES = (
    ("events_kind", ("kind",)),
    ("events_action", ("action_id",)),
    ("events_ts", ("ts",)),
)

# The service index is a side table, filled in batches. An index on events(svc) put each new row's
# entry after the same service's previous entry: a transaction touching 100 services dirtied ~100
# scattered leaf pages (~400 KB of WAL per commit), which capped group commit. The side table gets
# the rows up to each multiple of SVC_EVERY in the transaction that crosses it, sorted by service:
# each leaf page is written once per merge instead of once per commit. So every row with
# seq <= head // SVC_EVERY * SVC_EVERY is in it, and a service's rows are its indexed rows followed
# by the matching rows of the unmerged tail (fewer than SVC_EVERY, a short rowid range scan).
# SVC_EVERY is recorded in each journal's meta (a later default never changes an existing file).
# Journals made before it have an events(svc) index (or (svc, rid, seq)) and no meta key: their
# service reads use that index, as they always did.
SVC_TABLE = "svc_index"
SVC_EVERY = 4096
SVC_SCHEMA = (f"CREATE TABLE IF NOT EXISTS {SVC_TABLE} (svc TEXT NOT NULL, seq INTEGER NOT NULL, "
              f"PRIMARY KEY (svc, seq)) WITHOUT ROWID")
SVC_MERGE = (f"INSERT INTO {SVC_TABLE} (svc, seq) SELECT svc, seq FROM {TABLE} WHERE seq > ? AND seq <= ? "
             f"ORDER BY svc, seq")


def service_rows(every):
    """FROM clause of one service's rows (parameters: svc, svc): the indexed part, read through the
    side table's (svc, seq) key (CROSS JOIN keeps that order: no sort), then the unmerged tail. Both
    halves are in seq order and SQLite merges them, so ORDER BY seq needs no sort either."""
    cols = ", ".join("s.seq AS seq" if c == "seq" else f"e.{c} AS {c}" for c in COLUMNS)
    return (f"(SELECT {cols} FROM {SVC_TABLE} s CROSS JOIN {TABLE} e ON e.seq = s.seq WHERE s.svc = ? "
            f"UNION ALL {SELECT} WHERE seq > (SELECT max(seq) FROM {TABLE}) / {int(every)} * {int(every)} "
            f"AND svc = ?)")


# Read filters: keyword -> (column, operator) (data, not branches). A tuple value means any of them.
FILTERS = {
    "svc": ("svc", "="), "rid": ("rid", "="), "node": ("node", "="), "kind": ("kind", "="),
    "event": ("event", "="), "action_id": ("action_id", "="), "seq_min": ("seq", ">="),
    "seq_max": ("seq", "<="), "since_ns": ("ts", ">="), "until_ns": ("ts", "<"), "seq_after": ("seq", ">"),
}

DEFAULT_BUSY_TIMEOUT = 10.0
WAL_SIZE_LIMIT = 64 << 20
# Per-connection settings, applied by every Journal (and by the bench's raw baseline, "same settings").
# wal_autocheckpoint: a checkpoint copies each page changed since the last one once, however often
# it changed; the default (1000 pages) checkpoints every few group commits and rewrites the same
# index leaves each time. 10000 pages (40 MB of WAL at most) measured best (see README).
PRAGMAS = (("journal_size_limit", WAL_SIZE_LIMIT), ("wal_autocheckpoint", 10000))

# sqlite error name prefix -> what the operator reads (the path and the call are filled in).
_ERRORS = (
    ("SQLITE_BUSY", "journal {path} is locked: another writer held it for more than {timeout:g}s "
                    "({err}); nothing was {done}. Retry, or find the stuck writer with `fuser {path}`"),
    ("SQLITE_LOCKED", "journal {path} is locked ({err}); nothing was {done}. Retry"),
    ("SQLITE_FULL", "journal {path}: the disk is full ({err}); nothing was {done}. "
                    "Free space on its filesystem, then retry"),
    ("SQLITE_READONLY", "journal {path} is read-only ({err}); nothing was {done}. "
                        "Check the file, its directory and the mount are writable by this user"),
    ("SQLITE_IOERR", "journal {path}: I/O error ({err}); nothing was {done}. Check the disk (dmesg)"),
    ("SQLITE_CORRUPT", "journal {path} is corrupt ({err}); nothing was {done}. "
                       "Run `osvc-engine journal verify`, and restore it from a copy"),
    ("SQLITE_NOTADB", "{path} is not a journal database ({err}). Move it away or fix OSVC_ROOT"),
    ("SQLITE_CANTOPEN", "cannot open journal {path} ({err}). Check the directory exists and is writable"),
    ("SQLITE_PERM", "journal {path}: permission denied ({err}); nothing was {done}"),
)
# A reader cannot open the file: it is not asked to write anything, so the folder's mode is not the cause.
READER_CANTOPEN = "cannot open journal {path} for reading ({err}). Check the file is readable by this user"

# Below FULL_MARGIN free on the journal's filesystem (core/files.py space), an I/O error of SQLite's (which is
# all it says when the -shm or the WAL cannot grow) is the disk being full: ENOSPC reaches sqlite3 without its
# errno. How much is free and the message every disk-full error starts with (no_space) are core/files.py's,
# shared with the engine's own files (states.json, status.json, the lock).


# Test-only: OSVC_TEST_CLOCK_SKEW=<seconds> (e.g. -600) shifts this process's journal clock (ts and
# hlc), so a test can give one node a clock 10 minutes behind its peers and check that the merged
# cluster timeline stays causal (core/lineage.py). Read once, here only; never set it in production.
CLOCK_SKEW_ENV = "OSVC_TEST_CLOCK_SKEW"
_SKEW_NS = int(float(os.environ.get(CLOCK_SKEW_ENV) or 0) * 1e9)


def _os_wall_ns():
    return time.time_ns() + _SKEW_NS


def _read_head(path):
    """The anchor's newest Head, or None (missing, unreadable, both slots damaged)."""
    try:
        return anchor.read(path)
    except OSError:
        return None


# -- reading read-only -------------------------------------------------------------------------------


def _ro_uri(path, immutable=False):
    return f"file:{quote(str(path), safe='/')}?mode=ro" + ("&immutable=1" if immutable else "")


def _writable(folder):
    """Can this process create a file in `folder`? access() says no on a read-only mount, for root too."""
    return os.access(folder, os.W_OK)


def _size(path):
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _read_only_source(path):
    """The URI a reader opens, or None. In a folder this process can write: `mode=ro` (SQLite shares the
    file with live writers through the -wal and -shm, and creates them if they are missing, as any
    connection does: the database file itself is never written). In a folder it cannot write (a
    read-only mount; permissions, unless root), nothing can be created: no WAL (or an empty one):
    `immutable=1`, the database file holds every record; a WAL and its -shm: `mode=ro` reads both
    without writing; a WAL without -shm: None (Journal._open_read_only reads a copy)."""
    if _writable(path.parent):
        return _ro_uri(path)
    if not _size(f"{path}-wal"):
        return _ro_uri(path, immutable=True)
    if os.path.exists(f"{path}-shm"):
        return _ro_uri(path)
    return None


def _private_copy(path):
    """A private folder (0700, under TMPDIR) holding copies of the database and its WAL."""
    import shutil  # lazy (bz2 and lzma come with it, ~3 ms): every action imports this module, few readers copy
    import tempfile

    folder = tempfile.mkdtemp(prefix="osvc-journal-")
    try:
        for suffix in ("", "-wal"):
            shutil.copyfile(f"{path}{suffix}", os.path.join(folder, f"{path.name}{suffix}"))
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise JournalError(f"journal {path}: its folder cannot be written and it has a WAL ({path.name}-wal) "
                           f"but no -shm, which SQLite needs to read the WAL; copying both to {folder} to read "
                           f"them there failed: {exc.strerror}. Copy {path.parent} to a writable folder and "
                           f"read the copy (OSVC_ROOT)") from None
    return folder


# -- a full disk ---------------------------------------------------------------------------------------


def _os_error(exc, path):
    """An OSError writing a file of the journal (its anchor) as the journal's error."""
    full = disk_full(exc, path)
    if full is not None:
        return full
    return JournalError(f"cannot write {path}: {exc.strerror or exc}. Check the file, its directory and the "
                        f"mount are writable by this user")


class Journal:
    """One node's journal. Not thread-safe: one Journal per thread (or per process)."""

    def __init__(self, path, *, busy_timeout=DEFAULT_BUSY_TIMEOUT, clock=_os_wall_ns, create=True,
                 readonly=False):
        self.path = Path(path)
        self.readonly = bool(readonly)
        self.busy_timeout = busy_timeout
        self._clock = clock
        self._hlc_floor = 0
        self._sync = None
        self._pack = msgpack.Packer(use_bin_type=True).pack
        self._canon = chain.make_canonical()
        self._conn = None
        self._anchor = None
        self._anchored = (None,) * 4    # (seq, hash, dseq, dhash) of this Journal's last anchor write
        self.anchor_path = anchor.path_for(self.path)
        self._foreign = None            # the anchor's Head when it names another journal: appends refused
        self._copy = None               # a reader's private copy (see _read_only_source)
        self._target, self._uri = str(self.path), False    # what sqlite3.connect opens
        if not self.path.exists():
            if os.path.lexists(self.anchor_path) and not self.path.exists():   # a creator makes the
                raise JournalError(self._lost("missing"))                       # database before its anchor
            if not self.path.exists():
                if not create or self.readonly:
                    raise NotFound(f"no journal at {self.path}: nothing was journaled on this node yet, "
                                   f"or OSVC_ROOT points elsewhere")
                self._create_file()
        try:
            if self.readonly:
                self._conn = self._open_read_only()
            else:
                self._conn = self._connect()
            meta = self._load_meta() or self._no_meta()
            self.uuid = meta["uuid"]
            every = int(meta.get("svc_index_every", 0))
            self._svc_every = every
            self._svc_rows = service_rows(every) if every else None
            if not self.readonly:
                for name, value in PRAGMAS:
                    self._conn.execute(f"PRAGMA {name}={value}")
        except sqlite3.Error as exc:
            err = self._error(exc, "opened")
            self.close()
            raise err from None
        except BaseException:
            self.close()
            raise
        self.genesis = chain.genesis(self.uuid)
        self.salt = chain.salt(self.uuid)
        if self.readonly:
            return
        self._anchor = anchor.Writer(self.anchor_path, self.uuid)
        head = _read_head(self.anchor_path)
        if head is not None and head.uuid != self.uuid:
            self._foreign = head        # never overwrite the only trace of another journal's history
        elif head is None and not os.path.exists(self.anchor_path) and self.last_seq() == 0:
            # A creator killed between the schema commit and the anchor: nothing to protect yet.
            self._create_anchor(self._head(0, self.genesis, 0, self.genesis, True))

    # -- opening -----------------------------------------------------------------------------------

    def _create_file(self):
        try:
            make_dirs(self.path.parent)
        except OSError as exc:
            raise JournalError(f"cannot create journal {self.path}: {exc.strerror} ({exc.filename}). "
                               f"Check its directory exists and is writable") from None
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return  # another process created it first
        except OSError as exc:
            raise JournalError(f"cannot create journal {self.path}: {exc.strerror} ({exc.filename}). "
                               f"Check its directory exists and is writable") from None
        os.fchmod(fd, 0o600)  # umask may have narrowed it, never widened: make it exact
        os.close(fd)

    def _connect(self):
        return sqlite3.connect(self._target, timeout=self.busy_timeout, isolation_level=None,
                               cached_statements=256, uri=self._uri)   # room for the MULTI_ROWS inserts

    @property
    def source(self):
        """What another connection opens to read the same file the same way (verify's forked helper):
        the database's Path for a writer, the `file:...?mode=ro` URI (a str) of a reader."""
        return self._target if self._uri else self.path

    def _open_read_only(self):
        """A reader's connection (see _read_only_source). Two fallbacks: SQLite cannot create the -shm
        beside a database whose WAL is empty or gone (a full disk): the database file holds every
        record, it is read immutable; a folder that cannot be written holding a WAL but no -shm (or one
        SQLite cannot use read-only): the records committed after the last checkpoint are in the WAL and
        SQLite cannot read them without building a -shm beside them, so a private copy of the database
        and its WAL is read instead."""
        wal = _size(f"{self.path}-wal")
        target = _read_only_source(self.path)
        tries = [target] if target else []
        if target and not wal and "immutable" not in target:
            tries.append(_ro_uri(self.path, immutable=True))
        self._uri, failure = True, None
        for uri in tries:
            self._target, conn = uri, None
            try:
                conn = self._connect()
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.Error as exc:
                if conn is not None:
                    conn.close()
                failure = exc
        if failure is not None and (not wal or _writable(self.path.parent)):
            raise failure
        self._copy = _private_copy(self.path)
        self._target = _ro_uri(Path(self._copy) / self.path.name)
        return self._connect()

    def _no_meta(self):
        """The database has no journal in it (an empty file): a writer creates the schema, unless the
        anchor beside it says a journal was there (emptied: refused); a reader finds nothing."""
        if os.path.lexists(self.anchor_path):
            meta = self._load_meta()          # a concurrent creator commits its schema, then makes the anchor
            if meta:
                return meta
            raise JournalError(self._lost("empty (it holds no journal)"))
        if self.readonly:
            raise NotFound(f"journal {self.path} is empty: nothing was journaled on this node yet")
        return self._create_schema()

    def _lost(self, what):
        """The message of a database missing or emptied while its head anchor stayed."""
        head = _read_head(self.anchor_path)
        names = (f"journal {head.uuid} up to seq {head.seq}" if head is not None
                 else "a journal (its slots are unreadable)")
        return (f"journal {self.path} is {what}, but its head anchor {self.anchor_path} is there: it records "
                f"{names}. The journal was deleted, moved or emptied (or var/ restored without it), so its "
                f"history is not here; nothing was read or written. Restore {self.path.name} (and "
                f"{self.path.name}-wal if there is one) from a copy; to start a new journal instead, move the "
                f"anchor away first and keep it as evidence: `mv {self.anchor_path} {self.anchor_path}.lost`")

    def _create_anchor(self, head):
        try:
            anchor.create(self.anchor_path, head)
        except OSError as exc:
            raise _os_error(exc, self.anchor_path) from None

    def _load_meta(self):
        """The meta table as a dict, or None before the schema exists."""
        try:
            meta = dict(self._conn.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return meta if "uuid" in meta else None

    def _create_schema(self):
        import sqlite_utils  # only here: ~80 ms of imports the append path never pays
        import uuid as uuidlib  # here too: only a new journal needs a uuid, and every action imports this module

        db = sqlite_utils.Database(self._conn)
        db.enable_wal()  # persistent: set once, at creation, outside any transaction
        self._conn.execute("BEGIN IMMEDIATE")  # two creators racing: the second waits, then sees it
        try:
            found = self._load_meta()
            if found:
                self._conn.execute("ROLLBACK")
                return found
            db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
            db[TABLE].create({
                "seq": int, "ts": int, "hlc": int, "node": str, "svc": str, "rid": str, "kind": str,
                "machine": str, "event": str, "src": str, "dst": str, "action_id": str,
                "payload": bytes, "durable": int, "hash": bytes,
            }, pk="seq", not_null={"ts", "hlc", "hash"}, if_not_exists=True)
            for name, cols in INDEXES:
                db[TABLE].create_index(list(cols), index_name=name, if_not_exists=True)
            self._conn.execute(SVC_SCHEMA)   # WITHOUT ROWID: sqlite-utils cannot say it
            new = uuidlib.uuid4().hex
            meta = {"uuid": new, "format": "1", "created_ns": str(time.time_ns()),
                    "svc_index_every": str(SVC_EVERY)}
            db["meta"].insert_all([{"key": k, "value": v} for k, v in meta.items()])
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._create_anchor(self._head(0, chain.genesis(new), 0, chain.genesis(new), True, new))
        return meta

    def _head(self, seq, h, dseq, dh, last_durable, uid=None):
        return anchor.Head(seq, h, dseq, dh, uid or self.uuid, anchor.BOOT_ID, last_durable)

    # -- errors ------------------------------------------------------------------------------------

    def _error(self, exc, done="written", records=None):
        """The JournalError of a sqlite3 error. `records`: the group an append failed to write (a disk
        full while an action it belongs to is open names the `recover` that closes it)."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if not name and "locked" in text:
            name = "SQLITE_BUSY"
        if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) and not self.readonly:
            space = _space(self.path.parent)      # ENOSPC reaches sqlite as a bare I/O error (-shm, WAL growth)
            if space is not None and space[1]:
                name = "SQLITE_FULL"
        if name.startswith("SQLITE_IOERR") and not self.readonly and self._not_writable():
            name = "SQLITE_READONLY"  # EPERM/EROFS reach sqlite as a bare I/O error: say what it is
        if name.startswith("SQLITE_FULL") and records:
            found = self._open_actions(records)
            if found:
                svc, aid, action = found
                head, mount = no_space(self.path)
                return JournalError(f"{head} ({text}): nothing of this write was journaled, and action "
                                    f"'{action}' [act:{aid[:8]}] of {svc} stays open. Free space on {mount}, "
                                    f"then run `osvc-engine -s {svc} recover`")
        if self.readonly and name.startswith("SQLITE_CANTOPEN"):
            return JournalError(READER_CANTOPEN.format(path=self.path, err=text))
        for prefix, template in _ERRORS:
            if name.startswith(prefix):
                return JournalError(template.format(path=self.path, err=text, timeout=self.busy_timeout,
                                                    done=done))
        return JournalError(f"journal {self.path}: {text}; nothing was {done}")

    def _open_actions(self, records):
        """(svc, action id, action) of the first action of `records` that is begun and not ended in
        the journal, or None. On the error path only."""
        ids = {}
        for rec in records:
            if type(rec) is dict and rec.get("action_id"):
                ids.setdefault(str(rec["action_id"]), str(rec.get("svc") or ""))
        for aid, svc in ids.items():
            try:
                rows = self.read(action_id=aid, kind="action")
            except (JournalError, sqlite3.Error):
                return None
            begin = next((r for r in rows if r["event"] == "begin"), None)
            if begin is not None and not any(r["event"] == "end" for r in rows):
                return svc or begin["svc"], aid, str(begin["payload"].get("action") or "?")
        return None

    def _not_writable(self):
        """On the error path only: is the database or its WAL refused for writing?"""
        for path in (self.path, f"{self.path}-wal"):
            try:
                os.close(os.open(path, os.O_WRONLY))
            except FileNotFoundError:
                continue
            except OSError:
                return True
        return False

    # -- writing -----------------------------------------------------------------------------------

    def _rows(self, records, durable, _texts=itemgetter(*chain.TEXT_KEYS), _n=len(RECORD_KEYS),
              _empty=b"\x80"):
        """The stored rows of the records, seq/ts/hlc left 0 and the hash missing (filled in under the
        lock). Hot path: a dict with every key (the common case) costs a few C calls; a record with
        missing keys takes the slower path, which also refuses unknown keys."""
        pack = self._pack
        d = 1 if durable else 0
        rows = []
        for record in records:
            try:
                if type(record) is not dict or len(record) != _n:
                    raise KeyError
                texts = _texts(record)          # every known key present and len == _n: no unknown key
                payload = record["payload"]
            except KeyError:
                texts, payload = self._complete(record)
            try:
                "".join(texts)  # raises unless every value is a str
            except TypeError:
                texts = tuple("" if v is None else str(v) for v in texts)
            try:
                blob = pack(payload) if payload else _empty   # b"\x80": msgpack of {}
            except (TypeError, ValueError, OverflowError) as exc:
                raise UsageError(f"journal record payload cannot be encoded ({exc}): use str, int, float, "
                                 f"bool, None, bytes, lists and dicts with str keys") from None
            rows.append([0, 0, 0, *texts, blob, d])
        return rows

    def _complete(self, record, _keys=chain.TEXT_KEYS, _blank=("",) * len(chain.TEXT_KEYS)):
        """A record with missing keys: '' for a missing text, {} for a missing payload."""
        if type(record) is not dict or not RECORD_KEYS.issuperset(record):
            self._refuse(record)
        return tuple(map(record.get, _keys, _blank)), record.get("payload")

    @staticmethod
    def _refuse(record):
        if not isinstance(record, dict):
            raise UsageError(f"journal record must be a dict, got {type(record).__name__}")
        extra = record.keys() - RECORD_KEYS
        if extra:
            raise UsageError(f"journal record has unknown key(s) {', '.join(sorted(extra))}: "
                             f"use {', '.join(sorted(RECORD_KEYS))}")

    def _set_sync(self, durable):
        mode = "FULL" if durable else "NORMAL"
        if self._sync != mode:
            self._conn.execute(f"PRAGMA synchronous={mode}")
            self._sync = mode

    def append(self, records, durable=True):
        """Append records in one transaction; returns their seqs. All or nothing: on failure
        JournalError is raised and none of them is in the journal."""
        rows = self._rows(records, durable)
        if not rows:
            return []
        conn = self._conn
        if conn is None:
            raise JournalError(f"journal {self.path} is closed")
        if self._foreign is not None or self.readonly:
            raise JournalError(self._refusal())
        try:
            self._set_sync(durable)
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc, records=records) from None
        try:
            head = conn.execute(HEAD).fetchone()
            seq, prev, hlc = head if head else (0, self.genesis, 0)
            first = seq + 1
            seq, prev, hlc = chain.seal(rows, seq, prev, max(hlc, self._hlc_floor), self._clock(),
                                        self.salt, self._canon)
            insert_rows(conn, rows)
            every = self._svc_every
            if every and seq // every != (first - 1) // every:
                conn.execute(SVC_MERGE, ((first - 1) // every * every, seq // every * every))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the failed COMMIT may already have rolled it back
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc, records=records) from None
            raise
        self._hlc_floor = hlc
        self._write_anchor(seq, prev, durable, alone=head is not None and head[:2] == self._anchored[:2])
        return list(range(first, seq + 1))

    def append_one(self, record, durable=True):
        return self.append([record], durable)[0]

    def _refusal(self):
        if self.readonly:
            return f"journal {self.path} is open read-only (a read command): nothing was written"
        head = self._foreign
        a = self.anchor_path
        return (f"journal {self.path} is journal {self.uuid}, but its head anchor {a} records journal "
                f"{head.uuid} (up to seq {head.seq}): the database was replaced or recreated. Nothing was "
                f"written: appending would overwrite the anchor, the only trace of that journal's history. "
                f"Restore the journal the anchor names; or, to go on with this database, keep the anchor "
                f"as evidence and accept the current head: `cp {a} {a}.lost && osvc-engine journal verify "
                f"--reanchor`")

    def _write_anchor(self, seq, h, durable, alone):
        """After the commit: the anchor lags the database at worst, never leads it. A relaxed commit
        carries the last durable head known: the one this Journal last wrote when nobody else
        committed since (`alone`: the head it appended after was its own last commit), else the
        anchor file's (another writer may have made a durable commit: ~20 us to read and parse)."""
        try:
            if durable:
                dseq, dh = seq, h
            elif alone:
                dseq, dh = self._anchored[2:]
            else:
                cur = self._anchor.current()
                dseq, dh = (cur.dseq, cur.dhash) if cur and cur.dseq < seq else (0, self.genesis)
            self._anchor.put(seq, h, dseq, dh, durable)
            self._anchored = (seq, h, dseq, dh)
        except OSError:
            # The records are committed: failing the append now would make the caller act as if
            # they were not. A stale anchor only weakens truncation detection; verify reports it.
            pass

    @property
    def last_hlc(self):
        """The hlc of the last record this connection appended (or the floor observe_hlc raised)."""
        return self._hlc_floor

    def observe_hlc(self, hlc):
        """Receive a remote node's hlc: our next records order after it (hybrid logical clock)."""
        self._hlc_floor = max(self._hlc_floor, int(hlc))

    # -- reading -----------------------------------------------------------------------------------

    def _select(self, filters):
        """(SELECT ... WHERE ..., args) for the filters; a service filter reads from the side table
        when the journal has one (its two parameters come first: they are in the FROM clause)."""
        source, conds, args = TABLE, [], []
        for key, value in filters.items():
            if value is None:
                continue
            if key not in FILTERS:
                raise UsageError(f"unknown journal filter {key!r}: use {', '.join(FILTERS)}")
            column, op = FILTERS[key]
            if key == "svc" and self._svc_rows and type(value) is not tuple:
                source = self._svc_rows
                args[:0] = (value, value)
            elif type(value) is tuple:
                conds.append(f"{column} IN ({', '.join('?' * len(value))})")
                args.extend(value)
            else:
                conds.append(f"{column} {op} ?")
                args.append(value)
        where = " WHERE " + " AND ".join(conds) if conds else ""
        return f"SELECT {COLUMN_LIST} FROM {source}{where}", args

    def raw(self, last=None, limit=None, **filters):
        """Stored row tuples (COLUMNS order), ascending seq. One short read transaction."""
        select, args = self._select(filters)
        try:
            if last is not None:
                sql = f"SELECT * FROM ({select} ORDER BY seq DESC LIMIT ?) ORDER BY seq"
                return self._conn.execute(sql, (*args, int(last))).fetchall()
            sql = f"{select} ORDER BY seq" + (f" LIMIT {int(limit)}" if limit else "")
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from None

    def scan(self, chunk=5000, seq_after=0, **filters):
        """Every matching row tuple, in seq order, read in chunks so no read transaction stays
        open long (a long reader would starve WAL checkpoints and let the WAL grow)."""
        while True:
            rows = self.raw(limit=chunk, seq_after=seq_after, **filters)
            yield from rows
            if len(rows) < chunk:
                return
            seq_after = rows[-1][0]

    def read(self, last=None, **filters):
        """Decoded records (dicts) matching the filters (FILTERS), ascending seq; `last`: the newest N."""
        return [decode(r) for r in self.raw(last=last, **filters)]

    def newest(self, **filters):
        """The newest record matching the filters, decoded, or None."""
        rows = self.raw(last=1, **filters)
        return decode(rows[0]) if rows else None

    def last_seq(self):
        return self.head()[0]

    def head(self):
        """(seq, hash) of the last record; (0, genesis) when empty."""
        try:
            row = self._conn.execute(HEAD).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from None
        return (row[0], row[1]) if row else (0, self.genesis)

    def svc_index_problem(self):
        """None when the service side table matches the records up to the merge point, else what is
        wrong. The table is derived data outside the hash chain, so `journal verify` checks it against
        the chained rows: per service, the count, sum and sum of squares of its seqs on both sides (two
        ordered passes, ~4x cheaper than looking each entry up; a missing, extra or misattributed
        entry changes them)."""
        if not self._svc_every:
            return None
        merged = self.last_seq() // self._svc_every * self._svc_every
        agg = "SELECT svc, count(*), total(seq), total(seq * seq) FROM {} GROUP BY svc"
        try:
            indexed = {r[0]: r[1:] for r in self._conn.execute(agg.format(SVC_TABLE))}
            records = {r[0]: r[1:] for r in self._conn.execute(agg.format(f"{TABLE} WHERE seq <= ?"),
                                                                (merged,))}
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from None
        differ = sorted(svc for svc in indexed.keys() | records.keys() if indexed.get(svc) != records.get(svc))
        if not differ:
            return None
        count = sum(v[0] for v in indexed.values())
        more = f" and {len(differ) - 3} more" if len(differ) > 3 else ""
        return (f"journal {self.path}: the service index does not match the records (it holds {count} "
                f"entries for the {merged} records merged so far; it differs for {', '.join(differ[:3])}{more}): "
                f"reads by service may miss or add records. The records and their chain are not affected: "
                f"rebuild the index with `osvc-engine journal verify --reindex`")

    def reindex(self):
        """Rebuild the service side table from the records (one write transaction). Returns the
        number of entries."""
        if not self._svc_every:
            return 0
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                merged = self.last_seq() // self._svc_every * self._svc_every
                conn.execute(f"DELETE FROM {SVC_TABLE}")
                conn.execute(SVC_MERGE, (0, merged))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error(exc, "changed") from None
        return merged

    def hash_at(self, seq):
        if seq == 0:
            return self.genesis
        row = self._conn.execute(f"SELECT hash FROM {TABLE} WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def data_version(self):
        """Changes whenever another connection commits: the cheap poll of followers."""
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    @property
    def connection(self):
        return self._conn

    # -- lifetime ----------------------------------------------------------------------------------

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._anchor is not None:
            self._anchor.close()
        if self._copy is not None:
            import shutil  # lazy: only a reader that made a private copy (_private_copy) has one to remove

            shutil.rmtree(self._copy, ignore_errors=True)
            self._copy = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _unpack_payload(blob):
    return msgpack.unpackb(blob, raw=False, strict_map_key=False) if blob else {}


def decode(row, _unpack=msgpack.unpackb):
    """A stored row tuple -> dict with every column, the payload decoded and the hash in hex.
    A dict literal, not dict(zip()): replay decodes every row, this is its hot spot."""
    seq, ts, hlc, node, svc, rid, kind, machine, event, src, dst, action_id, payload, durable, h = row
    return {"seq": seq, "ts": ts, "hlc": hlc, "node": node, "svc": svc, "rid": rid, "kind": kind,
            "machine": machine, "event": event, "src": src, "dst": dst, "action_id": action_id,
            "payload": _unpack(payload, raw=False, strict_map_key=False) if payload else {},
            "durable": durable == 1, "hash": h.hex()}
