"""hpvm, ldom, esx and vbox containers (docs/agent-reference.md §6.1, §6.3): command lines, parsers, status warnings
(auto boot, capabilities), disks and files to sync, the shared container scenarios through the real
CLI, and the VM cookbook's hpvm seed (vm188) started and stopped through the CLI.

Drivers run against the simulators on PATH (simulators/hpvm.py, ldom.py, esx.py, vbox.py) with a
real Runner: assertions read the exact log lines, the argv of the journaled command events and the
simulated hypervisors' state.
"""

import os
import shutil
from pathlib import Path

import pytest

from drivers.base import DriverError, StopTimeout
from tests.helpers.cli import journal_rows, osvc, transitions
from tests.helpers.container_scenarios import (SCENARIOS, START_PHASES, STOP_PHASES, Tech, running_elsewhere,
                                               write_service)
from tests.helpers.drivers import make_driver
from tests.helpers.sim import SIM_BIN, FakeClock, sim_node_conf
from tests.helpers.paths import DATA

NOWHERE = "192.0.2.10"     # TEST-NET-1: resolves as is, never answers
SEEDS = DATA / "seeds"
SSH = f"{SIM_BIN / 'ssh'} -q -o StrictHostKeyChecking=no -o BatchMode=yes"


def argvs(events):
    return [e["payload"]["argv"] for e in events]


def driver(node, type, conf, clock=None, sim=None):
    """A container driver; with a FakeClock, polls are 1 s apart (fake time: few real probes)."""
    conf = {"hostname": NOWHERE, **conf}
    timing = {"clock": clock, "sleep": clock.sleep} if clock else {}
    if clock:
        sim_node_conf(node.root, sim, poll=1.0)
    return make_driver(node, "container", type, conf, rid="container#1", **timing)


def hp(tool):
    return str(SIM_BIN / tool)


# =====================================================================================================
# hpvm
# =====================================================================================================
HPVM_M = ("vm188:3:4.3.0:5c3e-11:HPUX:enabled:enabled:enabled:enabled:30:On:Manual:OS:node109:0:::::"
          "2;;:4GB;;:2:1")


def test_hpvm_machine_line_fields():
    from drivers.container_hpvm import BOOT_FIELD, STATE_FIELD, field, machine_fields

    assert len(machine_fields(HPVM_M)) == 23
    assert (field(HPVM_M, STATE_FIELD), field(HPVM_M, BOOT_FIELD)) == ("On", "Manual")
    assert field(HPVM_M.replace(":On:Manual:", ":Off:Auto:"), STATE_FIELD) == "Off"
    assert field("", STATE_FIELD) is None
    assert field("vm188:3:short", STATE_FIELD) is None


def test_hpvm_disk_lines_keep_disk_backings_only():
    from drivers.container_hpvm import parse_disks

    text = ("[Storage Interface Details]\n"
            "disk:avio_stor:0,0,0:disk:/dev/rdisk/disk10\n"
            "disk:avio_stor:0,1,0:lv:/dev/vg01/rlvol1\n"
            "disk:avio_stor:0,2,0:file:/srv/img.raw\n"
            "dvd:avio_stor:0,3,0:disk:/dev/rdisk/disk12\n"
            "network:avio_lan:0,4,0x0A1B2C:vswitch:vsw1:portid:1\n")
    assert parse_disks(text) == ["/dev/rdisk/disk10", "/dev/rdisk/disk12"]


def test_hpvm_start_stop_command_lines(simnode, sim):
    sim.vmsim("define", "hpvm", "vm188")
    drv, log, events = driver(simnode, "hpvm", {"name": "vm188"})
    assert drv.is_down() and not drv.is_up()
    drv.container_start()
    assert argvs(events) == [[hp("hpvmstart"), "-P", "vm188"]]
    assert log.messages("INFO")[0] == f"{hp('hpvmstart')} -P vm188"
    assert "hpvmstart: Successful start initiation of guest 'vm188'" in log.messages("INFO")[1]
    assert sim.show("hpvm", "vm188")["state"] in ("booting", "running")
    drv.wait_up()
    assert drv.is_up() and log.messages()[-1] == "wait for container up status"
    drv.stop()
    drv.wait_down()
    assert argvs(events)[1:] == [[hp("hpvmstop"), "-g", "-F", "-P", "vm188"]]
    assert log.messages()[-1] == "wait for container down status"
    assert sim.show("hpvm", "vm188")["state"] == "off"


