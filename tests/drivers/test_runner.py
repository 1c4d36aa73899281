"""The command runner: logging, masking, events, errors, timeouts that kill the process group."""

import os
import subprocess
import sys
import time

import pytest

from drivers.base import DriverError
from drivers.runner import CommandError, CommandTimeout, Runner, cmdline
from tests.helpers.drivers import LineLog
from tests.helpers.procs import alive
from tests.helpers.paths import REPO


@pytest.fixture
def runner():
    log, events = LineLog(), []
    r = Runner(log=log, sink=events.append)
    r.test_log, r.test_events = log, events
    return r


def test_success_logs_command_and_output_and_emits_event(runner):
    res = runner.run(["echo", "hello"])
    assert (res.rc, res.out, res.err) == (0, "hello\n", "")
    assert res.pid > 0 and res.duration >= 0
    assert runner.test_log.lines == [("INFO", "echo hello"), ("INFO", "output:\nhello")]
    [event] = runner.test_events
    assert event["kind"] == "command"
    p = event["payload"]
    assert p["argv"] == ["echo", "hello"] and p["rc"] == 0 and p["timeout"] is False
    assert p["out_tail"] == "hello\n" and p["err_tail"] == "" and p["pid"] == res.pid
    assert isinstance(p["duration"], float)


def test_secrets_are_masked_everywhere(runner):
    with pytest.raises(CommandError) as exc:
        runner.run(["sh", "-c", "echo user=admin pw=s3cr3t; echo bad s3cr3t >&2; exit 4"],
                   mask=["s3cr3t"])
    msg = str(exc.value)
    assert "s3cr3t" not in msg
    assert msg == "sh -c echo user=admin pw=XXXXXX; echo bad XXXXXX >&2; exit 4 failed (rc 4): bad XXXXXX"
    assert all("s3cr3t" not in m for _, m in runner.test_log.lines)
    assert ("ERROR", "command failed with stdout:\nuser=admin pw=XXXXXX") in runner.test_log.lines
    assert ("ERROR", "stderr:\nbad XXXXXX") in runner.test_log.lines
    p = runner.test_events[0]["payload"]
    assert "s3cr3t" not in repr(p) and p["rc"] == 4
    assert p["err_tail"] == "bad XXXXXX\n"


def test_nonzero_rc_without_check_returns_and_logs_at_info(runner):
    res = runner.run(["sh", "-c", "echo out; echo err >&2; exit 3"], check=False)
    assert res.rc == 3 and not res.ok
    assert runner.test_log.lines[1:] == [("INFO", "output:\nout"), ("INFO", "stderr:\nerr")]


def test_stderr_on_success_is_a_warning(runner):
    runner.run(["sh", "-c", "echo careful >&2"])
    assert runner.test_log.lines[-1] == ("WARNING", "command succesful but stderr:\ncareful")


def test_quiet_probe_neither_logs_nor_emits(runner):
    res = runner.run(["sh", "-c", "echo x; exit 1"], quiet=True, check=False)
    assert res.rc == 1 and res.out == "x\n"
    assert runner.test_log.lines == [] and runner.test_events == []


def test_missing_command_is_one_clear_error(runner):
    with pytest.raises(DriverError) as exc:
        runner.run(["osvc-no-such-tool", "-x"])
    assert str(exc.value) == "osvc-no-such-tool: command not found (install osvc-no-such-tool or check PATH)"


def test_timeout_kills_the_whole_process_group(runner, tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    # the grandchild ignores nothing special: it just outlives its parent's timeout
    script = f"sleep 300 & echo $! > {pidfile}; wait"
    with pytest.raises(CommandTimeout) as exc:
        runner.run(["sh", "-c", script], timeout=0.5)
    assert str(exc.value) == f"sh -c {script} timed out after 0.5 s (process group killed)"
    grandchild = int(pidfile.read_text())
    # killed with SIGKILL: gone (or a zombie about to be reaped by init) right away
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)
    p = runner.test_events[0]["payload"]
    assert p["timeout"] is True and p["rc"] == 128 + 9


def test_input_env_cwd(runner, tmp_path):
    assert runner.run(["cat"], input="abc").out == "abc"
    assert runner.run(["sh", "-c", "echo $OSVC_X"], env={"OSVC_X": "42"}).out == "42\n"
    assert runner.run(["pwd"], cwd=str(tmp_path)).out.strip() == str(tmp_path)
    # the rest of the environment is kept (never a bare dict)
    assert runner.run(["sh", "-c", "echo $PATH"]).out.strip() == os.environ["PATH"]


def test_stdin_is_devnull_by_default(runner):
    assert runner.run(["cat"], timeout=5).out == ""


def test_out_path_gives_daemons_a_file_not_a_pipe(runner, tmp_path):
    # A daemon left holding a pipe keeps sh waiting for EOF; with out_path it holds the log file.
    log, pidfile = tmp_path / "launcher.log", tmp_path / "daemon.pid"
    res = runner.run(["sh", "-c", f"echo started; sleep 30 & echo $! > {pidfile}; exit 0"],
                     out_path=log)
    daemon = int(pidfile.read_text())
    try:
        assert alive(daemon)
        assert os.readlink(f"/proc/{daemon}/fd/1") == str(log)
        assert os.readlink(f"/proc/{daemon}/fd/0") == "/dev/null"
    finally:
        os.kill(daemon, 9)
    assert res.out == "started\n" and log.read_text() == "started\n"
    assert ("INFO", "output:\nstarted") in runner.test_log.lines


