"""`print status`: the 1.5 tree (docs/design.md §4), drawn from the json status document and nothing else.

One renderer for every source: a freshly aggregated document, a saved one (`--from FILE`), a peer's
or a replayed one. Pure and stdlib only: `print status` must start and draw in a few ms.

Grammar (docs/agent-reference.md §3.1-3.2). Every row is `<rails><branch><name> <flags> <status> <label>` where the
branch is `|- ` (or `'- ` for the last child), the rails are `|  ` under a parent that has siblings
below it and `   ` otherwise, and the name field shrinks by 3 per level so that flags, status (8
wide) and label stay in fixed columns: overall 20, groups 17, resources 14, encap children 11. Log
lines start with the rails a child of that row would have, padded so `# ` sits on the label column.
"""

from core.errors import OsvcError
from core.text import ESCAPES_IN_LINE, escaped
from domain.families import AVAIL_ORDER
from domain.status import GROUPS, family, parse

NAME_COLUMNS = 20            # prefix + name field: the flags column starts after it, at every level
LABEL_COLUMN = 35            # 20 + ' ' + 4 flags + ' ' + 8 status + ' '
WRAP = 78                    # log lines are wrapped to this width

# Avail rows by family in AVAIL_ORDER (domain.families: 1.5 status type order); config order within a family.
# Sync rows by driver type in the 1.5 status type order (b1.5:lib/svc.py status_types; the 1.8 types it does
# not know come after), config order within a type, the internal sync#i0 first: the agent adds it before the
# env file's syncs (docs/design.md §4: `sync#i0` above `sync#1` of type btrfs).
SYNC_ORDER = ("rsync", "symclone", "ibmdssnap", "evasnap", "dcssnap", "dcsckpt", "dds", "zfs", "btrfs", "netapp",
              "nexenta")

# ANSI colours of the status word (1.8 palette: green, red, brown, light blue).
COLORS = {"up": "32", "stdby up": "32", "down": "31", "stdby down": "31", "warn": "33", "n/a": "94"}
RESET = "\x1b[0m"

FLAGS = (("M", "monitor"), ("D", "disable"), ("O", "optional"), ("E", "encap"))

# Control characters of a document's text (a value holding a newline, an escape sequence) are drawn escaped,
# `\n`, `\x1b`: a row stays one line and the terminal only gets the colours drawn here (core/text.py).


class Row:
    """One line of the tree and what hangs under it."""

    __slots__ = ("name", "flags", "status", "label", "log", "children")

    def __init__(self, name, flags, status, label="", log=(), children=()):
        self.name, self.flags, self.status, self.label = name, flags, status, label
        self.log, self.children = log, children


def _flags(entry):
    return "".join(c if entry.get(key) else "." for c, key in FLAGS)


def _messages(log):
    """The log of a resource: a list of messages (ours), or the 1.5 `# a\\n# b` string."""
    if isinstance(log, str):
        lines = log.splitlines()
        return [escaped(ln[2:] if ln.startswith("# ") else ln, ESCAPES_IN_LINE) for ln in lines if ln.strip()]
    return [escaped(ln, ESCAPES_IN_LINE) for msg in (log or ()) for ln in str(msg).splitlines() or [""]]


def _wrap(text, width):
    """Greedy word wrap; a word longer than the width (a path, a device list) stays whole."""
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    return lines + [cur] if cur or not lines else lines


def _status(value, color):
    """The status field, 8 wide: pad first, colour the word only, so columns never move."""
    pad = " " * (8 - len(value))
    code = COLORS.get(value) if color else None
    return (f"\x1b[{code}m{value}{RESET}" if code else value) + pad


def _line(prefix, row, color):
    name = row.name.ljust(NAME_COLUMNS - len(prefix))
    return f"{prefix}{name} {row.flags:>4} {_status(row.status, color)} {row.label}".rstrip()


