"""Service env files: parse, evaluate for a node, validate, and edit (DESIGN §3, reference §1).

    load_service(node, svc) -> ServiceSpec         raises ConfigError "<file>:<line>: [<section>] <kw>: <problem>"
    validate(node, svc) -> list[Problem]           every problem, in file order
    build(node, svc, text, path) -> (spec, problems)   the same on a text (set/create check before writing)
    set_option(text, section, key, value) -> text  / unset_option(...): line edits keeping everything else
    write_env(node, svc, text) -> Path             the one place env files are written (atomic)

The file is read with ConfigParser semantics (lower-cased keywords, `#`/`;` full-line comments, indented
continuation lines, [DEFAULT] inherited by every section), by a small reader of our own because ConfigParser
forgets line numbers. Every keyword is read through engine.keywords (the table), engine.scoping (which
written option applies to this node) and engine.references ({refs} and $(arithmetic)).
"""

import hashlib
import os
import re
from engine.record import Record, factory
from pathlib import Path

from engine import keywords as kwt
from engine import references as refs
from engine.errors import ConfigError, NotFound
from engine.model import FAMILIES as FAMILY_ORDER, ResourceSpec, ServiceSpec
from engine.scoping import NodeSets, pick, split_key


# ---- problems -------------------------------------------------------------------------------------------------

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


class _ValueProblem(Exception):
    """A value that does not convert: the reader attaches the location."""


# ---- reading the file --------------------------------------------------------------------------------------

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
    for lineno, raw in enumerate(text.splitlines(), 1):
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


# ---- values -----------------------------------------------------------------------------------------------

_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
_REQUIRE = re.compile(r"(?P<rid>[^\s()]+)(?:\((?P<states>[^)]*)\))?")


def _candidate(kw, word):
    if kw.candidates is None or word in kw.candidates:
        return word
    for c in kw.candidates:            # accept case variants, store the table's spelling
        if c.lower() == word.lower():
            return c
    shown = ", ".join(c or "''" for c in kw.candidates)
    raise _ValueProblem(f"{word!r} is not one of: {shown}")


def _to_bool(kw, text):
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise _ValueProblem(f"{text!r} is not a boolean (true/false, yes/no, 1/0, on/off)")


def _to_int(kw, text):
    try:
        return int(text.strip())
    except ValueError:
        raise _ValueProblem(f"{text!r} is not an integer") from None


