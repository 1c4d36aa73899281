"""Status values, the merge table (docs/agent-reference.md §2.2), aggregation (§2.5), encap folding (§2.6), exit codes."""

import itertools
import json

import pytest

from core.errors import OsvcError
from domain.status import (GROUPS, INT, MERGE, STR, SUWD, SUWU, VALUES, aggregate, exit_code,
                           forge_encap_down, forge_encap_unknown, merge_all, parse, standby)


def merge(a, b):
    """a + b by the engine's table (domain.status.MERGE; the product folds with it directly)."""
    return MERGE[a, b]

U, D, W, NA, UD, SU, SD = "up", "down", "warn", "n/a", "undef", "stdby up", "stdby down"

# The whole table, transcribed independently from docs/agent-reference.md §2.2 as a matrix (row + column).
ORDER = (U, D, W, NA, UD, SU, SD, SUWU, SUWD)
MATRIX = {
    U:    (U,    W,    W, U,    U,    SUWU, W,  SUWU, W),
    D:    (W,    D,    W, D,    D,    SUWD, SD, W,    SUWD),
    W:    (W,    W,    W, W,    W,    W,    W,  W,    W),
    NA:   (U,    D,    W, NA,   NA,   SU,   SD, SUWU, SUWD),
    UD:   (U,    D,    W, NA,   UD,   SU,   SD, SUWU, SUWD),
    SU:   (SUWU, SUWD, W, SU,   SU,   SU,   W,  SUWU, SUWD),
    SD:   (W,    SD,   W, SD,   SD,   W,    SD, W,    W),
    SUWU: (SUWU, W,    W, SUWU, SUWU, SUWU, W,  SUWU, W),
    SUWD: (W,    SUWD, W, SUWD, SUWD, SUWD, W,  W,    SUWD),
}
PAIRS = [(a, b, MATRIX[a][i]) for a in ORDER for i, b in enumerate(ORDER)]


@pytest.mark.parametrize("a,b,expected", PAIRS, ids=[f"{a}+{b}" for a, b, _ in PAIRS])
def test_merge_table(a, b, expected):
    assert merge(a, b) == expected


def test_table_is_complete_commutative_with_undef_identity_and_associative():
    assert set(MERGE) == set(itertools.product(ORDER, ORDER))
    for a, b in MERGE:
        assert MERGE[a, b] == MERGE[b, a]
    for a in ORDER:
        assert merge(a, UD) == a == merge(UD, a)
    for a, b, c in itertools.product(ORDER, repeat=3):
        assert merge(merge(a, b), c) == merge(a, merge(b, c))


def test_integers_of_reference_2_1():
    assert INT == {U: 0, D: 1, W: 2, NA: 3, UD: 5, SU: 6, SD: 7, SUWU: 8, SUWD: 9}
    assert [STR[i] for i in (0, 1, 2, 3, 5, 6, 7)] == list(VALUES)


def test_merge_all_and_standby():
    assert merge_all([]) == UD
    assert merge_all([], NA) == NA
    assert merge_all([U, NA, U]) == U
    assert merge_all([U, SU], NA) == SUWU
    assert [standby(v, True) for v in VALUES] == [SU, SD, W, NA, UD, SU, SD]
    assert [standby(v, False) for v in VALUES] == list(VALUES)


def test_parse():
    assert parse("na") == NA and parse(0) == U and parse(7) == SD
    for bad in ("foo", "todo", 4, 8, SUWU, None, True):
        with pytest.raises(OsvcError, match="unknown status value"):
            parse(bad)


def res(rid, type_, status, **kw):
    return dict(rid=rid, type=type_, status=status, label=rid, **kw)


def agg(resources, encap=None, **kw):
    return aggregate(resources, encap, svcname="s", nodename="n", **kw)


def top(doc):
    return {k: doc[k] for k in GROUPS + ("overall", "avail")}


def groups(**values):
    return {**dict.fromkeys(GROUPS, NA), **values}


