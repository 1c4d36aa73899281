"""core.lineage and the session's side of it: an engine launched by another journals under the
caller's action id, records the parent in its begin payload, orders its records after the parent's
hlc (even with its own clock far behind) and reports its last hlc to the caller."""

import pytest

from core.errors import UsageError
from core.lineage import LAST_HLC_MARK, Parent, child_env, last_hlc_of
from tests.helpers.cli import journal_rows, osvc
from tests.helpers.launchers import launcher_service


def test_a_parent_round_trips_through_its_variable_and_bad_text_is_an_error():
    p = Parent("hv1", "6f1c", 42, 7 << 16)
    assert Parent.decode(p.encode()) == p
    assert child_env("abcd", p) == {"OSVC_ACTION_ID": "abcd", "OSVC_PARENT": f"hv1,6f1c,42,{7 << 16}"}
    assert child_env("", None) == {}
    with pytest.raises(UsageError, match="not node,journal-uuid,seq,hlc"):
        Parent.decode("hv1,6f1c")


def test_the_last_hlc_is_read_from_the_end_of_the_output():
    assert last_hlc_of(f"start ok\n{LAST_HLC_MARK}5\nnoise\n{LAST_HLC_MARK}9\n") == 9
    assert last_hlc_of("nothing here") is None


def test_a_launched_action_takes_the_id_records_the_parent_and_orders_after_it(osvc_root):
    launcher_service(osvc_root)
    future = (2 ** 46) << 16          # a parent hlc far ahead of this node's clock (a skewed caller)
    parent = Parent("hv1", "6f1c", 42, future)
    r = osvc(osvc_root, "-s", "web", "start", env=child_env("feedc0de00000001", parent))
    assert r.returncode == 0, r.stderr
    rows = [x for x in journal_rows(osvc_root) if x["action_id"] == "feedc0de00000001"]
    begin = next(x for x in rows if (x["kind"], x["event"]) == ("action", "begin"))
    assert begin["payload"]["parent"] == {"node": "hv1", "journal": "6f1c", "seq": 42, "hlc": future}
    assert all(x["hlc"] > future for x in rows)
    # the caller learns our last hlc from the last line of stderr
    assert last_hlc_of(r.stderr) == rows[-1]["hlc"]


def test_an_action_nobody_launched_says_nothing_of_hlc(osvc_root):
    launcher_service(osvc_root)
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0 and LAST_HLC_MARK not in r.stderr
