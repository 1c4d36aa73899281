"""The keyword table: every section family, type and keyword an env file may use (docs/agent-reference.md §1.3-1.5).

This module is data. The loader (config/build.py), `validate config` and `set` all read through it:
nothing else knows which keywords exist, which are required, scopable, typed or defaulted.

Vocabulary:
- value types: str, bool, int, list (whitespace-separated words), duration (seconds: 90, 90s, 5m, 1h, 1d,
  1h30m), trigger (a command string; unresolved references tolerated), requires (`rid rid(state,...)`).
- `scopable`: may be written `key@<nodename|nodes|drpnodes|encapnodes|flex_primary|drp_flex_primary>`.
- `default`: a str default is raw text, expanded and converted like a written value ("{svcname}"); other
  defaults are final values; DefaultFrom("other") takes another keyword's value (hostname defaults to name).
- `alias_of`: an older spelling read as the named keyword (service_type -> env, vgname -> name).
"""

from core.record import Record, factory, replace

from domain.families import CONFIG_ORDER, RID_ALIASES, TIMEOUTS


class DefaultFrom(Record, frozen=True):
    """Default = the value of another keyword of the same section (evaluated after it)."""
    keyword: str


class Keyword(Record, frozen=True):
    # `object`, not typing.Any: importing typing costs ~3 ms, and every action imports this module
    name: str
    type: str = "str"
    required: bool = False
    default: object = None
    scopable: bool = True
    candidates: tuple | None = None
    alias_of: str | None = None
    on_error: object = None       # not None: an unparsable value means this (a warning, not an error)
    text: str = ""


class FamilyKeywords(Record, frozen=True):
    """A resource section family's keywords: for every type, per type, and for types not listed."""
    types: tuple | None            # allowed `type` values; None = free text (fs: the filesystem type)
    default_type: str | None       # '' = native driver; None = `type` is required
    common: tuple = ()             # keywords of every type of the family (besides RESOURCE_KEYWORDS)
    per_type: dict = factory(dict)   # type -> keywords
    other: tuple = ()              # keywords of types absent from per_type (fs: every real fs type)
    open_types: frozenset = frozenset()  # driver types not modelled in detail: unknown keywords accepted


def K(name, type="str", **kw):
    return Keyword(name, type, **kw)


def U(name, type="str", **kw):
    """An unscopable keyword."""
    return Keyword(name, type, scopable=False, **kw)


STATUS_VALUES = ("up", "down", "warn", "n/a", "undef", "stdby up", "stdby down")

CONTAINER_TYPES = ("ldom", "hpvm", "kvm", "xen", "vbox", "ovm", "esx", "vcloud", "openstack", "amazon", "zone",
                   "lxc", "jail", "vz", "srp", "docker")

ENV_VALUES = ("DEV", "DRP", "FOR", "INT", "PRA", "PRD", "PRJ", "PPRD", "REC", "STG", "TMP", "TST", "UAT")

# DEFAULT.mode: 1.8 cluster modes, and the 1.5 virtualisation modes (an implicit container of that type).
MODES = ("hosted", "sg", "vcs", "rhcs") + CONTAINER_TYPES

# Actions that have triggers and requires (docs/agent-reference.md §1.4). 1.5 spelled the sync actions without '_'.
TRIGGER_ACTIONS = ("unprovision", "provision", "start", "stop", "sync_nodes", "sync_drp", "sync_resync",
                   "sync_update", "sync_restore", "run")
TRIGGER_ACTIONS_15 = {"syncnodes": "sync_nodes", "syncdrp": "sync_drp", "syncresync": "sync_resync",
                      "syncupdate": "sync_update", "syncrestore": "sync_restore"}
REQUIRES_ACTIONS = ("unprovision", "provision", "start", "stop", "sync_nodes", "sync_drp", "sync_update",
                    "sync_break", "sync_resync", "sync_restore", "run")
TRIGGER_PREFIXES = ("pre_", "post_", "blocking_pre_", "blocking_post_")

TRIGGERS = tuple(K(f"{p}{a}", "trigger", text=f"command run {p.rstrip('_').replace('_', ' ')} {a}")
                 for a in TRIGGER_ACTIONS for p in TRIGGER_PREFIXES) \
    + tuple(K(f"{p}{old}", "trigger", alias_of=f"{p}{new}")
            for old, new in TRIGGER_ACTIONS_15.items() for p in TRIGGER_PREFIXES)
