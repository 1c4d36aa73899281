"""Status values, the merge table and the aggregation of one service's status document.

Pure: no file, process or clock. The caller evaluates each resource (drivers, caches), then hands the
results to `aggregate()`, which returns the json status document of docs/design.md §4; `domain.render` draws it.

Values are the 1.x strings. Two internal accumulators (SUWU "stdby up with up", SUWD "stdby up with
down") exist only while folding; `aggregate()` resolves them so they never reach a document.
Stdlib only: `print status` imports this module.
"""

from core.errors import OsvcError
from domain.families import AVAIL_FAMILIES, FORGED_DOWN, GROUPS, RID_ALIASES

UP, DOWN, WARN, NA, UNDEF = "up", "down", "warn", "n/a", "undef"
STDBY_UP, STDBY_DOWN = "stdby up", "stdby down"
SUWU, SUWD = "stdby up with up", "stdby up with down"     # internal accumulators

# The printed values, and the integers of docs/agent-reference.md §2.1 (4 was 1.5's `todo`, never produced here).
VALUES = (UP, DOWN, WARN, NA, UNDEF, STDBY_UP, STDBY_DOWN)
INT = {UP: 0, DOWN: 1, WARN: 2, NA: 3, UNDEF: 5, STDBY_UP: 6, STDBY_DOWN: 7, SUWU: 8, SUWD: 9}
STR = {i: s for s, i in INT.items()}
ALIASES = {"na": NA}                       # docs/agent-reference.md §2.1: `na` parses as n/a

# docs/agent-reference.md §2.2, grouped by result. Pairs are unordered; UNDEF (the identity) and WARN (absorbing)
# are completed below rather than listed, exactly as the reference states them.
_RULES = {
    UP: [(UP, UP), (UP, NA)],
    DOWN: [(DOWN, DOWN), (DOWN, NA)],
    NA: [(NA, NA)],
    WARN: [(UP, DOWN), (UP, STDBY_DOWN), (UP, SUWD), (DOWN, SUWU), (STDBY_UP, STDBY_DOWN),
           (STDBY_DOWN, SUWU), (STDBY_DOWN, SUWD), (SUWU, SUWD)],
    STDBY_UP: [(STDBY_UP, STDBY_UP), (NA, STDBY_UP)],
    STDBY_DOWN: [(DOWN, STDBY_DOWN), (STDBY_DOWN, STDBY_DOWN), (NA, STDBY_DOWN)],
    SUWU: [(UP, STDBY_UP), (UP, SUWU), (NA, SUWU), (STDBY_UP, SUWU), (SUWU, SUWU)],
    SUWD: [(DOWN, STDBY_UP), (DOWN, SUWD), (NA, SUWD), (STDBY_UP, SUWD), (SUWD, SUWD)],
}


def _build_table():
    table = {}
    for result, pairs in _RULES.items():
        for a, b in pairs:
            table[a, b] = table[b, a] = result
    for v in INT:
        table[WARN, v] = table[v, WARN] = WARN
        table[UNDEF, v] = table[v, UNDEF] = v
    return table


# (a, b) -> a + b for every ordered pair of the 9 values. The table is also associative (a test checks
# every triple), so folding order never matters: per resource or per set, host or guest first.
MERGE = _build_table()

# What an accumulator shows once folding is over (docs/agent-reference.md §2.1: SUWU prints up, SUWD stdby up).
PUBLIC = {**{v: v for v in VALUES}, SUWU: UP, SUWD: STDBY_UP}

# GROUPS: the groups of the document, in 1.5 json order; AVAIL_FAMILIES: those avail folds
# (both columns of domain.families).


def parse(value, what="status"):
    """A status string (or its integer) from a document or a driver -> the canonical string."""
    if isinstance(value, str):
        value = ALIASES.get(value, value)
        if value in VALUES:
            return value
    elif isinstance(value, int) and not isinstance(value, bool) and value in STR and STR[value] in VALUES:
        return STR[value]
    raise OsvcError(f"{what}: unknown status value {value!r} (expected one of: {', '.join(VALUES)})")


def merge_all(values, start=UNDEF):
    acc = start
    for v in values:
        acc = MERGE[acc, v]
    return acc


def standby(value, is_standby):
    """A standby (always_on) resource reports up/down as stdby up/stdby down."""
    if is_standby:
        return {UP: STDBY_UP, DOWN: STDBY_DOWN}.get(value, value)
    return value


def exit_code(doc):
    """The exit code of `status`: the integer of overall (0 up, 1 down, 2 warn, 3 n/a...)."""
    return INT[parse(doc.get("overall"), "overall")]


def family(type_, rid=""):
    """`container.hpvm` -> `container`; a document without `type` (a 1.5 agent's) -> from the rid."""
    if type_:
        return type_.split(".", 1)[0]
    base = rid.split("#", 1)[0]
    return RID_FAMILIES.get(base, base)


# 1.5 rids that do not name their family (docs/agent-reference.md §1.2): the families' aliases.
RID_FAMILIES = RID_ALIASES

# Input resource fields: name -> default (None = required).
FIELDS = {"rid": None, "type": None, "status": None, "label": "", "log": (), "monitor": False,
          "disable": False, "optional": False, "encap": False, "tags": (), "state": ""}


