"""kvm, xen and ovm containers: command lines, parsers, the OVM cfg discovery, status warnings, disks,
and the shared container scenarios through the real CLI (tests/helpers/container_scenarios.py).

Drivers run against the virsh and xm simulators (simulators/libvirt.py, simulators/xen.py) with a
real Runner: the assertions read the exact log lines and the argv of the command events.
"""

import pytest

from drivers.base import DriverError, StopTimeout
from drivers.container_ovm import cfg_disks, running_uuids
from drivers.container_xen import dominfo_fields
from drivers.runner import Result
from simulators import hosts
from tests.helpers.container_scenarios import SCENARIOS, Tech
from tests.helpers.drivers import make_driver
from tests.helpers.sim import FakeClock

UUID = "0004fb0000060000a3e6b1d4c5f7a901"
NOWHERE = "192.0.2.10"     # TEST-NET-1: resolves as is, never answers


def kvm_xml(name, devs=("/dev/mapper/lun1",), type="kvm"):
    disks = "".join(f"<disk type='block' device='disk'><source dev='{d}'/><target dev='vd{chr(97 + i)}'/></disk>"
                    for i, d in enumerate(devs))
    return (f"<domain type='{type}'><name>{name}</name><memory>1048576</memory><devices>{disks}"
            f"<disk type='file' device='disk'><source file='/var/lib/libvirt/images/{name}.img'/>"
            f"<target dev='vdz'/></disk></devices></domain>\n")


def write_kvm_xml(sim, name, **kw):
    path = sim.root / "etc" / "libvirt" / "qemu" / f"{name}.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kvm_xml(name, **kw))
    return path


def ovm_cfg(name, uuid=UUID):
    return (f"OVM_simple_name = '{name}'\n"
            f"name = '{uuid}'\n"
            f"uuid = '{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}'\n"
            "memory = '1024'\n"
            "vcpus = 1\n"
            "on_crash = 'restart'\n"
            f"disk = ['file:/var/ovs/mount/REPO1/running_pool/{uuid}/System.img,xvda,w',\n"
            "        'phy:/dev/mapper/36006016012345678,xvdb,w', 'phy:/dev/mapper/36006016087654321,xvdc,w!']\n"
            "vif = ['mac=00:16:3e:11:22:33, bridge=xenbr0']\n")


def write_ovm_cfg(sim, name, layout="ovm2", uuid=UUID, repo="REPO1"):
    if layout == "ovm2":
        path = sim.root / "var" / "ovs" / "mount" / repo / "running_pool" / uuid / "vm.cfg"
    elif layout == "ovm3":
        path = sim.root / "OVS" / "Repositories" / repo / "VirtualMachines" / uuid / "vm.cfg"
    else:
        path = sim.root / "etc" / "xen" / uuid
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ovm_cfg(name, uuid))
    return path


def argvs(events):
    return [e["payload"]["argv"] for e in events]


def driver(node, type, conf, clock=None):
    conf = {"hostname": NOWHERE, **conf}
    timing = {"clock": clock, "sleep": clock.sleep} if clock else {}
    return make_driver(node, "container", type, conf, rid="container#1", **timing)


# --- kvm ------------------------------------------------------------------------------------------
def test_kvm_start_stop_command_lines(simnode, sim):
    cf = write_kvm_xml(sim, "vm1")
    drv, log, events = driver(simnode, "kvm", {"name": "vm1"})
    assert drv.is_down()
    drv.container_start()
    assert argvs(events) == [["virsh", "define", str(cf)], ["virsh", "start", "--domain", "vm1"]]
    assert log.messages("INFO")[0] == f"virsh define {cf}"
    assert "virsh start --domain vm1" in log.messages("INFO")
    assert "output:\nDomain vm1 started" in log.messages("INFO")
    assert sim.show("kvm", "vm1")["state"] in ("booting", "running")
    drv.wait_up()
    assert drv.is_up() and log.messages()[-1] == "wait for container up status"
    drv.stop()
    drv.wait_down()
    assert argvs(events)[2:] == [["virsh", "shutdown", "--domain", "vm1"]]
    assert sim.show("kvm", "vm1")["state"] == "off"


