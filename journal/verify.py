"""`journal verify`: walk the hash chain, then check the head anchor.

The walk is a tight loop (re-encode, hash, compare). Only at the first bad row does the slower
diagnosis run, over a window of rows around it, to say *what* is wrong: missing (deleted), reordered,
renumbered, inserted, modified, spliced, truncated, rewritten. It is a diagnosis from the evidence:
messages say what the chain shows, and name the first bad seq.
"""

import fcntl
import gc
import itertools
import marshal
import os
import select
import signal
import sqlite3
import struct
import sys
import time

from core.record import Record, factory

from core.digest import bulk_sha256
from core.errors import JournalError
from journal import anchor as anchormod
from journal import chain
from journal.store import SELECT, TABLE, decode

WINDOW_BEFORE = 16
WINDOW_AFTER = 32
SEQ_SPAN = 16
CHUNK = 5000
PARALLEL_MIN = 20_000    # rows (~0.1 s alone); below, the fork (a few ms) is not worth it
HELPER_STALL = 120.0     # s without a word from a live helper: give up rather than hang


class Result(Record):
    records: int = 0
    last_seq: int = 0
    last_hash: bytes = b""
    warnings: list = factory(list)


class _Linker:
    """Does a row chain from a given hash (optionally as if it had another seq)?"""

    def __init__(self, journal):
        self.salt = journal.salt
        self.pack = chain.make_canonical()

    def links(self, prev, row, seq=None):
        values = row[:14] if seq is None else (seq, *row[1:14])
        return chain.row_hash(prev, self.salt, values, self.pack) == row[14]


def iter_verified(journal, decoded=True, start=None, progress=None, chunk=CHUNK):
    """Yield rows (dicts when decoded, else tuples) in seq order, each only after its link in the
    chain is checked; raise JournalError naming the first bad seq. `start`: a trusted (seq, hash)
    to resume from (incremental verification).

    Long journals are read and checked by a forked helper process, which ships each chunk it
    checked to this one; this one decodes and yields (see the helper section below). The contract
    does not change: a row is yielded only once its link is confirmed, and the diagnosis of a bad
    row runs here, on this process's own connection."""
    after, prev = _start(journal, start)
    helper = None
    if journal.last_seq() - after >= PARALLEL_MIN and _can_fork(journal):
        helper = _Helper(journal, after, prev, chunk)
    salt, pack = journal.salt, chain.make_canonical()
    try:
        while True:
            msg = helper.chunk(after, prev) if helper is not None else None
            if msg is None:       # no helper, this process's share, or the helper is done or out of step
                rows = journal.raw(limit=chunk, seq_after=after)
                bad = _first_bad(rows, after, prev, salt, pack)
            else:
                bad, rows = msg
            good = rows if bad == len(rows) else rows[:bad]
            yield from map(decode, good) if decoded else good
            if bad < len(rows):
                prev = rows[bad - 1][14] if bad else prev
                raise JournalError(diagnose(journal, after + bad, prev, rows[bad][0]))
            if len(rows) < chunk and msg is None:
                return      # the end (after the helper's last short chunk, one more read: a live
                            # journal may have grown since the helper read it)
            if rows:
                after, prev = _advance(rows, after, progress)
    finally:
        if helper is not None:
            helper.close()


# OpenSSL's sha256 (core/digest.py): ~0.4 us less a row than the one an action chains with
def _first_bad(rows, seq, prev, salt, pack, sha=bulk_sha256()):
    """Index of the first row of `rows` that does not chain from `prev` as seq+1, seq+2...
    (len(rows) when they all do). The hot loop of verification: nothing else in it."""
    for i, row in enumerate(rows):
        seq += 1
        if row[0] != seq or sha(prev + salt + pack(row[:14])).digest() != row[14]:
            return i
        prev = row[14]
    return len(rows)


def _advance(rows, after, progress):
    last = rows[-1][0]
    if progress and last >> 16 != after >> 16:
        progress(last)
    return last, rows[-1][14]


