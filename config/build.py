"""Service env files evaluated for a node: the ServiceSpec the engine runs, or every problem, in file order.

    load_service(node, svc) -> ServiceSpec         raises ConfigError "<file>:<line>: [<section>] <kw>: <problem>"
    validate(node, svc) -> list[Problem]           every problem, in file order
    build(node, svc, text, path) -> (spec, problems)   the same on a text (set/create check before writing)

The file is read by config/ini.py (ConfigParser semantics, line numbers kept); every keyword through
config.keywords (the table), config.scoping (which written option applies to this node),
config.references ({refs} and $(arithmetic)) and config/resolver.py (all three, for one node).
config/edit.py edits and writes the text.
"""

import os
from pathlib import Path

from config import checks
from config import keywords as kwt
from config import references as refs
from config.ini import Option, Problem, Problems, Section, parse
from config.resolver import Evaluator
from config.values import ValueProblem, as_text, fresh
from core.digest import sha256
from core.errors import ConfigError, NotFound
from core.trust import check_private, check_trusted
from domain.service import FAMILIES as FAMILY_ORDER, ResourceSpec, ServiceSpec
from config.scoping import NodeSets, split_key

# The implicit resources a guest builds untagged: the engine's own at every level (its launcher folder, its
# config replication between the guests of a farmed service).
GUEST_IMPLICIT = ("app", "sync#i0")


# ---- reading the file --------------------------------------------------------------------------------------


# ---- values -----------------------------------------------------------------------------------------------


# ---- evaluation for one node --------------------------------------------------------------------------------


# ---- building the service ---------------------------------------------------------------------------------

