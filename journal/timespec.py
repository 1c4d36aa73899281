"""--since values: ISO times, epoch seconds, or relative ages (`90s`, `10m`, `2h`, `1d`, `1w`)."""

import re
import time
from datetime import datetime

from core.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_REL = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])(?:\s*ago)?$")
_EPOCH = re.compile(r"^@?(\d+(?:\.\d+)?)$")


def parse_time_ns(text, now_ns=None) -> int:
    """Epoch nanoseconds for `text`; naive ISO times are local time, like the text output."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    value = text.strip()
    m = _REL.match(value)
    if m:
        return now_ns - int(float(m.group(1)) * _UNITS[m.group(2)] * 1_000_000_000)
    m = _EPOCH.match(value)
    if m and len(m.group(1).split(".")[0]) >= 9:  # epoch seconds; shorter numbers are ambiguous
        return int(float(m.group(1)) * 1_000_000_000)
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"cannot read time {text!r}: use an ISO time (2024-05-01T10:54:49 or "
                         f"'2024-05-01 10:54'), epoch seconds (1714560000), or an age (90s, 10m, 2h, 1d)") from None
    return int(dt.timestamp() * 1_000_000) * 1000