REQUIRES = tuple(K(f"{a}_requires", "requires", text=f"resources (and states) required before {a}")
                 for a in REQUIRES_ACTIONS)

# Keywords of every resource section (docs/agent-reference.md §1.4).
RESOURCE_KEYWORDS = (
    K("tags", "list", default=()),
    K("subset"),
    K("disable", "bool", default=False, on_error=True),   # unparsable disable = disabled (docs/agent-reference.md §1.9)
    U("disable_on", "list", default=()),
    U("enable_on", "list", default=()),
    K("optional", "bool", default=False),
    U("optional_on", "list", default=(), text="deprecated: nodes where the resource is optional"),
    K("monitor", "bool", default=False),
    U("monitor_on", "list", default=(), text="deprecated: nodes where the resource is monitored"),
    K("restart", "int", default=0),
    U("always_on", "list", default=()),
) + TRIGGERS + REQUIRES

# SCSI-3 persistent reservation companion keywords (disk-like and container sections, and DEFAULT).
PR_KEYWORDS = (
    K("scsireserv", "bool", default=False),
    K("prkey"),
    K("no_preempt_abort", "bool", default=False),
)


_CLOUD = (K("cloud_id"), K("size"), K("key_name"), K("shared_ip_group"))
_VIRTINST = (U("virtinst"), U("snap"), U("snapof"))