class _Builder:
    def __init__(self, node, svc, text, path, nodename=None, environ=None, whole_file=False):
        self.node = node
        self.whole_file = whole_file   # the service's whole env file: the value checks of config/checks.py too
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

    def value(self, section, kw, table, origin=None, written=None):
        """Read one keyword, recording (not raising) a problem; -> value (default on error).

        `written`: the keywords `section` holds, its own and DEFAULT's, scopes dropped (the caller reads many).
        A keyword not among them (nor its older spellings) with a final default, as most of a resource's ~80
        keywords (triggers, requires...), reads that default: nothing to scope, expand or check."""
        if written is not None and kw.name not in written and written.isdisjoint(kwt.ALIASES.get(kw.name, ())) \
                and not isinstance(kw.default, (str, kwt.DefaultFrom)):
            if origin is not None:
                origin[kw.name] = None
            return fresh(kw.default)
        try:
            value, opt = self.ev.read(section, kw, table)
            if origin is not None:
                origin[kw.name] = opt
            if self.whole_file and opt is not None:     # a default is checked where it comes from
                self.check_value(section, kw, value, opt)
            return value
        except (ValueProblem, refs.RefError) as exc:
            opt = self.ev.option(section, kw, table)
            if kw.on_error is not None and isinstance(exc, ValueProblem):
                self.at(opt, section, kw.name, f"{exc}: read as {as_text(kw.on_error)}", fatal=False)
                return kw.on_error
            self.at(opt, section, kw.name, str(exc))
            return None if isinstance(kw.default, (str, kwt.DefaultFrom)) else fresh(kw.default)

    def written(self, section) -> set:
        """For value(): the section's keywords and DEFAULT's, without their scope."""
        return {split_key(key)[0] for key in self.ev.merged(section)}

    def check_value(self, section, kw, value, opt):
        """What the type does not say (issue 17): no option-like operand, trigger quotes that balance."""
        problem = checks.operand_problem(kw.name, value)
        if problem is None and kw.type == "trigger":
            problem = checks.trigger_problem(value)
        if problem is not None:
            self.at(opt, section, kw.name, problem)

    def check_resource(self, sec, family, rtype, conf, origin):
        """Checks of a resource's evaluated keywords together: mount points, ip addresses and netmask."""
        found = []
        if family == "fs":
            keyword = "path" if rtype == "directory" else "mnt"
            problem = checks.mount_point_problem(conf.get(keyword), self.node.root, keyword)
            if problem is not None:
                found.append((keyword, problem))
        elif family == "ip":
            found = checks.ip_problems(conf)
        for keyword, problem in found:
            if not any(p.keyword == keyword and p.section == sec.name for p in self.problems):
                self.at(origin.get(keyword), sec, keyword, problem)

    def check_env_section(self):
        """Every [env] key expands, used or not: a reference loop or a bad $( ) is an error before anything
        refers to it (an unresolved reference only a warning: nothing may ever read the key)."""
        sec = self.env.sections.get("env")
        if sec is None:
            return
        for key in dict.fromkeys(split_key(k)[0] for k in sec.options):
            try:
                self.ev.ref_value("env", key)
            except refs.Unresolved as exc:
                opt = self.ev.option(sec, kwt.Keyword(key), {key: kwt.Keyword(key)})
                self.at(opt, sec, key, f"{exc} (not used yet)", fatal=False)
            except refs.RefError as exc:
                opt = self.ev.option(sec, kwt.Keyword(key), {key: kwt.Keyword(key)})
                self.at(opt, sec, key, str(exc))

    def check_defines_a_service(self):
        """An env file with no section and no DEFAULT keyword (empty, only comments, a lone [DEFAULT], or only
        a comment =) is refused: truncated or emptied by mistake, it would still start the launchers of
        <svc>.d/ with no ip, disk or fs under them."""
        if any(p.fatal for p in self.problems):
            return                       # lines that did not parse (a NUL, no '='): not an empty file
        default = [k for k in self.default_sec.options if split_key(k)[0] != "comment"]
        if default or any(name != "DEFAULT" for name, sec in self.env.sections.items() if not sec.virtual):
            return
        self.problem("DEFAULT", "", "the env file defines no service (no resource section, no DEFAULT keyword): "
                     "an empty or truncated file? Write the service's sections, or delete the file", 1)

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
    # The node-set keywords are read in this order, each with the scopes known at that point (docs/agent-reference.md §1.6):
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
        from config.scoping import SET_SCOPES

        for opt in self.default_sec.options.values():
            key, scope = split_key(opt.key)
            usable = self.BOOTSTRAP_SCOPES.get(key)
            if usable is not None and scope in SET_SCOPES and scope not in usable:
                shown = ", ".join(["@<nodename>"] + [f"@{u}" for u in usable])
                self.problem("DEFAULT", opt.key, f"@{scope} never applies: {key} is read before {scope} is known "
                             f"(usable: {shown})", opt.line)

    def bootstrap(self):
        """Node sets, in the agent's order (docs/agent-reference.md §1.6): each read scoped against what is known so far."""
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
        self.check_keys(sec, {**kwt.any_resource_keywords(), **table}, allowed, " in [DEFAULT]")
        out = {}
        written = self.written(sec)
        for kw in table.values():
            if kw.alias_of or kw.name in self.ev.computed:
                continue
            out[kw.name] = self.value(sec, kw, table, written=written)
        out.update({k: fresh(v) for k, v in self.ev.computed.items()})
        out["mode"] = self.mode
        out["service_type"] = out["env"]          # 1.5 spelling, same value
        out["encap"] = self.nodename in out["encapnodes"]
        return out

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
        if text.strip().startswith("-"):
            self.at(opt, sec, "type", f"{text.strip()!r} begins with '-': give the {family} type (ext4, xfs...)")
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
        written = self.written(sec)
        for kw in table.values():
            if kw.alias_of:
                continue
            conf[kw.name] = self.value(sec, kw, table, origin, written)
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
        if self.whole_file:
            self.check_resource(sec, family, rtype, conf, origin)
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
            tags.update(("zone", conf["zone"]))   # zone resources are driven by their zone (docs/agent-reference.md §1.8)
        triggers = {name: conf[name] for name in conf
                    if conf[name] is not None and name.startswith(kwt.TRIGGER_PREFIXES)}
        requires = {name[: -len("_requires")]: conf[name] for name in conf
                    if conf[name] and name.endswith("_requires")}
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
        """docs/agent-reference.md §1.9: service disable > enable_on > scoped disable > disable_on."""
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
        """sync#i0: the engine's own config replication to every peer node (docs/agent-reference.md §5.12)."""
        peers = (set(nodes) | set(drpnodes)) - {self.nodename}
        if not peers:
            return None
        env_file = self.node.env_file(self.svc)
        sec = self.virtual("sync#i0", None, {
            "type": "rsync", "src": f"{env_file} {self.node.launchers_dir(self.svc)}", "dst": str(self.node.etc),
            "target": "drpnodes nodes", "internal": "true"})
        return self.resource(sec, "sync", None)

    def companion(self, peer: ResourceSpec):
        """scsireserv companion `<rid>pr` (docs/agent-reference.md §6.3): reserves the peer's disks."""
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
        """hpvm: the container brings its disk group `vmdg#<rid>` (docs/agent-reference.md §6.3), unless a vmdg section
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
        if self.whole_file:
            self.check_defines_a_service()
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
                    continue   # hb resources are not instantiated on drp nodes (docs/agent-reference.md §1.2)
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
        if self.whole_file:
            self.check_env_section()
        for stem, sec in self.pr_sections.items():
            if not any(r.rid == stem + "pr" for r in resources):
                self.problem(sec.name, "", f"unused: [{stem}] has no scsireserv companion (set scsireserv = true "
                             f"in [{stem}])", sec.line, fatal=False)
        resources = self.level_view(resources, default["encap"])
        for res in resources:
            res.__dict__.pop("_origin", None)
        text = self.env.text
        return ServiceSpec(
            name=self.svc, nodename=self.nodename, path=Path(self.path), text=text,
            digest=sha256(text.encode()).hexdigest(), default=default, resources=resources)

    @staticmethod
    def level_view(resources, guest):
        """Encapsulation's two levels of one config (docs/encapsulation-and-cluster.md §1.1). In a
        guest (this node is in encapnodes) the engine builds only the encap-tagged sections, as ordinary
        resources, plus its own implicit ones (the launcher folder's app, sync#i0): the rest, its own
        container first, is the host's. On a host the encap ones stay in the spec, marked in_guest: the
        guest engine acts on them and reports their status."""
        if guest:
            return [r for r in resources if r.encap or r.rid in GUEST_IMPLICIT]
        for res in resources:
            res.in_guest = res.encap
        return resources

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

def build(node, svc: str, text: str, path, nodename: str | None = None, environ=None, whole_file=False):
    """-> (ServiceSpec or None, Problems in file order). `nodename`: evaluate as that node (impersonation).
    `whole_file`: `text` is the service's whole env file (load_service, validate; set and create before they
    write), not a fragment: the file must define a service, and the values pass config/checks.py (no option-like
    operand, no system mount point, literal addresses and netmasks, balanced trigger quotes, every [env] key
    expands)."""
    builder = _Builder(node, svc, text, path, nodename, environ, whole_file)
    spec = builder.build()
    return spec, Problems(builder.problems.ordered())


def decode(data: bytes, path) -> str:
    """The env file's text: UTF-8 (a leading BOM dropped), else ConfigError at the first bad byte's line."""
    # utf-8-sig by hand: that codec is a module of its own, imported on every action for one BOM test
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # exc.start counts in `body` (after the BOM): so do the line and column
        line = body.count(b"\n", 0, exc.start) + 1
        column = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{body[exc.start]:02x} at column {column}): an env "
                          f"file is UTF-8 text; is it binary, or in another encoding (iconv -t utf-8)?") from None


def read_env(node, svc: str) -> tuple[Path, str]:
    """The service's env file and its text; NotFound (exit 4) when absent, ConfigError (exit 3) when it is not
    UTF-8 text."""
    path = node.env_file(svc)
    if os.path.lexists(path):
        check_trusted(path, "env file")        # UntrustedFile, exit 3: another user could make root run anything
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        known = ", ".join(node.services()) or "none"
        raise NotFound(f"unknown service '{svc}': no {path} (services here: {known})") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not an env file") from None
    return path, decode(data, path)


def check_launchers(node, spec):
    """auth.conf when an hb.ovm resource reads it, and every app resource's launcher folder (etc/<svc>.d/ or `dir`), each file in it, and its `script`: root's
    and writable by root only, parents and link targets included (core/trust.py), before anything runs: the
    engine runs them as root. UntrustedFile (exit 3) names the path, its owner and mode. A folder that several
    resources share is checked once (50 `[app#N]` of one folder: 50 checks of its files, not 2,500), and a
    script that is one of those files is not checked again."""
    launchers = node.launchers_dir(spec.name)
    folders = set()
    checked = set()
    for res in spec.resources:
        if res.family == "hb" and res.type == "ovm":
            auth = node.etc / "auth.conf"      # the OVM password: root's, mode 600 (the driver reads it later)
            if os.path.lexists(auth):
                check_trusted(auth, "auth.conf")
                check_private(auth, "auth.conf")
        if res.family != "app":
            continue
        folder = Path(str(res.conf["dir"])) if res.conf.get("dir") else launchers
        if folder not in folders and folder.is_dir():
            folders.add(folder)
            check_trusted(folder, "launcher folder")
            for entry in sorted(folder.iterdir()):
                if entry.is_file():
                    check_trusted(entry, "launcher")
                    checked.add(entry)
        script = res.conf.get("script")
        if script:
            path = Path(str(script))
            path = path if path.is_absolute() else folder / path
            if path not in checked and os.path.lexists(path):
                check_trusted(path, "launcher")
                checked.add(path)


def load_service(node, svc: str, nodename: str | None = None) -> ServiceSpec:
    """The service as this node (or `nodename`) sees it; ConfigError on the first fatal problem."""
    path, text = read_env(node, svc)
    spec, problems = build(node, svc, text, path, nodename, whole_file=True)
    if spec is not None:
        check_launchers(node, spec)
    fatal = [p for p in problems if p.fatal]
    if fatal:
        more = f" (and {len(fatal) - 1} more: run validate config)" if len(fatal) > 1 else ""
        raise ConfigError(f"{fatal[0]}{more}")
    return spec


def validate(node, svc: str, nodename: str | None = None) -> list:
    """Every problem of the service's env file, in file order (warnings included)."""
    path, text = read_env(node, svc)     # ConfigError (file:line) when the file is not UTF-8 text
    spec, problems = build(node, svc, text, path, nodename, whole_file=True)
    if spec is not None:
        check_launchers(node, spec)
    return list(problems)


def evaluate_reference(node, svc: str, section: str, key: str, nodename: str | None = None) -> str:
    """The text `{section.key}` expands to on this node: scoped, references resolved (any section)."""
    path, text = read_env(node, svc)
    builder = _Builder(node, svc, text, path, nodename, whole_file=True)
    builder.build()
    try:
        return builder.ev.ref_value(section, key.lower())
    except refs.RefError as exc:
        raise NotFound(f"{section}.{key}: {exc}") from None


# ---- editing the text -------------------------------------------------------------------------------------