def test_cmdline_masks():
    assert cmdline(["ovm", "-u", "admin", "-p", "pw"], mask=["pw"]) == "ovm -u admin -p XXXXXX"


def test_bad_arguments_are_refused(runner):
    with pytest.raises(DriverError, match="positive timeout"):
        runner.run(["true"], timeout=0)
    with pytest.raises(DriverError, match="empty command line"):
        runner.run([])


def test_sh_imports_without_importlib_metadata_and_leaves_the_real_one_usable():
    """A fresh process (as every CLI command is): sh gets its version from the stand-in, the real
    importlib.metadata was never loaded for it, and loads normally afterwards."""
    code = ("import sys\n"
            "from drivers.runner import Runner\n"
            "assert Runner().run(['true'], timeout=10).rc == 0\n"
            "loaded = 'importlib.metadata' in sys.modules or 'email.message' in sys.modules\n"
            "import sh, importlib.metadata as m\n"
            "print(loaded, sh.__version__ == m.version('sh'), type(m).__name__, m.PackageNotFoundError.__module__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(REPO)).stdout
    assert out.split() == ["False", "True", "module", "importlib.metadata"]


def test_timeouts_hold_in_a_forked_child_and_in_concurrent_commands(tmp_path):
    """The shared watchdog (drivers/runner.py _Watchdog): a forked child gets its own (its parent's thread is not
    there), and commands run from several threads each get their own deadline."""
    import os
    import threading

    from drivers.runner import CommandTimeout, Runner

    runner = Runner()
    runner.run(["/bin/true"])
    pid = os.fork()
    if pid == 0:   # pragma: no cover (the child)
        try:
            runner.run(["/bin/sleep", "5"], timeout=0.3)
        except CommandTimeout:
            os._exit(7)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7
    results = {}

    def one(name, argv, timeout):
        try:
            results[name] = runner.run(argv, timeout=timeout).rc
        except CommandTimeout:
            results[name] = "timeout"

    threads = [threading.Thread(target=one, args=("slow", ["/bin/sleep", "5"], 0.3)),
               threading.Thread(target=one, args=("quick", ["/bin/sleep", "0.5"], 30))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"slow": "timeout", "quick": 0}


def test_the_watchdog_thread_does_not_forbid_a_fork(monkeypatch):
    """The command watchdog outlives its commands, and a forked child resets it: a parallel subset and
    the verify helper may still fork beside it (core.forked.alone), never beside any other thread."""
    import threading

    from core import forked
    from drivers.runner import Runner

    Runner().run(["true"], timeout=30)
    watchdog = [t for t in threading.enumerate() if t.name == "osvc command watchdog"]
    assert len(watchdog) == 1 and getattr(watchdog[0], forked.FORK_SAFE)
    other = threading.Thread(target=lambda: None)
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread(), *watchdog])
    assert forked.alone()
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread(), *watchdog, other])
    assert not forked.alone()


def test_a_cancelled_timer_does_not_forbid_a_fork_a_running_one_does(monkeypatch):
    """sh's wait starts a 2 s threading.Timer and cancels it: still ending just after the command (a parallel
    subset right after the app starts' batched checks met it), it holds nothing a child would use."""
    import threading

    from core import forked

    cancelled, running = threading.Timer(2.0, lambda: None), threading.Timer(2.0, lambda: None)
    cancelled.cancel()
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread(), cancelled])
    assert forked.alone()
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread(), cancelled, running])
    assert not forked.alone()


def test_a_launcher_whose_interpreter_is_missing_is_a_driver_error_saying_so(tmp_path):
    """The exec fails in sh's child (sh.ForkException, not an OSError): one DriverError naming the interpreter;
    a file that is no program at all: the system's words."""
    from drivers.base import DriverError
    from drivers.runner import Runner

    bad = tmp_path / "bad"
    bad.write_text("#!/no/such/interpreter\necho hi\n")
    bad.chmod(0o755)
    with pytest.raises(DriverError) as exc:
        Runner().run([str(bad), "start"], timeout=10)
    assert str(exc.value) == (f"{bad}: cannot execute: its interpreter /no/such/interpreter is not there "
                              f"(No such file or directory)")
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x7fELF not really\n")
    junk.chmod(0o755)
    with pytest.raises(DriverError) as exc:
        Runner().run([str(junk)], timeout=10)
    assert str(exc.value) == f"{junk}: cannot execute: Exec format error"


def test_a_ctrl_c_that_lands_in_an_at_fork_hook_is_raised_after_the_spawn():
    """A SIGINT handled while the parent runs its at-fork hooks raised a KeyboardInterrupt Python drops there ("Exception
    ignored in"): the action went on (test_ctrl_c_during_a_start_ends_the_action_as_failed failed so on a loaded box).
    A hook here makes that moment certain; the run must end in KeyboardInterrupt, once, and the next run works."""
    from tests.helpers.child import SIGINT_IN_FIRST_FORK, python_out

    code = (SIGINT_IN_FIRST_FORK +
            "from drivers.runner import Runner\n"
            "try:\n"
            "    Runner().run(['true'], timeout=30)\n"
            "    print('went on')\n"
            "except KeyboardInterrupt:\n"
            "    print('interrupted')\n"
            "print(Runner().run(['echo', 'again'], timeout=30).out.strip())\n")
    assert python_out(code).split() == ["interrupted", "again"]