# -- the helper process -------------------------------------------------------------------------
#
# The parent forks one helper that reads the chain on its own connection, chunk by chunk, ahead of
# the parent, checks each chunk's links and ships the rows it checked on a pipe: a header (the seq
# the chunk starts after, the hash it chained from, the index of its first bad row or -1, its row
# count, the payload length) then marshal.dumps(rows) (~0.4 us/row to dump, ~0.7 to load: cheaper
# than a second sqlite read of the chunk, ~2.6). The parent yields exactly those rows, so
# what is yielded is what was checked. It takes a helper's chunk only when it starts where the parent
# is: same seq, same hash (the stored hash of the last row the parent yielded): the chain is then
# continuous across chunks whoever checked them. Otherwise (out of step, or the helper's last
# message was a short chunk: rows may have been appended since) the parent goes on alone with the
# same loop (_first_bad), so what is yielded and raised is exactly what the single-process walk
# would yield and raise.
# Sharing the work: when the parent finds nothing to read (it is about to wait for the helper), it
# claims a chunk: one byte on a second pipe. Before each chunk, the helper looks for a claim; if
# there is one it leaves that chunk to the parent (a header with bad = YOURS and no rows), skips
# over it and checks the one after (or stops, when that chunk is the last: YOURS_LAST). So the
# parent checks a chunk only after it had to wait: a walk whose consumer is slow leaves the whole
# check to the helper, a bare walk splits it as the two CPUs' speeds allow (a fixed 1 in 3 left
# the command busy and the helper idle ~20% of the walk).
# Why fork and not spawn: a new interpreter costs ~30-50 ms of start-up and imports; fork costs a
# few ms. SQLite forbids using a connection across fork: the helper never touches the parent's
# connection, opens its own, and leaves with os._exit (no finalizer runs on inherited objects).

_HEAD = struct.Struct("<Q32siIQ")   # after, prev hash, first bad row (-1: none; YOURS...), row count, payload bytes
YOURS = -2                          # "check this chunk yourself": the helper skipped it
YOURS_LAST = -3                     # the same, and it is the last one (short): the helper stops here
PIPE_SIZE = 1 << 20                 # room for a whole chunk: the helper runs ahead without waiting
# Who checks which chunk: None, the parent's claims decide (above); an int n (tests): every n-th chunk
# is the parent's, 0: none.
PARENT_SHARE = None
AHEAD = 4                           # chunks the helper may have checked and not yet written


def _can_fork(journal):
    """Worth it with a second CPU; safe only from a single-threaded process (another thread could
    hold a lock the child would wait on forever) and with no transaction open on the parent's
    connection."""
    from core import forked

    return (hasattr(os, "fork") and len(os.sched_getaffinity(0)) > 1 and forked.alone()
            and not journal.connection.in_transaction)


class _Writer:
    """The helper's side of the pipe. The pipe holds about one chunk, so a write blocks while the
    parent is busy with its own chunk; a thread waits there instead of the checking loop, which
    runs up to AHEAD chunks ahead."""

    def __init__(self, fd):
        import queue
        import threading

        sys.setswitchinterval(0.0005)   # the writer waits for the GIL at most this long to go on writing
        self.fd, self.queue, self.ok = fd, queue.Queue(AHEAD), True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def send(self, after, prev, bad, rows):
        if not self.ok:
            raise BrokenPipeError("the parent stopped reading")
        data = marshal.dumps(rows)
        self.queue.put(_HEAD.pack(after, prev, bad, len(rows), len(data)) + data)

    def close(self):
        self.queue.put(None)
        self.thread.join()

    def _run(self):
        while (data := self.queue.get()) is not None:
            view = memoryview(data)
            try:
                while self.ok and view:
                    view = view[os.write(self.fd, view):]
            except OSError:
                self.ok = False     # the parent is gone or stopped early: drain, send() says so