def test_booting_guests_are_not_up_yet(simnode, sim):
    """A guest that never finishes booting: virsh shows it paused, xm lists it paused (--p---), and
    neither up test says up (wait-up is what times out)."""
    write_kvm_xml(sim, "vm1")
    write_ovm_cfg(sim, "ovmguest1")
    sim.vmsim("define", "kvm", "vm1")
    sim.vmsim("define", "ovm", "ovmguest1", "--id", UUID)
    sim.vmsim("fail", "kvm", "vm1", "start=hang")
    sim.vmsim("fail", "ovm", "ovmguest1", "start=hang")
    kvm, _, _ = driver(simnode, "kvm", {"name": "vm1"})
    ovm, _, _ = driver(simnode, "ovm", {"name": "ovmguest1", "uuid": UUID})
    kvm.container_start()
    ovm.container_start()
    assert dominfo_fields(sim.cli("virsh", "dominfo", "vm1", node="node1").stdout)["State"] == "paused"
    assert sim.cli("xm", "list", node="node1").stdout.splitlines()[-1].split()[4] == "--p---"
    assert not kvm.is_up() and not ovm.is_up()


def test_kvm_start_without_its_xml_runs_nothing(simnode, sim):
    drv, log, events = driver(simnode, "kvm", {"name": "vm1"})
    with pytest.raises(DriverError) as exc:
        drv.container_start()
    assert str(exc.value) == f"{sim.root}/etc/libvirt/qemu/vm1.xml not found"
    assert events == []


def test_kvm_stop_hang_forces_destroy(simnode, sim):
    write_kvm_xml(sim, "vm1")
    sim.vmsim("define", "kvm", "vm1", "--running")
    sim.vmsim("fail", "kvm", "vm1", "stop=hang")
    clock = FakeClock()
    drv, log, events = driver(simnode, "kvm", {"name": "vm1", "stop_timeout": 0.2}, clock=clock)
    drv.stop()
    with pytest.raises(StopTimeout):
        drv.wait_down()                          # the guest never finishes shutting down
    assert drv.is_up()                           # a guest shutting down is still a running domain
    drv.force_stop()
    assert ("WARNING", "Waited too long for shutdown") in log.lines
    assert argvs(events) == [["virsh", "shutdown", "--domain", "vm1"], ["virsh", "destroy", "--domain", "vm1"]]
    assert drv.is_down()


def test_kvm_status_warnings(simnode, sim):
    write_kvm_xml(sim, "vm1")
    sim.vmsim("define", "kvm", "vm1")
    drv, _, _ = driver(simnode, "kvm", {"name": "vm1"})
    assert drv.status() == ("down", [])
    autostart = sim.root / "etc" / "libvirt" / "qemu" / "autostart" / "vm1.xml"
    autostart.parent.mkdir()
    autostart.write_text("")
    assert drv.status() == ("warn", ["container auto boot is on"])
    autostart.unlink()
    hosts.set_host("node1", hvm=False)
    assert drv.status() == ("warn", ["hvm not supported by host", "insufficient node capabilities"])


def test_kvm_status_unresolvable_name(simnode, sim):
    drv, _, _ = make_driver(simnode, "container", "kvm", {"name": "vm1", "hostname": "no-such-host.invalid"})
    value, log = drv.status()
    assert value == "warn" and log[0].startswith("could not resolve name no-such-host.invalid")


def test_kvm_disks_and_files_to_sync(simnode, sim):
    cf = write_kvm_xml(sim, "vm1", devs=("/dev/mapper/lun1", "/dev/sdc"))
    drv, _, _ = driver(simnode, "kvm", {"name": "vm1"})
    assert drv.disklist() == ["/dev/mapper/lun1", "/dev/sdc"]      # the file-backed disk is not a device
    assert drv.files_to_sync() == [str(cf)]
    cf.unlink()
    assert drv.disklist() == [] and drv.files_to_sync() == []


def test_kvm_up_test_is_dominfo_running_only(node):
    kvm, _, _ = driver(node, "kvm", {"name": "vm1"})
    xen, _, _ = driver(node, "xen", {"name": "vm1"})
    assert kvm.up_argv() == xen.up_argv() == ["virsh", "dominfo", "--domain", "vm1"]

    def res(out, rc=0):
        return Result(argv=["virsh"], rc=rc, out=out)

    assert kvm.parse_up(res("Id:  3\nState:          running\n"))
    assert not kvm.parse_up(res("State:          idle\n"))
    assert not kvm.parse_up(res("State:          shut off\n"))
    assert not kvm.parse_up(res("State:          running\n", rc=1))
    assert xen.parse_up(res("State:          idle\n"))
    assert xen.parse_up(res("State:          running\n"))
    assert not xen.parse_up(res("State:          paused\n"))


