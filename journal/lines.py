"""One journal record as one human line (tail, audit), and as one JSON object.

    HH:MM:SS.mmm NODE     TARGET                   EVENT          SRC -> DST             DETAIL

TARGET is `svc.rid` (`svc` for the service itself, `-` for node-level records); EVENT the trigger,
or the record kind when there is none; DETAIL a short summary of the payload (below), then the
action id's first 8 characters as `[act:xxxxxxxx]`. Columns are padded, never cut: a long value
pushes the rest right rather than hiding anything but the detail, which is capped (the whole
payload is in `-o json`). Times are local; `date_header` marks each new day.
"""

import json
import shlex
import time

WIDTHS = {"node": 8, "target": 24, "event": 14, "move": 22}
DETAIL_MAX = 120
VALUE_MAX = 40
ACTION_ID_SHOWN = 8


def duration(seconds) -> str:
    """A duration as people read it: `850ms` under a second, `1.20s` under a minute, `2m05s` beyond."""
    if not isinstance(seconds, (int, float)):
        return f"{seconds}s"
    if seconds < 0.001:
        return "<1ms" if seconds > 0 else "0ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


# payload key -> how it reads in the detail, in this order, before any other key
_PRIORITY = {
    "argv": lambda v: "$ " + (shlex.join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)),
    "cmd": lambda v: "$ " + (shlex.join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)),
    "rc": lambda v: f"rc={v}",
    "tolerated": lambda v: "(tolerated)" if v is True else "",   # the runner did not raise on that rc
    "duration": duration,
    "duration_ms": lambda v: duration(v / 1000) if isinstance(v, (int, float)) else f"{v}ms",
    "duration_ns": lambda v: duration(v / 1e9) if isinstance(v, (int, float)) else f"{v}ns",
    "reason": lambda v: f"reason: {v}",
    "error": lambda v: f"error: {v}",
    "message": str,
    "msg": str,
    "to": lambda v: f"to={v}",
}
# Long texts that would drown the line: only in -o json.
_HIDDEN = {"output", "output_tail", "stdout", "stderr", "config", "config_text", "env"}
# Keys that only say something when set: a command's `timeout=False out_tail=""` is noise on every line.
_WHEN_SET = {"timeout", "out_tail", "err_tail"}


def _short(value):
    if isinstance(value, (bytes, bytearray)):
        text = value[:16].hex() + ("…" if len(value) > 16 else "")
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    else:
        text = str(value)
    if text == "" or any(ch.isspace() for ch in text):   # quoted and escaped: one record, one line
        text = json.dumps(text, ensure_ascii=False)
    return text if len(text) <= VALUE_MAX else text[:VALUE_MAX - 1] + "…"


def detail(payload) -> str:
    """A short summary of a payload: known keys first in a fixed order, then k=v for the rest."""
    if not isinstance(payload, dict):
        return _short(payload)
    parts = [text for k, render in _PRIORITY.items() if k in payload and (text := render(payload[k]))]
    parts += [f"{k}={_short(v)}" for k, v in payload.items()
              if k not in _PRIORITY and k not in _HIDDEN and (v or k not in _WHEN_SET)]
    text = " ".join(parts)
    return text if len(text) <= DETAIL_MAX else text[:DETAIL_MAX - 1] + "…"


def clock(ts_ns) -> str:
    secs, ns = divmod(int(ts_ns), 1_000_000_000)
    return time.strftime("%H:%M:%S", time.localtime(secs)) + f".{ns // 1_000_000:03d}"


def date_of(ts_ns) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(int(ts_ns) // 1_000_000_000))


def target(rec) -> str:
    svc, rid = rec.get("svc") or "", rec.get("rid") or ""
    if svc and rid:
        return f"{svc}.{rid}"
    return svc or rid or "-"


def line(rec) -> str:
    """rec: a decoded record (journal.store.decode)."""
    src, dst = rec.get("src") or "", rec.get("dst") or ""
    move = f"{src or '-'} -> {dst or '-'}" if (src or dst) else ""
    text = detail(rec.get("payload") or {})
    if rec.get("action_id"):
        text = f"{text} [act:{rec['action_id'][:ACTION_ID_SHOWN]}]".lstrip()
    w = WIDTHS
    out = (f"{clock(rec['ts'])} {rec.get('node') or '-':<{w['node']}} {target(rec):<{w['target']}} "
           f"{rec.get('event') or rec.get('kind') or '-':<{w['event']}} {move:<{w['move']}} {text}")
    return out.rstrip()


class DateHeader:
    """Yields `-- YYYY-MM-DD --` before the first record of each local day."""

    def __init__(self):
        self.day = None

    def __call__(self, rec):
        day = date_of(rec["ts"])
        if day == self.day:
            return None
        self.day = day
        return f"-- {day} --"


def json_line(rec, **extra) -> str:
    """Every column, payload decoded, hash in hex (decode() already hexed it)."""
    obj = dict(rec)
    obj.update(extra)
    return json.dumps(obj, separators=(",", ":"), default=_json_default, ensure_ascii=False)


def _json_default(value):
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)
