"""SCSI-3 persistent reservations (docs/agent-reference.md §6.3): the sg_persist simulator, the scsireserv and vmdg
drivers, the implicit vmdg of hpvm containers, and prstart/prstop/prstatus/diskupdate through the CLI.

Two simulated nodes contend for the same LUNs: each has its own key, the simulated SAN knows which
node (initiator) registered which key and who holds the reservation.
"""

import json
import subprocess
from pathlib import Path

import pytest

from drivers.base import DriverError
from drivers.container import Container
from domain.service import ResourceSpec, ServiceSpec
from simulators import sg_persist as san
from tests.helpers.cli import journal_rows, osvc, transitions
from tests.helpers.drivers import make_driver
from tests.helpers.sim import FakeClock, sim_node_conf
from tests.helpers.paths import DATA

K1, K2 = "0x1a", "0x2b"


# --- helpers ---------------------------------------------------------------------------------------------
class DiskVm(Container):
    """A test-local VM whose backing disks are whatever the test says (the disklist() contract)."""

    def __init__(self, res, ctx, disks=()):
        super().__init__(res, ctx)
        self.disks = list(disks)

    def disklist(self):
        return list(self.disks)


def sgp(sim, *args, node="node1"):
    return sim.cli("sg_persist", *args, node=node)


def lun(dev):
    return san.show(dev)


def pr_driver(node, disks, key=K1, force=False, cluster=False, conf=None, clock=None):
    """(driver, log, events) of `container#1pr` reserving `disks` of a DiskVm peer."""
    vm_res = ResourceSpec(rid="container#1", family="container", type="kvm", conf={"name": "vm1"})
    clock = clock or FakeClock()
    drv, log, events = make_driver(
        node, "disk", "scsireserv", {"peer": "container#1", "prkey": key, **(conf or {})}, rid="container#1pr",
        sleep=clock.sleep, force=force)
    drv.ctx.cluster = cluster
    drv.ctx.peers.shared["container#1"] = DiskVm(vm_res, drv.ctx, disks)
    return drv, log, events


@pytest.fixture
def luns(sim):
    for dev in ("/dev/sdb", "/dev/sdc"):
        san.define(dev)
    return ["/dev/sdb", "/dev/sdc"]


@pytest.fixture
def as_node(monkeypatch):
    """The simulated SAN sees the caller as this node (its initiator)."""
    def switch(name):
        monkeypatch.setenv("OSVC_SIM_NODE", name)
    switch("node1")
    return switch


# --- the simulator: sg3_utils' words ----------------------------------------------------------------------
def test_simulator_prints_what_sg_persist_prints(sim, luns):
    res = sgp(sim, "-n", "-k", "/dev/sdb")
    assert (res.returncode, res.stdout) == (0, "  PR generation=0x0, there are NO registered reservation keys\n")
    res = sgp(sim, "-n", "-r", "/dev/sdb")
    assert res.stdout == "  PR generation=0x0, there is NO reservation held\n"
    assert sgp(sim, "-n", "--out", "--register-ignore", "--param-sark=0x1A", "/dev/sdb").returncode == 0
    assert sgp(sim, "-n", "--out", "--register-ignore", "--param-sark=2b", "/dev/sdb", node="node2").returncode == 0
    assert sgp(sim, "-n", "--out", "--reserve", "--param-rk=0x1a", "--prout-type=5", "/dev/sdb").returncode == 0
    res = sgp(sim, "-k", "/dev/sdb")
    assert res.stdout == ("  OSVCSIM   shared-lun        0001\n"
                          "  Peripheral device type: disk\n"
                          "  PR generation=0x2, 2 registered reservation keys follow:\n"
                          "    0x1a\n"
                          "    0x2b\n")
    res = sgp(sim, "-n", "-r", "/dev/sdb", node="node2")
    assert res.stdout == ("  PR generation=0x2, Reservation follows:\n"
                          "    Key=0x1a\n"
                          "    scope: LU_SCOPE,  type: Write Exclusive, registrants only\n")
    res = sgp(sim, "-n", "--out", "--reserve", "--param-rk=0x2b", "--prout-type=5", "/dev/sdb", node="node2")
    assert (res.returncode, res.stderr) == (24, "PR out (Reserve): Reservation conflict\n"
                                                "sg_persist failed: Reservation conflict\n")
    res = sgp(sim, "-n", "-r", "/dev/sdz")
    assert (res.returncode, res.stderr) == (52, "sg_persist: error opening file /dev/sdz (rw): "
                                                "No such file or directory\n")


