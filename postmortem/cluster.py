"""The cluster view: this node's journal plus its mirrors (journal.mirror), merged on (hlc, node, seq).

Every journal's hlc grows with its seq, and a remote or guest action orders its records after the
record that launched it and its caller after its last one (core.lineage), so one k-way merge of the
per-journal scans (each already in hlc order) is a causal timeline of the cluster, whatever the
nodes' clocks say; (node, seq) breaks ties the same way on every node.

    with Sources(node) as src:                 # the local journal and every mirror, read-only
        for rec in src.merged(svc="web"): ...  # decoded records, merged
    refresh(node, svcs, log)                   # pull the peers first (warnings only)
    follow(node, out, ...)                     # tail --cluster -f: one follower per peer
"""

import heapq
import os
import queue
import select
import sys
import threading
import time

from journal.store import decode

WAIT_SECONDS = 1.0          # how long a record waits for slower peers before it is printed anyway
RETRY_SECONDS = 2.0         # a follower whose peer went away asks again after this
# A peer's stream says something every second (a row or a heartbeat, journal.raw): silence this long
# means the peer or the link is gone, even when TCP has not noticed (a cut link hangs a connection).
STALE_SECONDS = 5.0
_KEY = lambda row: (row[2], row[3], row[0])      # (hlc, node, seq) of a stored row


class Sources:
    """The local journal and the mirrors, opened read-only (a mirror of this node itself is skipped)."""

    def __init__(self, node):
        from journal.mirror import folder_of, listing
        from journal.store import Journal

        self.node = node
        self.journals = [Journal(node.journal_path, create=False, readonly=True)]
        local = self.journals[0].uuid
        try:
            for name, uuid, path in listing(folder_of(node.journal_path)):
                if uuid != local:
                    self.journals.append(Journal(path, create=False, readonly=True))
        except BaseException:
            self.close()
            raise

    def rows(self, **filters):
        """Stored rows of every source matching the filters, merged on (hlc, node, seq)."""
        return heapq.merge(*(j.scan(**filters) for j in self.journals), key=_KEY)

    def merged(self, **filters):
        return map(decode, self.rows(**filters))

    def close(self):
        for j in self.journals:
            j.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def refresh(node, svcs=None, log=None):
    """Pull every peer of the services (all of this node's when None) before reading: warnings only.
    Returns the Pulled list."""
    from engine.pull import cluster_peers, pull

    log = log or StderrLog()
    return pull(node, cluster_peers(node, svcs, log), log)


class StderrLog:
    def warning(self, text):
        print(f"osvc-engine: warning: {text}", file=sys.stderr, flush=True)


# -- follow --------------------------------------------------------------------------------------------

class Follower(threading.Thread):
    """One peer: `journal export --raw --follow --cursor <mirror head>` there, every row appended to the
    mirror (chain-checked) and handed to the merger; reconnects from the mirror's head when the stream
    ends, saying when the peer is unreachable and when it is back."""

    def __init__(self, node, peer, events, stop):
        super().__init__(daemon=True, name=f"follow-{peer.name}")
        self.node, self.peer, self.events, self.stop = node, peer, events, stop
        self.proc = None

    def run(self):
        error = ""
        while not self.stop.is_set():
            error = self._stream(error)
            if self.stop.is_set():
                return
            self.events.put(("down", self.peer.name, error))
            self.stop.wait(RETRY_SECONDS)

    def _stream(self, error):
        """Stream the peer's new rows from its mirror's head: after a disconnect, what the peer wrote
        meanwhile comes first, and is printed. Without a mirror (the peer never answered a pull), or
        when its journal was replaced (`error`), pull first: the history is mirrored, not printed as new."""
        from core.errors import OsvcError
        from engine.pull import newest_mirror, pull_peer
        from journal import raw
        from journal.mirror import Mirror, folder_of

        folder = folder_of(self.node.journal_path)
        if newest_mirror(folder, self.peer.name) is None or "belongs to journal" in error:
            try:
                pull_peer(self.node, self.peer)
            except OsvcError as exc:
                return str(exc)
        uuid, _ = newest_mirror(folder, self.peer.name) or (None, None)
        if uuid is None:
            return f"node {self.peer.name} has no journal yet"
        with Mirror(folder, self.peer.name, uuid) as m:
            cursor = m.cursor()
            argv = ["osvc-engine", "journal", "export", "--raw", "--follow", *(["--cursor", cursor] if cursor else [])]
            self.proc = proc = self.peer.spawn(argv)
            reader, up = raw.Reader(), False
            fd = proc.stdout.fileno()
            try:
                while not self.stop.is_set():
                    if not select.select([fd], [], [], STALE_SECONDS)[0]:
                        return f"node {self.peer.name}: no word from it for {STALE_SECONDS:g}s (down, or the link is)"
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    if not up:
                        up = True
                        self.events.put(("up", self.peer.name, ""))
                    reader.feed(data)
                    rows = []
                    for kind, value in reader.items():
                        if kind == "row":
                            rows.append(value)
                        elif kind == "hb":
                            self.events.put(("hb", self.peer.name, value))
                    if rows:
                        m.accept(rows)
                        self.events.put(("rows", self.peer.name, rows))
            except OsvcError as exc:
                return str(exc)
            finally:
                self.close()
        err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines() if proc.stderr else []
        return f"node {self.peer.name}: the follower stopped ({err[-1] if err else f'rc {proc.returncode}'})"

    def close(self):
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait()


