"""Issue 17 item 20: `--dry-run` plans from what the probes see now, not from the states the last action
recorded (a filesystem mounted by hand showed `down -> stopping -> down`), and still touches nothing."""

from tests.helpers.cli import journal_rows, osvc
from tests.helpers.launchers import launcher_service, running


def test_a_dry_run_stop_starts_from_the_probed_states(osvc_root):
    state = launcher_service(osvc_root)        # never started: every state recorded is down
    (state / "a").touch()                      # ...but a and b run (started by hand)
    (state / "b").touch()
    r = osvc(osvc_root, "-s", "web", "--dry-run", "stop")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == [
        "web: stop",
        "  stop  app#3          down -> stopping -> down",
        "  stop  app#2          up -> stopping -> down",
        "  stop  app#1          up -> stopping -> down",
    ]
    assert running(state) == ["a", "b"]
    assert not (osvc_root / "var" / "journal.db").exists() and not (osvc_root / "var" / "lock").exists()


def test_a_resource_found_down_is_planned_from_down(osvc_root):
    state = launcher_service(osvc_root)
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    (state / "b").unlink()                     # app#2 died since
    seq = len(journal_rows(osvc_root))
    r = osvc(osvc_root, "-s", "web", "--dry-run", "stop")
    assert r.stdout.splitlines()[1:] == [
        "  stop  app#3          up -> stopping -> down",
        "  stop  app#2          down -> stopping -> down",
        "  stop  app#1          up -> stopping -> down",
    ]
    assert len(journal_rows(osvc_root)) == seq      # the probe's finding is not journaled by a dry run