# The keywords of each section family (domain.families: the families and their order).
_KEYWORDS = {
    "container": FamilyKeywords(
        types=CONTAINER_TYPES, default_type=None,
        common=(
            K("type", required=True, candidates=CONTAINER_TYPES),
            K("name", default="{svcname}"),
            K("hostname", default=DefaultFrom("name"), text="name to resolve and ping"),
            K("guestos"),
            K("osvc_root_path"),
            K("start_timeout", "duration"),   # default: TIMEOUTS
            K("stop_timeout", "duration"),
        ) + PR_KEYWORDS,
        per_type={
            "ovm": (K("uuid", default=DefaultFrom("name")),) + _VIRTINST,
            "kvm": _VIRTINST,
            "xen": _VIRTINST,
            "lxc": (K("rcmd", "list"), U("cf"), U("rootfs"), U("template")),
            "jail": (K("jailroot", required=True), K("ips", "list", default=()), K("ip6s", "list", default=())),
            "zone": (K("delete_on_stop", "bool", default=False), U("container_origin")),
            "docker": (K("run_image", required=True), K("run_command"), K("run_args"),
                       K("docker_service", "bool", default=False)),
            "srp": (U("ip"), U("rootpath"), U("prm_cores", "int")),
            "openstack": _CLOUD,
            "amazon": _CLOUD + (K("image_id"), K("subnet")),
            "vcloud": _CLOUD + (K("vapp"),),
        },
    ),
    "ip": FamilyKeywords(
        types=("", "crossbow", "amazon", "docker", "gce"), default_type="",
        common=(
            K("type", candidates=("", "crossbow", "amazon", "docker", "gce")),
            K("ipname", required=True, text="name or address; the label is <ipname>@<ipdev>"),
            K("ipdev", required=True),
            K("netmask"),
            K("gateway"),
            K("zone"),
            K("dns_update", "bool", default=False),
            K("dns_name_suffix"),
            K("network"),
        ),
        per_type={
            "docker": (K("container_rid", required=True),),
            "amazon": (K("eip"),),
            "gce": (K("routename"), K("gce_zone")),
        },
    ),
    "fs": FamilyKeywords(
        types=None, default_type="",
        common=(K("type", text="the filesystem type (ext4, xfs...) or 'directory'"), K("zone")),
        per_type={
            "directory": (K("path", required=True), K("user"), K("group"), K("perm")),
        },
        other=(K("dev", required=True), K("mnt", required=True), K("mnt_opt"), K("mkfs_opt"), K("snap_size")),
    ),
    "disk": FamilyKeywords(
        types=("disk", "veritas", "raw", "rados", "md", "drbd", "loop", "zpool", "pool", "vmdg", "vdisk", "lvm",
               "vg", "amazon", "gce", "scsireserv"),
        default_type="vg",
        common=(K("type"),) + PR_KEYWORDS,
        per_type={
            "vg": (K("name", required=True), K("vgname", alias_of="name"), U("dsf", "bool", default=True),
                   K("options")),
            "lvm": (K("name", required=True), K("vgname", alias_of="name"), U("dsf", "bool", default=True),
                    K("options")),
            "vmdg": (K("container_id", text="rid of the VM's container section"),),
            "vdisk": (K("path", required=True, text="per-node device path: scope it path@<node>"),),
            "loop": (K("file", required=True), K("size")),
            "raw": (K("devs", "list", required=True), K("user"), K("group"), K("perm"),
                    K("create_char_devices", "bool", default=True)),
            "zpool": (K("name"), K("vdev", "list")),
            "pool": (K("name", required=True), K("vdev", "list")),
            "md": (K("uuid", required=True), K("devs", "list"), K("level"), K("chunk"), K("layout"),
                   K("spares", "int")),
            "drbd": (K("res", required=True),),
            "veritas": (K("name", required=True),),
            "disk": (K("disk_id"), K("size"), K("array")),
            "rados": (K("images", "list"), K("keyring"), K("client_id"), K("lock"), K("lock_shared_tag")),
            "amazon": (K("volumes", "list"),),
            "gce": (K("names", "list"), K("gce_zone")),
            "scsireserv": (K("peer", text="rid of the resource whose disks are reserved"),),
        },
        open_types=frozenset({"rados", "amazon", "gce", "disk"}),
    ),
    "share": FamilyKeywords(
        types=("nfs",), default_type="nfs",
        common=(K("type", candidates=("nfs",)), K("path", required=True), K("opts", required=True)),
    ),
    "app": FamilyKeywords(
        types=("",), default_type="",
        common=(),
        per_type={
            # 1.8 [app#N]
            "": (K("script", required=True, text="absolute path, or a launcher in <svc>.d/"),
                 K("start", "int"), K("stop", "int"), K("check", "int"), K("info", "int"),
                 K("timeout", "duration"))
                + tuple(K(f"limit_{r}", "int") for r in
                        ("as", "core", "cpu", "data", "fsize", "memlock", "nofile", "nproc", "rss", "stack",
                         "vmem")),
            # 1.5 bare [app] (and the implicit app of a <svc>.d/ folder): generic keywords only.
            "legacy": (K("dir", text="the launcher folder (set by the engine)"),),
        },
    ),
    "sync": FamilyKeywords(
        types=("rsync", "docker", "dds", "netapp", "symsrdfs", "zfs", "btrfs", "symclone", "symsnap", "hp3par",
               "hp3parsnap", "evasnap", "ibmdssnap", "dcssnap", "dcsckpt", "necismsnap", "zfssnap", "btrfssnap",
               "rados", "s3"),
        default_type="rsync",
        common=(K("type"), K("schedule"), K("sync_max_delay", "int", default=1440, text="minutes")),
        per_type={
            "rsync": (K("src", "list", required=True), K("dst", required=True),
                      K("target", "list", required=True, candidates=("nodes", "drpnodes")),
                      K("options", "list", default=()), K("exclude", "list", default=()),
                      K("snap", "bool", default=False), K("dstfs"), K("bwlimit", "int"),
                      K("internal", "bool", default=False, text="the engine's own config sync (sync#i0)")),
            "btrfs": (K("src", required=True, text="<fs label>:<subvolume> (the subvolume's path from the top level)"),
                      K("dst", required=True, text="<fs label>:<subvolume> on the target nodes"),
                      K("target", "list", required=True, candidates=("nodes", "drpnodes")),
                      K("recursive", "bool", text="refused at sync: btrfs has no recursive snapshot or send")),
            "zfs": (K("src", required=True), K("dst", required=True),
                    K("target", "list", required=True, candidates=("nodes", "drpnodes")), K("recursive", "bool")),
            "dds": (K("src", required=True), K("dst", required=True),
                    K("target", "list", required=True, candidates=("nodes", "drpnodes")), K("snap_size")),
            "docker": (K("target", "list", required=True, candidates=("nodes", "drpnodes")),),
        },
        open_types=frozenset({"netapp", "symsrdfs", "symclone", "symsnap", "hp3par", "hp3parsnap", "evasnap",
                              "ibmdssnap", "dcssnap", "dcsckpt", "necismsnap", "zfssnap", "btrfssnap", "rados",
                              "s3"}),
    ),
    "hb": FamilyKeywords(
        types=("openha", "linuxha", "ovm", "sg", "rhcs", "vcs"), default_type=None,
        common=(K("type", required=True, candidates=("openha", "linuxha", "ovm", "sg", "rhcs", "vcs")),),
        per_type={"openha": (K("name"),), "sg": (K("name"),), "vcs": (K("name"),), "rhcs": (K("name"),)},
    ),
}