def _resource_entry(res):
    """One input resource dict -> its document entry (key order of docs/design.md §4), checked."""
    missing = [k for k, d in FIELDS.items() if d is None and k not in res]
    if missing:
        raise OsvcError(f"status of resource {res.get('rid', '?')!r}: missing {', '.join(missing)}")
    rid = res["rid"]
    fam = family(res["type"], rid)
    if fam not in GROUPS:
        raise OsvcError(f"resource {rid}: type {res['type']!r} is not of a known family "
                        f"(expected one of: {', '.join(GROUPS)})")
    status = parse(res["status"], f"resource {rid}")
    log = list(res.get("log") or ())
    tags = sorted(res.get("tags") or ())
    # docs/agent-reference.md §2.3: disabled first, then the nostatus tag, both n/a whatever the driver said.
    if res.get("disable"):
        status, log = NA, log if "disabled" in log else ["disabled"] + log
    elif "nostatus" in tags:
        status, log = NA, log if "nostatus tag" in log else ["nostatus tag"] + log
    return {"status": status, "type": res["type"], "label": res.get("label") or "", "log": log,
            "tags": tags, "monitor": bool(res.get("monitor")), "disable": bool(res.get("disable")),
            "optional": bool(res.get("optional")), "encap": bool(res.get("encap")),
            "state": res.get("state") or ""}


def _sync_for_overall(value):
    """docs/agent-reference.md §2.5 step 4: a sync up is neutral, n/a/undef count as themselves, else warn."""
    if value == UP:
        return UNDEF
    return value if value in (NA, UNDEF) else WARN


def aggregate(resources, encap=None, *, svcname, nodename, frozen=False, updated=""):
    """The json status document of a service (docs/design.md §4).

    resources: dicts {rid, type, status, label, log, monitor, disable, optional, encap, tags, state}
    in config order. encap: {container name: the guest's document} on a host (pass it, even {},
    whenever the service has encap resources): then this document's encap-tagged resources are the
    guest's business, left out of `resources` and of every fold, and shown through `encap`.
    Without encap (a guest, or a service with no container) encap-tagged resources fold normally.
    """
    host = encap is not None
    entries = {}
    for res in resources:
        entry = _resource_entry(res)
        if res["rid"] in entries:
            raise OsvcError(f"resource {res['rid']}: listed twice")
        if host and entry["encap"]:
            continue
        entries[res["rid"]] = entry

    groups = dict.fromkeys(GROUPS, NA)
    avail = overall_extra = NA
    for rid, e in entries.items():
        if e["disable"]:
            continue
        fam, s = family(e["type"], rid), e["status"]
        groups[fam] = MERGE[groups[fam], s]
        if fam in AVAIL_FAMILIES:
            avail = MERGE[avail, s]
        elif fam == "sync":
            overall_extra = MERGE[overall_extra, _sync_for_overall(s)]
        else:                                            # hb counts as itself
            overall_extra = MERGE[overall_extra, s]
    for name, guest in (encap or {}).items():
        # A guest's avail joins the host's before standby resolution (up + stdby up is SUWU too).
        avail = MERGE[avail, parse(guest.get("avail", NA), f"encap {name} avail")]
        overall_extra = MERGE[overall_extra, parse(guest.get("overall", NA), f"encap {name} overall")]

    # docs/agent-reference.md §2.5 step 2: SUWU means avail up and its stdby up groups promoted to up.
    if avail == SUWU:
        groups = {g: UP if v == STDBY_UP else v for g, v in groups.items()}
    avail = PUBLIC[avail]
    overall = PUBLIC[MERGE[avail, overall_extra]]

    doc = {"svcname": svcname, "nodename": nodename, "frozen": bool(frozen), "updated": updated,
           "resources": entries}
    if host:
        doc["encap"] = dict(encap)
    doc.update({g: PUBLIC[v] for g, v in groups.items()})
    doc["overall"] = overall
    doc["avail"] = avail
    return doc


# What a down container's guest looks like (docs/agent-reference.md §2.6, 1.5 flavour): the FORGED_DOWN families
# (domain.families) down, others n/a.


def _forge(guest_doc_or_resources, value_of):
    src = guest_doc_or_resources
    if isinstance(src, dict):
        meta = {k: src.get(k, d) for k, d in
                (("svcname", ""), ("nodename", ""), ("frozen", False), ("updated", ""))}
        items = [dict(e, rid=rid) for rid, e in src.get("resources", {}).items()]
    else:
        meta = {"svcname": "", "nodename": "", "frozen": False, "updated": ""}
        items = list(src)
    resources = {}
    for res in items:
        entry = _resource_entry(res)
        entry["status"] = value_of(family(entry["type"], res["rid"]))
        entry["log"] = []
        resources[res["rid"]] = entry
    doc = {**meta, "resources": resources}
    doc.update({g: value_of(g) for g in GROUPS})
    doc["overall"] = doc["avail"] = value_of("container")
    return doc


def forge_encap_down(guest_doc_or_resources):
    """The guest document a host shows for a container that is down (docs/agent-reference.md §2.6).

    Input: the guest's last document, or the host's list of encap resource dicts (aggregate's input
    form). avail/overall and the container/ip/disk/fs/share/hb groups and resources down; app and
    sync n/a; logs dropped (they described a guest that is not running).
    """
    return _forge(guest_doc_or_resources, lambda fam: DOWN if fam in FORGED_DOWN else NA)


def forge_encap_unknown(guest_doc_or_resources):
    """The guest document a host shows when the guest cannot be asked: everything n/a (docs/agent-reference.md §2.6)."""
    return _forge(guest_doc_or_resources, lambda fam: NA)
