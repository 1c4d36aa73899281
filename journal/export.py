"""`journal export`: every record (or the filtered ones) as JSON lines or a msgpack stream.

jsonl: the objects of `tail -o json` (payload decoded, hash hex). msgpack: one map per record,
payload as a map, hash as 32 raw bytes; read it back with msgpack.Unpacker(f, raw=False).
"""

import msgpack

from journal import lines as fmt
from journal.store import COLUMNS, _unpack_payload, decode

FORMATS = ("jsonl", "msgpack")


def export(journal, out, filters, form="jsonl"):
    """out: a binary file. Returns the number of records written."""
    count = 0
    if form == "jsonl":
        for row in journal.scan(**filters):
            out.write(fmt.json_line(decode(row)).encode() + b"\n")
            count += 1
        return count
    pack = msgpack.Packer(use_bin_type=True).pack
    for row in journal.scan(**filters):
        rec = dict(zip(COLUMNS, row))
        rec["payload"] = _unpack_payload(row[12])
        rec["durable"] = bool(row[13])
        out.write(pack(rec))
        count += 1
    return count