# --- xen --------------------------------------------------------------------------------------------
def test_xen_defines_from_var_when_present(simnode, sim):
    sim.vmsim("define", "xen", "xvm1")
    drv, _, events = driver(simnode, "xen", {"name": "xvm1"})
    drv.container_start()
    assert argvs(events) == [["virsh", "start", "--domain", "xvm1"]]         # no agent copy of the XML: start only
    drv.wait_up()
    drv.container_forcestop()
    assert argvs(events)[-1] == ["virsh", "destroy", "--domain", "xvm1"]
    cf = simnode.var / "xvm1.xml"
    cf.write_text(kvm_xml("xvm1", type="xen"))
    events.clear()
    drv.container_start()
    assert argvs(events) == [["virsh", "define", str(cf)], ["virsh", "start", "--domain", "xvm1"]]
    assert drv.files_to_sync() == [str(cf)] and drv.disklist() == ["/dev/mapper/lun1"]


def test_xen_running_domain_is_idle_and_up(simnode, sim):
    sim.vmsim("define", "xen", "xvm1", "--running")
    out = sim.cli("virsh", "dominfo", "xvm1", node="node1").stdout
    assert dominfo_fields(out)["State"] == "idle"
    drv, _, _ = driver(simnode, "xen", {"name": "xvm1"})
    assert drv.is_up() and drv.status() == ("up", [])
    assert dominfo_fields(sim.cli("virsh", "dominfo", "xvm1", node="node2").stdout)["State"] == "shut off"


def test_xen_autostart_from_dominfo(simnode, sim):
    sim.vmsim("define", "xen", "xvm1", "--autoboot")
    drv, _, _ = driver(simnode, "xen", {"name": "xvm1"})
    assert not drv.check_manual_boot()
    assert drv.status() == ("warn", ["container auto boot is on"])
    sim.vmsim("rm", "xen", "xvm1")
    sim.vmsim("define", "xen", "xvm1")
    assert drv.check_manual_boot()


def test_dominfo_fields_parser():
    text = ("Id:             -\nName:           vm1\nUUID:           11-22\nOS Type:        hvm\n"
            "State:          shut off\nAutostart:      disable\nSecurity DOI:   0\n\n")
    fields = dominfo_fields(text)
    assert fields["State"] == "shut off" and fields["Autostart"] == "disable" and fields["OS Type"] == "hvm"


# --- ovm --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["ovm2", "ovm3", "xen"])
def test_ovm_cfg_found_in_each_layout(simnode, sim, layout):
    cf = write_ovm_cfg(sim, "ovmguest1", layout=layout)
    drv, log, events = driver(simnode, "ovm", {"name": "ovmguest1", "uuid": UUID})
    assert drv.find_vmcf() == str(cf)
    drv.container_start()
    assert argvs(events) == [["xm", "create", str(cf)]]
    assert log.messages("INFO")[0] == f"xm create {cf}"
    assert f'Using config file "{cf}".' in log.messages("INFO")[1]
    vm = sim.show("ovm", "ovmguest1")
    assert (vm["id"], vm["name"], vm["node"]) == (UUID, "ovmguest1", "node1")


def test_ovm_several_cfgs_warn_and_use_the_first(simnode, sim):
    first = write_ovm_cfg(sim, "ovmguest1", layout="ovm2")
    second = write_ovm_cfg(sim, "ovmguest1", layout="ovm3")
    drv, log, _ = driver(simnode, "ovm", {"name": "ovmguest1", "uuid": UUID})
    assert drv.find_vmcf() == str(first)
    assert log.messages("WARNING") == [f"2 configuration files found in repositories ({first}, {second}): "
                                       f"using {first}"]


def test_ovm_no_cfg_refuses_to_start(simnode, sim):
    write_ovm_cfg(sim, "other", uuid="0004fb00000600000000000000000000")
    drv, _, events = driver(simnode, "ovm", {"name": "ovmguest1", "uuid": UUID})
    with pytest.raises(DriverError, match="^no configuration file found in repositories$"):
        drv.container_start()
    assert events == [] and drv.files_to_sync() == [] and drv.disklist() == []


def test_ovm_sequence_commands_and_migrate(simnode, sim):
    cf = write_ovm_cfg(sim, "ovmguest1")
    drv, log, events = driver(simnode, "ovm", {"name": "ovmguest1", "uuid": UUID})
    drv.container_start()
    drv.wait_up()
    assert drv.is_up()
    listing = sim.cli("xm", "list", "--state=running", node="node1").stdout.splitlines()
    assert listing[0].split() == ["Name", "ID", "Mem", "VCPUs", "State", "Time(s)"]
    assert [line.split()[0] for line in listing[1:]] == ["Domain-0", UUID]
    drv.migrate("node2")
    assert not drv.is_up()
    assert sim.show("ovm", "ovmguest1")["node"] == "node2"
    assert argvs(events) == [["xm", "create", str(cf)], ["xm", "migrate", "-l", UUID, "node2"]]