def test_hpvm_booting_guest_is_not_up(simnode, sim):
    """hpvmstatus says `Starting` while the firmware loads: the up test wants `On`."""
    sim.vmsim("define", "hpvm", "vm188")
    sim.vmsim("fail", "hpvm", "vm188", "start=hang")
    drv, _, _ = driver(simnode, "hpvm", {"name": "vm188"})
    drv.container_start()
    line = sim.cli("hpvmstatus", "-M", "-P", "vm188", node="node1").stdout
    assert line.split(":")[10] == "Starting"
    assert not drv.is_up()


def test_hpvm_stop_hang_forces_power_off(simnode, sim):
    sim.vmsim("define", "hpvm", "vm188", "--running")
    sim.vmsim("fail", "hpvm", "vm188", "stop=hang")
    clock = FakeClock()
    drv, log, events = driver(simnode, "hpvm", {"name": "vm188", "stop_timeout": 3}, clock=clock, sim=sim)
    drv.stop()
    with pytest.raises(StopTimeout):
        drv.wait_down()
    assert drv.is_up()                      # still shutting down: the VM is On
    drv.force_stop()
    assert ("WARNING", "Waited too long for shutdown") in log.lines
    assert argvs(events) == [[hp("hpvmstop"), "-g", "-F", "-P", "vm188"], [hp("hpvmstop"), "-F", "-P", "vm188"]]
    drv.wait_down()
    assert sim.show("hpvm", "vm188")["state"] == "off"


def test_hpvm_start_failure_names_the_command(simnode, sim):
    sim.vmsim("define", "hpvm", "vm188")
    sim.vmsim("fail", "hpvm", "vm188", "start=fail")
    drv, log, events = driver(simnode, "hpvm", {"name": "vm188"})
    with pytest.raises(DriverError) as exc:
        drv.container_start()
    assert str(exc.value).startswith(f"{hp('hpvmstart')} -P vm188 failed (rc 1): hpvmstart: Unable to start")
    assert events[0]["payload"]["rc"] == 1
    assert sim.show("hpvm", "vm188")["state"] == "off"


def test_hpvm_status_warnings(simnode, sim, tmp_path):
    sim.vmsim("define", "hpvm", "vm188", "--autoboot")
    drv, _, _ = driver(simnode, "hpvm", {"name": "vm188"})
    assert drv.status() == ("warn", ["container auto boot is on"])
    sim.vmsim("define", "hpvm", "vm189")
    drv, _, _ = driver(simnode, "hpvm", {"name": "vm189"})
    assert drv.status() == ("down", [])
    sim.vmsim("define", "hpvm", "vm190", "--running")
    assert driver(simnode, "hpvm", {"name": "vm190"})[0].status() == ("up", [])
    # no hpvmstatus in the HPVM folder: the node cannot run hpvm guests
    sim_node_conf(simnode.root, sim, paths={"hpvm": str(tmp_path / "opt" / "hpvm" / "bin")})
    drv, _, _ = driver(simnode, "hpvm", {"name": "vm189"})
    assert drv.status() == ("warn", ["insufficient node capabilities"])
    # an unresolvable name
    sim_node_conf(simnode.root, sim)
    drv, _, _ = make_driver(simnode, "container", "hpvm", {"name": "vm189", "hostname": "no-such-host.invalid"})
    value, log = drv.status()
    assert value == "warn" and log[0].startswith("could not resolve name no-such-host.invalid")


