"""`<action>_requires` (engine/requires.py) through the real CLI, on the launcher service `web`
(app#1..3 start a, b, c in that order and stop in the mirror order)."""

import pytest

from tests.helpers.cli import journal_rows, osvc, transitions
from tests.helpers.launchers import launcher_service, running


@pytest.fixture
def svc(osvc_root):
    return launcher_service(osvc_root)


def configure(root, rid, text):
    env = root / "etc" / "web.env"
    env.write_text(env.read_text().replace(f"[{rid}]\n", f"[{rid}]\n{text}\n"))


def test_a_requirement_met_by_an_earlier_resource(osvc_root, svc):
    configure(osvc_root, "app#3", "start_requires = app#1 app#2(up)")
    configure(osvc_root, "app#1", "stop_requires = app#3(down,stdby down)")
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert running(svc) == ["a", "b", "c"]
    r = osvc(osvc_root, "-s", "web", "stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert running(svc) == []


def test_an_unmet_requirement_fails_the_start_with_the_agents_message(osvc_root, svc):
    configure(osvc_root, "app#2", "start_requires = app#3")      # c starts after b: still down
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    message = "requires on resource app#3 in state up or stdby up, current state down"
    assert message in r.stdout + r.stderr
    assert running(svc) == []               # b never ran its launcher, a was rolled back
    fail = [t for t in journal_rows(osvc_root, svc="web", kind="transition") if t["rid"] == "app#2"]
    assert [(t["event"], t["dst"]) for t in fail] == [("start", "starting"), ("start_failed", "start-failed")]
    assert fail[-1]["payload"]["reason"] == message
    launched = [c["payload"]["argv"][0].rsplit("/", 1)[1] for c in journal_rows(osvc_root, svc="web", kind="command")
                if c["payload"]["argv"][-1] == "start"]
    assert launched == ["a"]


def test_impossible_makes_the_action_a_no_op_for_the_resource(osvc_root, svc):
    configure(osvc_root, "app#2", "stop_requires = impossible")
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    r = osvc(osvc_root, "-s", "web", "stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skip stop: stop_requires is impossible" in r.stdout
    assert running(svc) == ["b"]
    assert ("app#2", "stop", "up", "stopping") not in transitions(osvc_root, "web")


def test_an_unmet_requirement_on_an_optional_resource_is_passed_over(osvc_root, svc):
    configure(osvc_root, "app#1", "optional = true\nstart_requires = app#3")
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "requires on resource app#3" in r.stdout and "ignore start error on optional resource" in r.stdout
    assert running(svc) == ["b", "c"]


def test_a_rollback_checks_no_requirement(osvc_root, svc):
    """stop_requires = impossible keeps `stop` off app#1, not the rollback of a failed start."""
    configure(osvc_root, "app#1", "stop_requires = impossible")
    (svc / "c.fail").touch()
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    assert "trying to rollback start on app#1, app#2" in r.stdout
    assert running(svc) == []
    assert ("app#1", "stopped", "stopping", "down") in transitions(osvc_root, "web")
