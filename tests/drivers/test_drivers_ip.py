"""ip driver on a real interface inside a network namespace the test creates."""

import shutil
import subprocess

import pytest

from tests.helpers.netns import ns_ip, run_ip_driver

pytestmark = pytest.mark.root

CONF = {"ipname": "10.42.0.10", "ipdev": "eth0", "netmask": "24"}


def expected_arping(dev, addr):
    """The gratuitous ARP of the arping installed here (Habets' `arping` or iputils-arping)."""
    if not shutil.which("arping"):
        return []
    text = subprocess.run(["arping", "-h"], capture_output=True, text=True)
    if "Habets" in text.stdout + text.stderr:
        return ["arping", "-U", "-c", "1", "-i", dev, "-S", addr, "--", addr]
    return ["arping", "-U", "-c", "1", "-I", dev, "-s", addr, "--", addr]


def addrs(ns, dev="eth0"):
    out = ns_ip(ns, "-o", "-4", "addr", "show", "dev", dev).stdout
    return [line.split()[3] for line in out.splitlines()]


def test_start_status_stop(netns, osvc_root):
    start, status_up, again, stop, status_down = run_ip_driver(
        netns, osvc_root, CONF, ["start", "status", "start", "stop", "status"])
    assert start["ok"], start["error"]
    assert start["argv"][0] == ["ip", "addr", "add", "10.42.0.10/24", "dev", "eth0"]
    arping = expected_arping("eth0", "10.42.0.10")
    assert start["argv"][1:] == ([arping] if arping else [])
    assert ["INFO", "checking 10.42.0.10 availability"] == start["log"][0]
    assert ["INFO", "ip addr add 10.42.0.10/24 dev eth0"] in start["log"]
    assert start["can_rollback"] is True
    assert status_up["value"] == ["up", []]
    assert again["ok"] and again["log"] == [["INFO", "10.42.0.10 is already up on eth0"]]
    assert again["can_rollback"] is False and again["argv"] == []
    assert stop["ok"], stop["error"]
    assert stop["argv"] == [["ip", "addr", "del", "10.42.0.10/24", "dev", "eth0"]]
    assert status_down["value"] == ["down", []]
    assert addrs(netns) == []


def test_real_side_effect_and_label(netns, osvc_root):
    [start] = run_ip_driver(netns, osvc_root, CONF, ["start"])
    assert start["ok"], start["error"]
    assert addrs(netns) == ["10.42.0.10/24"]
    [label] = run_ip_driver(netns, osvc_root, CONF, ["label"])
    assert label["value"] == "10.42.0.10@eth0"


def test_conflict_ping_refuses(netns, osvc_root):
    # another "host" already answers for the address: it is on the peer end of the veth
    ns_ip(netns, "addr", "add", "10.42.0.10/24", "dev", "eth0p")
    [start] = run_ip_driver(netns, osvc_root, CONF, ["start"])
    assert not start["ok"]
    assert start["error"] == "DriverError: 10.42.0.10 is already up on another host"
    assert start["argv"] == [] and start["can_rollback"] is False
    assert addrs(netns) == []
    # nonrouted skips the check and plumbs anyway
    [start] = run_ip_driver(netns, osvc_root, CONF, ["start"], tags=["nonrouted"])
    assert start["ok"] and addrs(netns) == ["10.42.0.10/24"]


def test_abort_start_reports_conflict(netns, osvc_root):
    ns_ip(netns, "addr", "add", "10.42.0.10/24", "dev", "eth0p")
    [probe] = run_ip_driver(netns, osvc_root, CONF, ["abort_start"])
    assert probe["value"] == "10.42.0.10 is already up on another host"


def test_prefix_from_device_when_netmask_unset(netns, osvc_root):
    ns_ip(netns, "addr", "add", "10.42.0.1/16", "dev", "eth0")
    conf = {"ipname": "10.42.0.10", "ipdev": "eth0"}
    [start] = run_ip_driver(netns, osvc_root, conf, ["start"])
    assert start["ok"], start["error"]
    assert "10.42.0.10/16" in addrs(netns)


def test_default_prefix_is_host_address(netns, osvc_root):
    conf = {"ipname": "10.42.0.10", "ipdev": "eth0", "netmask": ""}
    run_ip_driver(netns, osvc_root, conf, ["start"])
    assert addrs(netns) == ["10.42.0.10/32"]


def test_dotted_netmask(netns, osvc_root):
    conf = {"ipname": "10.42.0.10", "ipdev": "eth0", "netmask": "255.255.255.0"}
    run_ip_driver(netns, osvc_root, conf, ["start"])
    assert addrs(netns) == ["10.42.0.10/24"]


def test_missing_and_down_devices(netns, osvc_root):
    conf = {**CONF, "ipdev": "eth9"}
    status, start = run_ip_driver(netns, osvc_root, conf, ["status", "start"])
    assert status["value"] == ["down", ["interface eth9 not found"]]
    assert start["error"] == "DriverError: interface eth9 not found (check ipdev of ip#1)"
    ns_ip(netns, "link", "set", "eth0", "down")
    [start] = run_ip_driver(netns, osvc_root, CONF, ["start"])
    assert start["error"] == "DriverError: interface eth0 is down (bring it up first)"


def test_stop_when_down_is_a_noop(netns, osvc_root):
    [stop] = run_ip_driver(netns, osvc_root, CONF, ["stop"])
    assert stop["ok"] and stop["log"] == [["INFO", "10.42.0.10 is already down on eth0"]]


def test_unresolvable_name(netns, osvc_root):
    [start] = run_ip_driver(netns, osvc_root, {**CONF, "ipname": "no-such-host.invalid"}, ["start"])
    assert start["error"].startswith("DriverError: could not resolve name no-such-host.invalid:")
