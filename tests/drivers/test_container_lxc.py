"""container.lxc against REAL LXC: busybox containers in a temporary lxcpath, networked on a bridge
inside a network namespace the test makes, driven through the real CLI run in that namespace (LXC's
command socket is scoped to the network namespace lxc-start ran in, so every lxc-* call runs there).

The guest: the busybox template, its rcS without udhcpc (the guest's address is static:
`lxc.net.0.ipv4.address`), plus a /bin/systemctl standing in for systemd's, which records each call
in the guest's /tmp and says `activating` once, then `active` -- so the operational check is seen
running inside the guest, through lxc-attach, and polling.

Unit tests of the command lines, parsers and status hooks (no container started) come last.
"""

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import journal_rows, osvc, transitions
from tests.helpers.container_scenarios import START_PHASES, STOP_PHASES
from tests.helpers.drivers import make_driver

SVC = "lxcsvc"
TEMPLATE = "/usr/share/lxc/templates/lxc-busybox"

SYSTEMCTL = """#!/bin/sh
# systemd's stand-in: 'activating' on the first call, 'active' after; every call recorded
echo "$*" >> /tmp/systemctl.calls
if [ "$(wc -l < /tmp/systemctl.calls)" -le 1 ]; then echo activating; exit 3; fi
echo active
"""


def lxc_missing() -> str | None:
    for tool in ("lxc-create", "lxc-start", "lxc-stop", "lxc-info", "lxc-attach", "lxc-destroy", "busybox"):
        if not shutil.which(tool):
            return f"{tool} is not installed (apt-get install lxc busybox-static)"
    if not os.path.exists(TEMPLATE):
        return f"the LXC busybox template {TEMPLATE} is not installed (apt-get install lxc)"
    return None


def run(*argv, ns=None, check=True):
    wrap = ["ip", "netns", "exec", ns] if ns else []
    return subprocess.run([*wrap, *argv], capture_output=True, text=True, check=check, timeout=120)


@pytest.fixture(scope="module")
def lxc_can_start(tmp_path_factory):
    """Try once: create a busybox container and start it. Skip the module only if that fails."""
    missing = lxc_missing()
    if missing:
        pytest.skip(missing)
    path, name = tmp_path_factory.mktemp("lxcprobe"), f"probe{secrets.token_hex(3)}"
    made = run("lxc-create", "-P", str(path), "-t", "busybox", "-n", name, check=False)
    if made.returncode != 0:
        pytest.skip(f"lxc-create -t busybox fails here: {made.stderr.strip()[-300:]}")
    cfg = path / name / "config"
    cfg.write_text("\n".join(line for line in cfg.read_text().splitlines() if not line.startswith("lxc.net."))
                   + "\nlxc.net.0.type = empty\n")
    started = run("lxc-start", "-d", "-P", str(path), "-n", name, "-o", str(path / "start.log"), check=False)
    run("lxc-stop", "-k", "-P", str(path), "-n", name, check=False)
    run("lxc-destroy", "-P", str(path), "-n", name, check=False)
    if started.returncode != 0:
        log = (path / "start.log").read_text()[-600:] if (path / "start.log").exists() else ""
        pytest.skip(f"lxc-start can not start containers here: {started.stderr.strip()} {log}")


