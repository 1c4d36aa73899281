"""`VBoxManage`: the VirtualBox command-line interface.

State: simulators.core, tech `vbox` (`vmsim define vbox <name> [--set basefolder=/srv/vbox]`). Every
simulated host knows every VM (shared folder); a VM runs on one host. While it powers on its
VMState is `starting` and it is not listed in `runningvms` yet.

    VBoxManage -v | --version                   7.0.14r161095
    VBoxManage list vms | runningvms            `"<name>" {<uuid>}` lines
    VBoxManage startvm <name> [--type gui|headless|separate]   (knobs start=fail|hang|crash|stuck)
    VBoxManage controlvm <name> acpipowerbutton the guest shuts down (knobs stop=fail|hang|stuck)
    VBoxManage controlvm <name> poweroff        power off at once (progress on stderr)
    VBoxManage showvminfo <name> --machinereadable   `key="value"` lines (CfgFile, SnapFldr, LogFldr...)
Errors: `VBoxManage: error: <text>` lines on stderr, rc 1.
"""

import sys
import time
import uuid

from simulators import core

TECH = "vbox"
VERSION = "7.0.14r161095"
BASEFOLDER = "/root/VirtualBox VMs"


def vm_uuid(vm) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"vbox:{vm['id']}"))


def _not_found(name):
    raise core.SimError(
        f"VBoxManage: error: Could not find a registered machine named '{name}'\n"
        f"VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, "
        f"interface IVirtualBox, callee nsISupports\n"
        f"VBoxManage: error: Context: \"FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())\" at "
        f"line 3045 of file VBoxManageInfo.cpp", 1)


def _vm(name) -> dict:
    for vm in core.all_vms(TECH):
        if name in (vm["name"], vm_uuid(vm)):
            return vm
    _not_found(name)


def vmstate(vm) -> str:
    if vm["state"] == "off":
        return "poweroff"
    if not core.here(vm):
        return "poweroff"         # runs on another host: here it is a powered-off registration
    return {"booting": "starting", "running": "running", "stopping": "running"}[vm["state"]]


def _running(vm) -> bool:
    return vmstate(vm) == "running"


def _list(args):
    if not args or args[0] not in ("vms", "runningvms"):
        raise core.SimError("VBoxManage: error: the simulated VBoxManage lists: vms, runningvms", 1)
    for vm in core.all_vms(TECH):
        if args[0] == "vms" or _running(vm):
            print(f"\"{vm['name']}\" {{{vm_uuid(vm)}}}")
    return 0


def _startvm(args):
    names = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] != "--type")]
    if not names:
        raise core.SimError("VBoxManage: error: missing the VM name\nUsage: VBoxManage startvm <uuid|vmname>... "
                            "[--type=gui|headless|sdl|separate]", 1)
    vm = _vm(names[0])
    core.stuck_if(vm, "start")
    if vm["state"] != "off":
        raise core.SimError(f"VBoxManage: error: The machine '{vm['name']}' is already locked by a session "
                            f"(or being locked or unlocked)\nVBoxManage: error: Details: code "
                            f"VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine", 1)
    print(f"Waiting for VM \"{vm['name']}\" to power on...")
    if core.failing(vm, "start"):
        raise core.SimError(f"VBoxManage: error: The virtual machine '{vm['name']}' has terminated unexpectedly "
                            f"during startup with exit code 1 (0x1) (simulated failure)\nVBoxManage: error: "
                            f"Details: code NS_ERROR_FAILURE (0x80004005), component MachineWrap, interface IMachine",
                            1)
    core.set_state(vm, "booting")
    print(f"VM \"{vm['name']}\" has been successfully started.")
    return 0


def _controlvm(args):
    if len(args) < 2:
        raise core.SimError("VBoxManage: error: Usage: VBoxManage controlvm <uuid|vmname> "
                            "acpipowerbutton|poweroff|...", 1)
    vm, op = _vm(args[0]), args[1]
    if op == "acpipowerbutton":
        core.stuck_if(vm, "stop")
    if not (core.here(vm) and vm["state"] != "off"):
        raise core.SimError(f"VBoxManage: error: Machine '{vm['name']}' is not currently running", 1)
    if op == "acpipowerbutton":
        if core.failing(vm, "stop"):
            raise core.SimError("VBoxManage: error: The guest is not using ACPI (simulated failure)\n"
                                "VBoxManage: error: Details: code VBOX_E_PDM_ERROR (0x80bb000d), component "
                                "ConsoleWrap, interface IConsole", 1)
        if vm["state"] != "stopping":
            core.set_state(vm, "stopping")
        return 0
    if op == "poweroff":
        print("0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%", file=sys.stderr)
        core.set_state(vm, "off")
        return 0
    raise core.SimError(f"VBoxManage: error: Invalid parameter '{op}'", 1)


def _showvminfo(args):
    names = [a for a in args if not a.startswith("-")]
    if not names:
        raise core.SimError("VBoxManage: error: Usage: VBoxManage showvminfo <uuid|vmname> [--machinereadable]", 1)
    vm = _vm(names[0])
    folder = f"{vm['extra'].get('basefolder', BASEFOLDER)}/{vm['name']}"
    changed = time.strftime("%Y-%m-%dT%H:%M:%S.000000000", time.gmtime(vm["since"]))
    info = [("name", vm["name"]), ("groups", "/"), ("ostype", "Oracle Linux (64-bit)"),
            ("UUID", vm_uuid(vm)), ("CfgFile", f"{folder}/{vm['name']}.vbox"), ("SnapFldr", f"{folder}/Snapshots"),
            ("LogFldr", f"{folder}/Logs"), ("memory", vm["extra"].get("memory", "2048")),
            ("cpus", vm["extra"].get("cpus", "2")), ("VMState", vmstate(vm)), ("VMStateChangeTime", changed)]
    if "--machinereadable" in args:
        for key, value in info:
            print(f"{key}={value}" if value.isdigit() else f"{key}=\"{value}\"")
    else:
        labels = {"name": "Name", "ostype": "Guest OS", "CfgFile": "Config file", "SnapFldr": "Snapshot folder",
                  "LogFldr": "Log folder", "memory": "Memory size", "cpus": "Number of CPUs", "VMState": "State"}
        for key, value in info:
            if key in labels:
                print(f"{labels[key] + ':':<32}{value}")
    return 0


def main(argv):
    if not argv:
        raise core.SimError("Usage: VBoxManage [<general option>] <command>", 1)
    cmd, args = argv[0], argv[1:]
    if cmd in ("-v", "--version", "-version"):
        print(VERSION)
        return 0
    handlers = {"list": _list, "startvm": _startvm, "controlvm": _controlvm, "showvminfo": _showvminfo}
    if cmd not in handlers:
        raise core.SimError(f"VBoxManage: error: Syntax error: Invalid command '{cmd}'", 1)
    return handlers[cmd](args)