def test_hpvm_disklist_and_migrate(simnode, sim):
    sim.vmsim("define", "hpvm", "vm188", "--running", "--disk", "/dev/rdisk/disk10", "--disk", "/dev/vg01/rlvol1",
              "--disk", "/dev/rdisk/disk11")
    drv, log, events = driver(simnode, "hpvm", {"name": "vm188"})
    assert drv.disklist() == ["/dev/rdisk/disk10", "/dev/rdisk/disk11"]
    drv.migrate("node2")
    assert argvs(events) == [[hp("hpvmmigrate"), "-o", "-P", "vm188", "-h", "node2"]]
    assert "hpvmmigrate: Guest 'vm188' migrated online to 'node2'" in log.messages("INFO")[1]
    vm = sim.show("hpvm", "vm188")
    assert (vm["state"], vm["node"]) == ("running", "node2")
    assert not drv.is_up()                  # node1's hpvmstatus now says Off
    with pytest.raises(DriverError) as exc:
        driver(simnode, "hpvm", {"name": "vm999"})[0].disklist()
    assert str(exc.value) == (f"{hp('hpvmstatus')} -d -P vm999 failed (rc 1): "
                              f"hpvmstatus: Unable to find the guest 'vm999'.")


def test_hpvm_files_to_sync_are_the_guest_folder_and_its_uuid_folder(simnode, sim):
    guests = sim.root / "var" / "opt" / "hpvm" / "guests"
    uuid_dir = sim.root / "var" / "opt" / "hpvm" / "uuids" / "5c3e-11"
    uuid_dir.mkdir(parents=True)
    guests.mkdir(parents=True)
    (guests / "vm188").symlink_to(uuid_dir)
    sim_node_conf(simnode.root, sim, paths={"hpvm_guests": str(guests)})
    drv, _, _ = driver(simnode, "hpvm", {"name": "vm188"})
    assert drv.files_to_sync() == [str(guests / "vm188"), str(uuid_dir)]
    assert driver(simnode, "hpvm", {"name": "vm189"})[0].files_to_sync() == []


def test_hpvm_devmgmt_share_attribute(sim):
    sim.vmsim("define", "hpvm", "vm188", "--disk", "/dev/rdisk/disk10")
    assert sim.cli("hpvmdevmgmt", "-l", "all").stdout == \
        "/dev/rdisk/disk10:CONFIG=gdev,EXIST=YES,DEVTYPE=DISK,SHARE=NO:vm188:\n"
    assert sim.cli("hpvmdevmgmt", "-a", "gdev:/dev/rdisk/disk20").returncode == 0
    assert sim.cli("hpvmdevmgmt", "-m", "gdev:/dev/rdisk/disk10:attr:SHARE=YES").returncode == 0
    assert sim.cli("hpvmdevmgmt", "-l", "all").stdout.splitlines() == [
        "/dev/rdisk/disk10:CONFIG=gdev,EXIST=YES,DEVTYPE=DISK,SHARE=YES:vm188:",
        "/dev/rdisk/disk20:CONFIG=gdev,EXIST=YES,DEVTYPE=DISK,SHARE=NO::"]
    # the table is the node's own
    assert "disk20" not in sim.cli("hpvmdevmgmt", "-l", "all", node="node2").stdout


# =====================================================================================================
# ldom
# =====================================================================================================
LDM = str(SIM_BIN / "ldm")


def test_ldm_parsers():
    from drivers.container_ldom import parse_services, parse_state, parse_vdisks, raw_device

    assert parse_state("VERSION 1.6\nDOMAIN|name=ldg1|state=bound|flags=------|cons=5000|ncpu=8\n") == "bound"
    assert parse_state("VERSION 1.6\n") is None
    assert raw_device("/dev/dsk/c0t1d0") == "/dev/rdsk/c0t1d0s2"
    assert raw_device("/dev/dsk/c0t1d0s4") == "/dev/rdsk/c0t1d0s4"
    assert raw_device("/ldoms/ldg1/disk0.img") is None
    services = ("VERSION 1.6\n"
                "VCC|name=primary-vcc0|ldom=primary|port-range=5000-5100\n"
                "VDS|name=primary-vds0|ldom=primary\n"
                "|vol=v0|opts=|dev=/dev/dsk/c0t1d0|mpgroup=\n"
                "|vol=img|opts=|dev=/ldoms/img0|mpgroup=\n"
                "VDS|name=vds1|ldom=primary\n"
                "|vol=v0|opts=|dev=/dev/dsk/c3t0d0s2|mpgroup=\n"
                "VSW|name=primary-vsw0|ldom=primary\n"
                "|vol=stray|dev=/dev/dsk/c9t9d9\n")
    assert parse_services(services) == {"v0@primary-vds0": "/dev/rdsk/c0t1d0s2", "v0@vds1": "/dev/rdsk/c3t0d0s2"}
    assert parse_vdisks("VERSION 1.6\nDOMAIN|name=ldg1|\nVDISK|name=d0|vol=v0@vds1|dev=disk@0\n") == ["v0@vds1"]