def test_simulator_knobs_unit_attention_and_unsupported(sim, luns):
    san.attention("/dev/sdb", 2)
    for _ in range(2):
        res = sgp(sim, "-n", "-r", "/dev/sdb")
        assert (res.returncode, res.stderr) == (6, "PR in (Read reservation): Unit attention\n"
                                                   "sg_persist failed: Unit attention\n")
    assert sgp(sim, "-n", "-r", "/dev/sdb").returncode == 0
    san.define("/dev/sdd", unsupported=True)
    res = sgp(sim, "-n", "--out", "--register-ignore", "--param-sark=0x1a", "/dev/sdd")
    assert res.returncode == 5
    assert res.stderr.splitlines()[0] == ("PR out (Register and ignore existing key): bad field in cdb or "
                                          "parameter list (perhaps unsupported service action)")


def test_a_vm_disk_is_a_lun_of_the_san(sim):
    sim.vmsim("define", "kvm", "vm9", "--disk", "/dev/mapper/lun9")
    assert sgp(sim, "-n", "-r", "/dev/mapper/lun9").returncode == 0


# --- the driver: reserve, status, preempt, release ---------------------------------------------------------
def test_start_registers_then_reserves_every_disk(sim, node, luns, as_node):
    drv, log, events = pr_driver(node, luns)
    assert drv.status() == ("down", [])
    drv.start()
    assert log.messages() == [
        "sg_persist -n --out --register-ignore --param-sark=0x1a -- /dev/sdb",
        "sg_persist -n --out --register-ignore --param-sark=0x1a -- /dev/sdc",
        "sg_persist -n --out --reserve --param-rk=0x1a --prout-type=5 -- /dev/sdb",
        "sg_persist -n --out --reserve --param-rk=0x1a --prout-type=5 -- /dev/sdc",
    ]
    assert [e["payload"]["rc"] for e in events] == [0, 0, 0, 0]
    assert drv.can_rollback
    assert drv.status() == ("up", [])
    assert lun("/dev/sdb")["reservation"] == {"node": "node1", "key": 0x1a, "type": 5}
    assert drv.label() == "/dev/sdb, /dev/sdc"
    drv2, log2, _ = pr_driver(node, luns)
    drv2.start()
    assert log2.messages() == ["already started"] and not drv2.can_rollback
    as_node("node2")
    assert pr_driver(node, luns, key=K2)[0].status() == ("down", [])


def test_partial_reservation_is_warn(sim, node, luns, as_node):
    pr_driver(node, ["/dev/sdb"])[0].start()
    as_node("node2")
    pr_driver(node, ["/dev/sdc"], key=K2)[0].start()
    as_node("node1")
    assert pr_driver(node, luns)[0].status() == ("warn", ["/dev/sdc is not reserved by this node"])


def test_preempt_is_refused_without_force_before_any_effect(sim, node, luns, as_node):
    pr_driver(node, luns)[0].start()
    as_node("node2")
    drv, log, events = pr_driver(node, luns, key=K2)
    with pytest.raises(DriverError) as exc:
        drv.start()
    assert str(exc.value) == "/dev/sdb is already reserved. use --force to override this safety net"
    assert events == [] and log.messages() == [] and not drv.can_rollback
    assert lun("/dev/sdb")["registrations"] == {"node1": 0x1a}


@pytest.mark.parametrize("force, cluster, no_abort, option", [
    (True, False, False, "--preempt-abort"),
    (False, True, False, "--preempt-abort"),
    (True, False, True, "--preempt"),
])
def test_preempt_with_force_or_cluster(sim, node, luns, as_node, force, cluster, no_abort, option):
    pr_driver(node, luns)[0].start()
    as_node("node2")
    drv, log, _ = pr_driver(node, luns, key=K2, force=force, cluster=cluster,
                            conf={"no_preempt_abort": no_abort})
    drv.start()
    assert log.messages() == [
        "sg_persist -n --out --register-ignore --param-sark=0x2b -- /dev/sdb",
        "sg_persist -n --out --register-ignore --param-sark=0x2b -- /dev/sdc",
        f"sg_persist -n --out {option} --param-sark=0x1a --param-rk=0x2b --prout-type=5 -- /dev/sdb",
        "reservation acquired for disk /dev/sdb",
        f"sg_persist -n --out {option} --param-sark=0x1a --param-rk=0x2b --prout-type=5 -- /dev/sdc",
        "reservation acquired for disk /dev/sdc",
    ]
    assert lun("/dev/sdb")["reservation"]["node"] == "node2"
    assert lun("/dev/sdb")["registrations"] == {"node2": 0x2b}    # the preempted key is gone
    as_node("node1")
    assert pr_driver(node, luns)[0].status() == ("down", [])


