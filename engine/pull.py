"""`journal pull`: bring the peers' journal rows into this node's verified mirrors (journal.mirror).

    pull_peer(node, peer) -> Pulled(node, journal, added, head)
        asks the peer (drivers.peer: a node through the node transport, a guest through its runmethod)
        for its rows after the mirror's head, `osvc-engine journal export --raw --cursor <mirror head>`,
        and appends them to `var/mirrors/<peer>.<uuid>.db` when they chain.
    pull(node, peers, log) -> [Pulled], the unreachable peers warned about, never raised.

What the peer answers decides what happens:
- rows that chain: appended (a second pull with nothing new adds nothing);
- exit 4 "belongs to journal ...": the peer's journal was replaced (a new uuid): its rows from the start
  go to a new mirror file, the old one is kept;
- exit 6 (the cursor's record was rewritten there), or rows that do not chain: ChainBreak (exit 6),
  naming the node and the first bad seq (found by comparing the peer's hashes with the mirror's), and
  the mirror left as it was;
- the peer cannot be reached (ssh's 255, a timeout, no engine there): Unreachable, which every caller
  but `journal pull --node` turns into a warning: an action never fails because a peer's journal could
  not be read.
"""

import time

from core.errors import JournalError, OsvcError
from core.record import Record

PULL_TIMEOUT = 300
# ssh's own failure (cannot connect, host key, auth), timeout(1)'s and the shell's "not found"
UNREACHABLE_RC = {255, 124, 127}
EXPORT = ["osvc-engine", "journal", "export", "--raw"]


class Unreachable(OsvcError):
    """The peer did not answer (down, no route, no engine there)."""


class Pulled(Record):
    node: str
    journal: str
    added: int
    head: int
    seconds: float = 0.0


def peers_of(node, svcs=None, log=None):
    """The node names of the services' nodes and drpnodes (every service of this node when `svcs` is
    None), this node left out. A service whose env file cannot be read is skipped with a warning
    when it was not named."""
    from config.build import load_service
    from core.errors import ConfigError, NotFound

    names = []
    for svc in (svcs or node.services()):
        try:
            spec = load_service(node, svc)
        except (ConfigError, NotFound) as exc:
            if svcs:
                raise
            if log is not None:
                log.warning(f"{svc}: {exc}: its peers are not pulled")
            continue
        d = spec.default
        names += [*(d.get("nodes") or []), *(d.get("drpnodes") or []), *(d.get("drpnode") or [])]
    return [n for n in dict.fromkeys(names) if n and n != node.name]


def node_peers(node, names):
    """NodePeer of each name, through this node's transport (etc/node.conf [transport])."""
    from drivers.peer import NodePeer
    from drivers.transport import node_transport

    transport = node_transport(node)
    return [NodePeer(name, transport) for name in names]


def cluster_peers(node, svcs=None, log=None, names=None):
    """Every peer whose journal the cluster views mirror: the services' nodes and drpnodes through the
    node transport, then their guests running here through their runmethods (engine.encap). `names`:
    only these (a node or a guest name)."""
    from engine.encap import guest_peers

    guests = guest_peers(node, svcs, log)
    if names:
        known = {g.name for g in guests}
        return node_peers(node, [n for n in names if n not in known]) + [g for g in guests if g.name in names]
    return node_peers(node, peers_of(node, svcs, log)) + guests


def newest_mirror(folder, name):
    """(uuid, path) of the mirror of `name` written last, or None."""
    from journal.mirror import listing

    found = [(path.stat().st_mtime_ns, uuid, path) for n, uuid, path in listing(folder) if n == name]
    return max(found)[1:] if found else None


def _export(peer, cursor):
    """The peer's whole raw stream (the comparison after a refused cursor); a PeerResult."""
    res = peer.run([*EXPORT, *(["--cursor", cursor] if cursor else [])], timeout=PULL_TIMEOUT)
    if res.rc in UNREACHABLE_RC:
        raise Unreachable(f"node {peer.name} is unreachable: {res.error_text()}")
    return res


class _Refused(Exception):
    """The peer's export ended with this rc before sending a header: (rc, stderr)."""

    def __init__(self, rc, err):
        super().__init__(rc)
        self.rc, self.err = rc, err


