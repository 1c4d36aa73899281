"""hb.ovm: the OVM page's service (tests/data/seeds/ovmguest1.env, verbatim) on two simulated OVM
servers ovmnode1/ovmnode2, through the real CLI, plus the driver's status and credential checks.

The pool: two node roots sharing the simulators' state, LocalTransport between them, the guest's
cfg in the OVM 2 repository layout of the seed (<ovs_mount>/*/running_pool/<uuid>/vm.cfg), the OVM
manager (simulators/ovm_manager.py) knowing both servers in pool `pool1` and the VM, and a network
namespace whose hosts file names the guest, so ping is real.
"""

import shutil

import pytest

from drivers.base import DriverError
from drivers.hb_ovm import agent_running, ha_enabled, parse_info, pool_of
from drivers.runner import Result
from simulators import hosts, ovm_manager
from tests.helpers.cli import journal_rows
from tests.helpers.drivers import make_driver
from tests.helpers.ovm import NODES, PASSWORD, SEED, SVC, USER, UUID, manager_ha, ok, write_auth
from tests.helpers.sim import sim_node_conf


CONTAINER_START = [("ovm", "start", "down", "starting"), ("ovm", "wait_up", "starting", "wait-up"),
                   ("ovm", "wait_ping", "wait-up", "wait-ping"),
                   ("ovm", "wait_operational", "wait-ping", "wait-operational"),
                   ("ovm", "started", "wait-operational", "up")]
HB_ENABLE = [("hb#1", "enable", "ha-disabled", "ha-enabling"), ("hb#1", "enabled", "ha-enabling", "ha-enabled")]
HB_DISABLE = [("hb#1", "disable", "ha-enabled", "ha-disabling"),
              ("hb#1", "disabled", "ha-disabling", "ha-disabled")]
CONTAINER_STOP = [("ovm", "stop", "up", "stopping"), ("ovm", "wait_down", "stopping", "wait-down"),
                  ("ovm", "stopped", "wait-down", "down")]


# --- the seed's walkthrough ------------------------------------------------------------------------
def test_start_cluster_boots_the_vm_then_enables_ha_last(ovm_pool):
    res = ok(ovm_pool.osvc("start", "--cluster"))
    assert ovm_pool.phases() == CONTAINER_START + HB_ENABLE
    lines = res.stdout.splitlines()
    assert any(line.endswith(f"INFO    OVMGUEST1.OVM     xm create {ovm_pool.cfg}") for line in lines)
    for message in ("wait for container up status", "wait for container ping", "wait for container operational"):
        assert any(line.endswith(f"INFO    OVMGUEST1.OVM     {message}") for line in lines), message
    # the seed's words (issue 17 item 19): the agent logs the call without its -S";"; the journal keeps it
    enable = f'INFO    OVMGUEST1.HB#1    ovm -u {USER} -p XXXXXX vm conf -n {SVC} -s pool1 -e'
    assert any(line.endswith(enable) for line in lines), res.stdout
    assert '-S";"' not in res.stdout
    assert manager_ha() is True
    vm = ovm_pool.sim.show("ovm", SVC)
    assert (vm["id"], vm["state"], vm["node"]) == (UUID, "running", "ovmnode1")
    commands = [(r["rid"], r["payload"]["argv"]) for r in journal_rows(ovm_pool.roots["ovmnode1"], svc=SVC,
                                                                       kind="command")]
    assert commands == [("ovm", ["xm", "create", str(ovm_pool.cfg)]),
                        ("hb#1", ["ovm", "-u", USER, "-p", "XXXXXX", '-S";"', "vm", "conf", "-n", SVC, "-s",
                                  "pool1", "-e"])]
    status = ok(ovm_pool.osvc("print", "status", "--refresh")).stdout
    hb_line = next(line for line in status.splitlines() if "hb#1" in line)
    assert hb_line.split()[3:5] == ["up", "ovm"], status