def follow(node, printer, svcs=None, filters=None, last=10, wait=WAIT_SECONDS, poll=0.05, stop=None):
    """tail --cluster -f: print the merged newest `last` records, then every new record of this node and
    its peers in (hlc, node, seq) order. A record is printed once every live peer has shown an hlc at or
    above it (a row or a heartbeat), or after `wait` seconds. `printer(recs)`; `stop()` ends it (tests);
    Ctrl-C too."""
    from engine.pull import cluster_peers
    from journal.store import Journal

    filters = {k: v for k, v in (filters or {}).items() if v is not None}
    refresh(node, svcs)
    with Sources(node) as src:
        rows = list(src.rows(**filters))
    printer([decode(r) for r in (rows[-last:] if last else [])] if last is not None else map(decode, rows))
    events, halt = queue.Queue(), threading.Event()
    followers = [Follower(node, p, events, halt) for p in cluster_peers(node, svcs)]
    marks = {f.peer.name: None for f in followers}       # peer -> highest hlc seen (None: down)
    local = Journal(node.journal_path, create=False, readonly=True)
    pos, version = local.last_seq(), local.data_version()
    pending = []                                          # heap of (key, arrival, record row)
    for f in followers:
        f.start()
    try:
        while not (stop and stop()):
            time.sleep(poll)
            now = local.data_version()
            if now != version:
                version = now
                for row in local.scan(seq_after=pos):
                    pos = row[0]
                    heapq.heappush(pending, (_KEY(row), time.monotonic(), row))
            while True:
                try:
                    kind, name, value = events.get_nowait()
                except queue.Empty:
                    break
                if kind == "rows":
                    for row in value:
                        heapq.heappush(pending, (_KEY(row), time.monotonic(), row))
                    marks[name] = max(marks[name] or 0, value[-1][2])
                elif kind == "hb":
                    marks[name] = max(marks[name] or 0, value)
                elif kind == "up":
                    marks[name] = marks[name] or 0
                    print(f"osvc-engine: node {name}: following", file=sys.stderr, flush=True)
                elif kind == "down":
                    marks[name] = None
                    print(f"osvc-engine: warning: {value}; retrying every {RETRY_SECONDS:g}s",
                          file=sys.stderr, flush=True)
            live = [m for m in marks.values() if m is not None]
            floor = min(live) if live else None
            out = []
            while pending:
                key, t, row = pending[0]
                if floor is not None and key[0] > floor and time.monotonic() - t < wait:
                    break
                heapq.heappop(pending)
                if _match(row, filters):
                    out.append(decode(row))
            if out:
                printer(out)
    except KeyboardInterrupt:
        pass
    finally:
        halt.set()
        for f in followers:
            f.close()
        local.close()
    return 0


_COLUMN = {"svc": 4, "rid": 5, "node": 3, "kind": 6, "action_id": 11}


def _match(row, filters):
    for key, value in filters.items():
        if key == "since_ns":
            if row[1] < value:
                return False
        elif key in _COLUMN and row[_COLUMN[key]] != value:
            return False
    return True
