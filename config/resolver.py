"""Reads keywords as one node sees them: DEFAULT inheritance, scoping, references, conversion."""

import os

from config import keywords as kwt
from config.ini import EnvFile, Option, Section
from config.values import EMPTY_IS_UNSET, as_text, convert, fresh

from config import references as refs
from config.scoping import NodeSets, candidates


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

    @property
    def ns(self) -> NodeSets:
        return self._ns

    @ns.setter
    def ns(self, ns: NodeSets):
        self._ns = ns
        self._candidates = {}     # key -> its scoped option names for these node sets (see option)

    # -- options
    def merged(self, section: Section) -> dict:
        """Own options over DEFAULT's (ConfigParser: DEFAULT keys are inherited by every section)."""
        if section.name == "DEFAULT":
            return section.options
        return {**self.env.sections["DEFAULT"].options, **section.options}

    def option(self, section: Section, kw, table) -> Option | None:
        """The written option this node reads for `kw` (its aliases are tried after it)."""
        own = section.options
        default = own if section.name == "DEFAULT" else self.env.sections["DEFAULT"].options
        names = [kw.name] + [a for a in kwt.ALIASES.get(kw.name, ()) if a in table]
        for name in names:
            # merged(section) and scoping.pick, without copying DEFAULT's options into every section's for
            # each of its ~80 keywords: the first candidate written in the section or in DEFAULT, the
            # section's own option first
            for candidate in self._scoped_names(name, table[name].scopable if name in table else True):
                if candidate in own:
                    return own[candidate]
                if candidate in default:
                    return default[candidate]
        return None

    def _scoped_names(self, key, scopable) -> tuple:
        """scoping.candidates, worked out once per keyword: every resource reads the same keywords."""
        if not scopable:
            return (key,)
        names = self._candidates.get(key)
        if names is None:
            names = self._candidates[key] = tuple(candidates(key, self._ns))
        return names

    # -- values
    def read(self, section: Section, kw, table):
        """-> (value, Option or None). Raises ValueProblem / refs.RefError."""
        opt = self.option(section, kw, table)
        tolerate = kw.type == "trigger"
        if opt is not None and not (opt.value == "" and kw.type in EMPTY_IS_UNSET):
            text = self._expand_token(section.name, kw.name, opt.value, tolerate)
            return convert(kw, text), opt
        default = kw.default
        if isinstance(default, kwt.DefaultFrom):
            return self.read(section, table[default.keyword], table)[0], None
        if isinstance(default, str):
            return convert(kw, self._expand_token(section.name, kw.name, default, tolerate)), None
        return fresh(default), None

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