class Guest:
    """One busybox container, its network namespace and a node root whose service drives it."""

    def __init__(self, tmp_path):
        token = secrets.token_hex(3)
        self.name = f"osvc{token}"          # not resolvable: with lxc-attach nothing resolves it
        self.veth = f"vl{token}"            # the host end of the container's veth (<= 15 chars)
        self.ns = f"osvcl{token}"
        self.net = f"10.{secrets.randbelow(200) + 20}.{secrets.randbelow(250) + 1}"
        self.addr = f"{self.net}.2"
        self.lxcpath = tmp_path / "lxc"
        self.root = tmp_path / "node1"
        self.rootfs = self.lxcpath / self.name / "rootfs"

    # --- set up / tear down ---------------------------------------------------------------------
    def create(self):
        run("ip", "netns", "add", self.ns)
        for args in (("link", "set", "lo", "up"), ("link", "add", "br0", "type", "bridge"),
                     ("addr", "add", f"{self.net}.1/24", "dev", "br0"), ("link", "set", "br0", "up")):
            run("ip", "-n", self.ns, *args)
        self.lxcpath.mkdir()
        run("lxc-create", "-P", str(self.lxcpath), "-t", "busybox", "-n", self.name)
        cfg = self.lxcpath / self.name / "config"
        lines = [line for line in cfg.read_text().splitlines() if not line.startswith("lxc.net.")]
        lines += ["lxc.net.0.type = veth", "lxc.net.0.link = br0", "lxc.net.0.flags = up",
                  "lxc.net.0.name = eth0", f"lxc.net.0.veth.pair = {self.veth}",
                  f"lxc.net.0.ipv4.address = {self.addr}/24"]
        cfg.write_text("\n".join(lines) + "\n")
        rcs = self.rootfs / "etc" / "init.d" / "rcS"     # static address: no udhcpc (it would flush it)
        rcs.write_text("".join(line for line in rcs.read_text().splitlines(True) if "udhcpc" not in line))
        systemctl = self.rootfs / "bin" / "systemctl"
        systemctl.write_text(SYSTEMCTL)
        systemctl.chmod(0o755)
        for sub in ("etc", "var", "log"):
            (self.root / sub).mkdir(parents=True)
        (self.root / "etc" / "node.conf").write_text(
            f"[container]\npoll_interval = 0.2\n\n[paths]\nlxc = {self.lxcpath}\n")

    def destroy(self):
        run("lxc-stop", "-k", "-P", str(self.lxcpath), "-n", self.name, ns=self.ns, check=False)
        run("lxc-destroy", "-P", str(self.lxcpath), "-n", self.name, check=False)
        run("ip", "netns", "del", self.ns, check=False)
        for action in ("start", "stop"):          # the driver's lxc-start/lxc-stop logs
            Path(f"/var/tmp/svc_{self.name}_lxc_{action}.log").unlink(missing_ok=True)

    # --- helpers --------------------------------------------------------------------------------
    def service(self, extra=""):
        (self.root / "etc" / f"{SVC}.env").write_text(f"""\
[DEFAULT]
nodes = node1

[container#1]
type = lxc
name = {self.name}
start_timeout = 30
stop_timeout = 30

[ip#1]
ipname = {self.addr}
ipdev = eth0
""" + extra)

    def osvc(self, *args):
        # ip netns exec, not nsenter --net: it also mounts the namespace's /sys, where lxc-start looks
        # for the bridge
        return osvc(self.root, "-s", SVC, *args, wrap=("ip", "netns", "exec", self.ns))

    def state(self) -> str:
        out = run("lxc-info", "-P", str(self.lxcpath), "-n", self.name, "-s", ns=self.ns, check=False).stdout
        return out.split()[-1] if out.split() else ""

    def lxc_start(self):
        run("lxc-start", "-d", "-P", str(self.lxcpath), "-n", self.name, ns=self.ns)

    def status_lines(self) -> dict:
        out = self.osvc("print", "status", "--refresh").stdout
        found = {}
        for line in out.splitlines():
            words = line.replace("|", " ").replace("'", " ").split()
            if len(words) > 1 and words[1].endswith("#1"):
                found[words[1]] = line
        return found

    def phases(self, rid="container#1"):
        return [(e, s, d) for r, e, s, d in transitions(self.root, SVC) if r == rid]

    def commands(self, rid):
        return [" ".join(r["payload"]["argv"]) for r in journal_rows(self.root, svc=SVC, kind="command")
                if r["rid"] == rid]

    def systemctl_calls(self) -> list:
        calls = self.rootfs / "tmp" / "systemctl.calls"
        return calls.read_text().splitlines() if calls.exists() else []


