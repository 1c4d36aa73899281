"""`[subset#app:db] parallel = true`: the set's resources start and stop in forked children, at once.

Each launcher, once started, waits (up to 5 s) until all three have started: run one after the
other, the first one waits alone and fails; run in parallel, they all meet. So the test needs no
clock: it asserts who met whom."""

from tests.helpers.cli import journal_rows, osvc, transitions, write_launcher
from tests.helpers.launchers import running

MEET = """\
f="{state}/{name}"
case "$1" in
  start)
    touch "$f.started"
    i=0
    until [ -e {state}/a.started ] && [ -e {state}/b.started ] && [ -e {state}/c.started ]; do
      i=$((i+1)); [ $i -gt 100 ] && {{ echo "{name} started alone" >&2; exit 1; }}
      sleep 0.05
    done
    [ -e "$f.fail" ] && {{ echo "{name} cannot start" >&2; exit 1; }}
    touch "$f" ;;
  stop) rm -f "$f" "$f.started" ;;
  status) [ -e "$f" ] ;;
esac
"""


def service(root, parallel="true"):
    state = root / "state"
    state.mkdir()
    lines = ["[DEFAULT]", "nodes = node1", "", "[subset#app:db]", f"parallel = {parallel}", ""]
    for i, name in enumerate("abc", 1):
        write_launcher(root / "etc" / "web.d" / name, MEET.format(state=state, name=name))
        lines += [f"[app#{i}]", f"script = {name}", f"start = {i}0", f"stop = {i}0", f"check = {i}0",
                  "subset = db", ""]
    (root / "etc" / "web.env").write_text("\n".join(lines))
    return state


def test_a_parallel_subset_starts_and_stops_its_resources_at_once(osvc_root):
    state = service(osvc_root)
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "run app#1, app#2, app#3 in parallel" in r.stdout
    assert running(state) == ["a", "b", "c"]
    seq = transitions(osvc_root, "web")
    for rid in ("app#1", "app#2", "app#3"):
        assert [t for t in seq if t[0] == rid] == [(rid, "start", "down", "starting"),
                                                   (rid, "started", "starting", "up")]
    assert seq[0] == ("", "start", "idle", "starting") and seq[-1] == ("", "started", "starting", "started")
    # the children journaled under the action's id, and the parent took their end states
    begin = [a for a in journal_rows(osvc_root, svc="web", kind="action") if a["event"] == "begin"][0]
    assert {t["action_id"] for t in journal_rows(osvc_root, svc="web", kind="transition")} == {begin["action_id"]}
    status = osvc(osvc_root, "-s", "web", "print", "status").stdout
    assert status.splitlines()[1] == "overall                   up"
    r = osvc(osvc_root, "-s", "web", "stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert running(state) == []
    assert osvc(osvc_root, "journal", "verify").returncode == 0


def test_without_parallel_the_first_one_waits_alone(osvc_root):
    state = service(osvc_root, parallel="false")
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    assert "a started alone" in r.stdout + r.stderr
    assert running(state) == []


def test_a_failure_in_the_set_fails_the_start_and_rolls_back_the_others(osvc_root):
    state = service(osvc_root)
    (state / "c.fail").touch()
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    assert "osvc-engine: error: app#3: c start failed" in r.stderr
    assert "trying to rollback start on app#1, app#2" in r.stdout
    assert running(state) == []
    seq = transitions(osvc_root, "web")
    assert ("app#3", "start_failed", "starting", "start-failed") in seq
    assert seq[-1] == ("", "rolled_back", "rolling-back", "start-failed")


def test_an_optional_failure_in_the_set_is_passed_over(osvc_root):
    state = service(osvc_root)
    env = osvc_root / "etc" / "web.env"
    env.write_text(env.read_text().replace("script = c\n", "script = c\noptional = true\n"))
    (state / "c.fail").touch()
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert running(state) == ["a", "b"]


def test_forked_reports_values_errors_and_deaths():
    import os

    from core import forked

    def dies():
        os.kill(os.getpid(), 9)

    results = forked.run([lambda: {"state": "up", "pid": os.getpid()}, lambda: 1 / 0, dies])
    assert results[0]["state"] == "up" and results[0]["pid"] != os.getpid()    # it ran in a child
    assert results[1] == {"error": "division by zero"}
    assert results[2]["error"].endswith("was killed by signal 9 before it reported")