def ldm_state(sim, name, node="node1"):
    from drivers.container_ldom import parse_state

    return parse_state(sim.cli("ldm", "list", "-p", name, node=node).stdout)


def test_ldom_start_binds_then_starts_an_inactive_domain(simnode, sim):
    sim.vmsim("define", "ldom", "ldg1")
    drv, log, events = driver(simnode, "ldom", {"name": "ldg1"})
    assert drv.state() == "inactive" and drv.is_down()
    drv.container_start()
    assert argvs(events) == [[LDM, "bind", "ldg1"], [LDM, "start", "ldg1"]]
    assert log.messages("INFO") == [f"{LDM} bind ldg1", f"{LDM} start ldg1", "output:\nLDom ldg1 started"]
    drv.wait_up()
    assert drv.state() == "active"


def test_ldom_start_of_a_bound_domain_only_starts_it(simnode, sim):
    sim.vmsim("define", "ldom", "ldg1")
    sim.cli("ldm", "bind", "ldg1", node="node1", check=True)
    drv, _, events = driver(simnode, "ldom", {"name": "ldg1"})
    assert drv.status() == ("warn", ["container status is neither up nor down"])   # bound
    drv.container_start()
    assert argvs(events) == [[LDM, "start", "ldg1"]]


def test_ldom_start_of_an_unknown_domain_says_so(simnode, sim):
    drv, _, events = driver(simnode, "ldom", {"name": "ldg9"})
    with pytest.raises(DriverError) as exc:
        drv.container_start()
    assert str(exc.value).startswith("ldom ldg9: `ldm list -p ldg9` does not know this domain")
    assert events == []


def test_ldom_stop_inits_the_guest_waits_then_unbinds(simnode, sim):
    sim.vmsim("define", "ldom", "ldg1", "--running")
    drv, log, events = driver(simnode, "ldom", {"name": "ldg1"})
    assert drv.is_up()
    drv.stop()
    assert argvs(events) == [[*SSH.split(), "--", "ldg1", "/usr/sbin/init", "5"], [LDM, "unbind", "ldg1"]]
    assert "wait for container shutdown" in log.messages("INFO")
    assert drv.state() == "inactive"
    drv.wait_down()                          # already down: the sequence's wait passes at once
    assert sim.show("ldom", "ldg1")["state"] == "off"


def test_ldom_stop_of_a_hung_guest_stops_and_unbinds_the_domain(simnode, sim):
    sim.vmsim("define", "ldom", "ldg1", "--running")
    sim.vmsim("fail", "ldom", "ldg1", "stop=hang")
    clock = FakeClock()
    drv, log, events = driver(simnode, "ldom", {"name": "ldg1", "stop_timeout": 4}, clock=clock, sim=sim)
    drv.stop()
    assert argvs(events) == [[*SSH.split(), "--", "ldg1", "/usr/sbin/init", "5"], [LDM, "stop", "ldg1"],
                             [LDM, "unbind", "ldg1"]]
    assert ("WARNING", "ldom ldg1 did not shut down in 4 s: stopping it with ldm") in log.lines
    assert sum(clock.slept) <= 4
    assert drv.state() == "inactive"


def test_ldom_force_stop(simnode, sim):
    sim.vmsim("define", "ldom", "ldg1", "--running")
    drv, _, events = driver(simnode, "ldom", {"name": "ldg1"})
    drv.container_forcestop()
    assert argvs(events) == [[LDM, "stop", "ldg1"], [LDM, "unbind", "ldg1"]]
    assert drv.is_down()