@pytest.fixture
def guest(lxc_can_start, tmp_path):
    g = Guest(tmp_path)
    try:
        g.create()
        yield g
    finally:
        g.destroy()


def ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


# --- real LXC through the CLI -------------------------------------------------------------------------
@pytest.mark.root
def test_lxc_start_status_stop(guest):
    guest.service()
    lines = guest.status_lines()
    assert " down " in lines["container#1"] and " down " in lines["ip#1"]

    out = ok(guest.osvc("start")).stdout
    start_log = f"/var/tmp/svc_{guest.name}_lxc_start.log"
    assert f"lxc-start -d -n {guest.name} -o {start_log} -P {guest.lxcpath}\n" in out
    assert f" - ret 0 - logs in {start_log}\n" in out and "start done in 0:00:" in out
    assert "wait for container up status\n" in out
    assert "wait for container operational\n" in out
    # the ip starts before the container: the guest plumbs it, the host does nothing
    assert (f"{guest.addr} on eth0 is plumbed by the guest of container {guest.name}: nothing to do on "
            f"the host\n") in out
    assert guest.phases() == START_PHASES
    # wait-ping is journaled but skipped: with lxc-attach the container's name is neither resolved
    # (it resolves nowhere here, yet the start passed) nor pinged
    assert "wait for container ping" not in out
    # operational ran inside the guest through lxc-attach, and polled until systemd said active
    assert guest.systemctl_calls() == ["is-active default.target"] * 2
    assert guest.state() == "RUNNING"
    assert guest.commands("container#1") == [f"lxc-start -d -n {guest.name} -o {start_log} -P {guest.lxcpath}"]

    # status: the container up (lxc-info), the ip up: pings, and lxc-attach shows it on eth0 in the guest
    lines = guest.status_lines()
    assert lines["container#1"].split()[-2:] == ["up", guest.name]
    assert lines["ip#1"].split()[-2:] == ["up", f"{guest.addr}@eth0"]

    out = ok(guest.osvc("stop")).stdout
    stop_log = f"/var/tmp/svc_{guest.name}_lxc_stop.log"
    assert f"lxc-stop -n {guest.name} -o {stop_log} -P {guest.lxcpath}\n" in out
    assert f" - ret 0 - logs in {stop_log}\n" in out
    assert "wait for container down status\n" in out
    assert f"{guest.addr} on eth0 is left to the guest of container {guest.name}: nothing to stop on the host\n" \
        in out
    assert guest.phases() == START_PHASES + STOP_PHASES
    assert guest.state() == "STOPPED"
    # the kernel removed the veth with the container's namespace: nothing left to delete
    assert run("ip", "-n", guest.ns, "link", "show", "dev", guest.veth, check=False).returncode != 0
    assert not any(c.startswith("ip link del") for c in guest.commands("container#1"))
    lines = guest.status_lines()
    assert " down " in lines["container#1"] and " down " in lines["ip#1"]


@pytest.mark.root
def test_lxc_failed_start_rolls_back(guest):
    (guest.rootfs / "bin" / "systemctl").unlink()     # not a systemd guest: operational after `pwd`
    guest.service("\n[app#1]\nscript = /bin/false\nstart = 10\n")
    res = guest.osvc("start")
    assert res.returncode != 0
    assert "wait for container operational\n" in res.stdout and guest.systemctl_calls() == []
    assert guest.phases() == START_PHASES + STOP_PHASES       # the rollback stopped what the start booted
    service = [(e, d) for rid, e, s, d in transitions(guest.root, SVC) if rid == ""]
    assert ("rollback", "rolling-back") in service and ("rolled_back", "start-failed") in service
    assert guest.state() == "STOPPED"
    assert "trying to rollback start on container#1" in res.stdout