def _helper(path, after, prev, salt, chunk, fd, share, claims):
    """The child: walk the chain from (after, prev), one message per chunk, stop after the end (a
    short chunk) or the first chunk holding a bad link. A chunk left to the parent (claimed on the
    `claims` pipe, or PARENT_SHARE) gets a YOURS message and is skipped: the walk goes on from the
    stored hash of its last row (the parent checks that this is where its own walk ended). Never
    returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        gc.disable()  # no cycles are made here; the collector would only walk the parent's heap
        # `path`: the database's Path, or a reader's `file:...?mode=ro` URI (Journal.source): the helper
        # opens the file as the parent's Journal did (read-only for a reader).
        conn = sqlite3.connect(str(path), timeout=10, isolation_level=None, uri=isinstance(path, str))
        sql = f"{SELECT} WHERE seq > ? ORDER BY seq LIMIT ?"
        skip = f"SELECT seq, hash FROM {TABLE} WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?"
        pack = chain.make_canonical()
        out = _Writer(fd)
        os.set_blocking(claims, False)
        for k in itertools.count():
            if _claimed(claims) if share is None else (share and k % share == share - 1):
                last = conn.execute(skip, (after, chunk - 1)).fetchone()
                out.send(after, prev, YOURS if last else YOURS_LAST, [])
                if last is None:       # the parent's chunk is the last one: nothing more to check
                    break
                after, prev = last
                continue
            rows = conn.execute(sql, (after, chunk)).fetchall()
            bad = _first_bad(rows, after, prev, salt, pack)
            out.send(after, prev, -1 if bad == len(rows) else bad, rows)
            if bad < len(rows) or len(rows) < chunk:
                break
            after, prev = rows[-1][0], rows[-1][14]
        out.close()
        code = 0 if out.ok else 1
    except BaseException:
        pass
    finally:
        os._exit(code)


def _claimed(fd):
    """Did the parent claim a chunk (a byte waiting on the claims pipe)? Takes the claim."""
    try:
        return bool(os.read(fd, 1))
    except BlockingIOError:
        return False


def _loads(data):
    """marshal.loads with the collector paused: the ~5000 fresh tuples would otherwise set off
    several young collections while they are built, each walking those built so far (~5% of the
    parent's time). The tuples hold only atomic values: the next collection untracks them."""
    if not gc.isenabled():
        return marshal.loads(data)
    gc.disable()
    try:
        return marshal.loads(data)
    finally:
        gc.enable()


class _Helper:
    """The parent's side: fork, read messages, reap."""

    def __init__(self, journal, after, prev, chunk):
        self.share = PARENT_SHARE
        rfd, wfd = os.pipe()
        claims_r, claims_w = os.pipe()
        try:
            fcntl.fcntl(wfd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass            # above /proc/sys/fs/pipe-max-size: the default size works, a bit slower
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            os.close(claims_w)
            _helper(journal.source, after, prev, journal.salt, chunk, wfd, self.share, claims_r)
        os.close(wfd)
        os.close(claims_r)
        self.pid, self.fd, self.claims, self.chunk_size = pid, rfd, claims_w, chunk
        self.claimed = False    # a claim is pending: the helper has not answered it with YOURS yet
        self.done = False       # the helper sent its last message (end of chain, or a bad chunk)
        self.status = None

    def chunk(self, after, prev):
        """(index of the first bad row or len(rows), rows) of the next chunk, after (after, prev), as
        the helper read and checked it; None when the parent checks this chunk itself (the helper
        left it, or is done, or out of step: then it is stopped)."""
        if self.done:
            return None
        if self.share is None and not self.claimed and not select.select([self.fd], [], [], 0)[0]:
            self.claim()
        m_after, m_prev, bad, count, size = _HEAD.unpack(self.read(_HEAD.size))
        rows = _loads(self.read(size))
        if (m_after, m_prev) != (after, prev):
            self.done = True
            self.kill()
            return None
        if bad in (YOURS, YOURS_LAST):
            self.claimed = False
            self.done = bad == YOURS_LAST   # its last message: let it exit (close)
            return None
        if bad >= 0 or count < self.chunk_size:
            self.done = True        # its last message
        return (count if bad < 0 else bad), rows

    def claim(self):
        """Nothing to read: the next chunk the helper has not started is this process's to check."""
        try:
            os.write(self.claims, b"c")
            self.claimed = True
        except OSError:
            pass            # the helper is gone: the read that follows says how

    def read(self, n):
        """Exactly n bytes from the helper; a clear JournalError if it died or went silent."""
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            if not select.select([self.fd], [], [], HELPER_STALL)[0]:
                self.kill()
                raise JournalError(f"journal verify: the chain-checking helper process (pid {self.pid}) "
                                   f"sent nothing for {HELPER_STALL:g}s; stopped it. Run the command again")
            read = os.readv(self.fd, [view[got:]])
            if not read:
                self.reap()
                raise JournalError(f"journal verify: the chain-checking helper process (pid {self.pid}) "
                                   f"{self._how()} before it confirmed the next chunk; nothing past "
                                   f"the last confirmed record was yielded. Run the command again")
            got += read
        return buf

    def _how(self):
        if self.status is None or self.status < 0:
            return "ended"
        if os.WIFSIGNALED(self.status):
            return f"was killed by signal {os.WTERMSIG(self.status)}"
        return f"exited with status {os.waitstatus_to_exitcode(self.status)}"

    def reap(self, flags=0):
        """Collect the helper's exit status (-1: someone else reaped it, e.g. SIGCHLD ignored)."""
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:
                pid, status = self.pid, -1
            if pid:
                self.status = status

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.reap()

    def close(self):
        """Reap the helper: one that sent its last message is exiting (give it a moment); one that
        has more to say (the caller stopped early, or failed) is killed."""
        deadline = time.monotonic() + 1.0
        while self.done and self.status is None and time.monotonic() < deadline:
            self.reap(os.WNOHANG)
            if self.status is None:
                time.sleep(0.001)
        self.kill()
        if self.fd is not None:
            os.close(self.fd)
            os.close(self.claims)
            self.fd = None


def _start(journal, start):
    if start is None or start[0] == 0:
        return 0, journal.genesis
    seq, h = start
    found = journal.hash_at(seq)
    if found != h:
        raise JournalError(f"seq {seq}: differs from the trusted checkpoint "
                           f"({'missing' if found is None else 'hash changed'}): history rewritten")
    return seq, h


def verify(journal, start=None, progress=None, checks=()):
    """Check the whole chain and the anchor, then each of `checks(journal)` (derived data stored beside the
    chain, such as the engine's replay snapshots: the store knows nothing of their meaning). Returns a
    Result (warnings: explainable anomalies such as relaxed records lost in a machine crash); raises
    JournalError at the first problem."""
    res = Result()
    res.last_seq, res.last_hash = _start(journal, start)
    for row in iter_verified(journal, decoded=False, start=start, progress=progress):
        res.records += 1
        res.last_seq, res.last_hash = row[0], row[14]
    check_anchor(journal, res)
    for check in checks:
        check(journal)
    problem = journal.svc_index_problem()   # derived data, outside the chain
    if problem:
        raise JournalError(problem)
    return res


def check_anchor(journal, res):
    path = journal.anchor_path
    head = anchormod.read(path)
    fix = "if you know why, accept the current head with `osvc-engine journal verify --reanchor`"
    if head is None:
        import os

        what = "missing" if not os.path.exists(path) else "unreadable (both slots damaged)"
        raise JournalError(f"head anchor {path} is {what}: cannot tell whether the tail was "
                           f"truncated (the chain itself is intact up to seq {res.last_seq}); {fix}")
    if head.uuid != journal.uuid:
        raise JournalError(f"head anchor {path} belongs to journal {head.uuid} but the database is "
                           f"journal {journal.uuid}: the database was replaced or spliced from another journal")
    last = res.last_seq
    if head.dseq > last:
        raise JournalError(f"seq {last + 1}: truncated tail: the head anchor records durable seq "
                           f"{head.dseq} but the journal ends at seq {last} "
                           f"(seqs {last + 1}..{head.dseq} deleted)")
    if journal.hash_at(head.dseq) != head.dhash:
        raise JournalError(f"seq {head.dseq}: differs from the head anchor: history rewritten after "
                           f"it was anchored")
    if head.seq > last:
        if head.same_boot:
            raise JournalError(f"seq {last + 1}: truncated tail: the head anchor records seq {head.seq} "
                               f"written in this boot, but the journal ends at seq {last} "
                               f"(seqs {last + 1}..{head.seq} deleted; no process crash loses committed records)")
        res.warnings.append(f"seqs {last + 1}..{head.seq} (relaxed) were lost: the machine crashed or lost "
                            f"power after they were written; relaxed records do not survive that")
    elif journal.hash_at(head.seq) != head.hash:
        raise JournalError(f"seq {head.seq}: differs from the head anchor: history rewritten after "
                           f"it was anchored")


def reanchor(journal):
    """Accept the current head: verify the chain, then write a fresh anchor for it."""
    import os

    res = Result()
    for row in iter_verified(journal, decoded=False):
        res.last_seq, res.last_hash = row[0], row[14]
    res.last_hash = res.last_hash or journal.genesis
    head = anchormod.Head(res.last_seq, res.last_hash, res.last_seq, res.last_hash, journal.uuid,
                          anchormod.BOOT_ID, True)
    tmp = f"{journal.anchor_path}.tmp{os.getpid()}"
    try:
        if os.path.exists(tmp):
            os.unlink(tmp)
        anchormod.create(tmp, head)
        os.replace(tmp, journal.anchor_path)
    except OSError as exc:
        from journal.store import _os_error

        try:
            os.unlink(tmp)
        except OSError:
            pass        # never made (a read-only folder), or already gone
        raise _os_error(exc, journal.anchor_path) from None
    return res


# -- diagnosis ----------------------------------------------------------------------------------


def diagnose(journal, prev_seq, prev_hash, bad_seq):
    """One line naming the first bad seq and what the chain shows there."""
    window = journal.raw(seq_min=max(1, prev_seq - WINDOW_BEFORE), seq_max=bad_seq + WINDOW_AFTER)
    i = next(k for k, r in enumerate(window) if r[0] == bad_seq)
    return _diagnose(window, i, prev_seq, prev_hash, journal.genesis, _Linker(journal),
                     anchormod.read(journal.anchor_path))


def _seqs(a, b):
    return f"seq {a}" if a == b else f"seqs {a}..{b}"


def _diagnose(window, i, prev_seq, prev_hash, genesis, lk, head):
    row = window[i]
    seq = row[0]
    if seq != prev_seq + 1:
        return (f"{_seqs(prev_seq + 1, seq - 1)}: missing: the chain jumps from seq {prev_seq} to "
                f"seq {seq} (rows deleted)")
    hashes = [genesis] + [r[14] for r in window if r is not row]
    for s in range(max(1, seq - SEQ_SPAN), seq + SEQ_SPAN + 1):
        if s != seq and any(lk.links(h, row, s) for h in hashes):
            return f"seq {seq}: holds the record written as seq {s}: rows reordered (or duplicated)"
    nxt = window[i + 1] if i + 1 < len(window) and window[i + 1][0] == seq + 1 else None
    if nxt is None:
        if head and head.seq == seq and head.hash == row[14]:
            return f"seq {seq}: modified: its content no longer matches its hash"
        if head and head.seq < seq:
            return (f"seq {seq}: inserted: it does not chain from seq {prev_seq} and was never "
                    f"anchored (appended outside the journal)")
        return f"seq {seq}: does not chain from seq {prev_seq}: modified, or appended outside the journal"
    if lk.links(row[14], nxt):
        return (f"seq {seq}: modified: its content no longer matches its hash "
                f"(or seq {prev_seq} was rewritten with a recomputed hash)")
    if lk.links(prev_hash, nxt) or lk.links(prev_hash, nxt, nxt[0] - 1):
        return (f"seq {seq}: inserted: not part of the chain (seq {nxt[0]} chains directly from "
                f"seq {prev_seq})")
    if lk.links(row[14], nxt, nxt[0] + 1):
        return (f"seq {seq}: renumbered: it was written as seq {seq + 1}; the record before it was "
                f"deleted and the later rows renumbered")
    # A run of rows none of which chains from its predecessor; where the chain resumes, the first
    # row after the run is one of ours that lost its predecessor, not part of the splice.
    end = i + 1
    while end + 1 < len(window) and not lk.links(window[end][14], window[end + 1]):
        end += 1
    last = end - 1 if end + 1 < len(window) else end
    return (f"{_seqs(seq, window[last][0])}: spliced: {last - i + 1} row(s) that do not belong to "
            f"this journal's chain (copied from another journal, or rewritten)")
