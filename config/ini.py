"""The env file as written: sections and options with their line numbers (ConfigParser forgets them).

    env = parse(text, path)       # EnvFile(path, sections={name: Section(name, line, options)})
"""

import re

from config.checks import control_problem
from core.record import Record, factory


class Problem(Record, frozen=True):
    file: str
    line: int | None
    section: str
    keyword: str
    message: str
    fatal: bool = True        # False: reported by validate config, but the service still loads

    def __str__(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        kw = f" {self.keyword}:" if self.keyword else ""
        return f"{where}: [{self.section}]{kw} {self.message}"


class Problems(list):
    def add(self, problem: Problem):
        if problem not in self:
            self.append(problem)

    def ordered(self) -> list:
        return sorted(self, key=lambda p: (p.line is None, p.line or 0))


class Option(Record):
    key: str                  # as written, lower-cased, scope included: ipname@node1
    value: str
    line: int | None
    last: int | None          # last line of the value (continuations)
    section: str              # the section it is written in


class Section(Record):
    name: str
    line: int | None
    options: dict = factory(dict)   # key -> Option, file order
    virtual: bool = False     # built by the engine (implicit resources), not written in the file


class EnvFile(Record):
    path: str
    text: str
    sections: dict            # name -> Section, file order; DEFAULT always present
    problems: Problems


_HEADER = re.compile(r"^\[(?P<name>[^\]]+)\]\s*(?:[#;].*)?$")


_OPTION = re.compile(r"^(?P<key>[^=:\s][^=:]*?)\s*[=:]\s*(?P<value>.*)$")


def parse(text: str, path: str = "<text>") -> EnvFile:
    """ConfigParser semantics, keeping the line of every section and option."""
    problems = Problems()
    sections = {"DEFAULT": Section("DEFAULT", None)}
    cur = None            # current Section
    opt = None            # current Option (continuation lines extend it)
    opt_indent = 0
    blanks = 0            # blank lines seen inside a value (kept if a continuation follows)
    # Lines end at '\n' only (a trailing '\r' is dropped): str.splitlines would also cut at \v, \f, \x1c-\x1e,
    # \x85, U+2028 and U+2029, and the line numbers would no longer be the editor's.
    for lineno, raw in enumerate(text.split("\n"), 1):
        raw = raw.removesuffix("\r")
        bad = control_problem(raw)
        if bad:
            problems.add(Problem(path, lineno, cur.name if cur else "", "", bad))
            opt = None
            continue
        stripped = raw.strip()
        if not stripped:
            blanks += 1 if opt else 0
            continue
        if stripped[0] in "#;":
            continue
        indent = len(raw) - len(raw.lstrip())
        if opt is not None and indent > opt_indent:
            opt.value += "\n" * (blanks + 1) + stripped
            opt.last = lineno
            blanks = 0
            continue
        blanks = 0
        header = _HEADER.match(stripped)
        if header:
            name = header.group("name").strip()
            opt = None
            if name in sections and (name != "DEFAULT" or sections[name].line is not None):
                problems.add(Problem(path, lineno, name, "", f"duplicate section (first on line "
                                     f"{sections[name].line}): merge them"))
                cur = sections[name]
                continue
            cur = sections.setdefault(name, Section(name, lineno))
            cur.line = lineno
            continue
        m = _OPTION.match(stripped)
        if cur is None:
            problems.add(Problem(path, lineno, "", "", "keyword outside any section: add a [DEFAULT] or "
                                 "[<section>] header above it"))
            continue
        if not m:
            problems.add(Problem(path, lineno, cur.name, "", f"cannot parse {stripped!r}: expected "
                                 f"'keyword = value'"))
            opt = None
            continue
        key = m.group("key").strip().lower()
        if key in cur.options:
            problems.add(Problem(path, lineno, cur.name, key, f"duplicate keyword (first on line "
                                 f"{cur.options[key].line}): keep one"))
            del cur.options[key]   # the last one wins, as in the 1.x parser
        opt = Option(key, m.group("value").strip(), lineno, lineno, cur.name)
        opt_indent = indent
        cur.options[key] = opt
    return EnvFile(path, text, sections, problems)