# family -> its keywords, in config order. A section family without keywords fails here (KeyError), and
# keywords of a family that is not one fail tests/domain/test_vocabulary.py.
FAMILIES = {name: _KEYWORDS[name] for name in CONFIG_ORDER}

# Section names that are a family themselves (1.5 un-indexed sections), and deprecated families folded into
# a family with that type, `vg#1` a disk of type vg (docs/agent-reference.md §1.2): prefix -> family, the families' aliases.
BARE_SECTIONS = {"vmdg": ("disk", "vmdg"), "app": ("app", "legacy")}
DEPRECATED_FAMILIES = RID_ALIASES

DEFAULT_KEYWORDS = (
    K("mode", default="hosted", candidates=MODES,
      text="hosted, a cluster mode, or a 1.5 virtualisation type (implicit container)"),
    K("nodes", "list", default="{nodename}"),
    K("drpnode", "list", default=()),
    K("drpnodes", "list", default=()),
    U("encapnodes", "list", default=()),
    K("autostart_node", "list", default="{nodename}"),
    K("flex_primary", text="default: first of nodes"),
    K("drp_flex_primary", text="default: first of drpnodes"),
    K("cluster_type", default="failover", candidates=("failover", "flex", "autoflex")),
    U("flex_min_nodes", "int", default=1),
    U("flex_max_nodes", "int"),
    U("flex_cpu_min_threshold", "int"),
    U("flex_cpu_max_threshold", "int"),
    U("env", default="TST", candidates=ENV_VALUES, text="service usage (was service_type in 1.5)"),
    U("service_type", alias_of="env"),
    U("app"),
    U("comment"),
    K("disable", "bool", default=False, on_error=True),
    U("lock_timeout", "duration", default=60),
    K("rollback", "bool", default=True),
    K("show_disabled", "bool", default=True),
    K("anti_affinity", "list", default=()),
    U("presnap_trigger", "trigger"),
    U("postsnap_trigger", "trigger"),
    K("monitor_action", candidates=("reboot", "crash", "freezestop")),
    K("pre_monitor_action", "trigger"),
    U("orchestrate", text="accepted for compatibility (2.x); not used by 1.x"),
    U("containerize", "bool", default=True, text="1.5"),
    U("create_pg", "bool", default=True),
    K("vm_name", text="name of the implicit container (mode = <virt>); default: the service name"),
    K("vmname", alias_of="vm_name"),
    K("vm_uuid", text="uuid of the implicit ovm container; default: its name"),
    K("status_schedule"), K("monitor_schedule"), K("push_schedule"), K("sync_schedule"), K("comp_schedule"),
    K("resinfo_schedule"),
    U("sync_max_delay", "int", default=1440),
    U("bwlimit", "int"),
    U("docker_daemon_private", "bool", default=True), U("docker_data_dir"), U("docker_daemon_args"),
    U("docker_exe"), U("docker_swarm_args"), U("docker_swarm_managers", "list"),
) + PR_KEYWORDS + tuple(K(f"pg_{k}") for k in ("cpus", "mems", "cpu_shares", "cpu_quota", "mem_oom_control",
                                                "mem_limit", "vmem_limit", "mem_swappiness", "blkio_weight"))

SUBSET_KEYWORDS = (K("parallel", "bool", default=False),)

SCOPES_HELP = "@<nodename>, @nodes, @drpnodes, @encapnodes, @flex_primary, @drp_flex_primary"


# ---- lookups ------------------------------------------------------------------------------------------------

