"""The hash chain: one pure definition shared by the writer, verify and cursors.

hash(row) = sha256(hash(previous row) + uuid + canonical(row)); the first row chains from a genesis
hash derived from the journal uuid. The uuid inside every link means rows copied from another
journal do not even chain among themselves here, which is how verify names a splice.
canonical(row) is msgpack of the stored values in a fixed order: the payload enters as its stored
bytes, so verification never depends on how a decoder would re-encode a dict.
"""

import msgpack

# CPython's sha256, not OpenSSL's: an action hashes tens of rows, fewer than the ~3 ms import of hashlib
# would pay for; a loop over a whole journal passes bulk_sha256() (core/digest.py)
from core.digest import sha256 as _sha256

# Stored column order (also the SELECT order of every reader).
COLUMNS = ("seq", "ts", "hlc", "node", "svc", "rid", "kind", "machine", "event", "src", "dst",
           "action_id", "payload", "durable", "hash")
# The hashed part: every column but the hash itself.
HASHED = COLUMNS[:-1]
TEXT_KEYS = ("node", "svc", "rid", "kind", "machine", "event", "src", "dst", "action_id")


def genesis(uuid_hex: str) -> bytes:
    """The hash seq 1 chains from: ties the whole chain to this journal's uuid."""
    return _sha256(b"osvc-engine journal\0" + bytes.fromhex(uuid_hex)).digest()


def make_canonical():
    """A canonical encoder bound to its own Packer (Packers are not thread-safe: one per user)."""
    pack = msgpack.Packer(use_bin_type=True).pack
    return pack


def salt(uuid_hex: str) -> bytes:
    return bytes.fromhex(uuid_hex)


def row_hash(prev: bytes, salt_: bytes, values, pack, sha=_sha256) -> bytes:
    """values: the HASHED columns of one row, in order (a tuple or list)."""
    return sha(prev + salt_ + pack(values)).digest()


def seal(rows, seq, prev, hlc, now, salt_, pack, sha=_sha256):
    """Give each row (a list of the HASHED columns, seq/ts/hlc not yet set) its seq, ts and hlc,
    and append its hash: rows that follow the head (seq, prev, hlc). Returns the new head.

    hlc: 48-bit ms << 16 + a 16-bit counter. A row takes the wall clock's ms when that is ahead
    of the last hlc, else the last hlc + 1, so hlcs grow even when the clock steps back.
    The hot loop of every append (row_hash, inlined)."""
    wall = (now // 1_000_000) << 16
    for row in rows:
        seq += 1
        hlc = wall if wall > hlc else hlc + 1
        row[0] = seq
        row[1] = now
        row[2] = hlc
        prev = sha(prev + salt_ + pack(row)).digest()
        row.append(prev)
    return seq, prev, hlc
