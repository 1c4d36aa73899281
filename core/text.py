"""Control characters of text the engine did not write itself, drawn escaped (issue 17, item 10).

A value holding a newline, a carriage return or an escape sequence (an env file value, a label, a
command's output) must not start a forged row in the status tree or a forged line in a log, nor reach
the operator's terminal as a sequence it obeys: it is written `\\n`, `\\r`, `\\x1b`. One table for the
status tree (domain/render.py) and the log lines (core/log.py).
"""

# C0, DEL and C1: every code point a terminal may act on.
ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7f, *range(0x80, 0xa0))} \
    | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
# A line of a log (a status log line, a log record's line): a tab is a blank there, not a control.
ESCAPES_IN_LINE = {c: e for c, e in ESCAPES.items() if c != ord("\t")}


def escaped(text, table=ESCAPES) -> str:
    return str(text).translate(table)


def escaped_lines(text, table=ESCAPES_IN_LINE) -> str:
    """`text` with its line breaks kept and every other control character escaped: for text whose lines
    are lines (a command's output); a CR is escaped, so it cannot rewind the line it is on."""
    return "\n".join(escaped(line, table) for line in str(text).split("\n"))