# docs/agent-reference.md §2.5, derived examples (plus the empty service): resources -> (avail, overall, groups).
EXAMPLES = [
    ("ip up + fs up + app n/a", [("ip", U), ("fs", U), ("app", NA)], U, U, dict(ip=U, fs=U)),
    ("ip up + fs down", [("ip", U), ("fs", D)], W, W, dict(ip=U, fs=D)),
    ("fs stdby up alone", [("fs", SU)], SU, SU, dict(fs=SU)),
    ("ip up + fs stdby up: fs promoted", [("ip", U), ("fs", SU)], U, U, dict(ip=U, fs=U)),
    ("ip down + fs stdby up", [("ip", D), ("fs", SU)], SU, SU, dict(ip=D, fs=SU)),
    ("avail up + sync down", [("ip", U), ("sync", D)], U, W, dict(ip=U, sync=D)),
    ("avail up + sync up", [("ip", U), ("sync", U)], U, U, dict(ip=U, sync=U)),
    ("avail down + sync#i0 warn", [("ip", D), ("sync", W)], D, W, dict(ip=D, sync=W)),
    ("sync n/a counts as itself", [("ip", U), ("sync", NA)], U, U, dict(ip=U)),
    ("sync undef counts as itself", [("ip", D), ("sync", UD)], D, D, dict(ip=D)),
    ("sync stdby up is not up: warn", [("ip", U), ("sync", SU)], U, W, dict(ip=U, sync=SU)),
    ("hb counts as itself", [("ip", U), ("hb", D)], U, W, dict(ip=U, hb=D)),
    ("hb alone", [("hb", U)], NA, U, dict(hb=U)),
    ("only syncs up: overall n/a", [("sync", U)], NA, NA, dict(sync=U)),
    ("nothing", [], NA, NA, {}),
    ("undef resource", [("ip", UD)], NA, NA, {}),
    ("two fs up + stdby up: group SUWU shows up", [("fs", U), ("fs", SU)], U, U, dict(fs=U)),
    ("group SUWD shows stdby up", [("ip", U), ("fs", D), ("fs", SU)], W, W, dict(ip=U, fs=SU)),
    ("container stdby down + disk down", [("container", SD), ("disk", D)], SD, SD,
     dict(container=SD, disk=D)),
]