def _index(keywords) -> dict:
    return {kw.name: kw for kw in keywords}


_DEFAULT_INDEX = _index(DEFAULT_KEYWORDS)
_RESOURCE_INDEX = _index(RESOURCE_KEYWORDS)
_SUBSET_INDEX = _index(SUBSET_KEYWORDS)
_CACHE: dict = {}


def resource_keywords(family: str, type: str) -> dict:
    """{name: Keyword} of a resource section of that family and type (generic keywords included)."""
    key = (family, type)
    if key not in _CACHE:
        fam = FAMILIES[family]
        specific = fam.per_type[type] if type in fam.per_type else fam.other
        table = {**_RESOURCE_INDEX, **_index(fam.common), **_index(specific)}
        if family == "container":   # per-type timeout defaults
            start, stop = TIMEOUTS.get(type, TIMEOUTS[""])
            table["start_timeout"] = replace(table["start_timeout"], default=start)
            table["stop_timeout"] = replace(table["stop_timeout"], default=stop)
        _CACHE[key] = table
    return _CACHE[key]


def _aliases() -> dict:
    """canonical name -> [older spellings], over every table (the names never clash)."""
    out = {}
    groups = [DEFAULT_KEYWORDS, RESOURCE_KEYWORDS]
    for fam in FAMILIES.values():
        groups += [fam.common, fam.other, *fam.per_type.values()]
    for group in groups:
        for kw in group:
            if kw.alias_of and kw.name not in out.get(kw.alias_of, ()):
                out.setdefault(kw.alias_of, []).append(kw.name)
    return out


ALIASES = _aliases()


def default_keywords() -> dict:
    return _DEFAULT_INDEX


def subset_keywords() -> dict:
    return _SUBSET_INDEX


def all_resource_keyword_names() -> frozenset:
    """Every keyword some resource section accepts: what DEFAULT may hold for its sections to inherit."""
    if "all" not in _CACHE:
        names = set(_RESOURCE_INDEX)
        for fam in FAMILIES.values():
            for group in (fam.common, fam.other, *fam.per_type.values()):
                names.update(kw.name for kw in group)
        names.discard("type")   # a DEFAULT type would retype every section: refuse it
        _CACHE["all"] = frozenset(names)
    return _CACHE["all"]


def any_resource_keywords() -> dict:
    """{name: Keyword} of every keyword some resource section accepts, the first family's where several
    define one: what DEFAULT may hold for its sections to inherit (for its scopable check)."""
    if "any" not in _CACHE:
        table = dict(_RESOURCE_INDEX)
        for fam in FAMILIES.values():
            for group in (fam.common, fam.other, *fam.per_type.values()):
                table.update({kw.name: kw for kw in group if kw.name not in table})
        _CACHE["any"] = table
    return _CACHE["any"]


def is_open(family: str, type: str) -> bool:
    """True for driver types whose keywords the table does not model: unknown keywords are accepted."""
    return type in FAMILIES[family].open_types


def known_type(family: str, type: str) -> bool:
    fam = FAMILIES[family]
    return fam.types is None or type in fam.types


def section_kind(name: str) -> tuple[str, str | None] | None:
    """Classify a section name.

    -> ("DEFAULT", None) | ("env", None) | ("subset", "<family>:<name>") | (family, forced type or None)
    or None when the section family is unknown. Family matching is case-insensitive (docs/agent-reference.md §1.2).
    """
    if name == "DEFAULT":
        return "DEFAULT", None
    low = name.lower()
    if low == "env":
        return "env", None
    if low in BARE_SECTIONS:
        return BARE_SECTIONS[low]
    prefix, sep, rest = low.partition("#")
    if not sep:
        return None
    if prefix == "subset":
        return "subset", rest
    if prefix in FAMILIES:
        return prefix, None
    if prefix in DEPRECATED_FAMILIES:
        return DEPRECATED_FAMILIES[prefix], prefix
    return None


def known_sections_help() -> str:
    fams = ", ".join(f"{f}#N" for f in FAMILIES)
    return (f"DEFAULT, env, {fams}, vmdg, app, subset#<family>:<name> "
            f"(deprecated: {', '.join(f + '#N' for f in DEPRECATED_FAMILIES)})")