def test_stop_releases_then_unregisters(sim, node, luns, as_node):
    drv, log, _ = pr_driver(node, luns)
    drv.start()
    del log.lines[:]
    drv.stop()
    assert log.messages() == [
        "sg_persist -n --out --release --param-rk=0x1a --prout-type=5 -- /dev/sdb",
        "sg_persist -n --out --register-ignore --param-rk=0x1a -- /dev/sdb",
        "sg_persist -n --out --release --param-rk=0x1a --prout-type=5 -- /dev/sdc",
        "sg_persist -n --out --register-ignore --param-rk=0x1a -- /dev/sdc",
    ]
    assert lun("/dev/sdb")["reservation"] is None and lun("/dev/sdb")["registrations"] == {}
    del log.lines[:]
    drv.stop()                       # nothing held, nothing registered: no PR Out at all
    assert log.messages() == []


def test_stop_leaves_another_nodes_reservation_alone(sim, node, luns, as_node):
    pr_driver(node, luns)[0].start()
    as_node("node2")
    drv, log, _ = pr_driver(node, luns, key=K2)
    drv.stop()
    assert log.messages() == []
    assert lun("/dev/sdb")["reservation"]["node"] == "node1"


def test_unit_attentions_are_acknowledged_with_retries(sim, node, luns, as_node):
    san.attention("/dev/sdb", 3)
    clock = FakeClock()
    drv, log, _ = pr_driver(node, luns, clock=clock)
    drv.start()
    assert log.messages()[:3] == ["disk /dev/sdb reports 'Unit Attention' ... waiting"] * 3
    assert clock.slept == [1, 1, 1]
    assert drv.status() == ("up", [])


def test_unit_attention_that_never_clears_fails(sim, node, luns, as_node):
    san.attention("/dev/sdb", 50)
    clock = FakeClock()
    drv, log, _ = pr_driver(node, luns, clock=clock)
    with pytest.raises(DriverError) as exc:
        drv.start()
    assert str(exc.value) == "timed out waiting for 'Unit Attention' to go away on disk /dev/sdb"
    assert len(clock.slept) == 9 and log.messages().count("disk /dev/sdb reports 'Unit Attention' ... waiting") == 10
    assert lun("/dev/sdc")["registrations"] == {}      # nothing was touched


def test_unsupported_disk_is_skipped(sim, node, luns, as_node):
    san.define("/dev/sdd", unsupported=True)
    drv, log, _ = pr_driver(node, luns + ["/dev/sdd"])
    drv.start()
    assert "disk /dev/sdd does not support persistent reservation: skipped" in log.messages()
    assert not any("/dev/sdd" in m for m in log.messages() if m.startswith("sg_persist"))
    assert drv.status() == ("up", [])
    assert drv.label() == "/dev/sdb, /dev/sdc, /dev/sdd"


def test_without_sg_persist_status_is_na_and_actions_do_nothing(sim, node, luns, monkeypatch):
    bare = Path(sim.root) / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    drv, log, events = pr_driver(node, luns)
    assert drv.status() == ("n/a", ["sg_persist must be installed to use scsi-3 reservations"])
    drv.start()
    drv.stop()
    assert events == [] and lun("/dev/sdb")["registrations"] == {}


def test_label_forms_and_a_vm_without_disks(sim, node):
    drv, log, events = pr_driver(node, [])
    assert drv.label() == "preserv 0 scsi disk"
    assert drv.status() == ("n/a", ["no disk to reserve"])
    drv.start()
    assert log.messages() == ["no disk to reserve"] and events == [] and not drv.can_rollback
    many = [f"/dev/mapper/36005076801810523100000000000{i:04d}" for i in range(12)]
    label = pr_driver(node, many)[0].label()
    assert label == "preserv " + ", ".join(many)[:248] + " ..."


