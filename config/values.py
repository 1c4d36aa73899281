"""Keyword values: text -> typed value by the keyword table's type (bool, int, duration, list, requires), and back."""

import re

from config import keywords as kwt


class ValueProblem(Exception):
    """A value that does not convert: the reader attaches the location."""


_TRUE = {"1", "yes", "true", "on"}


_FALSE = {"0", "no", "false", "off"}


# Patterns as text: re compiles (and caches) them the first time a duration or a requires is read, which
# most loads never do; every action imports this module.
_DURATION = r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$"


_REQUIRE = r"(?P<rid>[^\s()]+)(?:\((?P<states>[^)]*)\))?"


def _candidate(kw, word):
    if kw.candidates is None or word in kw.candidates:
        return word
    for c in kw.candidates:            # accept case variants, store the table's spelling
        if c.lower() == word.lower():
            return c
    shown = ", ".join(c or "''" for c in kw.candidates)
    raise ValueProblem(f"{word!r} is not one of: {shown}")


def _to_bool(kw, text):
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueProblem(f"{text!r} is not a boolean (true/false, yes/no, 1/0, on/off)")


def _to_int(kw, text):
    try:
        return int(text.strip())
    except ValueError:
        raise ValueProblem(f"{text!r} is not an integer") from None


def _to_duration(kw, text):
    m = re.match(_DURATION, text.strip().lower())
    if not m or not text.strip():
        raise ValueProblem(f"{text!r} is not a duration (seconds, or like 90s, 5m, 1h30m, 1d)")
    d, h, mi, s = (int(x or 0) for x in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def _to_list(kw, text):
    return [_candidate(kw, w) for w in text.split()]


def _to_requires(kw, text):
    """`ip#0 fs#1(up,stdby up)` -> [("ip#0", ("up", "stdby up")), ("fs#1", ("up", "stdby up"))]."""
    out = []
    rest = re.sub(_REQUIRE, "", text).strip()
    if rest:
        raise ValueProblem(f"cannot parse {rest!r}: expected 'rid' or 'rid(state,...)' words")
    for m in re.finditer(_REQUIRE, text):
        rid = m.group("rid")
        if rid == "impossible":
            out.append(("impossible", ()))
            continue
        states = ("up", "stdby up")
        if m.group("states") is not None:
            states = tuple(s.strip() for s in m.group("states").split(",") if s.strip())
            bad = [s for s in states if s not in kwt.STATUS_VALUES]
            if bad or not states:
                raise ValueProblem(f"{rid}: unknown state {(bad or [''])[0]!r} (states: "
                                    f"{', '.join(kwt.STATUS_VALUES)})")
        out.append((rid, states))
    return out


CONVERTERS = {
    "str": _candidate,
    "trigger": lambda kw, text: text,
    "bool": _to_bool,
    "int": _to_int,
    "duration": _to_duration,
    "list": _to_list,
    "requires": _to_requires,
}


# Types where an empty value means "not set" (the keyword default applies).
EMPTY_IS_UNSET = {"bool", "int", "duration"}


def convert(kw, text: str):
    """Convert a written (expanded) value to the keyword's type; raise ValueProblem."""
    return CONVERTERS[kw.type](kw, text)


def as_text(value) -> str:
    """A value as a reference or `get --eval` shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(_requirement_text(v) if isinstance(v, tuple) else str(v) for v in value)
    return "" if value is None else str(value)


def _requirement_text(req):
    rid, states = req
    return rid if states in ((), ("up", "stdby up")) else f"{rid}({','.join(states)})"


def fresh(value):
    """Defaults are shared table data: hand out copies, lists as lists."""
    return list(value) if isinstance(value, (list, tuple)) else value
