"""Issue 17, driver side: tolerated rcs journaled (item 15), `--` before operands and a start checked after
acting (item 5), no unmount/fuser -k of a system mount point at stop (item 6)."""

import os
import subprocess

import pytest

from core.node import Node
from drivers.base import DriverError
from drivers.runner import CommandError, Runner
from tests.helpers.drivers import make_driver
from tests.helpers.netns import run_ip_driver


@pytest.fixture
def events():
    return []


def test_the_runner_journals_whether_a_nonzero_rc_was_tolerated(events):
    runner = Runner(sink=events.append)
    runner.run(["sh", "-c", "exit 1"], check=False)
    with pytest.raises(CommandError):
        runner.run(["sh", "-c", "exit 2"])
    runner.run(["true"])
    tolerated, failed, ok = (e["payload"] for e in events)
    assert tolerated["rc"] == 1 and tolerated["tolerated"] is True
    assert failed["rc"] == 2 and failed["tolerated"] is False
    assert "tolerated" not in ok or ok["tolerated"] is False


# --- item 5: `--` before operands, and a start checked after acting ------------------------------------------

def stub_commands(tmp_path, monkeypatch, body, *names):
    """Commands `names` on PATH first, each running `body` (sh), recording its argv in calls.txt."""
    folder = tmp_path / "stubs"
    folder.mkdir(exist_ok=True)
    calls = tmp_path / "calls.txt"
    for name in names:
        stub = folder / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n{body}\n')
        stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return calls


def findmnt_source(mnt):
    res = subprocess.run(["findmnt", "-n", "-o", "SOURCE", "--mountpoint", str(mnt)], capture_output=True, text=True, check=False)
    return res.stdout.strip() if res.returncode == 0 else None


@pytest.mark.root
def test_a_dev_beginning_with_a_dash_is_a_mount_source_not_an_option(tmp_path):
    """`dev = --help` once printed mount's usage (rc 0) and the start said up: with `--` it is the source."""
    node = Node(tmp_path / "root", "node1")
    mnt = tmp_path / "m"
    fs, _, events = make_driver(node, "fs", "tmpfs", {"dev": "--help", "mnt": str(mnt), "type": "tmpfs"})
    try:
        fs.start()
        assert events[-1]["payload"]["argv"] == ["mount", "-t", "tmpfs", "--", "--help", str(mnt)]
        assert findmnt_source(mnt) == "--help"
    finally:
        subprocess.run(["umount", "--", str(mnt)], capture_output=True, check=False)


def test_a_mount_that_exits_0_without_mounting_fails_the_start(tmp_path, monkeypatch):
    node = Node(tmp_path / "root", "node1")
    stub_commands(tmp_path, monkeypatch, "exit 0", "mount")      # like `mount --help`: rc 0, nothing mounted
    mnt = tmp_path / "m"
    fs, _, _ = make_driver(node, "fs", "tmpfs", {"dev": "tmpfs", "mnt": str(mnt), "type": "tmpfs"})
    with pytest.raises(DriverError, match=f"mount exited 0 but {mnt} is not mounted from tmpfs"):
        fs.start()
    assert fs.can_rollback is False


@pytest.mark.root
def test_an_ip_add_that_exits_0_without_plumbing_fails_the_start(netns, osvc_root, tmp_path, monkeypatch):
    real_ip = subprocess.run(["sh", "-c", "command -v ip"], capture_output=True, text=True, check=False).stdout.strip()
    folder = tmp_path / "stubs"
    folder.mkdir()
    (folder / "ip").write_text(f'#!/bin/sh\n[ "$1 $2" = "addr add" ] && exit 0\nexec {real_ip} "$@"\n')
    (folder / "ip").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    [start] = run_ip_driver(netns, osvc_root, {"ipname": "10.42.0.10", "ipdev": "eth0", "netmask": "24"},
                            ["start"])
    assert not start["ok"]
    assert "ip addr add exited 0 but 10.42.0.10 is not on eth0" in start["error"]
    assert start["can_rollback"] is False


# --- item 6 at stop time: never umount or fuser -k a system mount point -------------------------------------
@pytest.mark.parametrize("mnt", ["/", "/usr/", "/proc"])
def test_stop_refuses_a_system_mount_point_and_runs_nothing(tmp_path, monkeypatch, mnt):
    node = Node(tmp_path / "root", "node1")
    calls = stub_commands(tmp_path, monkeypatch, "exit 0", "umount", "fuser")   # a safety net: never the real ones
    source = findmnt_source(mnt) or "none"
    fs, _, events = make_driver(node, "fs", "ext4", {"dev": source, "mnt": mnt, "type": "ext4"})
    with pytest.raises(DriverError, match="is a system mount point"):
        fs.stop()
    assert events == [] and not calls.exists()
