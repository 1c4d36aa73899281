"""`vmware-cmd`: the VMware ESX (VmPerl) command-line interface to registered virtual machines.

State: simulators.core, tech `esx` (`vmware-cmd define` is not a thing: `vmsim define esx <name>
[--set vmx=/vmfs/volumes/<ds>/<name>/<name>.vmx]`). Every simulated host registers every VM (shared
datastore); a VM is `on` only on the host it runs on, and its files are locked there.

    vmware-cmd -l                         the registered .vmx paths, one a line
    vmware-cmd <vmx> getstate             `getstate() = on|off` (`off` while powering on)
    vmware-cmd <vmx> start [mode]         `start(<mode>) = 1`   (knobs start=fail|hang|crash|stuck)
    vmware-cmd <vmx> stop soft|hard       `stop(soft) = 1`: the guest shuts down through the VMware
                                          tools (knobs stop=fail|hang|stuck); hard: power off at once
    vmware-cmd <vmx> getconfig <key>      `getconfig(<key>) = <value>` (numvcpus, memsize)
Errors: `VMControl error <n>: <text>` on stderr, rc 1.
"""

from simulators import core

TECH = "esx"


def vmx_path(vm) -> str:
    return vm["extra"].get("vmx") or f"/vmfs/volumes/datastore1/{vm['name']}/{vm['name']}.vmx"


def _vm(vmx) -> dict:
    for vm in core.all_vms(TECH):
        if vmx_path(vm) == vmx:
            return vm
    raise core.SimError("VMControl error -11: No such virtual machine", 1)


def _powerstate(vm) -> str:
    return "on" if core.here(vm) and vm["state"] in ("running", "stopping") else "off"


def _conflict(vm, op):
    raise core.SimError(
        f"VMControl error -8: Invalid operation for virtual machine's current state: The requested "
        f"operation (\"{op}\") could not be completed because it conflicted with the state of the virtual "
        f"machine (\"{_powerstate(vm)}\") at the time the request was received.  This error often occurs "
        f"because the state of the virtual machine changed before it received the request.", 1)


def _start(vm, mode):
    core.stuck_if(vm, "start")
    if vm["state"] != "off" and not core.here(vm):
        raise core.SimError(f"VMControl error -999: Unknown error: Failed to lock the file "
                            f"({vmx_path(vm)} is in use by host {vm['node']})", 1)
    if vm["state"] != "off":
        _conflict(vm, "start")
    if core.failing(vm, "start"):
        raise core.SimError("VMControl error -999: Unknown error: Failed to power on the virtual machine: "
                            "insufficient memory resources (simulated failure)", 1)
    core.set_state(vm, "booting")
    print(f"start({mode}) = 1")
    return 0


def _stop(vm, mode):
    if mode not in ("soft", "hard", "trysoft"):
        raise core.SimError(f"VMControl error -1: Invalid argument: stop mode {mode!r} (soft, hard, trysoft)", 1)
    soft = mode in ("soft", "trysoft")
    if soft:
        core.stuck_if(vm, "stop")
    if not (core.here(vm) and vm["state"] in ("running", "stopping", "booting")):
        _conflict(vm, "stop")
    if soft and core.failing(vm, "stop"):
        if mode == "soft":
            raise core.SimError("VMControl error -999: Unknown error: The VMware Tools are not running in "
                                "the guest (simulated failure)", 1)
        soft = False            # trysoft falls back to a hard stop
    if soft:
        if vm["state"] != "stopping":
            core.set_state(vm, "stopping")
    else:
        core.set_state(vm, "off")
    print(f"stop({mode}) = 1")
    return 0


def main(argv):
    if not argv:
        raise core.SimError("Usage: vmware-cmd -l | vmware-cmd <cfg> <vm-action> [args]", 1)
    if argv[0] == "-l":
        for vm in core.all_vms(TECH):
            print(vmx_path(vm))
        return 0
    vm = _vm(argv[0])
    op, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if op == "getstate":
        print(f"getstate() = {_powerstate(vm)}")
        return 0
    if op == "start":
        return _start(vm, args[0] if args else "")
    if op == "stop":
        return _stop(vm, args[0] if args else "soft")
    if op == "getconfig" and args:
        values = {"numvcpus": vm["extra"].get("numvcpus", "2"), "memsize": vm["extra"].get("memsize", "4096")}
        print(f"getconfig({args[0]}) = {values.get(args[0], vm['extra'].get(args[0], ''))}")
        return 0
    raise core.SimError(f"VMControl error -1: Invalid argument: unknown operation {op!r}", 1)
