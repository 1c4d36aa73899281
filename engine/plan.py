"""Action planning: which resources an action touches, in which order. Pure functions over data.

The 1.5 agent's order (docs/agent-reference.md §5.2): start is ip -> disks -> fs -> share -> container -> app ->
encap -> hb (HA enabled only once everything is up); stop is the mirror, hb first. Within a family:
rid order, fs by mount point, reversed on stop.
"""

from core.errors import UsageError
from core.record import Record
from domain import families
from domain.actions import ACTIONS, START, STOP  # noqa: F401 (START: the planner's vocabulary too)

# Family order of a start (domain.families' start column); stop walks it backwards. "encap" is the
# guest engine's part.
START_ORDER = families.START_ORDER

# Inside the disk family, 1.5 starts reservations before the devices they protect.
DISK_TYPE_ORDER = ("scsireserv", "loop", "drbd", "zpool", "vg", "vmdg")


class Step(Record, frozen=True):
    """One resource action of a plan."""

    rid: str
    family: str
    direction: str       # start | stop


def _sort_key(res, direction):
    family_rank = START_ORDER.index(res.family) if res.family in START_ORDER else len(START_ORDER)
    if res.family == "disk":
        sub = DISK_TYPE_ORDER.index(res.type) if res.type in DISK_TYPE_ORDER else len(DISK_TYPE_ORDER)
    else:
        sub = 0
    within = res.conf.get("mnt") or "" if res.family == "fs" else ""
    return (family_rank, sub, res.subset or "", within, res.rid)


def parse_tags(expr):
    """`a,b` selects either, `a+b` both: a list of AND-groups, any of which may match."""
    return [frozenset(t for t in group.split("+") if t) for group in expr.split(",") if group]


def select(resources, rid=None, tags=None, subsets=None):
    """Resources matching the selectors (intersection of the given ones). A family name selects its rids."""
    chosen = list(resources)
    if rid:
        wanted = {r.strip() for r in rid.split(",") if r.strip()}
        chosen = [r for r in chosen if r.rid in wanted or r.family in wanted]
    if tags:
        groups = parse_tags(tags)
        chosen = [r for r in chosen if any(g <= r.tags for g in groups)]
    if subsets:
        wanted = {s.strip() for s in subsets.split(",") if s.strip()}
        chosen = [r for r in chosen if r.subset in wanted]
    if (rid or tags or subsets) and not chosen:
        raise UsageError("no resource match the given --rid, --subset and --tags specifiers")
    return chosen


def plan(action, resources, *, rid=None, tags=None, subsets=None, standby=None):
    """The ordered steps of `action` over `resources` (ResourceSpec list, config order): the families,
    direction, standby and type filters of its row in domain.actions.

    Encap-tagged resources belong to the guest engine and disabled or noaction ones are skipped:
    they never appear in a plan. `standby(res)` says whether startstandby starts a resource
    (default: its always_on flag; the executor adds 1.5 apps with `S*.standby@` launchers here).
    """
    standby = standby or (lambda r: r.standby)
    act = ACTIONS.get(action)
    if act is None or not act.families:
        raise UsageError(f"'{action}' is not a resource action")
    chosen = [
        r for r in select(resources, rid, tags, subsets)
        if r.family in act.families
        and not r.in_guest and not r.disabled and "noaction" not in r.tags
        and (not act.standby_only or standby(r))
        and (not act.type_filter or r.type == act.type_filter)
    ]
    chosen.sort(key=lambda r: _sort_key(r, act.direction))
    if act.direction == STOP:
        chosen.reverse()
    return [Step(r.rid, r.family, act.direction) for r in chosen]


def with_guests(steps, direction, step_rids):
    """`steps` plus one encap step per container (`step_rids`, container order), at the encap family's
    place: after the apps on a start, before them on a stop; hb keeps its place (first on a stop,
    last on a start). A stop reaches the containers in reverse order."""
    if not step_rids:
        return steps
    rank = START_ORDER.index("encap")
    guests = [Step(rid, "encap", direction) for rid in step_rids]
    if direction == STOP:
        guests.reverse()
    after_encap = [START_ORDER.index(s.family) > rank if s.family in START_ORDER else False for s in steps]
    if direction == STOP:      # stop order: hb first, then encap, then the rest
        at = next((i for i, later in enumerate(after_encap) if not later), len(steps))
    else:
        at = next((i for i, later in enumerate(after_encap) if later), len(steps))
    return steps[:at] + guests + steps[at:]