def test_ovm_stop_and_force_stop_by_uuid(simnode, sim):
    write_ovm_cfg(sim, "ovmguest1")
    sim.vmsim("define", "ovm", "ovmguest1", "--id", UUID, "--running")
    sim.vmsim("fail", "ovm", "ovmguest1", "stop=hang")
    clock = FakeClock()
    drv, log, events = driver(simnode, "ovm", {"name": "ovmguest1", "uuid": UUID, "stop_timeout": 0.2}, clock)
    assert drv.is_up()
    drv.stop()
    with pytest.raises(StopTimeout):
        drv.wait_down()
    drv.force_stop()
    assert argvs(events) == [["xm", "shutdown", UUID], ["xm", "destroy", UUID]]
    assert drv.is_down()
    with pytest.raises(DriverError, match=f"Error: Domain '{UUID}' does not exist."):
        drv.container_stop()


def test_ovm_caps_autostart_disks_files(simnode, sim):
    cf = write_ovm_cfg(sim, "ovmguest1")
    drv, _, _ = driver(simnode, "ovm", {"name": "ovmguest1", "uuid": UUID})
    assert drv.status() == ("down", [])
    assert drv.disklist() == ["/dev/mapper/36006016012345678", "/dev/mapper/36006016087654321"]
    assert drv.files_to_sync() == [str(cf)]
    auto = sim.root / "etc" / "xen" / "auto" / UUID
    auto.parent.mkdir(parents=True)
    auto.write_text("")
    assert drv.status() == ("warn", ["container auto boot is on"])
    auto.unlink()
    hosts.set_host("node1", xend=False)
    assert drv.status() == ("warn", ["can not fetch xm info", "insufficient node capabilities"])


def test_ovm_up_test_from_another_node(simnode, sim):
    """The conflict probe's remote up test: the same `xm list --state=running`, run as the peer."""
    from drivers.transport import LocalTransport

    write_ovm_cfg(sim, "ovmguest1")
    sim.vmsim("define", "ovm", "ovmguest1", "--id", UUID, "--running", "--node", "node2")
    drv, _, _ = driver(simnode, "ovm", {"name": "ovmguest1", "uuid": UUID})
    drv.ctx.transport = LocalTransport({"node1": simnode.root, "node2": simnode.root})
    assert not drv.is_up()
    assert drv.is_up_on("node2")


def test_running_uuids_parser():
    out = ("Name                                        ID   Mem VCPUs      State   Time(s)\n"
           "Domain-0                                     0  2048     4     r-----   4242.0\n"
           f"{UUID}             3  1024     1     -b----     52.1\n"
           "\n"
           "garbage line\n")
    assert running_uuids(out) == {"Name", "Domain-0", UUID}


def test_cfg_disks_parser():
    assert cfg_disks("disk = ['phy:/dev/sdb,xvda,w', 'file:/x.img,xvdb,w']\n") == ["/dev/sdb"]
    assert cfg_disks('disk = [ "phy:/dev/mapper/a,hda,w",\n   "phy:/dev/mapper/b,hdb,r" ]\n') == [
        "/dev/mapper/a", "/dev/mapper/b"]
    assert cfg_disks("memory = 1024\n") == []
    assert cfg_disks("#disk = ['phy:/dev/sdb,xvda,w']\n") == []


# --- the shared scenarios -------------------------------------------------------------------------------
def define_kvm(pool, name, running_on=None):
    write_kvm_xml(pool.sim, name)
    args = ["define", "kvm", name] + (["--running", "--node", running_on] if running_on else [])
    pool.sim.vmsim(*args)


def define_xen(pool, name, running_on=None):
    args = ["define", "xen", name] + (["--running", "--node", running_on] if running_on else [])
    pool.sim.vmsim(*args)


def define_ovm(pool, name, running_on=None):
    write_ovm_cfg(pool.sim, name)
    args = ["define", "ovm", name, "--id", UUID] + (["--running", "--node", running_on] if running_on else [])
    pool.sim.vmsim(*args)


TECHS = [Tech("kvm", define=define_kvm), Tech("xen", define=define_xen),
         Tech("ovm", define=define_ovm, keywords={"uuid": UUID})]


@pytest.mark.parametrize("tech", TECHS, ids=lambda t: t.type)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_scenarios(scenario, tech, vm_pool):
    scenario(vm_pool, tech)