def _to_duration(kw, text):
    m = _DURATION.match(text.strip().lower())
    if not m or not text.strip():
        raise _ValueProblem(f"{text!r} is not a duration (seconds, or like 90s, 5m, 1h30m, 1d)")
    d, h, mi, s = (int(x or 0) for x in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def _to_list(kw, text):
    return [_candidate(kw, w) for w in text.split()]


def _to_requires(kw, text):
    """`ip#0 fs#1(up,stdby up)` -> [("ip#0", ("up", "stdby up")), ("fs#1", ("up", "stdby up"))]."""
    out = []
    rest = _REQUIRE.sub("", text).strip()
    if rest:
        raise _ValueProblem(f"cannot parse {rest!r}: expected 'rid' or 'rid(state,...)' words")
    for m in _REQUIRE.finditer(text):
        rid = m.group("rid")
        if rid == "impossible":
            out.append(("impossible", ()))
            continue
        states = ("up", "stdby up")
        if m.group("states") is not None:
            states = tuple(s.strip() for s in m.group("states").split(",") if s.strip())
            bad = [s for s in states if s not in kwt.STATUS_VALUES]
            if bad or not states:
                raise _ValueProblem(f"{rid}: unknown state {(bad or [''])[0]!r} (states: "
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
_EMPTY_IS_UNSET = {"bool", "int", "duration"}


def convert(kw, text: str):
    """Convert a written (expanded) value to the keyword's type; raise _ValueProblem."""
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


def _fresh(value):
    """Defaults are shared table data: hand out copies, lists as lists."""
    return list(value) if isinstance(value, (list, tuple)) else value


# ---- evaluation for one node --------------------------------------------------------------------------------

class Evaluator:
    """Reads keywords as one node sees them: DEFAULT inheritance, scoping, references, conversion."""

    def __init__(self, env: EnvFile, svcname: str, nodename: str, environ=None):
        self.env = env
        self.svcname = svcname
        self.ns = NodeSets(nodename)
        self.environ = os.environ if environ is None else environ
        self.computed = {}        # DEFAULT node sets, once bootstrapped: name -> list or str
        self.tables = {}          # section name -> keyword table (set by the builder)
        self._memo = {}
        self._stack = []

    # -- options
    def merged(self, section: Section) -> dict:
        """Own options over DEFAULT's (ConfigParser: DEFAULT keys are inherited by every section)."""
        if section.name == "DEFAULT":
            return section.options
        return {**self.env.sections["DEFAULT"].options, **section.options}

    def option(self, section: Section, kw, table) -> Option | None:
        """The written option this node reads for `kw` (its aliases are tried after it)."""
        opts = self.merged(section)
        names = [kw.name] + [a for a in kwt.ALIASES.get(kw.name, ()) if a in table]
        for name in names:
            chosen = pick(opts, name, self.ns, table[name].scopable if name in table else True)
            if chosen:
                return opts[chosen]
        return None

    # -- values
    def read(self, section: Section, kw, table):
        """-> (value, Option or None). Raises _ValueProblem / refs.RefError."""
        opt = self.option(section, kw, table)
        tolerate = kw.type == "trigger"
        if opt is not None and not (opt.value == "" and kw.type in _EMPTY_IS_UNSET):
            text = self._expand_token(section.name, kw.name, opt.value, tolerate)
            return convert(kw, text), opt
        default = kw.default
        if isinstance(default, kwt.DefaultFrom):
            return self.read(section, table[default.keyword], table)[0], None
        if isinstance(default, str):
            return convert(kw, self._expand_token(section.name, kw.name, default, tolerate)), None
        return _fresh(default), None

    def _expand_token(self, section_name, key, text, tolerate=False):
        token = self.token(section_name, key)
        if token in self._stack:
            raise refs.ReferenceLoop(self._stack[self._stack.index(token):] + [token])
        self._stack.append(token)
        try:
            return refs.expand(text, lambda name: self.resolve(name, section_name), tolerate)
        finally:
            self._stack.pop()

    @staticmethod
    def token(section_name, key):
        return key if section_name == "DEFAULT" else f"{section_name}.{key}"

    def clear(self):
        self._memo.clear()

    # -- references
    def builtins(self) -> dict:
        return {
            "svcname": self.svcname,
            "short_svcname": self.svcname.split(".")[0],
            "nodename": self.ns.nodename,
            "short_nodename": self.ns.nodename.split(".")[0],
            "svcmgr": "osvc-engine",
            "nodemgr": "osvc-engine",
        }

    def resolve(self, name: str, from_section: str) -> str:
        """The text of reference `name` (without braces)."""
        builtins = self.builtins()
        if name in builtins:
            return builtins[name]
        if name.lower().startswith("env."):
            key = name[4:]
            if key.upper() in self.environ:
                return self.environ[key.upper()]
            return self.ref_value("env", key.lower())
        sec, dot, key = name.rpartition(".")
        return self.ref_value(sec if dot else "DEFAULT", key.lower())

    def ref_value(self, section_name: str, key: str) -> str:
        token = self.token(section_name, key)
        if token in self._memo:
            return self._memo[token]
        if section_name == "DEFAULT" and key in self.computed:
            return as_text(self.computed[key])
        section = self.env.sections.get(section_name)
        if section is None:
            raise refs.Unresolved(self.token(section_name, key), f"no section [{section_name}]")
        table = self.tables.get(section_name, {})
        kw = table.get(key) or kwt.Keyword(key)
        opt = self.option(section, kw, {**table, key: kw})
        if opt is not None:
            value = self._expand_token(section_name, key, opt.value)
        elif key in table and table[key].default is not None:
            value = as_text(self.read(section, table[key], table)[0])
        else:
            raise refs.Unresolved(token, f"no keyword {key!r} in [{section_name}]")
        self._memo[token] = value
        return value

    # -- node lists
    def expand_nodes(self, words) -> set:
        """`nodes`, `drpnodes` and `encapnodes` in a node list stand for those sets."""
        out = set()
        for w in words:
            if w in ("nodes", "drpnodes", "encapnodes"):
                out.update(getattr(self.ns, w))
            else:
                out.add(w)
        return out


# ---- building the service ---------------------------------------------------------------------------------

class _Builder:
    def __init__(self, node, svc, text, path, nodename=None, environ=None):
        self.node = node
        self.svc = svc
        self.path = str(path)
        self.env = parse(text, self.path)
        self.problems = self.env.problems
        self.nodename = nodename or node.name
        self.ev = Evaluator(self.env, svc, self.nodename, environ)
        self.default_sec = self.env.sections["DEFAULT"]

    # -- problems
    def problem(self, section, keyword, message, line=None, fatal=True):
        self.problems.add(Problem(self.path, line, section, keyword, message, fatal))

    def at(self, opt: Option | None, section: Section, keyword, message, fatal=True):
        if opt is not None:
            self.problem(opt.section, opt.key, message, opt.line, fatal)
        else:
            self.problem(section.name, keyword, message, section.line, fatal)

    def value(self, section, kw, table, origin=None):
        """Read one keyword, recording (not raising) a problem; -> value (default on error)."""
        try:
            value, opt = self.ev.read(section, kw, table)
            if origin is not None:
                origin[kw.name] = opt
            return value
        except (_ValueProblem, refs.RefError) as exc:
            opt = self.ev.option(section, kw, table)
            if kw.on_error is not None and isinstance(exc, _ValueProblem):
                self.at(opt, section, kw.name, f"{exc}: read as {as_text(kw.on_error)}", fatal=False)
                return kw.on_error
            self.at(opt, section, kw.name, str(exc))
            return None if isinstance(kw.default, (str, kwt.DefaultFrom)) else _fresh(kw.default)

    def check_keys(self, section, table, allowed=None, where=""):
        """Own keywords of a section: known, and scoped only when scopable."""
        allowed = table if allowed is None else allowed
        for opt in section.options.values():
            key, scope = split_key(opt.key)
            kw = table.get(key)
            if key not in allowed:
                self.problem(section.name, opt.key, self.unknown_message(key, allowed, where), opt.line)
            elif scope == "":
                self.problem(section.name, opt.key, f"empty scope after '@' (scopes: {kwt.SCOPES_HELP})",
                             opt.line)
            elif scope is not None and kw is not None and not kw.scopable:
                self.problem(section.name, opt.key, f"{key} is not scopable: write it without @{scope}",
                             opt.line)

    @staticmethod
    def unknown_message(key, allowed, where):
        import difflib

        msg = f"unknown keyword{where}"
        if key in kwt.default_keywords() and "nodes" not in allowed:
            return msg + f": {key} is a DEFAULT keyword, move it to [DEFAULT]"
        close = difflib.get_close_matches(key, list(allowed), n=1)
        return msg + (f" (did you mean {close[0]}?)" if close else "")

    # -- DEFAULT
    # The node-set keywords are read in this order, each with the scopes known at that point (reference §1.6):
    # a set scope not yet known can never apply, so writing it is an error.
    BOOTSTRAP_SCOPES = {
        "mode": (),
        "nodes": ("encapnodes",),
        "drpnodes": ("encapnodes", "nodes"),
        "drpnode": ("encapnodes", "nodes"),
        "flex_primary": ("encapnodes", "nodes", "drpnodes"),
        "drp_flex_primary": ("encapnodes", "nodes", "drpnodes", "flex_primary"),
    }

    def check_bootstrap_scopes(self):
        from engine.scoping import SET_SCOPES

        for opt in self.default_sec.options.values():
            key, scope = split_key(opt.key)
            usable = self.BOOTSTRAP_SCOPES.get(key)
            if usable is not None and scope in SET_SCOPES and scope not in usable:
                shown = ", ".join(["@<nodename>"] + [f"@{u}" for u in usable])
                self.problem("DEFAULT", opt.key, f"@{scope} never applies: {key} is read before {scope} is known "
                             f"(usable: {shown})", opt.line)

    def bootstrap(self):
        """Node sets, in the agent's order (reference §1.6): each read scoped against what is known so far."""
        ev, sec, table = self.ev, self.default_sec, kwt.default_keywords()
        ev.tables["DEFAULT"] = table
        self.check_bootstrap_scopes()
        self.mode = self.value(sec, table["mode"], table) or "hosted"   # read with empty node sets
        encap = self.value(sec, table["encapnodes"], table) or []
        ev.computed["encapnodes"] = encap
        ev.ns = NodeSets(self.nodename, encapnodes=tuple(encap))
        ev.clear()
        nodes = self.value(sec, table["nodes"], table) or [self.nodename]
        ev.computed["nodes"] = nodes
        ev.ns = NodeSets(self.nodename, tuple(nodes), encapnodes=tuple(encap))
        ev.clear()
        drp = list(self.value(sec, table["drpnodes"], table) or [])
        for n in self.value(sec, table["drpnode"], table) or []:
            if n not in drp:
                drp.append(n)
        ev.computed["drpnodes"] = drp
        ev.ns = NodeSets(self.nodename, tuple(nodes), tuple(drp), tuple(encap))
        ev.clear()
        flex = self.value(sec, table["flex_primary"], table) or (nodes[0] if nodes else "")
        ev.computed["flex_primary"] = flex
        ev.ns = NodeSets(self.nodename, tuple(nodes), tuple(drp), tuple(encap), flex)
        ev.clear()
        drp_flex = self.value(sec, table["drp_flex_primary"], table) or (drp[0] if drp else "")
        ev.computed["drp_flex_primary"] = drp_flex
        ev.ns = NodeSets(self.nodename, tuple(nodes), tuple(drp), tuple(encap), flex, drp_flex)
        ev.clear()

    def defaults(self) -> dict:
        sec, table = self.default_sec, kwt.default_keywords()
        allowed = set(table) | kwt.all_resource_keyword_names()
        self.check_keys(sec, {**self._resource_union(), **table}, allowed, " in [DEFAULT]")
        out = {}
        for kw in table.values():
            if kw.alias_of or kw.name in self.ev.computed:
                continue
            out[kw.name] = self.value(sec, kw, table)
        out.update({k: _fresh(v) for k, v in self.ev.computed.items()})
        out["mode"] = self.mode
        out["service_type"] = out["env"]          # 1.5 spelling, same value
        out["encap"] = self.nodename in out["encapnodes"]
        return out

    @staticmethod
    def _resource_union():
        """Keywords DEFAULT may hold for resources to inherit (for the scopable check)."""
        table = dict(kwt._RESOURCE_INDEX)
        for fam in kwt.FAMILIES.values():
            for group in (fam.common, fam.other, *fam.per_type.values()):
                table.update({kw.name: kw for kw in group if kw.name not in table})
        return table

    # -- sections
    def classify(self):
        """-> {family: [(section, forced type)]} in file order; other sections checked here."""
        by_family = {f: [] for f in FAMILY_ORDER}
        self.subsets = {}
        stems = {name for name in self.env.sections} | ({self.mode} if self.mode in kwt.CONTAINER_TYPES else set())
        self.pr_sections = {}
        for name, sec in self.env.sections.items():
            if name == "DEFAULT":
                continue
            stem_kind = kwt.section_kind(name[:-2]) if name.endswith("pr") and name[:-2] in stems else None
            if name[:-2] == self.mode or (stem_kind and stem_kind[0] in ("disk", "container")):
                self.pr_sections[name[:-2]] = sec       # a scsireserv companion's own settings
                continue
            kind = kwt.section_kind(name)
            if kind is None:
                self.problem(name, "", f"unknown section family (known: {kwt.known_sections_help()})", sec.line)
            elif kind[0] == "env":
                self.check_keys(sec, {}, allowed=_Anything())
            elif kind[0] == "subset":
                self.subset(sec, kind[1])
            elif name.lower() == "sync#i0":
                self.problem(name, "", "sync#i0 is reserved for the engine's internal config sync: rename it",
                             sec.line)
            else:
                by_family[kind[0]].append((sec, kind[1]))
        return by_family

    def subset(self, sec, spec):
        family, colon, name = spec.partition(":")
        if family not in kwt.FAMILIES or not colon or not name:
            self.problem(sec.name, "", f"expected [subset#<family>:<name>] with family one of "
                         f"{', '.join(kwt.FAMILIES)}", sec.line)
            return
        table = kwt.subset_keywords()
        self.ev.tables[sec.name] = table
        self.check_keys(sec, table, where=" in a subset section")
        self.subsets[f"{family}:{name}"] = {kw.name: self.value(sec, kw, table) for kw in table.values()}

    def resource_type(self, sec, family, forced):
        fam = kwt.FAMILIES[family]
        if forced is not None:
            return forced
        type_kw = next((kw for kw in fam.common if kw.name == "type"), None)
        if type_kw is None:       # app#N: no driver types
            return fam.default_type
        table = {"type": type_kw}
        opt = self.ev.option(sec, type_kw, table)
        if opt is None:
            if fam.default_type is None:
                self.problem(sec.name, "type", f"missing required keyword (one of: {', '.join(fam.types)})",
                             sec.line)
            return fam.default_type
        try:
            text = self.ev._expand_token(sec.name, "type", opt.value)
        except refs.RefError as exc:
            self.at(opt, sec, "type", str(exc))
            return None
        if not kwt.known_type(family, text):
            self.at(opt, sec, "type", f"unknown {family} type {text!r} (one of: "
                    f"{', '.join(t or repr(t) for t in fam.types)})")
            return None
        return text

    def resource(self, sec, family, forced, rid=None):
        rid = rid or sec.name
        rtype = self.resource_type(sec, family, forced)
        if rtype is None:
            return None
        table = kwt.resource_keywords(family, rtype)
        self.ev.tables[sec.name] = table
        if not sec.virtual:
            where = f" for {family}" + (f" type {rtype}" if rtype else "")
            if kwt.is_open(family, rtype):
                self.check_keys(sec, table, allowed=_Anything())
            else:
                self.check_keys(sec, table, where=where)
        origin = {}
        conf = {}
        for kw in table.values():
            if kw.alias_of:
                continue
            conf[kw.name] = self.value(sec, kw, table, origin)
            if kw.required:
                self.check_required(sec, kw, table)
        if kwt.is_open(family, rtype):     # keywords the table does not model: passed through expanded
            for key, opt in sec.options.items():
                if split_key(key)[0] not in table:
                    try:
                        conf.setdefault(split_key(key)[0], self.ev._expand_token(sec.name, key, opt.value))
                    except refs.RefError as exc:
                        self.at(opt, sec, key, str(exc))
        conf["type"] = rtype if family != "app" else ""
        return self.spec(sec, family, rtype, rid, conf, origin)

    def check_required(self, sec, kw, table):
        opt = self.ev.option(sec, kw, table)
        if opt is None:
            scoped = any(split_key(k)[0] == kw.name for k in self.ev.merged(sec))
            self.at(None, sec, kw.name, "missing required keyword"
                    + (f" (no scope applies to node {self.nodename})" if scoped else ""))
        elif not opt.value.strip():
            self.at(opt, sec, kw.name, "empty value for a required keyword")

    def spec(self, sec, family, rtype, rid, conf, origin):
        ev, me = self.ev, self.nodename
        tags = set(conf.get("tags") or ())
        if family in ("fs", "ip") and conf.get("zone"):
            tags.update(("zone", conf["zone"]))   # zone resources are driven by their zone (reference §1.8)
        triggers = {name: conf[name] for name in conf
                    if name.startswith(kwt.TRIGGER_PREFIXES) and conf[name] is not None}
        requires = {name[: -len("_requires")]: conf[name] for name in conf
                    if name.endswith("_requires") and conf[name]}
        res = ResourceSpec(
            rid=rid, family=family, type="" if family == "app" else rtype, conf=conf,
            tags=frozenset(tags),
            disabled=self.disabled(conf),
            optional=bool(conf.get("optional")) or me in ev.expand_nodes(conf.get("optional_on") or ()),
            monitor=bool(conf.get("monitor")) or me in ev.expand_nodes(conf.get("monitor_on") or ()),
            restart=conf.get("restart") or 0,
            standby=me in ev.expand_nodes(conf.get("always_on") or ()),
            encap="encap" in tags,
            subset=conf.get("subset") or None,
            requires=requires,
            triggers=triggers,
            line=sec.line,
        )
        res._origin = origin           # where each keyword came from, for cross-resource checks
        return res

    def disabled(self, conf):
        """Reference §1.9: service disable > enable_on > scoped disable > disable_on."""
        if self.service_disabled:
            return True
        if self.nodename in self.ev.expand_nodes(conf.get("enable_on") or ()):
            return False
        if conf.get("disable"):
            return True
        return self.nodename in self.ev.expand_nodes(conf.get("disable_on") or ())

    # -- implicit resources
    def virtual(self, name, line, options, origin_section="DEFAULT"):
        sec = Section(name, line, virtual=True)
        for key, value in options.items():
            sec.options[key] = Option(key, value, line, line, origin_section)
        self.env.sections[name] = sec
        return sec

    def implicit_container(self):
        """1.5 `mode = <virt>`: one container, rid = the type, name vm_name or the service name."""
        if self.mode not in kwt.CONTAINER_TYPES:
            return None
        table = kwt.default_keywords()
        mode_opt = self.ev.option(self.default_sec, table["mode"], table)
        line = mode_opt.line if mode_opt else None
        name_opt = self.ev.option(self.default_sec, table["vm_name"], table)
        options = {"type": self.mode, "name": name_opt.value if name_opt else "{svcname}"}
        uuid_opt = self.ev.option(self.default_sec, table["vm_uuid"], table)
        if self.mode == "ovm" and uuid_opt is not None:
            options["uuid"] = uuid_opt.value
        if self.mode in self.env.sections:
            self.problem(self.mode, "", f"mode = {self.mode} makes an implicit container [{self.mode}]: "
                         f"remove this section or the mode", self.env.sections[self.mode].line)
            return None
        sec = self.virtual(self.mode, line, options)
        return self.resource(sec, "container", None)

    def implicit_app(self, app_sections):
        """1.5: one app resource `app` driven by etc/<svc>.d/ (or configured by a bare [app] section)."""
        bare = self.env.sections.get("app")
        launchers = self.node.launchers_dir(self.svc)
        if bare is None and (app_sections or not launchers.is_dir()):
            return None
        if bare is None:
            bare = self.virtual("app", None, {})
        if "dir" not in bare.options:
            bare.options["dir"] = Option("dir", str(launchers), None, None, "app")
        return self.resource(bare, "app", "legacy")

    def internal_sync(self, nodes, drpnodes):
        """sync#i0: the engine's own config replication to every peer node (reference §5.12)."""
        peers = (set(nodes) | set(drpnodes)) - {self.nodename}
        if not peers:
            return None
        env_file = self.node.env_file(self.svc)
        sec = self.virtual("sync#i0", None, {
            "type": "rsync", "src": f"{env_file} {self.node.launchers_dir(self.svc)}", "dst": str(self.node.etc),
            "target": "drpnodes nodes", "internal": "true"})
        return self.resource(sec, "sync", None)

    def companion(self, peer: ResourceSpec):
        """scsireserv companion `<rid>pr` (reference §6.3): reserves the peer's disks."""
        own = self.pr_sections.get(peer.rid)
        options = {"type": "scsireserv", "peer": peer.rid}
        sec = self.virtual(peer.rid + "pr", own.line if own else peer.line, options, peer.rid)
        if own is not None:
            sec.options = {**{k: o for k, o in own.options.items()}, **sec.options}
            self.check_keys(own, kwt.resource_keywords("disk", "scsireserv"), where=" for a scsireserv companion")
        res = self.resource(sec, "disk", "scsireserv")
        if res is None:
            return None
        own_keys = {split_key(k)[0] for k in (own.options if own else {})}
        for attr in ("optional", "disabled", "restart", "monitor"):
            key = "disable" if attr == "disabled" else attr
            if key not in own_keys:
                setattr(res, attr, getattr(peer, attr))
        if "prkey" not in own_keys:
            res.conf["prkey"] = peer.conf.get("prkey")
        res.tags = res.tags | peer.tags
        res.encap = "encap" in res.tags
        res.triggers = dict(peer.triggers)
        return res

    def bind_vmdgs(self, disks, containers):
        """A 1.5 bare [vmdg] names no container: it is the disk group of the service's only VM."""
        for res in disks:
            if res.type != "vmdg" or res.conf.get("container_id"):
                continue
            if len(containers) == 1:
                res.conf["container_id"] = containers[0].rid
            elif containers:
                sec = self.env.sections.get(res.rid)
                self.problem(res.rid, "container_id", f"container_id must be set in section {res.rid} "
                             f"(containers: {', '.join(c.rid for c in containers)})", sec.line if sec else None)

    def implicit_vmdgs(self, disks, containers):
        """hpvm: the container brings its disk group `vmdg#<rid>` (reference §6.3), unless a vmdg section
        already is that VM's (the VM cookbook's `[vmdg]`). 1.5 `mode = hpvm` services keep their 1.5 shape:
        there the disk group was the `[vmdg]` section alone. Its reservation, if any, is the container's
        own `scsireserv` companion: the implicit vmdg never gets one, so no disk is reserved twice."""
        taken = {r.conf.get("container_id") for r in disks if r.type == "vmdg"}
        out = []
        for con in containers:
            if con.type != "hpvm" or con.rid in taken or con.rid == self.mode:
                continue
            sec = self.virtual(f"vmdg#{con.rid}", con.line, {"type": "vmdg", "container_id": con.rid,
                                                              "scsireserv": "false"}, con.rid)
            res = self.resource(sec, "disk", "vmdg")
            if res is not None:
                res.disabled = con.disabled
                out.append(res)
        return out

    # -- whole service
    def build(self) -> ServiceSpec | None:
        self.bootstrap()
        default = self.defaults()
        self.service_disabled = bool(default.get("disable"))
        by_family = self.classify()
        default["subsets"] = self.subsets
        for family, sections in by_family.items():   # tables first: references may point at later sections
            for sec, forced in sections:
                rtype = self.resource_type(sec, family, forced)
                if rtype is not None:
                    self.ev.tables[sec.name] = kwt.resource_keywords(family, rtype)
        resources = []
        companions = []
        for family in FAMILY_ORDER:
            built = []
            if family == "container":
                built.append(self.implicit_container())
            if family == "app":
                built.append(self.implicit_app([s for s, _ in by_family["app"] if s.name.lower() != "app"]))
            for sec, forced in by_family[family]:
                if family == "app" and sec.name.lower() == "app":
                    continue   # the bare [app] configures the implicit app resource
                if family == "hb" and self.nodename in default["drpnodes"] \
                        and self.nodename not in default["nodes"]:
                    continue   # hb resources are not instantiated on drp nodes (reference §1.2)
                built.append(self.resource(sec, family, forced))
            if family == "sync":
                built.append(self.internal_sync(default["nodes"], default["drpnodes"]))
            built = [r for r in built if r is not None]
            if family == "disk":
                containers = [r for r in resources if r.family == "container"]
                self.bind_vmdgs(built, containers)
                built += self.implicit_vmdgs(built, containers)
                built = [x for r in built for x in (r, *self._companion_of(r))]
                built = companions + built
            for res in built:
                if family == "container":
                    companions.extend(self._companion_of(res))
            resources.extend(built)
        self.cross_checks(resources)
        for stem, sec in self.pr_sections.items():
            if not any(r.rid == stem + "pr" for r in resources):
                self.problem(sec.name, "", f"unused: [{stem}] has no scsireserv companion (set scsireserv = true "
                             f"in [{stem}])", sec.line, fatal=False)
        for res in resources:
            res.__dict__.pop("_origin", None)
        text = self.env.text
        return ServiceSpec(
            name=self.svc, nodename=self.nodename, path=Path(self.path), text=text,
            digest=hashlib.sha256(text.encode()).hexdigest(), default=default, resources=resources)

    def _companion_of(self, res):
        if res.family in ("disk", "container") and res.type != "scsireserv" and res.conf.get("scsireserv"):
            comp = self.companion(res)
            return [comp] if comp else []
        return []

    def cross_checks(self, resources):
        rids = {r.rid for r in resources}
        containers = {r.rid for r in resources if r.family == "container"}
        for res in resources:
            origin = getattr(res, "_origin", {})
            sec = self.env.sections.get(res.rid) or Section(res.rid, res.line)
            for action, reqs in res.requires.items():
                for rid, _ in reqs:
                    if rid != "impossible" and rid not in rids:
                        self.at(origin.get(f"{action}_requires"), sec, f"{action}_requires",
                                f"requires unknown resource {rid!r} (resources: {', '.join(sorted(rids))})")
            if res.type == "vmdg" and res.conf.get("container_id") and res.conf["container_id"] not in containers:
                self.at(origin.get("container_id"), sec, "container_id",
                        f"{res.conf['container_id']!r} is not a container section "
                        f"(containers: {', '.join(sorted(containers)) or 'none'})")


class _Anything:
    """`allowed` for free sections ([env], open driver types): every keyword is accepted."""

    def __contains__(self, item):
        return True

    def __iter__(self):
        return iter(())


# ---- public API -------------------------------------------------------------------------------------------

def build(node, svc: str, text: str, path, nodename: str | None = None, environ=None):
    """-> (ServiceSpec or None, Problems in file order). `nodename`: evaluate as that node (impersonation)."""
    builder = _Builder(node, svc, text, path, nodename, environ)
    spec = builder.build()
    return spec, Problems(builder.problems.ordered())


def read_env(node, svc: str) -> tuple[Path, str]:
    path = node.env_file(svc)
    try:
        return path, path.read_text()
    except FileNotFoundError:
        known = ", ".join(node.services()) or "none"
        raise NotFound(f"unknown service '{svc}': no {path} (services here: {known})") from None


def load_service(node, svc: str, nodename: str | None = None) -> ServiceSpec:
    """The service as this node (or `nodename`) sees it; ConfigError on the first fatal problem."""
    path, text = read_env(node, svc)
    spec, problems = build(node, svc, text, path, nodename)
    fatal = [p for p in problems if p.fatal]
    if fatal:
        more = f" (and {len(fatal) - 1} more: run validate config)" if len(fatal) > 1 else ""
        raise ConfigError(f"{fatal[0]}{more}")
    return spec


def validate(node, svc: str, nodename: str | None = None) -> list:
    """Every problem of the service's env file, in file order (warnings included)."""
    path, text = read_env(node, svc)
    return list(build(node, svc, text, path, nodename)[1])


def evaluate_reference(node, svc: str, section: str, key: str, nodename: str | None = None) -> str:
    """The text `{section.key}` expands to on this node: scoped, references resolved (any section)."""
    path, text = read_env(node, svc)
    builder = _Builder(node, svc, text, path, nodename)
    builder.build()
    try:
        return builder.ev.ref_value(section, key.lower())
    except refs.RefError as exc:
        raise NotFound(f"{section}.{key}: {exc}") from None


def write_env(node, svc: str, text: str) -> Path:
    """Write etc/<svc>.env (or its existing .conf) atomically, mode 0644. The one place env files are written:
    config-change journaling hooks in here."""
    path = node.env_file(svc)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


# ---- editing the text -------------------------------------------------------------------------------------

def split_param(param: str) -> tuple[str, str]:
    """'ip#1.ipname@n1.example.com' -> ('ip#1', 'ipname@n1.example.com'); 'nodes' -> ('DEFAULT', 'nodes')."""
    head, at, scope = param.partition("@")
    section, dot, key = head.rpartition(".")
    return (section if dot else "DEFAULT"), (key.lower() + at + scope.lower() if at else key.lower())


_PREFIX = re.compile(r"^(\s*[^=:]*?\s*[=:][ \t]*)")


def _format_value(value: str) -> str:
    """Multi-line values become indented continuation lines."""
    return "\n\t".join(value.splitlines()) if "\n" in value else value


def set_option(text: str, section: str, key: str, value: str) -> str:
    """`text` with section.key = value: replaced in place (its other lines untouched), or added after the
    section's last keyword, or in a new section (DEFAULT goes first)."""
    env = parse(text)
    lines = text.splitlines(keepends=True)
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
    lines = text.splitlines(keepends=True)
    del lines[opt.line - 1: opt.last]
    return "".join(lines), True
