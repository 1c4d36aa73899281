"""Shipping a journal to the collector (`osvc-engine journal push`, and the bounded attempt after each action).

Per batch, one transaction: lock the journal's `heads` row (FOR UPDATE: concurrent pushers of the same
journal, a node and a host relaying its mirror, take turns), check the local journal still holds the
collector's head (same hash at that seq), read the rows after it, check that each one chains from the
stored head hash (the journal's own hash chain, journal/chain.py), COPY them, advance the head, notify
listeners, commit. So a rerun ships nothing twice (it starts after the head), a crash anywhere before the
commit stores nothing and the next push resends it, and a row that does not chain is refused (exit 6)
with nothing of its batch stored. The local journal is the spool: nothing is ever removed from it.
"""

import hashlib
import json
import time

import msgpack

from core.errors import JournalError
from core.record import Record
from journal import chain

CHUNK = 20000         # rows per transaction: bounds memory (~10 MB), and a refused row costs at most its batch
CHANNEL = "osvc_events"
EVENT_COLUMNS = ("journal", *chain.COLUMNS, "payload_json")
COPY_SQL = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"


class Shipped(Record):
    """What one push did for one journal."""
    uuid: str
    node: str
    path: str
    before: int              # the collector's head seq before
    after: int               # and after
    local: int               # the journal's last seq
    relayed: bool = False    # a mirror of another node's journal (var/mirrors/)

    @property
    def count(self):
        return self.after - self.before


def _default(value):
    return value.hex() if isinstance(value, (bytes, bytearray)) else str(value)


# one encoder, built once: json.dumps(..., default=...) builds a new one per call (a third of the push's time)
_encode = json.JSONEncoder(default=_default, ensure_ascii=False, separators=(",", ":")).encode


def payload_json(blob, _unpack=msgpack.unpackb):
    """The payload as JSON text for the jsonb column (derived, outside the chain). jsonb refuses the
    NUL character, which a command's output may hold: it becomes U+FFFD there (the bytea keeps it)."""
    if not blob or blob == b"\x80":
        return "{}"
    try:
        text = _encode(_unpack(blob, raw=False, strict_map_key=False))
    except Exception:          # not msgpack we can decode: the bytea still holds it, verbatim
        return None
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def refused(journal, node, seq, why, batch):
    first, last = batch
    return JournalError(
        f"collector refused journal {journal.uuid} of node {node} ({journal.path}) at seq {seq}: {why}; "
        f"nothing of this batch (seq {first}..{last}) was stored. Check it with `osvc-engine journal verify` "
        f"on {node}")


def check_chain(journal, node, rows, prev, seq, sha=hashlib.sha256):
    """Each row must be seq+1 of the one before and chain from `prev` (the collector's head hash):
    the same link journal.verify checks. Raises JournalError naming the first row that does not."""
    pack = chain.make_canonical()
    salt = journal.salt
    batch = (rows[0][0], rows[-1][0]) if rows else (seq, seq)
    for row in rows:
        if row[0] != seq + 1:
            raise refused(journal, node, seq + 1, f"seq {seq + 1} is missing (the next row is seq {row[0]})", batch)
        h = sha(prev + salt + pack(row[:14])).digest()
        if h != row[14]:
            why = (f"it does not chain from seq {seq}: its content was modified, or the history before it "
                   f"rewritten" if seq else "it does not chain from the journal's start (modified)")
            raise refused(journal, node, row[0], why, batch)
        prev, seq = h, row[0]
    return seq, prev


def _lock_head(conn, uuid, node, relay, genesis):
    conn.execute("INSERT INTO journals (uuid, node, relay) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                 (uuid, node, relay))
    conn.execute("INSERT INTO heads (journal, seq, hash) VALUES (%s, 0, %s) ON CONFLICT DO NOTHING",
                 (uuid, genesis))
    return conn.execute("SELECT seq, hash FROM heads WHERE journal = %s FOR UPDATE", (uuid,)).fetchone()


def _check_held(conn, journal, node, head_seq, head_hash, relayed):
    """The local journal must still hold what the collector has. Returns False when a mirror is behind
    the collector (nothing to ship from it: another host or the node itself shipped further)."""
    local_seq, _ = journal.head()
    if local_seq < head_seq:
        if not relayed:
            raise refused(journal, node, local_seq + 1,
                          f"the journal ends at seq {local_seq} but the collector holds it up to seq {head_seq} "
                          f"(truncated, or restored from an older copy)", (local_seq + 1, head_seq))
        row = conn.execute("SELECT hash FROM events WHERE journal = %s AND seq = %s",
                           (journal.uuid, local_seq)).fetchone()
        if local_seq and row is not None and bytes(row[0]) != journal.hash_at(local_seq):
            raise refused(journal, node, local_seq, "the mirror's row differs from the collector's (history "
                          "rewritten)", (local_seq, local_seq))
        return False
    if head_seq and journal.hash_at(head_seq) != head_hash:
        raise refused(journal, node, head_seq, "the row differs from the one the collector holds (history "
                      "rewritten)", (head_seq, head_seq))
    return True


def ship_journal(conn, journal, node, relay, *, relayed=False, chunk=CHUNK, deadline=None):
    """Ship the rows of `journal` (a journal.store.Journal, read-only is enough) after the collector's
    head, batch by batch, until none is left or `deadline` (time.monotonic) passes. Returns Shipped."""
    uuid = journal.uuid
    before = after = None
    while True:
        with conn.transaction():
            head_seq, head_hash = _lock_head(conn, uuid, node, relay, journal.genesis)
            head_hash = bytes(head_hash)
            if before is None:
                before = head_seq
            after = head_seq
            if not _check_held(conn, journal, node, head_seq, head_hash, relayed):
                break
            rows = journal.raw(limit=chunk, seq_after=head_seq)
            if not rows:
                break
            seq, h = check_chain(journal, node, rows, head_hash, head_seq)
            with conn.cursor().copy(COPY_SQL) as copy:
                write = copy.write_row
                for r in rows:
                    write((uuid, *r[:13], r[13] == 1, r[14], payload_json(r[12])))
            last = rows[-1]
            conn.execute("UPDATE heads SET seq = %s, hash = %s, hlc = %s, ts = %s, shipped_at = now() "
                         "WHERE journal = %s", (seq, h, last[2], last[1], uuid))
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{uuid}:{seq}"))
            after = seq
        if len(rows) < chunk or (deadline is not None and time.monotonic() > deadline):
            break
    conn.commit()
    return Shipped(uuid, node, str(journal.path), before, after, journal.last_seq(), relayed)
