"""app driver: real launcher scripts (1.5 S/K/C folder and the 1.8 [app#N] script form)."""

import os
import re
import time

import pytest

from drivers.base import DriverError
from tests.helpers.drivers import make_driver
from tests.helpers.procs import alive


def launcher(folder, name, body, mode=0o755):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(mode)
    return path


@pytest.fixture
def state(tmp_path):
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture
def folder(node):
    return node.launchers_dir("svc1")


def touch_script(state, name):
    return (f'case "$1" in start) touch {state}/{name};; stop) rm -f {state}/{name};; '
            f'status) test -e {state}/{name};; esac')


def test_launcher_folder_start_stop_status(node, folder, state):
    for name in ("S10db", "S20web"):
        launcher(folder, name, touch_script(state, name[3:]))
    launcher(folder, "K10web", touch_script(state, "web"))
    launcher(folder, "K20db", touch_script(state, "db"))
    launcher(folder, "C10db", touch_script(state, "db"))
    launcher(folder, "C20web", touch_script(state, "web"))
    launcher(folder, "S30ignored", "exit 1", mode=0o644)       # not executable: not a launcher
    app, log, events = make_driver(node, "app", conf={}, rid="app")
    assert app.label() == "app"
    assert app.status() == ("down", [])
    app.start()
    assert sorted(p.name for p in state.iterdir()) == ["db", "web"]
    assert app.can_rollback
    msgs = log.messages()
    assert msgs[0] == f"{folder}/S10db start"          # the runner's command line
    assert re.fullmatch(r"start done in \d+:\d\d:\d\d(\.\d+)? - ret 0 - logs in .*/S10db\.start\.log", msgs[1])
    assert [e["payload"]["argv"] for e in events] == [[str(folder / "S10db"), "start"],
                                                      [str(folder / "S20web"), "start"]]
    assert app.status() == ("up", [])
    (state / "web").unlink()
    assert app.status() == ("warn", ["C20web returned errors"])
    app.stop()
    assert list(state.iterdir()) == []
    assert app.status() == ("down", [])


def test_checks_run_together_and_a_hung_check_only_fails_itself(node, folder, state):
    """The C* checks run in one batch, concurrently (each of these two succeeds only when it sees
    the other running: run one after the other, both would fail); a check that hangs is killed
    (with its children) at the timeout and counts as failed, the others' answers are kept; a name
    with spaces and quotes reaches its check untouched."""
    for me, other in (("a", "b"), ("b", "a")):
        launcher(folder, f"C10{me}", f"touch {state}/{me}; i=0; while [ $i -lt 100 ]; do "
                                     f"[ -e {state}/{other} ] && exit 0; sleep 0.1; i=$((i+1)); done; exit 1")
    app, _, _ = make_driver(node, "app", conf={}, rid="app")
    assert app.status() == ("up", [])

    for p in folder.iterdir():
        p.unlink()
    launcher(folder, "C10up", "exit 0")
    launcher(folder, "C20hang", f"sleep 300 & echo $! > {state}/hang.pid; wait")
    launcher(folder, "C30down", "exit 1")
    launcher(folder, "C40 it's \"odd\"", "exit 0")
    app, _, _ = make_driver(node, "app", conf={"timeout": "1"}, rid="app")
    t0 = time.monotonic()
    assert app.status() == ("warn", ["C20hang, C30down returned errors"])
    assert time.monotonic() - t0 < 60, "the batch was not killed at its 1 s timeout"
    pid = int((state / "hang.pid").read_text())
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), "the hung check's child outlived the batch"


def test_no_checkup_scripts(node, folder):
    launcher(folder, "S10x", "exit 0")
    app, _, _ = make_driver(node, "app", conf={}, rid="app")
    assert app.status() == ("n/a", ["no checkup scripts"])


def test_failing_launcher_stops_the_sequence(node, folder, state):
    launcher(folder, "S10ok", touch_script(state, "ok"))
    launcher(folder, "S20bad", "echo boom >&2; exit 3")
    launcher(folder, "S30never", touch_script(state, "never"))
    app, log, _ = make_driver(node, "app", conf={}, rid="app")
    with pytest.raises(DriverError) as exc:
        app.start()
    assert str(exc.value) == "S20bad start failed"
    assert [p.name for p in state.iterdir()] == ["ok"]
    assert app.can_rollback          # S10ok changed something: rollback must stop it
    assert ("INFO", "output:\nboom") in log.lines      # the launcher log (stdout+stderr)
    assert any(lvl == "ERROR" and m.startswith("start done in ") and " - ret 3 - logs in " in m
               for lvl, m in log.lines)


def test_first_launcher_failing_leaves_nothing_to_roll_back(node, folder):
    launcher(folder, "S10bad", "exit 1")
    app, _, _ = make_driver(node, "app", conf={}, rid="app")
    with pytest.raises(DriverError):
        app.start()
    assert not app.can_rollback


