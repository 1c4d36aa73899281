"""The service lock: flock between real processes, holder pid and intent in the timeout message."""

import json
import os
import signal
import subprocess
import sys

import pytest

from core.errors import LockTimeout
from core.lock import ServiceLock, holder

# A second process that takes the lock, says so, and holds it until killed or told to go.
HOLDER = """
import sys
from core.lock import ServiceLock
with ServiceLock({path!r}, {intent!r}, timeout=0):
    print("locked", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


@pytest.fixture
def other_process():
    procs = []

    def start(path, intent):
        p = subprocess.Popen([sys.executable, "-c", HOLDER.format(path=str(path), intent=intent)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline().strip() == "locked"
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_lock_records_the_holder_and_creates_the_parent(tmp_path):
    path = tmp_path / "var" / "lock" / "web1"
    with ServiceLock(path, "start", timeout=0):
        assert holder(path) == {"pid": os.getpid(), "intent": "start"}
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert holder(path) is None, "a clean release clears the holder"
    assert path.exists(), "the lock file stays (removing a flocked file races)"


def test_second_process_times_out_with_holder_pid_and_intent(tmp_path, other_process):
    path = tmp_path / "lock" / "web1"
    p = other_process(path, "start")
    with pytest.raises(LockTimeout) as err:
        with ServiceLock(path, "stop", timeout=0.2, delay=0.05):
            pytest.fail("took a lock another process holds")
    msg = str(err.value)
    assert msg.startswith(f"timed out waiting for lock (timeout 0.2, delay 0.05, action stop, lockfile {path}): "
                          f"holder pid {p.pid}, holder intent 'start'. ")
    assert f"ps -p {p.pid}" in msg and "--waitlock" in msg
    assert err.value.exit_code == 5
    # the holder lets go: the lock is free again
    p.stdin.write("\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "released"
    p.wait()
    with ServiceLock(path, "stop", timeout=0):
        assert holder(path)["intent"] == "stop"


def test_zero_timeout_is_one_try_with_the_reference_text(tmp_path, other_process):
    path = tmp_path / "web1"
    p = other_process(path, "migrate")
    with pytest.raises(LockTimeout, match=rf"\(timeout 0, delay 1, action start, lockfile {path}\): "
                                          rf"holder pid {p.pid}, holder intent 'migrate'"):
        ServiceLock(path, "start", timeout=0).acquire()


def test_lock_is_released_when_the_holder_dies(tmp_path, other_process):
    path = tmp_path / "web1"
    p = other_process(path, "start")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert holder(path) == {"pid": p.pid, "intent": "start"}, "a dead holder leaves its record..."
    with ServiceLock(path, "recover", timeout=0):        # ...but not its lock
        assert holder(path) == {"pid": os.getpid(), "intent": "recover"}


def test_reentrant_within_the_process(tmp_path, other_process):
    path = tmp_path / "web1"
    outer = ServiceLock(path, "restart", timeout=0)
    with outer:
        with ServiceLock(path, "stop", timeout=0):          # nested: a no-op, the outer intent stays
            assert holder(path) == {"pid": os.getpid(), "intent": "restart"}
        with outer:                                          # the same object entered twice
            pass
        assert holder(path)["intent"] == "restart", "inner exits keep the lock"
        probe = subprocess.run([sys.executable, "-c", HOLDER.format(path=str(path), intent="x")],
                               input="\n", capture_output=True, text=True)
        assert probe.returncode != 0 and "holder intent 'restart'" in probe.stderr
    other_process(path, "start")                             # released after the outer exit


def test_lock_fd_is_not_inherited(tmp_path):
    path = tmp_path / "web1"
    with ServiceLock(path, "start", timeout=0):
        # a command run during the action must not keep the lock alive after we release it
        fds = subprocess.run(["ls", "-l", "/proc/self/fd"], capture_output=True, text=True).stdout
        assert str(path) not in fds


def test_unwritable_lock_dir_is_a_clear_error(tmp_path):
    from core.errors import OsvcError

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OsvcError, match=f"can not create lock file {blocker}/lock/web1"):
        ServiceLock(blocker / "lock" / "web1", "start", timeout=0).acquire()


def test_holder_of_garbage_or_missing_file(tmp_path):
    assert holder(tmp_path / "none") is None
    (tmp_path / "bad").write_text("not json")
    assert holder(tmp_path / "bad") is None
    (tmp_path / "ok").write_text(json.dumps({"pid": 42, "intent": "stop"}))
    assert holder(tmp_path / "ok") == {"pid": 42, "intent": "stop"}