@pytest.mark.root
def test_lxc_already_started_is_a_noop(guest):
    guest.lxc_start()                          # started by hand, before the service
    guest.service()
    out = ok(guest.osvc("start")).stdout
    assert f"container {guest.name} already started\n" in out
    assert not any(c.startswith("lxc-start") for c in guest.commands("container#1"))
    # the container runs: the ip's start checks the address in the guest, through lxc-attach
    attach = f"lxc-attach -n {guest.name} -P {guest.lxcpath} -- ip -o addr show dev eth0"
    assert attach in guest.commands("ip#1")
    assert f"{guest.addr} is up on eth0 in container {guest.name}\n" in out
    assert guest.state() == "RUNNING"
    lines = guest.status_lines()
    assert " up " in lines["container#1"] and " up " in lines["ip#1"]


@pytest.mark.root
def test_lxc_address_missing_in_guest_fails_the_ip_start(guest):
    guest.lxc_start()
    guest.service()
    env = guest.root / "etc" / f"{SVC}.env"
    env.write_text(env.read_text().replace(f"ipname = {guest.addr}", f"ipname = {guest.net}.3"))
    res = guest.osvc("start")
    assert res.returncode != 0
    assert (f"{guest.net}.3 is not on eth0 in container {guest.name}: the guest plumbs its addresses, check "
            f"its network configuration") in res.stdout + res.stderr
    assert guest.phases("ip#1") == [("start", "down", "starting"), ("start_failed", "starting", "start-failed")]
    assert guest.state() == "RUNNING"          # the ip changed nothing: nothing to roll back


# --- unit tests: command lines, parsers, status hooks (no container started) ---------------------------
def lxc_driver(node, conf=None, lxcpath=None):
    if lxcpath is not None:
        (node.root / "etc" / "node.conf").write_text(f"[paths]\nlxc = {lxcpath}\n")
    return make_driver(node, "container", "lxc", {"name": "c1", **(conf or {})}, rid="container#1")


def test_lxc_parse_info():
    from drivers.container_lxc import parse_info

    text = ("Name:           c1\nState:          RUNNING\nPID:            26869\nLink:           vethc1\n"
            " TX bytes:      432 bytes\nLink:           vethc2\n")
    info = parse_info(text)
    assert info["State"] == ["RUNNING"] and info["Link"] == ["vethc1", "vethc2"]


def test_lxc_up_test_and_lxcpath_args(node, tmp_path):
    from drivers.runner import Result

    drv, _, _ = lxc_driver(node)
    assert drv.up_argv() == ["lxc-info", "--name", "c1"]          # LXC's default lxcpath: no -P
    drv, _, _ = lxc_driver(node, lxcpath=tmp_path / "lxc")
    assert drv.up_argv() == ["lxc-info", "--name", "c1", "-P", str(tmp_path / "lxc")]
    assert drv.parse_up(Result([], 0, "Name: c1\nState:          RUNNING\n"))
    assert not drv.parse_up(Result([], 0, "Name: c1\nState:          STOPPED\n"))
    assert not drv.parse_up(Result([], 1, "", "c1 doesn't exist"))


@pytest.mark.skipif(not shutil.which("lxc-attach"), reason="lxc-attach is not installed (apt-get install lxc)")
def test_lxc_runmethod(node, tmp_path):
    drv, _, _ = lxc_driver(node, lxcpath=tmp_path / "lxc")
    assert drv.runmethod() == ["lxc-attach", "-n", "c1", "-P", str(tmp_path / "lxc"), "--"]
    assert drv.pings is False and drv.addr is None
    drv, _, _ = lxc_driver(node, {"rcmd": ["lxc-attach", "-e", "-n", "c1", "--"]})
    assert drv.runmethod() == ["lxc-attach", "-e", "-n", "c1", "--"]
    assert drv.pings is True                    # not lxc-attach's own runmethod: ping as usual


