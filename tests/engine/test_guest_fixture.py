"""The LXC guest fixture (tests/helpers/guest.py) does what the encapsulation tests need: the guest runs
this osvc-engine under its own root and journal, and the host engine's lxc driver starts and stops the
container."""

import json
import subprocess

import pytest

from tests.helpers.cli import journal_rows, osvc

pytestmark = pytest.mark.root

WEB = """#!/bin/sh
# a guest application: its pid file in the guest's /tmp says it runs
case "$1" in
start) echo started > /tmp/web.up ;;
stop) rm -f /tmp/web.up ;;
status) test -f /tmp/web.up ;;
esac
"""


def ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


def test_guest_engine_runs_its_own_service(lxc_guest):
    print(f"\nlxc guest setup (netns, lxc-create, config): {lxc_guest.setup_seconds:.2f} s")
    lxc_guest.start()
    script = "/var/lib/osvc-engine/etc/gsvc.d/web"
    lxc_guest.write(script, WEB, mode=0o755)
    (lxc_guest.root_on_host / "etc" / "gsvc.env").write_text(
        f"[DEFAULT]\nnodes = {lxc_guest.name}\n\n[app#1]\nscript = {script}\nstart = 10\nstop = 90\ncheck = 10\n")

    doc = json.loads(ok(lxc_guest.engine("-s", "gsvc", "print", "status", "--format", "json")).stdout)
    # the guest engine's node name is the container's hostname, its root the guest's default one
    assert (doc["svcname"], doc["nodename"]) == ("gsvc", lxc_guest.name)
    assert doc["resources"]["app#1"]["status"] == "down"

    out = ok(lxc_guest.engine("-s", "gsvc", "start")).stdout
    assert f"{script} start\n" in out
    assert (lxc_guest.rootfs / "tmp" / "web.up").read_text() == "started\n"     # the launcher ran in the guest
    doc = json.loads(ok(lxc_guest.engine("-s", "gsvc", "print", "status", "--format", "json")).stdout)
    assert doc["resources"]["app#1"]["status"] == "up"

    # the guest's journal, in its rootfs: the start's command record, and a whole hash chain
    commands = [r["payload"]["argv"] for r in lxc_guest.journal_rows(svc="gsvc", kind="command")]
    assert [script, "start"] in commands
    verify = ok(osvc(lxc_guest.root_on_host, "journal", "verify", node=lxc_guest.name))
    assert "chain intact" in verify.stdout


def test_host_engine_starts_and_stops_the_container(lxc_guest, tmp_path):
    hv1 = lxc_guest.host_root(tmp_path / "hv1")
    (hv1 / "etc" / "vmsvc.env").write_text("[DEFAULT]\nnodes = hv1\n\n" + lxc_guest.container_section())
    assert lxc_guest.state() == "STOPPED"

    out = ok(lxc_guest.host_osvc(hv1, "-s", "vmsvc", "start")).stdout
    start_log = f"/var/tmp/svc_{lxc_guest.name}_lxc_start.log"
    assert f"lxc-start -d -n {lxc_guest.name} -o {start_log} -P {lxc_guest.lxcpath}\n" in out
    assert lxc_guest.state() == "RUNNING"
    # the container is up and joinable: the driver's own runmethod, and the fixture's attach
    pwd = ok(osvc(hv1, "-s", "vmsvc", "print", "status", "--format", "json",
                  wrap=("ip", "netns", "exec", lxc_guest.ns), node="hv1"))
    assert json.loads(pwd.stdout)["resources"]["container#1"]["status"] == "up"
    assert ok(lxc_guest.attach(["pwd"])).stdout.strip() == "/"
    commands = [" ".join(r["payload"]["argv"]) for r in journal_rows(hv1, svc="vmsvc", kind="command")]
    assert f"lxc-attach -n {lxc_guest.name} -P {lxc_guest.lxcpath} -- pwd" not in commands   # a quiet probe

    out = ok(lxc_guest.host_osvc(hv1, "-s", "vmsvc", "stop")).stdout
    assert f"lxc-stop -n {lxc_guest.name} -o /var/tmp/svc_{lxc_guest.name}_lxc_stop.log -P {lxc_guest.lxcpath}\n" \
        in out
    assert lxc_guest.state() == "STOPPED"
    assert lxc_guest.attach(["pwd"]).returncode != 0


def test_guests_share_a_node_namespace_and_a_bridge(netns, tmp_path):
    """Two guests of one hypervisor "node" (its network namespace, kept after them), on veths to the
    namespace's bridge with static addresses: the node reaches each, the guests reach each other."""
    from tests.helpers.guest import LxcGuest, lxc_missing

    if lxc_missing():
        pytest.skip(lxc_missing())
    guests = [LxcGuest(tmp_path / "a", ns=netns, addr="10.77.0.2"), LxcGuest(tmp_path / "b", ns=netns,
                                                                             addr="10.77.0.3")]
    try:
        for guest in guests:
            guest.create()
            guest.start()
        a, b = guests
        assert "inet 10.77.0.2/24" in ok(a.attach(["ip", "-o", "addr", "show", "dev", "eth0"])).stdout
        ok(a.attach(["ping", "-c", "1", "-W", "5", "10.77.0.3"]))
        for addr in ("10.77.0.2", "10.77.0.3"):
            ok(subprocess.run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "5", addr],
                              capture_output=True, text=True, check=False))
        assert (a.state(), b.state()) == ("RUNNING", "RUNNING")
    finally:
        for guest in guests:
            guest.destroy()
    assert subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True,
                          check=True).stdout == ""                 # no container left in the node
    assert not (tmp_path / "a" / "lxc" / guests[0].name).exists()