@pytest.mark.parametrize("name,members,avail,overall,grp", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_aggregation_examples(name, members, avail, overall, grp):
    doc = agg([res(f"{fam}#{i}", fam, s) for i, (fam, s) in enumerate(members)])
    assert top(doc) == {**groups(**grp), "overall": overall, "avail": avail}


def test_accumulators_never_escape():
    """Every combination of values over ip, fs, sync, hb and a guest never yields SUWU/SUWD."""
    for ip, fs, sync, hb, guest in itertools.product(VALUES, repeat=5):
        encap = {"vm": {"avail": guest, "overall": guest, "resources": {}}}
        doc = agg([res("container#1", "container.kvm", U), res("ip#1", "ip", ip), res("fs#1", "fs", fs),
                   res("sync#1", "sync.rsync", sync), res("hb#1", "hb.ovm", hb)], encap)
        assert all(doc[k] in VALUES for k in GROUPS + ("overall", "avail")), doc


def test_document_keys_and_resource_entry():
    doc = agg([res("ip#1", "ip", U, log=["a"], tags=["b", "a"], monitor=1, state="up"),
               res("app", "app", NA)], frozen=True, updated="2024-01-01T00:00:00.000000Z")
    assert list(doc) == ["svcname", "nodename", "frozen", "updated", "resources", *GROUPS, "overall", "avail"]
    assert doc["frozen"] is True and doc["updated"] == "2024-01-01T00:00:00.000000Z"
    assert list(doc["resources"]) == ["ip#1", "app"]
    assert doc["resources"]["ip#1"] == {
        "status": U, "type": "ip", "label": "ip#1", "log": ["a"], "tags": ["a", "b"], "monitor": True,
        "disable": False, "optional": False, "encap": False, "state": "up"}
    assert json.loads(json.dumps(doc)) == doc


def test_disabled_and_nostatus_are_na_with_their_log_and_skipped():
    doc = agg([res("ip#1", "ip", U), res("fs#1", "fs", D, disable=True),
               res("fs#2", "fs", D, tags=["nostatus"], log=["x"])])
    assert doc["resources"]["fs#1"]["status"] == NA and doc["resources"]["fs#1"]["log"] == ["disabled"]
    assert doc["resources"]["fs#2"]["status"] == NA and doc["resources"]["fs#2"]["log"] == ["nostatus tag", "x"]
    assert (doc["avail"], doc["fs"]) == (U, NA)
    again = agg([dict(e, rid=rid) for rid, e in doc["resources"].items()])
    assert again["resources"] == doc["resources"]          # idempotent: logs not doubled


def test_optional_resources_fold_into_avail_like_1x():
    assert agg([res("ip#1", "ip", U), res("fs#1", "fs", D, optional=True)])["avail"] == W


def guest(avail, overall=None, **resources):
    return {"avail": avail, "overall": overall or avail, "resources": resources}


def test_encap_folding():
    host = [res("container#1", "container.kvm", U), res("ip#1", "ip", UD, encap=True)]
    cases = [(guest(U), U, U), (guest(D), W, W), (guest(U, W), U, W), (guest(SU), U, U),
             (guest(NA), U, U), ({"resources": {}}, U, U)]
    for g, avail, overall in cases:
        doc = agg(host, {"vm1": g})
        assert (doc["avail"], doc["overall"]) == (avail, overall), g
        assert list(doc["resources"]) == ["container#1"]           # encap ones live in the guest document
        assert doc["encap"] == {"vm1": g} and doc["ip"] == NA


def test_encap_resources_fold_on_the_guest_side():
    doc = agg([res("ip#1", "ip", D, encap=True), res("app#1", "app", U, encap=True)])
    assert "encap" not in doc and doc["avail"] == W and list(doc["resources"]) == ["ip#1", "app#1"]


def test_forge_encap_down_from_resources_and_from_a_document():
    encaps = [res("ip#1", "ip", U, encap=True, log=["x"]), res("fs#1", "fs", U, encap=True),
              res("app#1", "app", U, encap=True), res("sync#1", "sync.rsync", U, encap=True),
              res("hb#1", "hb.ovm", U, encap=True)]
    forged = forge_encap_down(encaps)
    assert {rid: e["status"] for rid, e in forged["resources"].items()} == {
        "ip#1": D, "fs#1": D, "app#1": NA, "sync#1": NA, "hb#1": D}
    assert forged["resources"]["ip#1"]["log"] == []
    assert top(forged) == {**dict.fromkeys(("container", "ip", "disk", "fs", "share", "hb"), D),
                           "app": NA, "sync": NA, "overall": D, "avail": D}
    guest_doc = agg(encaps)
    assert forge_encap_down(guest_doc)["resources"] == forged["resources"]
    assert forge_encap_down(guest_doc)["svcname"] == "s"
    host = agg([res("container#1", "container.xen", D)] + encaps, {"vm1": forged})
    assert (host["avail"], host["overall"]) == (D, D)


def test_forge_encap_unknown():
    forged = forge_encap_unknown([res("ip#1", "ip", U, encap=True)])
    assert forged["resources"]["ip#1"]["status"] == NA
    assert set(top(forged).values()) == {NA}


@pytest.mark.parametrize("overall,code", [(U, 0), (D, 1), (W, 2), (NA, 3), (UD, 5), (SU, 6), (SD, 7)])
def test_exit_code(overall, code):
    assert exit_code({"overall": overall}) == code


def test_exit_code_of_aggregated_documents():
    assert exit_code(agg([res("ip#1", "ip", U)])) == 0
    assert exit_code(agg([res("ip#1", "ip", D)])) == 1
    assert exit_code(agg([res("ip#1", "ip", U), res("sync#1", "sync", D)])) == 2
    assert exit_code(agg([])) == 3


@pytest.mark.parametrize("resources,message", [
    ([res("ip#1", "ip", "sideways")], "resource ip#1: unknown status value 'sideways'"),
    ([res("st#1", "stonith.ilo", U)], "resource st#1: type 'stonith.ilo' is not of a known family"),
    ([{"rid": "ip#1", "type": "ip"}], "status of resource 'ip#1': missing status"),
    ([res("ip#1", "ip", U), res("ip#1", "ip", U)], "resource ip#1: listed twice"),
])
def test_bad_input_is_one_clear_message(resources, message):
    with pytest.raises(OsvcError) as exc:
        agg(resources)
    assert str(exc.value).startswith(message)


def test_bad_guest_value_is_named():
    with pytest.raises(OsvcError, match="encap vm1 avail: unknown status value 'SUWU'"):
        agg([], {"vm1": {"avail": "SUWU"}})