def test_ldom_status_warnings(simnode, sim, tmp_path):
    sim.vmsim("define", "ldom", "ldg1", "--autoboot")
    assert sim.cli("ldm", "list-variable", "auto-boot?", "ldg1").stdout == "auto-boot?=true\n"
    assert driver(simnode, "ldom", {"name": "ldg1"})[0].status() == ("warn", ["container auto boot is on"])
    sim.vmsim("define", "ldom", "ldg2")
    assert driver(simnode, "ldom", {"name": "ldg2"})[0].status() == ("down", [])
    sim_node_conf(simnode.root, sim, paths={"ldm": str(tmp_path / "usr" / "sbin" / "ldm")})
    assert driver(simnode, "ldom", {"name": "ldg2"})[0].status() == ("warn", ["insufficient node capabilities"])


def test_ldom_disklist_is_the_domain_volumes_a_vds_exports(simnode, sim):
    sim.vmsim("define", "ldom", "ldg1", "--disk", "/dev/dsk/c0t1d0", "--disk", "/dev/dsk/c0t2d0s2",
              "--disk", "/ldoms/ldg1/boot.img")
    sim.vmsim("define", "ldom", "ldg2", "--disk", "/dev/dsk/c5t0d0")
    drv, _, _ = driver(simnode, "ldom", {"name": "ldg1"})
    assert drv.vds_volumes() == {"ldg1-vol0@primary-vds0": "/dev/rdsk/c0t1d0s2",
                                 "ldg1-vol1@primary-vds0": "/dev/rdsk/c0t2d0s2",
                                 "ldg2-vol0@primary-vds0": "/dev/rdsk/c5t0d0s2"}
    assert drv.domain_volumes() == ["ldg1-vol0@primary-vds0", "ldg1-vol1@primary-vds0",
                                    "ldg1-vol2@primary-vds0"]
    assert drv.domain_volumes("ldg2") == ["ldg2-vol0@primary-vds0"]
    assert drv.disklist() == ["/dev/rdsk/c0t1d0s2", "/dev/rdsk/c0t2d0s2"]


# =====================================================================================================
# esx
# =====================================================================================================
VMX = "/vmfs/volumes/datastore1/vm1/vm1.vmx"


def test_esx_vmx_and_state_parsers():
    from drivers.container_esx import find_vmx, parse_state

    listing = "/vmfs/volumes/ds1/avm1/avm1.vmx\n/vmfs/volumes/ds1/vm1/vm1.vmx\n/vmfs/volumes/ds2/vm10/vm10.vmx\n"
    assert find_vmx(listing, "vm1") == "/vmfs/volumes/ds1/vm1/vm1.vmx"
    assert find_vmx(listing, "vm2") is None
    assert parse_state("getstate() = on\n") == "on"
    assert parse_state("getstate() = off\n") == "off"
    assert parse_state("VMControl error -11: No such virtual machine\n") is None


def test_esx_start_stop_command_lines(simnode, sim):
    sim.vmsim("define", "esx", "vm1")
    drv, log, events = driver(simnode, "esx", {"name": "vm1"})
    assert drv.vmx() == VMX and drv.is_down()
    drv.container_start()
    assert argvs(events) == [["vmware-cmd", VMX, "start"]]
    assert log.messages("INFO") == [f"vmware-cmd {VMX} start", "output:\nstart() = 1"]
    drv.wait_up()
    assert sim.cli("vmware-cmd", VMX, "getstate", node="node1").stdout == "getstate() = on\n"
    drv.stop()
    drv.wait_down()
    assert argvs(events)[1:] == [["vmware-cmd", VMX, "stop", "soft"]]
    assert sim.show("esx", "vm1")["state"] == "off"


def test_esx_stop_hang_forces_hard_stop(simnode, sim):
    sim.vmsim("define", "esx", "vm1", "--running")
    sim.vmsim("fail", "esx", "vm1", "stop=hang")
    clock = FakeClock()
    drv, _, events = driver(simnode, "esx", {"name": "vm1", "stop_timeout": 2}, clock=clock, sim=sim)
    drv.stop()
    with pytest.raises(StopTimeout):
        drv.wait_down()
    drv.force_stop()
    drv.wait_down()
    assert argvs(events) == [["vmware-cmd", VMX, "stop", "soft"], ["vmware-cmd", VMX, "stop", "hard"]]


def test_esx_unregistered_vm(simnode, sim):
    drv, _, events = driver(simnode, "esx", {"name": "vm1"})
    assert not drv.is_up()
    with pytest.raises(DriverError) as exc:
        drv.container_start()
    assert str(exc.value) == "vm vm1 not found on this node (no /vm1.vmx in vmware-cmd -l)"
    assert events == []


