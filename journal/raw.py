"""The raw row stream: a journal's records exactly as stored, so a receiver can check their chain.

`osvc-engine journal export --raw [--cursor C] [--follow]` writes one msgpack stream:

    {"raw": 1, "journal": <uuid>, "node": <exporting node>, "after": <seq>, "head": <last seq>}
    [seq, ts, hlc, node, svc, rid, kind, machine, event, src, dst, action_id, payload, durable, hash]
    ...                                          (one array per row: payload and hash as stored bytes)
    {"end": <last seq sent>}                     (without --follow: the stream is whole)
    {"hb": <hlc>}                                (with --follow, every second when idle: this journal
                                                  will append nothing below this hlc; and a write that
                                                  fails ends a follower whose reader is gone)

A stream without its `end` was cut (peer or link died): the rows received still chain, the receiver
keeps them and asks again from its head. journal.mirror checks and stores the rows.
"""

import time

import msgpack

from core.errors import JournalError

FORMAT = 1
HEARTBEAT_SECONDS = 1.0


def header(journal, node, after):
    return {"raw": FORMAT, "journal": journal.uuid, "node": node, "after": after, "head": journal.last_seq()}


def export_raw(journal, out, node, after=0, follow=False, poll=0.005, stop=None, chunk=5000):
    """Write the raw stream of `journal` after seq `after` to the binary file `out`. Returns the
    number of rows written (follow: when `stop()` says so, or the reader is gone)."""
    pack = msgpack.Packer(use_bin_type=True).pack
    out.write(pack(header(journal, node, after)))
    count, pos = 0, after

    def send(upto):
        nonlocal count, pos
        while True:       # a chunk of rows, packed (tuples pack as arrays) and written at once
            rows = journal.raw(limit=chunk, seq_after=pos, seq_max=upto)
            if not rows:
                return
            out.write(b"".join(map(pack, rows)))
            count += len(rows)
            pos = rows[-1][0]
            if len(rows) < chunk:
                return

    head = journal.last_seq()
    send(head)
    if not follow:
        out.write(pack({"end": pos}))
        out.flush()
        return count
    out.flush()
    version, beat = journal.data_version(), time.monotonic()
    try:
        while not (stop and stop()):
            time.sleep(poll)
            now = journal.data_version()
            if now != version:
                version = now
                head = journal.last_seq()
                if head < pos:
                    raise JournalError(f"journal {journal.path} shrank under the follower (seq {pos} is gone)")
                if head > pos:
                    send(head)
                    out.flush()
                    beat = time.monotonic()
                    continue
            if time.monotonic() - beat >= HEARTBEAT_SECONDS:
                out.write(pack({"hb": heartbeat_hlc(journal)}))
                out.flush()
                beat = time.monotonic()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    return count


def heartbeat_hlc(journal):
    """The lowest hlc this journal may still give a record: its next hlc is above its last one and at
    or above its clock's (journal.chain.seal)."""
    last = journal.raw(last=1)
    last_hlc = last[0][2] if last else 0
    return max(last_hlc, (journal._clock() // 1_000_000) << 16)


class Reader:
    """Parse a raw stream fed in pieces: `feed(bytes)` then iterate `items()`: ("header", dict),
    ("row", list), ("end", seq), ("hb", hlc)."""

    def __init__(self):
        self._unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=1 << 30)

    def feed(self, data):
        self._unpacker.feed(data)

    def items(self):
        try:
            for obj in self._unpacker:
                if type(obj) is list:
                    yield "row", obj
                elif isinstance(obj, dict) and "raw" in obj:
                    yield "header", obj
                elif isinstance(obj, dict) and "end" in obj:
                    yield "end", obj["end"]
                elif isinstance(obj, dict) and "hb" in obj:
                    yield "hb", obj["hb"]
                else:
                    raise ValueError(f"unexpected item {type(obj).__name__}")
        except (ValueError, msgpack.UnpackException) as exc:
            raise JournalError(f"the raw journal stream is not one osvc-engine writes ({exc})") from None


def parse(data):
    """(header, rows, end seq or None) of a whole stream (bytes)."""
    reader = Reader()
    reader.feed(data)
    head, rows, end = None, [], None
    for kind, value in reader.items():
        if kind == "header":
            head = value
        elif kind == "row":
            rows.append(value)
        elif kind == "end":
            end = value
    if head is None:
        raise JournalError("the raw journal stream has no header (not an osvc-engine journal export --raw)")
    return head, rows, end