def test_stop_cluster_disables_ha_first(ovm_pool):
    ok(ovm_pool.osvc("start", "--cluster"))
    res = ok(ovm_pool.osvc("stop", "--cluster"))
    assert ovm_pool.phases() == CONTAINER_START + HB_ENABLE + HB_DISABLE + CONTAINER_STOP
    lines = res.stdout.splitlines()
    disable = next(i for i, line in enumerate(lines) if line.endswith(f"-n {SVC} -s pool1 -d"))
    shutdown = next(i for i, line in enumerate(lines) if line.endswith(f"xm shutdown {UUID}"))
    assert disable < shutdown
    assert manager_ha() is False
    assert ovm_pool.sim.show("ovm", SVC)["state"] == "off"
    status = ok(ovm_pool.osvc("print", "status", "--refresh")).stdout
    assert "# HA not enabled for this VM" in status


def test_without_cluster_the_safety_net_refuses(ovm_pool):
    for action in ("start", "stop"):
        res = ovm_pool.osvc(action)
        assert res.returncode == 1
        assert ("this service is managed by a clusterware, thus direct service manipulation is disabled "
                f"({action}). the --cluster option circumvent this safety net.") in res.stdout + res.stderr
    assert ovm_pool.phases() == []
    assert journal_rows(ovm_pool.roots["ovmnode1"], svc=SVC, kind="command") == []
    assert ovm_pool.sim.cli("xm", "list", node="ovmnode1").stdout.count("\n") == 2   # header + Domain-0
    assert manager_ha() is False


def test_password_is_masked_and_never_journaled(ovm_pool):
    ok(ovm_pool.osvc("start", "--cluster"))
    ok(ovm_pool.osvc("print", "status", "--refresh"))
    res = ok(ovm_pool.osvc("stop", "--cluster"))
    root = ovm_pool.roots["ovmnode1"]
    assert "-p XXXXXX" in res.stdout and PASSWORD not in res.stdout + res.stderr
    secret = PASSWORD.encode()
    journal_files = sorted((root / "var").glob("journal.db*"))
    assert journal_files and all(secret not in p.read_bytes() for p in journal_files)
    assert all(secret not in p.read_bytes() for p in (root / "log").iterdir())
    assert all(secret not in p.read_bytes() for p in (root / "var").rglob("*") if p.is_file())


def test_ha_enable_failure_rolls_the_vm_back(ovm_pool):
    """A wrong password: the VM booted, HA could not be enabled, so the rollback stops the VM."""
    write_auth(ovm_pool.roots["ovmnode1"], f"[ovm]\nusername = {USER}\npassword = wrong-{PASSWORD}\n")
    res = ovm_pool.osvc("start", "--cluster")
    assert res.returncode == 1
    assert "ovm command execution error: Error: Authentication failed. Invalid username or password." in res.stdout
    assert f"wrong-{PASSWORD}" not in res.stdout + res.stderr
    assert ovm_pool.phases() == CONTAINER_START + [
        ("hb#1", "enable", "ha-disabled", "ha-enabling"), ("hb#1", "enable_failed", "ha-enabling", "ha-failed"),
    ] + CONTAINER_STOP
    assert ovm_pool.sim.show("ovm", SVC)["state"] == "off"
    assert manager_ha() is False


def test_vm_running_on_the_other_server_is_not_started_twice(ovm_pool):
    ok(ovm_pool.osvc("start", "--cluster", node="ovmnode2"))
    res = ovm_pool.osvc("start", "--cluster")
    assert res.returncode == 1
    assert f"container {SVC} already started on ovmnode2" in res.stdout
    assert ovm_pool.phases() == [("ovm", "start", "down", "starting"), ("ovm", "start_failed", "starting",
                                                                         "start-failed")]
    assert ovm_pool.sim.show("ovm", SVC)["node"] == "ovmnode2"


# --- the driver: status and credentials --------------------------------------------------------------
@pytest.fixture
def hb(sim, tmp_path, monkeypatch):
    """(driver factory, node): ovmnode1 with the seed, the manager configured, HA disabled."""
    from config.build import load_service
    from core.node import Node

    monkeypatch.setenv("OSVC_NODENAME", "ovmnode1")      # what the engine's environment says on that node

    node = Node(tmp_path / "ovmnode1", "ovmnode1")
    for sub in ("etc", "var", "log"):
        (node.root / sub).mkdir(parents=True)
    sim_node_conf(node.root, sim)
    shutil.copy(SEED, node.etc / f"{SVC}.env")
    write_auth(node.root)
    ovm_manager.configure(users={USER: PASSWORD}, servers={n: "pool1" for n in NODES}, vms={SVC: "pool1"})

    def make():
        spec = load_service(node, SVC)
        return make_driver(node, "hb", "ovm", spec.resource("hb#1").conf, rid="hb#1", svc=SVC, spec=spec)
    return make, node


