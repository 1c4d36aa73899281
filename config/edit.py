"""Text edits of env files for `set`/`unset`/`create` (every other line kept as written) and the one atomic writer."""

import re
from pathlib import Path

from config.ini import parse
from core.files import write_atomic


def write_env(node, svc: str, text: str) -> Path:
    """Write etc/<svc>.env (or its existing .conf) atomically, mode 0644. The one place env files are written:
    config-change journaling hooks in here."""
    path = node.env_file(svc)
    write_atomic(path, text, 0o644, durable=True)
    return path


def split_param(param: str) -> tuple[str, str]:
    """'ip#1.ipname@n1.example.com' -> ('ip#1', 'ipname@n1.example.com'); 'nodes' -> ('DEFAULT', 'nodes')."""
    head, at, scope = param.partition("@")
    section, dot, key = head.rpartition(".")
    return (section if dot else "DEFAULT"), (key.lower() + at + scope.lower() if at else key.lower())


def _lines(text: str) -> list[str]:
    """The lines as config/ini.py numbers them (ended by '\n' only), each with its ending."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


_PREFIX = re.compile(r"^(\s*[^=:]*?\s*[=:][ \t]*)")


def _format_value(value: str) -> str:
    """Multi-line values become indented continuation lines."""
    return "\n\t".join(value.splitlines()) if "\n" in value else value


def set_option(text: str, section: str, key: str, value: str) -> str:
    """`text` with section.key = value: replaced in place (its other lines untouched), or added after the
    section's last keyword, or in a new section (DEFAULT goes first)."""
    env = parse(text)
    lines = _lines(text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    new = f"{key} = {_format_value(value)}\n"
    sec = env.sections.get(section)
    if sec is not None and key in sec.options and sec.options[key].line:
        opt = sec.options[key]
        m = _PREFIX.match(lines[opt.line - 1])
        first = (m.group(1) if m else f"{key} = ") + _format_value(value) + "\n"
        lines[opt.line - 1: opt.last] = [first]
    elif sec is not None and sec.line is not None:
        last = max([sec.line] + [o.last for o in sec.options.values() if o.last])
        lines[last:last] = [new]
    elif section == "DEFAULT":
        first_header = min((s.line for s in env.sections.values() if s.line), default=None)
        block = ["[DEFAULT]\n", new]
        if first_header is None:
            lines = lines + (["\n"] if lines and lines[-1].strip() else []) + block
        else:
            lines[first_header - 1: first_header - 1] = block + ["\n"]
    else:
        sep = ["\n"] if lines and lines[-1].strip() else []
        lines = lines + sep + [f"[{section}]\n", new]
    return "".join(lines)


def unset_option(text: str, section: str, key: str) -> tuple[str, bool]:
    """-> (text without section.key's line(s), whether it was there)."""
    env = parse(text)
    sec = env.sections.get(section)
    if sec is None or key not in sec.options or not sec.options[key].line:
        return text, False
    opt = sec.options[key]
    lines = _lines(text)
    del lines[opt.line - 1: opt.last]
    return "".join(lines), True