def test_lxc_files_to_sync_and_manual_boot(node, tmp_path):
    drv, _, _ = lxc_driver(node, lxcpath=tmp_path / "lxc")
    assert drv.files_to_sync() == []
    cfg = tmp_path / "lxc" / "c1" / "config"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("lxc.uts.name = c1\n# lxc.start.auto = 1\n")
    assert drv.files_to_sync() == [str(cfg)]
    assert drv.check_manual_boot()
    cfg.write_text("lxc.uts.name = c1\nlxc.start.auto = 1\n")
    assert not drv.check_manual_boot()
    other = tmp_path / "elsewhere.conf"
    other.write_text("lxc.uts.name = c1\n")
    drv, _, _ = lxc_driver(node, {"cf": str(other)}, lxcpath=tmp_path / "lxc")
    assert drv.files_to_sync() == [str(other)] and drv.check_manual_boot()


def test_lxc_force_stop_is_refused(node):
    from drivers.base import DriverError

    drv, log, _ = lxc_driver(node)
    with pytest.raises(DriverError, match="no forced stop method"):
        drv.force_stop()
    assert log.messages("WARNING") == ["Waited too long for shutdown"]


def test_lxc_status_without_lxc_tools(node, monkeypatch, tmp_path):
    drv, _, _ = lxc_driver(node, lxcpath=tmp_path / "lxc")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert drv.status() == ("warn", ["insufficient node capabilities"])


def test_lxc_missing_cf_fails_the_start_before_any_command(node, tmp_path):
    from drivers.base import DriverError

    drv, _, events = lxc_driver(node, {"cf": str(tmp_path / "nope.conf")}, lxcpath=tmp_path / "lxc")
    with pytest.raises(DriverError, match=r"nope.conf not found \(check the cf keyword of container#1\)"):
        drv.container_start()
    assert events == []


@pytest.mark.root
@pytest.mark.skipif(not shutil.which("lxc-info"), reason="lxc-info is not installed (apt-get install lxc)")
def test_lxc_leftover_veth_is_deleted_after_stop(node, tmp_path):
    """A veth LXC left behind (noted from lxc-info before the stop) is deleted once the container is down."""
    drv, log, events = lxc_driver(node, lxcpath=tmp_path / "lxc")
    left = f"vl{secrets.token_hex(3)}"
    run("ip", "link", "add", left, "type", "veth", "peer", "name", f"{left}p")
    try:
        drv._links = [left, "vlnothere0"]       # what lxc-info listed while the container ran
        drv.wait_down()                         # c1 does not exist under this lxcpath: down at once
        assert [" ".join(e["payload"]["argv"]) for e in events] == [f"ip link del dev {left}"]
        assert log.messages("INFO") == ["wait for container down status", f"ip link del dev {left}"]
        assert run("ip", "link", "show", "dev", left, check=False).returncode != 0
    finally:
        run("ip", "link", "del", "dev", left, check=False)


@pytest.mark.root
@pytest.mark.skipif(lxc_missing() is not None, reason=str(lxc_missing()))
def test_lxc_start_of_an_unknown_container_logs_its_failure(node, tmp_path):
    from drivers.base import DriverError

    drv, log, events = lxc_driver(node, {"name": f"nope{secrets.token_hex(3)}"}, lxcpath=tmp_path / "lxc")
    logf = f"/var/tmp/svc_{drv.name}_lxc_start.log"
    try:
        with pytest.raises(DriverError, match=f"^lxc-start {drv.name} failed \\(rc 1\\): see {logf}$"):
            drv.container_start()
    finally:
        Path(logf).unlink(missing_ok=True)
    assert [e["payload"]["argv"] for e in events] == [
        ["lxc-start", "-d", "-n", drv.name, "-o", logf, "-P", str(tmp_path / "lxc")]]
    errors = log.messages("ERROR")
    assert errors[-1].startswith("start done in 0:00:") and errors[-1].endswith(f" - ret 1 - logs in {logf}")