def test_status_follows_the_manager_ha_flag(hb):
    make, node = hb
    drv, log, events = make()
    assert drv.status() == ("warn", ["HA not enabled for this VM"])
    drv.start()
    assert drv.can_rollback and manager_ha() is True
    assert drv.status() == ("up", [])
    assert log.messages("INFO")[0] == f'ovm -u {USER} -p XXXXXX vm conf -n {SVC} -s pool1 -e'
    drv.stop()
    assert drv.status() == ("warn", ["HA not enabled for this VM"])
    assert [e["payload"]["argv"][-1] for e in events] == ["-e", "-d"]     # lookups are quiet, as in 1.x


def test_status_agent_checks(hb, sim):
    make, node = hb
    drv, _, _ = make()
    hosts.set_host("ovmnode1", ovs_agent_down=["OVSMonitorServer"])
    assert drv.status() == ("warn", ["OVM agent daemons are not running"])
    sim.cli("ovs-agent", "start", node="ovmnode1")
    assert drv.status() == ("warn", ["HA not enabled for this VM"])
    sim.cli("ovs-agent", "stop", node="ovmnode1")
    assert drv.status() == ("warn", ["OVM agent daemons are not running"])
    sim_node_conf(node.root, sim, paths={"ovs_agent": str(sim.root / "etc" / "init.d" / "ovs-agent")})
    assert drv.status() == ("warn", ["OVM agent is not installed"])


@pytest.mark.parametrize("text,message", [
    ("", "no auth information for OVM manager"),
    ("[ovm]\npassword = x\n", "no username information for OVM manager"),
    ("[ovm]\nusername = admin\n", "no password information for OVM manager"),
])
def test_credentials_messages(hb, text, message):
    make, node = hb
    write_auth(node.root, text)
    drv, _, events = make()
    assert drv.status() == ("warn", [message])
    with pytest.raises(DriverError, match=f"^{message}$"):
        drv.start()
    assert events == [] and not drv.can_rollback


def test_wrong_password_and_unknown_server(hb):
    make, node = hb
    write_auth(node.root, f"[ovm]\nusername = {USER}\npassword = nope-{PASSWORD}\n")
    drv, log, _ = make()
    value, logs = drv.status()
    assert (value, logs) == ("warn", ["ovm command execution error: Error: Authentication failed. "
                                      "Invalid username or password."])
    write_auth(node.root)
    ovm_manager.save({**ovm_manager.load(), "servers": {"ovmnode2": "pool1"}})
    drv, _, _ = make()
    assert drv.status() == ("warn", ["can't find node's pool name"])


def test_parsers():
    svr = ('Server_Name";"Server_Host";"Status";"Server_Pool\n'
           'ovmnode1";"ovmnode1";"Active";"pool1\n'
           '"ovmnode2";"ovmnode2";"Active";"pool2"\n'
           'too;few\n')
    assert pool_of(svr, "ovmnode1") == "pool1"
    assert pool_of(svr, "ovmnode2") == "pool2"
    assert pool_of(svr, "ovmnode3") is None
    info = parse_info("Name: ovmguest1\nServer Pool: pool1\nStarted: 10:52:36\nHign Availability: Enabled\n")
    assert info == {"Name": "ovmguest1", "Server Pool": "pool1", "Hign Availability": "Enabled"}
    assert ha_enabled(info)
    assert ha_enabled({"High Availability": "Enabled"})
    assert not ha_enabled({"High Availability": "Disabled"}) and not ha_enabled({})
    ok_lines = "ok! process OVSAgentServer exists.\n\nok! process OVSLogServer exists.\n"
    assert agent_running(Result(argv=["ovs-agent"], rc=0, out=ok_lines))
    assert not agent_running(Result(argv=["ovs-agent"], rc=1, out=ok_lines))
    assert not agent_running(Result(argv=["ovs-agent"], rc=0, out=ok_lines + "failed! process X not exists.\n"))
