"""The `restart` keyword: a status refresh restarts a resource that went down since the last one."""

import json

from tests.helpers.cli import journal_rows, osvc, write_launcher

SCRIPT = """\
f="{state}/{name}"
case "$1" in
  start) [ -e "$f.fail" ] && exit 1; touch "$f" ;;
  stop) rm -f "$f" ;;
  status) [ -e "$f" ] ;;
esac
"""


def make_service(root, restart=2):
    state = root / "state"
    state.mkdir()
    write_launcher(root / "etc" / "web.d" / "a", SCRIPT.format(state=state, name="a"))
    (root / "etc" / "web.env").write_text(
        "[DEFAULT]\nnodes = node1\n\n[app#1]\nscript = a\nstart = 10\nstop = 10\ncheck = 10\n"
        f"restart = {restart}\n")
    return state


def actions(root):
    return [(r["event"], r["payload"].get("argv"), r["payload"].get("outcome"))
            for r in journal_rows(root, svc="web", kind="action")]


def test_resource_found_down_after_up_is_restarted(osvc_root):
    state = make_service(osvc_root)
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    (state / "a").unlink()                                  # the application died
    res = osvc(osvc_root, "-s", "web", "status", "--refresh")
    assert res.returncode == 0, res.stderr
    assert (state / "a").exists()
    assert "restart resource app#1. try number 1/2" in res.stdout + res.stderr
    assert "monitored resource app#1 restarted." in res.stdout + res.stderr
    assert actions(osvc_root)[-2:] == [("begin", ["restart", "--rid", "app#1"], None),
                                       ("end", None, "ok")]


def test_restart_gives_up_after_its_tries(osvc_root):
    state = make_service(osvc_root, restart=2)
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    (state / "a").unlink()
    (state / "a.fail").touch()
    res = osvc(osvc_root, "-s", "web", "status", "--refresh")
    out = res.stdout + res.stderr
    assert res.returncode == 1                              # overall down
    assert "try number 1/2" in out and "try number 2/2" in out and "restarted." not in out
    ends = [outcome for event, _, outcome in actions(osvc_root) if event == "end"]
    assert ends == ["ok", "failed", "failed"]
    # the next refresh sees the previous status down: no new try, and the status log says why
    again = osvc(osvc_root, "-s", "web", "print", "status", "--refresh", "--format", "json")
    assert "not restarted because previous status is down" in json.loads(again.stdout)["resources"]["app#1"]["log"]
    assert len(actions(osvc_root)) == 6


def test_frozen_service_is_not_restarted(osvc_root):
    state = make_service(osvc_root)
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    assert osvc(osvc_root, "-s", "web", "freeze").returncode == 0
    (state / "a").unlink()
    res = osvc(osvc_root, "-s", "web", "status", "--refresh")
    assert "resource restart skipped: service is frozen" in res.stdout + res.stderr
    assert not (state / "a").exists()


def test_stopped_resource_is_not_restarted(osvc_root):
    state = make_service(osvc_root)
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
    osvc(osvc_root, "-s", "web", "status", "--refresh")
    assert not (state / "a").exists()
    assert [e for e, _, _ in actions(osvc_root)] == ["begin", "end", "begin", "end"]