def _emit(out, rails, row, last, color):
    out.append(_line(rails + ("'- " if last else "|- "), row, color))
    below = rails + ("   " if last else "|  ")
    if row.log:
        # A log line continues the rails of whatever is drawn below it: this row's children, then siblings.
        lead = (below + ("|  " if row.children else "")).ljust(LABEL_COLUMN)
        for msg in row.log:
            first, *rest = _wrap(msg, WRAP - LABEL_COLUMN - 2)
            out.append(f"{lead}# {first}".rstrip())
            out.extend(f"{lead}  {more}".rstrip() for more in rest)
    for i, child in enumerate(row.children):
        _emit(out, below, child, i == len(row.children) - 1, color)


def _row(rid, entry, children=()):
    status = parse(entry.get("status"), f"status document: resource {rid}")
    return Row(escaped(rid), _flags(entry), status, escaped(entry.get("label") or ""), _messages(entry.get("log")),
               children)


def _sync_rank(item):
    rid, entry = item
    kind = str(entry.get("type") or "sync.rsync").partition(".")[2] or "rsync"
    rank = SYNC_ORDER.index(kind) if kind in SYNC_ORDER else len(SYNC_ORDER)
    return rank, rid.lower() != "sync#i0"


def _encap_children(doc, rid, entry):
    """The rows of the guest document matching this container (by its name, the label, else its rid)."""
    encap = doc.get("encap") or {}
    guest = encap.get(entry.get("label")) or encap.get(rid)
    if not isinstance(guest, dict):
        return ()
    return [_row(crid, dict(c, encap=c.get("encap", True)))
            for crid, c in (guest.get("resources") or {}).items() if c.get("encap", True)]


def _check(doc):
    if not isinstance(doc, dict):
        raise OsvcError("status document: expected a json object (the output of 'print status --format json')")
    missing = [k for k in ("svcname", "resources", "overall", "avail") if k not in doc]
    if missing:
        raise OsvcError(f"status document: missing {', '.join(missing)} "
                        "(expected the output of 'print status --format json')")


def tree(doc, show_disabled=None):
    """The document as rows: the overall row (whose children are the groups avail, sync, hb).
    show_disabled: None follows the document (DEFAULT.show_disabled, default true)."""
    _check(doc)
    host = "encap" in doc
    hide = not (doc.get("show_disabled", True) if show_disabled is None else show_disabled)
    by_family = {g: [] for g in GROUPS}
    for rid, entry in doc["resources"].items():
        if host and entry.get("encap"):
            continue                       # drawn under its container, from the guest's document
        if hide and entry.get("disable"):
            continue
        fam = family(entry.get("type"), rid)
        if fam not in by_family:
            raise OsvcError(f"status document: resource {rid} has type {entry.get('type')!r} "
                            f"of an unknown family (expected one of: {', '.join(GROUPS)})")
        by_family[fam].append((rid, entry))

    avail = [_row(rid, e, _encap_children(doc, rid, e) if fam == "container" else ())
             for fam in AVAIL_ORDER for rid, e in by_family[fam]]
    groups = [Row(name, "", parse(doc.get(name, "n/a"), f"status document: {name}"), children=rows)
              for name, rows in (("avail", avail),
                                 ("sync", [_row(rid, e) for rid, e in sorted(by_family["sync"], key=_sync_rank)]),
                                 ("hb", [_row(rid, e) for rid, e in by_family["hb"]]))]
    label = "frozen" if doc.get("frozen") else ""
    return Row("overall", "", parse(doc["overall"], "status document: overall"), label, children=groups)


def render(doc, color=False, show_disabled=None):
    """The `print status` text of one document, newline-terminated."""
    top = tree(doc, show_disabled)
    name = escaped(doc["svcname"])
    out = [f"\x1b[1m{name}{RESET}" if color else name, _line("", top, color)]
    for i, group in enumerate(top.children):
        _emit(out, "", group, i == len(top.children) - 1, color)
    return "\n".join(out) + "\n"

