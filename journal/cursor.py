"""Cursors: an opaque, checkable position in one journal.

Text form `j=<uuid>;s=<seq>;x=<first 8 bytes of that record's hash, hex>`. Users must treat it as
opaque; it is text only so a cursor pasted into a ticket is still recognisable. A cursor means
"after this record". It is checked, never approximated: another journal, a seq past the end, or
a record whose hash changed is an explicit error (never a silent jump to the nearest record).
"""

import re
from core.record import Record

from core.errors import JournalError, NotFound, UsageError

PREFIX_BYTES = 8
_RE = re.compile(r"^j=([0-9a-f]{32});s=(\d+);x=([0-9a-f]{16})$")


class Cursor(Record, frozen=True):
    uuid: str
    seq: int
    hash_prefix: str

    def __str__(self):
        return f"j={self.uuid};s={self.seq};x={self.hash_prefix}"


def make(journal_uuid, seq, record_hash: bytes) -> str:
    return str(Cursor(journal_uuid, seq, record_hash[:PREFIX_BYTES].hex()))


def parse(text) -> Cursor:
    if not text.strip():
        raise UsageError("empty cursor: pass a cursor printed by `osvc-engine journal tail --show-cursor`, "
                         "or leave --cursor out to start from the newest records")
    m = _RE.match(text.strip())
    if not m:
        raise UsageError(f"malformed cursor {text!r}: pass a cursor printed by "
                         f"`osvc-engine journal tail --show-cursor`")
    return Cursor(m.group(1), int(m.group(2)), m.group(3))


FILE_MAX = 256      # a cursor is ~70 characters: more than this is not a cursor file


def read_file(path):
    """The cursor saved in the file at `path`, or None when the file does not exist or is empty (a
    follower starts there and writes it). Never quotes what the file holds in an error: --cursor-file
    may be pointed at any file (the cursor file of a root follower could be /etc/shadow)."""
    try:
        with open(path, "rb") as f:
            data = f.read(FILE_MAX + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read the cursor file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        text = None
    if text == "":
        return None
    if text is None or len(data) > FILE_MAX or not _RE.match(text):
        raise UsageError(f"the cursor file {path} does not hold a cursor (one line `j=...;s=...;x=...` written "
                         f"by `osvc-engine journal tail --cursor-file`): point --cursor-file at another file, "
                         f"or remove this one if it is a stale cursor file")
    return text


def resolve(journal, text) -> int:
    """The seq a cursor points to in `journal`, after checking it belongs there."""
    cur = parse(text)
    if cur.seq == 0:
        start = journal.genesis[:PREFIX_BYTES].hex()
        if cur.uuid == journal.uuid and cur.hash_prefix != start:
            raise UsageError(f"cursor {text}: s=0 is the start of journal {journal.uuid} (before its first "
                             f"record), whose start mark is x={start}, not x={cur.hash_prefix}: the cursor was "
                             f"edited or made by hand. Leave --cursor out to read from the start, or pass a cursor "
                             f"printed by `osvc-engine journal tail --show-cursor`")
    if cur.uuid != journal.uuid:
        raise NotFound(f"cursor {text} belongs to journal {cur.uuid}, not to this one "
                       f"({journal.uuid} at {journal.path}): wrong node, or the journal was replaced")
    last = journal.last_seq()
    if cur.seq > last:
        raise NotFound(f"cursor {text} points past the end of journal {journal.path}: seq {cur.seq}, "
                       f"but the journal ends at seq {last} (truncated or restored from an older copy?)")
    found = journal.hash_at(cur.seq)
    if found is None:
        raise NotFound(f"cursor {text}: seq {cur.seq} is no longer in journal {journal.path} (deleted)")
    if found[:PREFIX_BYTES].hex() != cur.hash_prefix:
        raise JournalError(f"cursor {text}: the record at seq {cur.seq} is not the one the cursor saw "
                           f"(history rewritten): run `osvc-engine journal verify`")
    return cur.seq


def is_valid(journal, text) -> bool:
    """True when the cursor is valid for this journal (no exception)."""
    try:
        resolve(journal, text)
        return True
    except (NotFound, JournalError, UsageError):
        return False