# --- the key -----------------------------------------------------------------------------------------
def test_keys_compare_as_numbers(sim, node, luns, as_node):
    pr_driver(node, luns, key="0x001A")[0].start()
    assert pr_driver(node, luns, key="0x1a")[0].status() == ("up", [])


def test_invalid_prkey_is_named(sim, node, luns):
    drv = pr_driver(node, luns, key="1234")[0]
    assert drv.status() == ("warn", ["invalid prkey '1234' in [container#1] prkey: expected 0x followed by "
                                     "1 to 16 hex digits (e.g. 0x7f000001)"])
    with pytest.raises(DriverError, match="invalid prkey '1234'"):
        drv.start()


def test_node_prkey_then_generated_hostid_key_saved_in_node_conf(sim, node, luns):
    node.conf_path.write_text("# site settings\n[node]\nenv = TST\n")
    drv, log, _ = pr_driver(node, luns, key=None)
    node.conf_path.write_text("# site settings\n[node]\nenv = TST\nprkey = 0xbeef\n")
    assert drv.key == "0xbeef"
    node.conf_path.write_text("# site settings\n[node]\nenv = TST\n")
    drv, log, _ = pr_driver(node, luns, key=None)
    hostid = subprocess.run(["hostid"], capture_output=True, text=True, check=True).stdout.strip()
    drv.start()
    assert log.messages()[0] == f"generated prkey 0x{hostid} (0x<hostid>), saved in {node.conf_path} [node] prkey"
    assert node.conf_path.read_text() == f"# site settings\n[node]\nprkey = 0x{hostid}\nenv = TST\n"
    assert node.setting("node", "prkey") == f"0x{hostid}"


# --- vmdg ----------------------------------------------------------------------------------------------
LDM_SERVICES = """\
VERSION 1.6
VCC|name=primary-vcc0|ldom=primary|port-range=5000-5100
VSW|name=primary-vsw0|ldom=primary|mac-addr=00:14:4f:f8:5a:6e|net-dev=nxge0|dev=switch@0|mode=
VDS|name=primary-vds0|ldom=primary
|vol=ldg1-vol0|opts=|dev=/dev/dsk/c0t1d0s2|mpgroup=
|vol=ldg1-vol1|opts=|dev=/dev/dsk/c0t2d0|mpgroup=
|vol=ldg2-vol0|opts=|dev=/dev/dsk/c0t3d0s2|mpgroup=
|vol=iso|opts=ro|dev=/export/iso/sol.iso|mpgroup=
"""
LDM_DOMAIN = """\
VERSION 1.6
DOMAIN|name=ldg1|
VDISK|name=vdisk0|vol=ldg1-vol0@primary-vds0|timeout=|dev=disk@0|server=primary|mpgroup=|id=0
VDISK|name=vdisk1|vol=ldg1-vol1@primary-vds0|timeout=|dev=disk@1|server=primary|mpgroup=|id=1
VDISK|name=cdrom|vol=iso@primary-vds0|timeout=|dev=disk@2|server=primary|mpgroup=|id=2
"""


def test_ldm_parsing_intersects_services_and_domain_disks():
    from drivers.container_ldom import parse_services, parse_vdisks

    volumes = parse_services(LDM_SERVICES)
    disks = [volumes[vol] for vol in parse_vdisks(LDM_DOMAIN) if vol in volumes]
    assert disks == ["/dev/rdsk/c0t1d0s2", "/dev/rdsk/c0t2d0s2"]


def vmdg_driver(node, spec, shared=None):
    return make_driver(node, "disk", "vmdg", spec.resource("vmdg").conf, rid="vmdg", spec=spec, shared=shared)


def two_resource_spec(ctype, name="ldg1"):
    return ServiceSpec(name="svc1", nodename="node1", path=Path("svc1.env"), text="", digest="", default={},
                       resources=[ResourceSpec("container#1", "container", ctype, {"name": name}),
                                  ResourceSpec("vmdg", "disk", "vmdg", {"container_id": "container#1"})])


