"""The resource families and what each means to every layer, in one table: one row per family, one
column per role. Every order and every family set of the engine is read from it.

    from domain import families
    families.START_ORDER                 # ('ip', 'disk', 'fs', 'share', 'container', 'app', 'encap', 'hb')
    families.row("fs").machine           # 'resource'
    families.machine_of("container")     # 'container'

Adding a family is adding a row (and, in the config layer, its keywords: config/keywords.py). The
orders legitimately differ (the 1.5 tree draws avail's families in another order than a start runs
them), which is why each is a column of its own rather than the row order.

The machine kind is a name (`machines.defs.KINDS`), not an import: domain and machines sit at the
same layer and never import each other. The engine, above both, joins them (`machine_of(family)`
gives the kind, `machines.defs.machine_def(kind)` the machine); a test checks every name is a kind.
"""

from core.record import Record, factory

# Container start/stop timeouts (seconds), by container type ('' for the types not listed). Defaults
# of the start_timeout / stop_timeout keywords (config/keywords.py), read by drivers/container.py.
# docs/agent-reference.md §5.5.
TIMEOUTS = {"": (600, 60), "kvm": (180, 120), "xen": (180, 120), "ovm": (180, 120), "esx": (180, 120),
            "ldom": (600, 240), "vbox": (600, 240), "openstack": (240, 120), "vcloud": (240, 120),
            "docker": (30, 60)}


class Family(Record, frozen=True):
    """One resource family. A rank is the family's place in one of the engine's orders (lowest first),
    counted in tens so that a new family slots in between two without renumbering them (55: after 50);
    None leaves it out of that order."""

    name: str
    config: int | None        # the order the config builds sections (docs/agent-reference.md §1.2); None: no section family
    start: int | None         # a start's order (docs/agent-reference.md §5.2); a stop walks it backwards; None: never planned
    group: int | None         # its group in the status document (1.5 json order); None: no group
    avail: int | None         # folded into `avail`, and its rows' place under avail in the 1.5 tree
                              # (1.5 status type order); None: not part of avail
    machine: str | None       # the kind of its state machine (machines.defs.KINDS); None: no machine
    probe: str                # "gate": its status says whether the instance runs (docs/agent-reference.md §6.4);
                              # "gated": probed only then (app, sync); "": neither
    forged_down: bool         # `down` in the guest document a host forges for a down container, else n/a
    typed: bool               # its status document type names the driver: `<family>.<type>` (container.hpvm)
    not_gating: tuple = ()    # driver types of a gate family whose status says nothing of the instance
    aliases: tuple = ()       # 1.5 section and rid prefixes that name a type of this family (vg#1: disk vg)
    timeouts: dict = factory(dict)   # default start/stop timeouts by driver type (containers)


# One row per family; the row order is the config order (the `config` column says it), `encap` last.
# `encap` is no section family: it is the guest engine's part of a start (after the apps, before hb).
#        name         config start  group  avail  machine      probe    forged_down  typed
ROWS = (
    Family("container", 10,    50,    10,    10,    "container", "gate",  True,        True, timeouts=TIMEOUTS),
    Family("hb",        20,    80,    80,    None,  "hb",        "",      True,        True),
    Family("ip",        30,    10,    20,    50,    "resource",  "gate",  True,        False),
    Family("disk",      40,    20,    30,    20,    "resource",  "gate",  True,        True,
           not_gating=("scsireserv", "drbd"),    # reservations and replication do not say it runs
           aliases=("vg", "loop", "vmdg", "pool", "drbd", "vdisk")),
    Family("fs",        50,    30,    40,    40,    "resource",  "gate",  True,        False),
    Family("share",     60,    40,    50,    30,    "resource",  "gate",  True,        True),
    Family("app",       70,    60,    60,    60,    "resource",  "gated", False,       False),
    Family("sync",      80,    None,  70,    None,  "resource",  "gated", False,       True),
    Family("encap",     None,  70,    None,  None,  "encap",     "",      False,       False),
)

_BY_NAME = {f.name: f for f in ROWS}
RANKS = ("config", "start", "group", "avail")


def row(name: str) -> Family:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown resource family '{name}' (families: {', '.join(CONFIG_ORDER)})") from None


def by(rank: str, rows=ROWS) -> tuple:
    """The names of the families that have a `rank` (a column of RANKS), in that order."""
    return tuple(f.name for f in sorted((f for f in rows if getattr(f, rank) is not None),
                                        key=lambda f: getattr(f, rank)))


# --- the derived orders and sets (each the column of the table it names) -------------------------
CONFIG_ORDER = by("config")      # the section families, as the config builds them
START_ORDER = by("start")        # the order of a start; a stop walks it backwards
GROUPS = by("group")             # the groups of a status document
AVAIL_ORDER = by("avail")        # the rows under avail in the tree
AVAIL_FAMILIES = tuple(f for f in GROUPS if _BY_NAME[f].avail is not None)
GATE_FAMILIES = tuple(f.name for f in ROWS if f.probe == "gate")
GATED_FAMILIES = tuple(f.name for f in ROWS if f.probe == "gated")
GATE_EXCLUDED_TYPES = tuple(t for f in ROWS for t in f.not_gating)
FORGED_DOWN = tuple(f for f in GROUPS if _BY_NAME[f].forged_down)
TYPED_FAMILIES = tuple(f.name for f in ROWS if f.typed)
RID_ALIASES = {alias: f.name for f in ROWS for alias in f.aliases}   # 1.5 prefix -> family
MACHINE_KINDS = {f.name: f.machine for f in ROWS if f.machine}      # family -> machine kind


def status_type(family: str, driver_type: str) -> str:
    """A resource's type in the status document: `ip`, `app`, or `<family>.<driver type>` where the
    type names a driver (container.hpvm, disk.loop)."""
    return f"{family}.{driver_type}" if driver_type and family in TYPED_FAMILIES else family


def machine_of(family: str) -> str:
    """The kind of a family's state machine (`fs` -> `resource`), a name of machines.defs.KINDS."""
    try:
        return MACHINE_KINDS[family]
    except KeyError:
        raise ValueError(f"no state machine for resource family '{family}' "
                         f"(families: {', '.join(MACHINE_KINDS)})") from None