def test_esx_status_capabilities_and_no_remote_check(simnode, sim, monkeypatch):
    sim.vmsim("define", "esx", "vm1", "--running", "--node", "node2")
    drv, _, _ = driver(simnode, "esx", {"name": "vm1"})
    assert drv.status() == ("down", [])
    assert drv.remote_up is False and drv.where_up() is None   # ESX offers no remote up test
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                 if Path(p) != SIM_BIN))
    assert shutil.which("vmware-cmd") is None
    assert driver(simnode, "esx", {"name": "vm1"})[0].status() == ("warn", ["insufficient node capabilities"])


# =====================================================================================================
# vbox
# =====================================================================================================
def test_vbox_parsers():
    from drivers.container_vbox import parse_machinereadable, parse_vms

    assert parse_vms('"vm1" {0b6a1c7e-1111-4c1d-9a1e-2f4e5d6c7b8a}\n"my vm" {2c3d}\n') == ["vm1", "my vm"]
    assert parse_vms("") == []
    info = parse_machinereadable('name="vm1"\nCfgFile="/root/VirtualBox VMs/vm1/vm1.vbox"\nmemory=2048\n'
                                 '"storagecontrollername0"="SATA"\n')
    assert info == {"name": "vm1", "CfgFile": "/root/VirtualBox VMs/vm1/vm1.vbox", "memory": "2048",
                    "storagecontrollername0": "SATA"}


def test_vbox_start_stop_command_lines(simnode, sim):
    sim.vmsim("define", "vbox", "vm1")
    drv, log, events = driver(simnode, "vbox", {"name": "vm1"})
    assert drv.is_down()
    drv.container_start()
    assert argvs(events) == [["VBoxManage", "startvm", "vm1"]]
    assert log.messages("INFO") == ["VBoxManage startvm vm1",
                                    'output:\nWaiting for VM "vm1" to power on...\n'
                                    'VM "vm1" has been successfully started.']
    drv.wait_up()
    drv.stop()
    drv.wait_down()
    assert argvs(events)[1:] == [["VBoxManage", "controlvm", "vm1", "acpipowerbutton"]]
    assert sim.show("vbox", "vm1")["state"] == "off"


def test_vbox_acpi_ignored_powers_off(simnode, sim):
    sim.vmsim("define", "vbox", "vm1", "--running")
    sim.vmsim("fail", "vbox", "vm1", "stop=hang")
    clock = FakeClock()
    drv, log, events = driver(simnode, "vbox", {"name": "vm1"}, clock=clock, sim=sim)
    assert drv.stop_timeout == 240           # the reference's vbox shutdown wait
    # 240 s of fake time in 12 polls, not 240 (each one a real simulator call: ~19 s in all)
    drv.down_poll = 20.0
    drv.stop()
    with pytest.raises(StopTimeout):
        drv.wait_down()
    assert clock.now - 1000.0 <= 240
    drv.force_stop()
    drv.wait_down()
    assert argvs(events) == [["VBoxManage", "controlvm", "vm1", "acpipowerbutton"],
                             ["VBoxManage", "controlvm", "vm1", "poweroff"]]
    assert ("WARNING", "command succesful but stderr:\n0%...10%...20%...30%...40%...50%...60%...70%...80%..."
                       "90%...100%") in log.lines


def test_vbox_files_to_sync(simnode, sim):
    sim.vmsim("define", "vbox", "vm1", "--set", "basefolder=/srv/vbox")
    drv, _, _ = driver(simnode, "vbox", {"name": "vm1"})
    assert drv.files_to_sync() == ["/srv/vbox/vm1/vm1.vbox", "/srv/vbox/vm1/Snapshots", "/srv/vbox/vm1/Logs"]
    assert driver(simnode, "vbox", {"name": "vm9"})[0].files_to_sync() == []


def test_vbox_status_and_capabilities(simnode, sim, monkeypatch):
    sim.vmsim("define", "vbox", "vm1", "--running")
    assert driver(simnode, "vbox", {"name": "vm1"})[0].status() == ("up", [])
    sim.vmsim("define", "vbox", "vm2", "--running", "--node", "node2")
    assert driver(simnode, "vbox", {"name": "vm2"})[0].status() == ("down", [])
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                 if Path(p) != SIM_BIN))
    assert driver(simnode, "vbox", {"name": "vm1"})[0].status() == ("warn", ["insufficient node capabilities"])