def test_vmdg_of_an_ldom_asks_ldm(sim, node, tmp_path):
    ldm = tmp_path / "ldm"      # stands for /usr/sbin/ldm: prints the captured outputs above
    (tmp_path / "services").write_text(LDM_SERVICES)
    (tmp_path / "domain").write_text(LDM_DOMAIN)
    ldm.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/argv\n"
                   f"case \"$1\" in list-services) cat {tmp_path}/services;; *) cat {tmp_path}/domain;; esac\n")
    ldm.chmod(0o755)
    sim_node_conf(node.root, sim, paths={"ldm": str(ldm)})
    drv, log, events = vmdg_driver(node, two_resource_spec("ldom"))
    assert drv.disklist() == ["/dev/rdsk/c0t1d0s2", "/dev/rdsk/c0t2d0s2"]
    assert (tmp_path / "argv").read_text() == "list-services -p\nlist -o disk -p ldg1\n"
    assert drv.status() == ("n/a", []) and drv.label() == "vmdg vmdg"
    drv.start()
    drv.stop()
    assert log.messages() == [] and events == []


def test_vmdg_of_other_vms_asks_the_container_driver(sim, node):
    spec = two_resource_spec("hpvm", "vm188")
    vm = DiskVm(spec.resource("container#1"), make_driver(node, "disk", "vmdg")[0].ctx, ["/dev/rdisk/disk12"])
    drv = vmdg_driver(node, spec, shared={"container#1": vm})[0]
    assert drv.disklist() == ["/dev/rdisk/disk12"]


def test_vmdg_without_container_says_so(sim, node):
    spec = two_resource_spec("hpvm")
    spec.resources[1].conf["container_id"] = None
    with pytest.raises(DriverError, match="container_id must be set in section vmdg"):
        vmdg_driver(node, spec)[0].disklist()


# --- config: the vmdg of hpvm containers ----------------------------------------------------------------
def shape(text, node):
    from config.build import build

    spec, problems = build(node, "svc", text, "svc.env", nodename="node1", environ={})
    return ([(r.rid, r.type, r.conf.get("container_id") or r.conf.get("peer")) for r in spec.resources]
            if spec else None), [str(p) for p in problems]


def test_hpvm_container_brings_its_vmdg(node):
    assert shape("[container#1]\ntype = hpvm\nname = vm1\nscsireserv = true\n", node) == ([
        ("container#1", "hpvm", None), ("container#1pr", "scsireserv", "container#1"),
        ("vmdg#container#1", "vmdg", "container#1")], [])
    # DEFAULT scsireserv does not reserve the same disks twice through the implicit vmdg
    assert shape("[DEFAULT]\nscsireserv = true\n[container#1]\ntype = hpvm\n", node)[0] == [
        ("container#1", "hpvm", None), ("container#1pr", "scsireserv", "container#1"),
        ("vmdg#container#1", "vmdg", "container#1")]


def test_vm_cookbook_vmdg_is_the_hpvm_vms_disk_group(node):
    seed = (DATA / "seeds" / "vm188.env").read_text()
    rows, problems = shape(seed, node)
    assert problems == []
    assert rows == [("container#1", "hpvm", None), ("ip#1", "", None), ("vmdg", "vmdg", "container#1"),
                    ("sync#i0", "rsync", None)]


def test_bare_vmdg_with_several_containers_needs_container_id(node):
    text = "[container#1]\ntype = hpvm\n[container#2]\ntype = kvm\n[vmdg]\nscsireserv = true\n"
    assert shape(text, node)[1] == ["svc.env:5: [vmdg] container_id: container_id must be set in section vmdg "
                                    "(containers: container#1, container#2)"]


# --- through the CLI: two nodes, a kvm guest whose libvirt XML lists its disks ----------------------------
XML = """<domain type='kvm'><name>vm1</name><devices>
{disks}</devices></domain>
"""
ENV = "[DEFAULT]\nnodes = node1 node2\n\n[container#1]\ntype = kvm\nname = vm1\nscsireserv = true\n"


@pytest.fixture
def pool(sim, tmp_path, luns):
    """Two node roots sharing the simulated SAN and the VM's libvirt XML; keys 0x1a and 0x2b."""
    roots = {}
    for name, key in (("node1", K1), ("node2", K2)):
        root = tmp_path / name
        (root / "etc").mkdir(parents=True)
        sim_node_conf(root, sim, paths={"libvirt": str(sim.root / "libvirt")}, sections={"node": {"prkey": key}})
        (root / "etc" / "svc1.env").write_text(ENV)
        roots[name] = root
    set_disks(sim, luns)
    return roots


