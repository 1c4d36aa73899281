"""The head anchor: `journal.db.head`, the last known (seq, hash) kept outside the table.

A tail truncated inside the database leaves the anchor pointing past the end: verify catches it.

Why two fixed slots and pwrite instead of temp+rename: an anchor write follows every commit, and
a rename costs a directory update and ~30-60 us where a 128-byte pwrite costs ~2 us. Each slot carries
a CRC, so a torn write (power loss mid-sector) leaves the other slot valid; slot = seq % 2, and the
reader takes the valid slot with the highest seq. Several writer processes race only towards lag
(an older head overwriting a newer one in the same slot), and the anchor is written after the
commit, so it may lag the database but never lead it, except for relaxed commits lost at power loss,
which the boot id lets verify tell apart from a truncation.

Slot layout (little endian, 128 bytes):
  magic 4s | version B | last_durable B | pad 2x | seq Q | hash 32s | dseq Q | dhash 32s |
  uuid 16s | boot 16s | crc32 I  (over everything before it)
`seq, hash`: the last commit written; `dseq, dhash`: the last durable commit this writer knew of.
"""

import os
import struct
import zlib
from core.record import Record

MAGIC = b"OSJH"
VERSION = 1
SLOT = 128
_FMT = struct.Struct("<4sBB2xQ32sQ32s16s16s")
_CRC = struct.Struct("<I")


def _read_boot_id() -> bytes:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return bytes.fromhex(f.read().strip().replace("-", ""))
    except OSError:
        return bytes(16)


BOOT_ID = _read_boot_id()


class Head(Record, frozen=True):
    seq: int
    hash: bytes
    dseq: int
    dhash: bytes
    uuid: str
    boot: bytes
    last_durable: bool

    @property
    def same_boot(self) -> bool:
        return self.boot == BOOT_ID


def path_for(db_path) -> str:
    return f"{db_path}.head"


def pack(head: Head) -> bytes:
    return pack_values(head.seq, head.hash, head.dseq, head.dhash, bytes.fromhex(head.uuid), head.boot,
                       head.last_durable)


def pack_values(seq, h, dseq, dh, uuid: bytes, boot: bytes, last_durable) -> bytes:
    body = _FMT.pack(MAGIC, VERSION, int(last_durable), seq, h, dseq, dh, uuid, boot)
    return (body + _CRC.pack(zlib.crc32(body))).ljust(SLOT, b"\0")


def unpack(data: bytes):
    """A Head, or None when the slot is empty or torn."""
    body = data[:_FMT.size]
    if len(data) < _FMT.size + _CRC.size or not body.startswith(MAGIC):
        return None
    (crc,) = _CRC.unpack_from(data, _FMT.size)
    if crc != zlib.crc32(body):
        return None
    magic, version, last_durable, seq, h, dseq, dh, uuid, boot = _FMT.unpack(body)
    if version != VERSION:
        return None
    return Head(seq, h, dseq, dh, uuid.hex(), boot, bool(last_durable))


def create(path, head: Head) -> bool:
    """Create the anchor (0600) holding `head` in both slots; False when it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pack(head) * 2)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def read(path):
    """The newest valid Head, or None when the file is missing or both slots are unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read(2 * SLOT)
    except FileNotFoundError:
        return None
    return best(data)


def best(data: bytes):
    heads = [h for h in (unpack(data[:SLOT]), unpack(data[SLOT:2 * SLOT])) if h]
    return max(heads, key=lambda h: h.seq) if heads else None


class Writer:
    """Keeps the anchor file open for one Journal; put() after each commit."""

    def __init__(self, path, uuid_hex=None):
        self.path = path
        self.uuid = bytes.fromhex(uuid_hex) if uuid_hex else None
        self.fd = None

    def _open(self):
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR)
        return self.fd

    def current(self):
        try:
            return best(os.pread(self._open(), 2 * SLOT, 0))
        except OSError:
            return None

    def write(self, head: Head):
        os.pwrite(self._open(), pack(head), (head.seq % 2) * SLOT)

    def put(self, seq, h, dseq, dh, last_durable):
        """write() for this writer's journal, without building a Head: the per-commit path."""
        os.pwrite(self._open(), pack_values(seq, h, dseq, dh, self.uuid, BOOT_ID, last_durable), (seq % 2) * SLOT)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