def _stream(node, peer, cursor, folder):
    """Run the peer's `export --raw` and append its rows to the mirror as they arrive, checked batch by
    batch inside one transaction (the export, the link and the checks overlap; a bad row rolls all of it
    back). Returns (journal uuid, rows added, head, whole: the stream's end was seen)."""
    import os
    import select

    from drivers.peer import PeerResult
    from journal import raw
    from journal.mirror import Mirror

    proc = peer.spawn([*EXPORT, *(["--cursor", cursor] if cursor else [])])
    reader, fd = raw.Reader(), proc.stdout.fileno()
    mirror, added, end = None, 0, None
    try:
        header = None
        while True:
            if not select.select([fd], [], [], PULL_TIMEOUT)[0]:
                raise Unreachable(f"node {peer.name}: no answer in {PULL_TIMEOUT}s")
            data = os.read(fd, 1 << 20)
            if not data:
                break
            reader.feed(data)
            rows = []
            for kind, value in reader.items():
                if kind == "header":
                    header = value
                    mirror = Mirror(folder, peer.name, header["journal"])
                    appending = mirror.appending()
                    append = appending.__enter__()
                elif kind == "row":
                    rows.append(value)
                elif kind == "end":
                    end = value
            if rows:
                if mirror is None:
                    raise JournalError(f"node {peer.name}: its journal stream has rows before its header")
                added += append(rows)
        rc = proc.wait()
        err = proc.stderr.read()
        if header is None:
            if rc in UNREACHABLE_RC:
                raise Unreachable(f"node {peer.name} is unreachable: {PeerResult(rc, b'', err).error_text()}")
            raise _Refused(rc, err)
        appending.__exit__(None, None, None)          # commit
        return header["journal"], added, mirror.head()[0], end is not None
    except BaseException as exc:
        if mirror is not None and mirror._conn is not None and mirror._conn.in_transaction:
            appending.__exit__(type(exc), exc, exc.__traceback__)     # roll back
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if mirror is not None:
            mirror.close()


def pull_peer(node, peer):
    """Pull one peer into its mirror; see the module docstring."""
    from journal.mirror import Mirror, folder_of

    t0 = time.monotonic()
    folder = folder_of(node.journal_path)
    known = newest_mirror(folder, peer.name)
    cursor = None
    if known is not None:
        with Mirror(folder, peer.name, known[0]) as m:
            cursor = m.cursor()
    try:
        try:
            uuid, added, head, whole = _stream(node, peer, cursor, folder)
        except _Refused as no:
            if no.rc == 4 and b"belongs to journal" in no.err:     # the peer's journal was replaced: a new mirror
                uuid, added, head, whole = _stream(node, peer, None, folder)
            else:
                raise
    except _Refused as no:
        if no.rc == 6 and cursor is not None:
            raise _rewritten(node, peer, folder, known[0]) from None
        if no.rc == 4 and b"no journal at" in no.err:
            return Pulled(peer.name, "", 0, 0, time.monotonic() - t0)        # nothing journaled there yet
        from drivers.peer import PeerResult

        raise JournalError(f"node {peer.name}: journal export failed (rc {no.rc}): "
                           f"{PeerResult(no.rc, b'', no.err).error_text()}") from None
    if not whole:
        raise Unreachable(f"node {peer.name}: the stream was cut after seq {head} (kept; the next pull resumes)")
    return Pulled(peer.name, uuid, added, head, time.monotonic() - t0)


def _rewritten(node, peer, folder, uuid):
    """The peer refused the mirror's cursor (its record there changed): find the first seq whose hash
    differs between the peer and the mirror, and say it."""
    from journal import raw
    from journal.mirror import ChainBreak, Mirror

    res = _export(peer, None)
    with Mirror(folder, peer.name, uuid) as m:
        seq, path = m.head()[0], m.path
        mine = m.hashes(seq)
    first = seq
    if res.rc == 0:
        _, rows, _ = raw.parse(res.out)
        theirs = {r[0]: r[14] for r in rows if r[0] <= seq}
        first = next((s for s in sorted(mine) if theirs.get(s) != mine[s]), seq)
    return ChainBreak(f"node {peer.name}: journal {uuid}: seq {first} differs from the mirror's copy (history "
                      f"rewritten there); nothing of this pull was written to the mirror {path} (it is left as "
                      f"it was). Run `osvc-engine journal verify` on node {peer.name}", first)


def pull(node, peers, log=None, strict=False):
    """Pull every peer; [Pulled]. An unreachable peer is a warning (an exception with `strict`); a
    chain break is always raised, after the other peers were pulled."""
    done, broken = [], None
    for peer in peers:
        try:
            done.append(pull_peer(node, peer))
        except Unreachable as exc:
            if strict:
                raise
            if log is not None:
                log.warning(f"{exc}: its records since the last pull are not in the mirror")
        except JournalError as exc:
            broken = broken or exc
    if broken is not None:
        raise broken
    return done