def test_hanging_launcher_times_out_with_its_group_killed(node, folder, state):
    pidfile = state / "child.pid"
    launcher(folder, "S10hang", f"sleep 300 & echo $! > {pidfile}; wait")
    app, log, events = make_driver(node, "app", conf={"timeout": 1}, rid="app")
    with pytest.raises(DriverError) as exc:
        app.start()
    assert str(exc.value) == "S10hang start: execution timeout (1 seconds)"
    assert ("ERROR", "execution timeout (1 seconds)") in log.lines
    assert events[-1]["payload"]["timeout"] is True
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_daemonising_launcher_does_not_hold_the_runner(node, folder, state):
    pidfile = state / "daemon.pid"
    # a careless launcher: its daemon keeps the stdout/stderr it inherited
    launcher(folder, "S10daemon", f'echo starting; sleep 300 & echo $! > {pidfile}; exit 0')
    app, log, _ = make_driver(node, "app", conf={}, rid="app")
    app.start()
    daemon = int(pidfile.read_text())
    try:
        assert alive(daemon)
        out = os.readlink(f"/proc/{daemon}/fd/1")
        assert out == str(node.svc_var("svc1") / "app" / "S10daemon.start.log")
        assert ("INFO", "output:\nstarting") in log.lines
    finally:
        os.kill(daemon, 9)


def test_script_form(node, folder, state):
    launcher(folder, "web.sh", touch_script(state, "web"))
    conf = {"script": "web.sh", "start": 10, "stop": 90, "check": 10, "timeout": 30}
    app, log, events = make_driver(node, "app", conf=conf, rid="app#1")
    assert app.label() == "web.sh"
    assert app.status() == ("down", [])
    app.start()
    assert (state / "web").exists() and app.can_rollback
    assert log.messages()[0] == f"{folder}/web.sh start"
    assert app.status() == ("up", [])
    again, log2, ev2 = make_driver(node, "app", conf=conf, rid="app#1")
    again.start()
    assert log2.lines == [("INFO", "web.sh is already started")] and ev2 == []
    app.stop()
    assert not (state / "web").exists()


def test_script_form_sequence_numbers_gate_actions(node, folder, state):
    launcher(folder, "web.sh", touch_script(state, "web"))
    app, log, events = make_driver(node, "app", conf={"script": "web.sh"}, rid="app#1")
    app.start()
    app.stop()
    assert events == [] and log.lines == []
    assert app.status() == ("n/a", ["check is not set"])


def test_script_form_check_verdicts(node, folder):
    for rc, expected in ((0, ("up", [])), (1, ("down", [])), (5, ("warn", ["check reports errors (5)"]))):
        launcher(folder, "chk.sh", f"exit {rc}")
        app, _, _ = make_driver(node, "app", conf={"script": "chk.sh", "check": 1}, rid="app#1")
        assert app.status() == expected


def test_script_form_absolute_and_missing(node, tmp_path, state):
    script = launcher(tmp_path / "elsewhere", "db.sh", touch_script(state, "db"))
    app, _, _ = make_driver(node, "app", conf={"script": str(script), "start": 1}, rid="app#2")
    app.start()
    assert (state / "db").exists()
    missing, _, _ = make_driver(node, "app", conf={"script": "nope.sh", "start": 1, "check": 1},
                                rid="app#3")
    path = node.launchers_dir("svc1") / "nope.sh"
    with pytest.raises(DriverError) as exc:
        missing.start()
    assert str(exc.value) == f"script {path} does not exist or is not executable (check script of app#3)"
    assert missing.status() == ("warn", [f"script {path} does not exist or is not executable"])


def test_instance_not_up_skips_checks(node, folder, state):
    launcher(folder, "C10x", "exit 0")
    app, _, events = make_driver(node, "app", conf={}, rid="app", instance_avail="down")
    assert app.status() == ("n/a", ["ip+fs status is down, skip check"])
    app8, _, _ = make_driver(node, "app", conf={"script": "C10x", "check": 1}, rid="app#1",
                             instance_avail="warn")
    assert app8.status() == ("n/a", ["not evaluated (instance not up)"])


def test_stop_runs_every_k_launcher_then_reports(node, folder, state):
    launcher(folder, "K10bad", "exit 2")
    launcher(folder, "K20good", f"touch {state}/stopped")
    app, _, _ = make_driver(node, "app", conf={}, rid="app")
    with pytest.raises(DriverError) as exc:
        app.stop()
    assert str(exc.value) == "K10bad stop failed"
    assert (state / "stopped").exists()


def test_launchers_get_the_service_name_and_their_rid_as_the_agent_gives_them(osvc_root):
    """Issue 17 item 20: OPENSVC_SVCNAME (b1.8 svc.setup_environ: one launcher script serves several services),
    and OPENSVC_RID as triggers get it; in S*, K* and C* alike."""
    from tests.helpers.cli import osvc, write_launcher

    seen = osvc_root / "seen"
    (osvc_root / "etc" / "web.env").write_text("[DEFAULT]\napp = X\n")
    for name in ("S10a", "K10a", "C10a"):
        write_launcher(osvc_root / "etc" / "web.d" / name, f'echo "$1 $OPENSVC_SVCNAME $OPENSVC_RID" >> {seen}')
    for action in ("start", "stop"):
        r = osvc(osvc_root, "-s", "web", action)
        assert r.returncode == 0, r.stdout + r.stderr
    lines = seen.read_text().splitlines()
    assert lines[0] == "start web app" and "stop web app" in lines and "status web app" in lines