# =====================================================================================================
# the shared scenarios, through the CLI
# =====================================================================================================
def definer(tech):
    def define(pool, name, running_on=None):
        args = ["define", tech, name]
        if running_on:
            args += ["--running", "--node", running_on]
        pool.sim.vmsim(*args)
    return define


TECHS = {t: Tech(t, define=definer(t)) for t in ("hpvm", "ldom", "esx", "vbox")}
# esx has no remote up test (docs/agent-reference.md §6.1): its running-elsewhere case is the ping conflict below
CASES = [(t, s) for t in sorted(TECHS) for s in SCENARIOS if not (t == "esx" and s is running_elsewhere)]


@pytest.mark.parametrize("tech,scenario", CASES, ids=lambda c: getattr(c, "__name__", c))
def test_scenarios(tech, scenario, vm_pool):
    scenario(vm_pool, TECHS[tech])


def test_esx_running_elsewhere_answers_ping(vm_pool):
    """No remote check for esx: the VM running on node2 is caught by its address answering ping."""
    pool, tech = vm_pool, TECHS["esx"]
    tech.define(pool, pool.vmname, running_on="node2")
    write_service(pool, tech)
    res = pool.osvc("-s", "vmsvc", "start")
    assert res.returncode != 0
    assert f"address {pool.addr} is alive" in res.stdout + res.stderr
    assert pool.phases() == [("start", "down", "starting"), ("start_failed", "starting", "start-failed")]
    assert [r for r in journal_rows(pool.roots["node1"], svc="vmsvc", kind="command")
            if r["rid"] == "container#1"] == []
    vm = pool.vm(tech)
    assert (vm["state"], vm["node"]) == ("running", "node2")


# =====================================================================================================
# the VM cookbook's hpvm service (tests/data/seeds/vm188.env) through the CLI
# =====================================================================================================
def test_vm188_seed_starts_and_stops_through_the_cli(sim, vm_netns, tmp_path):
    ns, add_host = vm_netns
    add_host("vm188", "10.88.1.88")
    nodes = ("node109", "node110", "node111", "node112", "node120")
    roots = {n: tmp_path / n for n in nodes}
    for root in roots.values():
        for sub in ("etc", "var", "log"):
            (root / sub).mkdir(parents=True)
        sim_node_conf(root, sim, sections={"transport": {"kind": "local"},
                                           "roots": {n: str(r) for n, r in roots.items()}})
        shutil.copy(SEEDS / "vm188.env", root / "etc" / "vm188.env")
    sim.vmsim("define", "hpvm", "vm188", "--disk", "/dev/rdisk/disk10")
    root = roots["node109"]

    def cli(*args):
        return osvc(root, "-s", "vm188", *args, node="node109", wrap=("ip", "netns", "exec", ns))

    res = cli("start")
    assert res.returncode == 0, res.stdout + res.stderr
    vm = sim.show("hpvm", "vm188")
    assert (vm["state"], vm["node"]) == ("running", "node109")
    lines = res.stdout + res.stderr
    for text in (f"{hp('hpvmstart')} -P vm188", "wait for container up status", "wait for container ping",
                 "wait for container operational"):
        assert text in lines
    phases = [(e, s, d) for rid, e, s, d in transitions(root, "vm188") if rid == "container#1"]
    assert phases == START_PHASES
    status = cli("print", "status", "--refresh").stdout
    assert next(line for line in status.splitlines() if "container#1" in line).split()[4] == "up"

    res = cli("stop")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{hp('hpvmstop')} -g -F -P vm188" in res.stdout + res.stderr
    phases = [(e, s, d) for rid, e, s, d in transitions(root, "vm188") if rid == "container#1"]
    assert phases == START_PHASES + STOP_PHASES
    assert sim.show("hpvm", "vm188")["state"] == "off"
    status = cli("print", "status", "--refresh").stdout
    assert next(line for line in status.splitlines() if "container#1" in line).split()[4] == "down"