def set_disks(sim, disks):
    (sim.root / "libvirt").mkdir(exist_ok=True)
    rows = "".join(f"<disk type='block' device='disk'><source dev='{d}'/></disk>\n" for d in disks)
    (sim.root / "libvirt" / "vm1.xml").write_text(XML.format(disks=rows))


def run(pool, node, *args):
    return osvc(pool[node], "-s", "svc1", *args, node=node)


def console(res):
    """Console lines without the time stamp."""
    return [line.split(" ", 1)[1] for line in res.stdout.splitlines() if line[:2].isdigit()]


def test_prstart_prstatus_prstop_between_two_nodes(pool):
    res = run(pool, "node1", "prstart")
    assert res.returncode == 0, res.stderr
    assert console(res) == [
        "INFO    SVC1.CONTAINER#1PR sg_persist -n --out --register-ignore --param-sark=0x1a -- /dev/sdb",
        "INFO    SVC1.CONTAINER#1PR sg_persist -n --out --register-ignore --param-sark=0x1a -- /dev/sdc",
        "INFO    SVC1.CONTAINER#1PR sg_persist -n --out --reserve --param-rk=0x1a --prout-type=5 -- /dev/sdb",
        "INFO    SVC1.CONTAINER#1PR sg_persist -n --out --reserve --param-rk=0x1a --prout-type=5 -- /dev/sdc",
    ]
    assert transitions(pool["node1"], "svc1") == [
        ("", "start", "idle", "starting"), ("container#1pr", "start", "down", "starting"),
        ("container#1pr", "started", "starting", "up"), ("", "started", "starting", "started")]
    commands = journal_rows(pool["node1"], svc="svc1", kind="command")
    assert [r["payload"]["argv"][3] for r in commands] == ["--register-ignore"] * 2 + ["--reserve"] * 2

    res = run(pool, "node1", "prstatus")
    assert (res.returncode, res.stdout) == (0, "svc1\noverall                   up\n|- avail                  up\n"
                                               "|  '- container#1pr  .... up       /dev/sdb, /dev/sdc\n"
                                               "|- sync                   n/a\n'- hb                     n/a\n")
    res = run(pool, "node2", "scsicheckreserv")
    assert res.returncode == 1 and "|  '- container#1pr  .... down     /dev/sdb, /dev/sdc\n" in res.stdout

    res = run(pool, "node2", "prstart")
    assert res.returncode == 1
    # the resource's error, under the resource's name (issue 17 item 20)
    assert "ERROR   SVC1.CONTAINER#1PR /dev/sdb is already reserved. use --force to override this safety net" \
        in console(res)
    assert san.show("/dev/sdb")["registrations"] == {"node1": 0x1a}

    res = run(pool, "node2", "scsireserv", "--force")
    assert res.returncode == 0, res.stderr
    assert ("INFO    SVC1.CONTAINER#1PR sg_persist -n --out --preempt-abort --param-sark=0x1a --param-rk=0x2b "
            "--prout-type=5 -- /dev/sdb") in console(res)
    begin = journal_rows(pool["node2"], svc="svc1", kind="action")[-2]
    assert begin["event"] == "begin" and begin["payload"]["action"] == "prstart"
    assert run(pool, "node1", "prstatus").returncode == 1
    assert run(pool, "node2", "prstatus").returncode == 0

    res = run(pool, "node2", "scsirelease")
    assert res.returncode == 0, res.stderr
    assert san.show("/dev/sdb")["reservation"] is None and san.show("/dev/sdc")["registrations"] == {}
    assert transitions(pool["node2"], "svc1")[-3:] == [
        ("container#1pr", "stop", "up", "stopping"), ("container#1pr", "stopped", "stopping", "down"),
        ("", "stopped", "stopping", "stopped")]


def test_prstatus_without_reservations(pool):
    (pool["node1"] / "etc" / "svc1.env").write_text(ENV.replace("scsireserv = true\n", ""))
    res = run(pool, "node1", "prstatus")
    assert (res.returncode, res.stdout) == (
        3, "svc1: no scsireserv resource (set scsireserv = true in a disk or container section)\n")


