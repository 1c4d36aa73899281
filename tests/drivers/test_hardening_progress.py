"""Issue 17 item 20: a long wait (a VM boot or shutdown, a loop device's detach) shows a progress line on a
terminal's stderr every few seconds, and nothing anywhere else (no log line, nothing for a script's stderr)."""

import os
import pty

import pytest

from core import progress
from drivers.base import StopTimeout
from tests.drivers.test_containers_xen import driver, write_kvm_xml
from tests.helpers.sim import FakeClock


def hung_shutdown(simnode, sim, timeout):
    """A kvm guest whose shutdown never ends: its wait_down polls (every 1 s of a fake clock) until `timeout`.
    The guest's down test answers 'not yet' without spawning the simulator's virsh at each poll (a second
    each here): what is tested is the waiting loop."""
    write_kvm_xml(sim, "vm1")
    clock = FakeClock()
    drv, log, _ = driver(simnode, "kvm", {"name": "vm1", "stop_timeout": timeout}, clock=clock)
    drv.is_down = lambda: False
    return drv, log


def test_a_long_wait_says_so_every_five_seconds_on_a_terminal(simnode, sim, capsys, monkeypatch):
    monkeypatch.setenv(progress.PROGRESS_ENV, "1")        # as on a terminal
    drv, log = hung_shutdown(simnode, sim, 12)
    with pytest.raises(StopTimeout):
        drv.wait_down()
    assert capsys.readouterr().err.splitlines() == [
        f"still waiting for container down status ({n}s/12s)" for n in (5, 10)]
    assert not any("still waiting" in m for m in log.messages())      # not a log line


def test_nothing_when_stderr_is_not_a_terminal(simnode, sim, capsys, monkeypatch):
    monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    drv, _ = hung_shutdown(simnode, sim, 6)
    with pytest.raises(StopTimeout):
        drv.wait_down()
    assert capsys.readouterr().err == ""


def test_a_terminal_is_what_turns_it_on(monkeypatch):
    monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    leader, follower = pty.openpty()
    try:
        with os.fdopen(os.dup(follower), "w") as tty, open(os.devnull, "w") as plain:
            assert progress.enabled(tty) and not progress.enabled(plain)
            monkeypatch.setenv(progress.PROGRESS_ENV, "0")
            assert not progress.enabled(tty)
    finally:
        os.close(leader)
        os.close(follower)
