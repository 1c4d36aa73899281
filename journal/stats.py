"""`journal stats`: how big and how long the journal is, and what it holds."""

import os

from journal import lines as fmt
from journal.store import TABLE

SUFFIXES = ("", "-wal", "-shm", ".head")


def stats(journal) -> dict:
    conn = journal.connection
    count, first_ts, last_ts, first, last, durable = conn.execute(
        f"SELECT count(*), min(ts), max(ts), min(seq), max(seq), sum(durable) FROM {TABLE}").fetchone()
    kinds = dict(conn.execute(f"SELECT kind, count(*) FROM {TABLE} GROUP BY kind ORDER BY count(*) DESC, kind"))
    size = sum(os.path.getsize(f"{journal.path}{s}") for s in SUFFIXES if os.path.exists(f"{journal.path}{s}"))
    return {
        "path": str(journal.path), "uuid": journal.uuid, "records": count, "size_bytes": size,
        "first_seq": first or 0, "last_seq": last or 0, "first_ts": first_ts, "last_ts": last_ts,
        "span_s": round((last_ts - first_ts) / 1e9, 3) if count else 0.0,
        "durable": durable or 0, "relaxed": count - (durable or 0), "kinds": kinds,
    }


def _size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _span(seconds):
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def _when(ts):
    return "-" if ts is None else f"{fmt.date_of(ts)} {fmt.clock(ts)}"


def text(st) -> str:
    lines = [
        f"journal   {st['path']}",
        f"uuid      {st['uuid']}",
        f"records   {st['records']} (seq {st['first_seq']}..{st['last_seq']}; "
        f"{st['durable']} durable, {st['relaxed']} relaxed)",
        f"size      {_size(st['size_bytes'])} on disk (db, wal, shm, head anchor)",
        f"first     {_when(st['first_ts'])}",
        f"last      {_when(st['last_ts'])}",
        f"span      {_span(st['span_s'])}",
        "kinds",
    ]
    width = max((len(k or "-") for k in st["kinds"]), default=0)
    lines += [f"  {k or '-':<{width}}  {n}" for k, n in st["kinds"].items()]
    return "\n".join(lines)