def test_diskupdate_refreshes_disk_list_and_reservations(pool, sim):
    san.define("/dev/sdd")
    res = run(pool, "node1", "diskupdate")
    assert res.returncode == 0, res.stderr
    assert console(res) == ["INFO    SVC1.CONTAINER#1 disk list recorded: /dev/sdb, /dev/sdc"]
    assert run(pool, "node1", "prstart").returncode == 0

    set_disks(sim, ["/dev/sdb", "/dev/sdd"])
    res = run(pool, "node1", "diskupdate")
    assert res.returncode == 0, res.stderr
    assert console(res) == [
        "INFO    SVC1.CONTAINER#1 disk added: /dev/sdd",
        "INFO    SVC1.CONTAINER#1 disk removed: /dev/sdc",
        "INFO    SVC1.CONTAINER#1PR sg_persist -n --out --register-ignore --param-sark=0x1a -- /dev/sdd",
        "INFO    SVC1.CONTAINER#1PR sg_persist -n --out --reserve --param-rk=0x1a --prout-type=5 -- /dev/sdd",
        "INFO    SVC1.CONTAINER#1PR sg_persist -n --out --release --param-rk=0x1a --prout-type=5 -- /dev/sdc",
        "INFO    SVC1.CONTAINER#1PR sg_persist -n --out --register-ignore --param-rk=0x1a -- /dev/sdc",
    ]
    assert san.show("/dev/sdd")["reservation"]["node"] == "node1"
    assert san.show("/dev/sdc")["reservation"] is None and san.show("/dev/sdc")["registrations"] == {}
    records = [r for r in journal_rows(pool["node1"], svc="svc1", kind="observation") if r["event"] == "diskupdate"]
    assert [r["rid"] for r in records] == ["", ""]       # one record per diskupdate, service-wide
    last = records[-1]["payload"]
    assert last["disks"] == {"container#1": {"before": ["/dev/sdb", "/dev/sdc"], "after": ["/dev/sdb", "/dev/sdd"]}}
    assert (last["reserved"], last["released"]) == ({"container#1pr": ["/dev/sdd"]}, {"container#1pr": ["/dev/sdc"]})
    assert json.loads((pool["node1"] / "var" / "svc1" / "disks.json").read_text()) == {
        "container#1": ["/dev/sdb", "/dev/sdd"]}

    # node2 does not hold the reservation: it refreshes its list and touches no disk
    assert run(pool, "node2", "diskupdate").returncode == 0
    set_disks(sim, ["/dev/sdb"])
    res = run(pool, "node2", "diskupdate")
    assert console(res) == ["INFO    SVC1.CONTAINER#1 disk removed: /dev/sdd",
                            "INFO    SVC1.CONTAINER#1PR the reservation is not held on this node: nothing to refresh"]
    assert san.show("/dev/sdd")["reservation"]["node"] == "node1"


def test_diskupdate_on_the_vm_cookbook_seed(sim, node, luns):
    """The seed verbatim: hpvm guest vm188, its `[vmdg]` lists the guest's disks (hpvmstatus -d)."""
    seed = (DATA / "seeds" / "vm188.env").read_text()
    root = node.root
    (root / "etc" / "vm188.env").write_text(seed)
    sim_node_conf(root, sim)
    sim.vmsim("define", "hpvm", "vm188", "--disk", "/dev/rdisk/disk12", "--disk", "/dev/rdisk/disk13")
    res = osvc(root, "-s", "vm188", "diskupdate", node="node109")
    assert res.returncode == 0, res.stderr
    assert console(res) == ["INFO    VM188.VMDG    disk list recorded: /dev/rdisk/disk12, /dev/rdisk/disk13"]
    sim.vmsim("define", "hpvm", "vm188", "--disk", "/dev/rdisk/disk12", "--disk", "/dev/rdisk/disk14")
    res = osvc(root, "-s", "vm188", "diskupdate", node="node109")
    assert console(res) == ["INFO    VM188.VMDG    disk added: /dev/rdisk/disk14",
                            "INFO    VM188.VMDG    disk removed: /dev/rdisk/disk13"]   # scsireserv = false
    last = [r for r in journal_rows(root, svc="vm188", kind="observation") if r["event"] == "diskupdate"][-1]
    assert last["node"] == "node109"
    assert last["payload"]["disks"] == {"vmdg": {"before": ["/dev/rdisk/disk12", "/dev/rdisk/disk13"],
                                                 "after": ["/dev/rdisk/disk12", "/dev/rdisk/disk14"]}}
    assert last["payload"]["reserved"] == {} and last["payload"]["released"] == {}