def counted(app, calls):
    """The driver's runner, each argv noted in `calls`."""
    run = app.ctx.run

    def counting(argv, **kw):
        calls.append([str(a) for a in argv])
        return run(argv, **kw)

    app.ctx.run = counting
    return app


def test_script_form_checks_of_one_wave_run_in_one_batch_each_with_its_rid(node, folder, state):
    """Issue 19: App.prepare_status runs the [app#N] checks a status wave is about to ask in one spawn; each
    check gets its own OPENSVC_RID; each driver's next status() answers from it, once."""
    from drivers.app import App

    seen = state / "seen"
    calls = []
    apps = []
    for i, name in enumerate("abc", 1):
        launcher(folder, name, f'echo "$1 $OPENSVC_SVCNAME $OPENSVC_RID" >> {seen}\n' + touch_script(state, name))
        apps.append(counted(make_driver(node, "app", conf={"script": name, "check": i}, rid=f"app#{i}")[0], calls))
    (state / "a").touch()
    (state / "c").touch()
    App.prepare_status(apps)
    assert len(calls) == 1 and calls[0][:2] == ["/bin/sh", "-c"]
    assert calls[0][4:] == ["app#1", str(folder / "a"), "app#2", str(folder / "b"), "app#3", str(folder / "c")]
    assert [a.status() for a in apps] == [("up", []), ("down", []), ("up", [])]
    assert len(calls) == 1
    assert sorted(seen.read_text().splitlines()) == ["status svc1 app#1", "status svc1 app#2", "status svc1 app#3"]
    (state / "b").touch()
    assert apps[1].status() == ("up", [])       # answered once: this status() ran its own check
    assert calls[1:] == [[str(folder / "b"), "status"]]


def test_script_form_batch_a_hung_check_only_fails_itself(node, folder, state):
    from drivers.app import App

    launcher(folder, "a", touch_script(state, "a"))
    launcher(folder, "hung", "sleep 30")
    (state / "a").touch()
    apps = [make_driver(node, "app", conf={"script": name, "check": 1, "timeout": 1}, rid=f"app#{i}")[0]
            for i, name in enumerate(("a", "hung"), 1)]
    start = time.monotonic()
    App.prepare_status(apps)
    assert time.monotonic() - start < 10
    assert [a.status() for a in apps] == [("up", []), ("warn", ["check reports errors (255)"])]


def test_script_form_batch_leaves_out_what_status_would_not_check(node, folder, state):
    """Gated, no check, no script, a subclass's own status: not batched (and one check alone runs on its own)."""
    from drivers.app import App

    launcher(folder, "a", touch_script(state, "a"))
    calls = []
    gated = counted(make_driver(node, "app", conf={"script": "a", "check": 1}, rid="app#1",
                                instance_avail="down")[0], calls)
    unchecked = counted(make_driver(node, "app", conf={"script": "a"}, rid="app#2")[0], calls)
    missing = counted(make_driver(node, "app", conf={"script": "nope", "check": 1}, rid="app#3")[0], calls)
    alone = counted(make_driver(node, "app", conf={"script": "a", "check": 1}, rid="app#4")[0], calls)
    App.prepare_status([gated, unchecked, missing, alone])
    assert calls == []
    assert alone.status() == ("down", []) and calls == [[str(folder / "a"), "status"]]
    assert gated.status() == ("n/a", ["not evaluated (instance not up)"])


def test_script_form_start_checks_run_in_one_batch_answering_each_start_once(node, folder, state):
    """Issue 19: App.prepare_start runs the checks the [app#N] starts begin with in one spawn; each start answers
    its check from it, once; a resource without start or check, or a lone one, is left to check for itself."""
    from drivers.app import App

    calls = []
    for name in "ab":
        launcher(folder, name, touch_script(state, name))
    (state / "a").touch()
    a, b = (counted(make_driver(node, "app", conf={"script": n, "check": i, "start": i}, rid=f"app#{i}")[0], calls)
            for i, n in enumerate("ab", 1))
    nostart = counted(make_driver(node, "app", conf={"script": "a", "check": 3}, rid="app#3")[0], calls)
    App.prepare_start([a, b, nostart])
    assert len(calls) == 1 and calls[0][4:] == ["app#1", str(folder / "a"), "app#2", str(folder / "b")]
    a.start()
    b.start()
    assert calls[1:] == [[str(folder / "b"), "start"]]       # a was up: no start; b down: started, no check
    assert not a.can_rollback and b.can_rollback
    (state / "b").unlink()
    b.start()                                                   # answered once: this start checked for itself
    assert calls[2:] == [[str(folder / "b"), "status"], [str(folder / "b"), "start"]]
