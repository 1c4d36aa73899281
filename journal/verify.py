"""`journal verify`: walk the hash chain, then check the head anchor.

The walk is a tight loop (re-encode, hash, compare). Only at the first bad row does the slower
diagnosis run, over a window of rows around it, to say *what* is wrong: missing (deleted), reordered,
renumbered, inserted, modified, spliced, truncated, rewritten. It is a diagnosis from the evidence:
messages say what the chain shows, and name the first bad seq.
"""

from engine.record import Record, factory

from engine.errors import JournalError
from journal import anchor as anchormod
from journal import chain
from journal.store import decode

WINDOW_BEFORE = 16
WINDOW_AFTER = 32
SEQ_SPAN = 16


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
        return chain._sha256(prev + self.salt + self.pack(values)).digest() == row[14]


def iter_verified(journal, decoded=True, start=None, progress=None, chunk=5000):
    """Yield rows (dicts when decoded, else tuples) in seq order, each only after its link in the
    chain is checked; raise JournalError naming the first bad seq. `start`: a trusted (seq, hash)
    to resume from (incremental verification)."""
    seq0, prev = _start(journal, start)
    expected = seq0 + 1
    salt = journal.salt
    pack = chain.make_canonical()
    sha = chain._sha256
    for row in journal.scan(chunk=chunk, seq_after=seq0):
        if row[0] != expected or sha(prev + salt + pack(row[:14])).digest() != row[14]:
            raise JournalError(diagnose(journal, expected - 1, prev, row[0]))
        prev = row[14]
        expected += 1
        if progress and not expected & 0xFFFF:
            progress(expected - 1)
        yield decode(row) if decoded else row


def _start(journal, start):
    if start is None or start[0] == 0:
        return 0, journal.genesis
    seq, h = start
    found = journal.hash_at(seq)
    if found != h:
        raise JournalError(f"seq {seq}: differs from the trusted checkpoint "
                           f"({'missing' if found is None else 'hash changed'}): history rewritten")
    return seq, h


def verify(journal, start=None, progress=None):
    """Check the whole chain and the anchor. Returns a Result (warnings: explainable anomalies such
    as relaxed records lost in a machine crash); raises JournalError at the first problem."""
    res = Result()
    res.last_seq, res.last_hash = _start(journal, start)
    for row in iter_verified(journal, decoded=False, start=start, progress=progress):
        res.records += 1
        res.last_seq, res.last_hash = row[0], row[14]
    check_anchor(journal, res)
    check_snapshots(journal)
    return res


def check_snapshots(journal):
    """Replay snapshots (journal/snapshots.py) against the verified chain: digest, hash, content."""
    from journal import snapshots

    problems = snapshots.check(journal)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise JournalError(f"{problems[0]}{more}. The event chain itself is intact: rebuild the snapshots "
                           f"with `osvc-engine journal snapshot`")


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
    if os.path.exists(tmp):
        os.unlink(tmp)
    anchormod.create(tmp, head)
    os.replace(tmp, journal.anchor_path)
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
