"""HP Integrity VM commands (`hpvmstart`, `hpvmstop`, `hpvmstatus`, `hpvmmigrate`, `hpvmdevmgmt`).

State: simulators.core, tech `hpvm` (`vmsim define hpvm <name> [--autoboot] [--disk DEV]...`).
A guest is defined on every node (shared configuration); it is `On` only on the node it runs on.

    hpvmstart -P <name>                 boot (takes the VM's boot time; knobs start=fail|hang|crash|stuck)
    hpvmstop [-g] [-F] -P <name>        -g graceful (the guest shuts down: shutdown time; knobs
                                        stop=fail|hang|stuck), without -g a hard power off; -F: no prompt
    hpvmstatus [-M] [-P <name>]         summary table, or the machine format: one colon-separated line
                                        per guest (fields below)
    hpvmstatus -d -P <name>             the guest's devices: `<type>:<bus>:<hw path>:<backing>:<device>`
    hpvmmigrate -o -P <name> -h <host>  online migration of a running guest to <host>
    hpvmdevmgmt -l all | -a gdev:<dev> | -m gdev:<dev>:attr:SHARE=YES|NO    the device database

`hpvmstatus -M` fields (0-based, the positions the 1.x agent reads): 0 name, 1 VM number, 2 config
version, 3 uuid, 4 OS type, 5-8 runnable/modify/visible/register status, 9 graceful stop timeout,
10 state (`On`, `Off`; `Starting` while the firmware loads, before the guest runs), 11 boot attribute
(`Manual`, `Auto`), 12 run state (`OS`, `EFI`, empty), 13 running host, 14-18 scheduling fields,
19 vcpus `<n>;;`, 20 memory `<n>GB;;`, 21 devices, 22 networks.
"""

import json
import sys
import uuid
import zlib

from simulators import core

TECH = "hpvm"
VERSION = "4.3.0"


def _opts(argv, with_value=("-P", "-h", "-a", "-m", "-l")):
    """Parse HP-UX style flags: {"-P": name, "-g": True, ...}."""
    opts, i = {}, 0
    while i < len(argv):
        word = argv[i]
        if word in with_value and i + 1 < len(argv):
            opts[word] = argv[i + 1]
            i += 2
        elif word.startswith("-") and len(word) > 2 and word[:2] in with_value:
            opts[word[:2]] = word[2:]
            i += 1
        else:
            opts[word] = True
            i += 1
    return opts


def _guest(prog, opts) -> dict:
    name = opts.get("-P")
    if not isinstance(name, str):
        raise core.SimError(f"{prog}: missing -P <vm name>\nusage: {prog} -P vm_name", 2)
    vm = core.find(TECH, name)
    if vm is None:
        raise core.SimError(f"{prog}: Unable to find the guest '{name}'.", 1)
    return vm


def _up_here(vm) -> bool:
    return core.here(vm) and vm["state"] in ("running", "stopping")


def _state(vm) -> str:
    if not core.here(vm):
        return "Off"
    return {"booting": "Starting", "running": "On", "stopping": "On"}.get(vm["state"], "Off")


def _uuid(vm) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hpvm:{vm['id']}"))


def _index(vm) -> int:
    names = [v["name"] for v in core.all_vms(TECH)]
    return names.index(vm["name"]) + 1 if vm["name"] in names else 1


def machine_line(vm) -> str:
    here = core.here(vm)
    runnable = "disabled" if vm["state"] != "off" and not here else "enabled"
    runstate = {"running": "OS", "stopping": "OS", "booting": "EFI"}.get(vm["state"], "") if here else ""
    fields = [vm["name"], str(_index(vm)), VERSION, _uuid(vm), "HPUX", runnable, "enabled", "enabled",
              "enabled", "30", _state(vm), "Auto" if vm.get("autoboot") else "Manual", runstate,
              vm["node"] if vm["state"] != "off" else "", "0", "", "", "", "",
              f"{vm['extra'].get('vcpus', '2')};;", f"{vm['extra'].get('memory', '4GB')};;",
              str(len(vm.get("disks", []))), "1"]
    return ":".join(fields)


def _backing(dev: str) -> str:
    if dev.startswith("/dev/vg") or "/rlvol" in dev:
        return "lv"
    if dev.startswith("/dev/"):
        return "disk"
    return "file"


def device_lines(vm) -> list:
    lines = [f"disk:avio_stor:0,{i},0:{_backing(dev)}:{dev}" for i, dev in enumerate(vm.get("disks", []))]
    mac = zlib.crc32(vm["name"].encode()) & 0xffffff      # stable across calls (hash() is salted)
    lines.append(f"network:avio_lan:0,{len(lines)},0x{mac:06X}:vswitch:vsw1:portid:1")
    return lines


# --- hpvmstart -------------------------------------------------------------------------------------
def start_main(argv):
    opts = _opts(argv)
    vm = _guest("hpvmstart", opts)
    core.stuck_if(vm, "start")
    if vm["state"] != "off" and not core.here(vm):
        raise core.SimError(f"hpvmstart: The guest '{vm['name']}' is not runnable on this host: it is "
                            f"running on {vm['node']}.", 1)
    if vm["state"] != "off":
        raise core.SimError(f"hpvmstart: The guest '{vm['name']}' is already running.", 1)
    if core.failing(vm, "start"):
        raise core.SimError(f"hpvmstart: Unable to start the guest '{vm['name']}': "
                            f"Insufficient memory for guest (simulated failure).", 1)
    print("(C) Copyright 2000 - 2012 Hewlett-Packard Development Company, L.P.")
    print("Opening minor device and creating guest machine container")
    print(f"Creation of VM, minor device {_index(vm)}")
    print(f"Allocating guest memory: {vm['extra'].get('memory', '4GB')}")
    print("Starting event polling thread")
    print("Starting thread initialization")
    print("Daemonizing....")
    print(f"hpvmstart: Successful start initiation of guest '{vm['name']}'")
    core.set_state(vm, "booting")
    return 0



# --- hpvmstop --------------------------------------------------------------------------------------
def stop_main(argv):
    opts = _opts(argv)
    vm = _guest("hpvmstop", opts)
    graceful = bool(opts.get("-g"))
    if graceful:
        core.stuck_if(vm, "stop")
    if not core.here(vm):
        raise core.SimError(f"hpvmstop: The guest '{vm['name']}' is not running on this host.", 1)
    if graceful and core.failing(vm, "stop"):
        raise core.SimError(f"hpvmstop: Unable to stop the guest '{vm['name']}' gracefully: "
                            f"the guest OS did not answer (simulated failure).", 1)
    if not opts.get("-F"):
        print(f"hpvmstop: Stop the virtual machine '{vm['name']}'? [n/y]: y")
    if graceful:
        print(f"hpvmstop: Graceful stop of guest '{vm['name']}' initiated")
        if vm["state"] != "stopping":
            core.set_state(vm, "stopping")
    else:
        print(f"hpvmstop: Virtual machine '{vm['name']}' stopped (power off)")
        core.set_state(vm, "off")
    return 0



# --- hpvmstatus ------------------------------------------------------------------------------------
def status_main(argv):
    opts = _opts(argv)
    if "-P" in opts:
        vms = [_guest("hpvmstatus", opts)]
    else:
        vms = core.all_vms(TECH)
    if opts.get("-d"):
        if "-P" not in opts:
            raise core.SimError("hpvmstatus: -d requires -P <vm name>", 2)
        print("[Virtual Machine Devices]")
        print()
        print("[Storage Interface Details]")
        for line in device_lines(vms[0]):
            print(line)
        return 0
    if opts.get("-M"):
        for vm in vms:
            print(machine_line(vm))
        return 0
    if not vms:
        print("hpvmstatus: No guest information is available.")
        return 0
    print(f"{'Virtual Machine Name':<20} {'VM #':>4}  {'Type':<4} {'OS Type':<7} {'State':<9} "
          f"{'#VCPUs':>6} {'#Devs':>5} {'#Nets':>5} {'Memory':>8}")
    print(f"{'=' * 20} {'=' * 4}  {'=' * 4} {'=' * 7} {'=' * 9} {'=' * 6} {'=' * 5} {'=' * 5} {'=' * 8}")
    for vm in vms:
        run = {"running": "On (OS)", "stopping": "On (OS)", "booting": "On (EFI)"}.get(vm["state"], "Off")
        state = run if core.here(vm) else "Off"
        print(f"{vm['name']:<20} {_index(vm):>4}  {'VP':<4} {'HPUX':<7} {state:<9} "
              f"{vm['extra'].get('vcpus', '2'):>6} {len(vm.get('disks', [])):>5} {1:>5} "
              f"{vm['extra'].get('memory', '4GB'):>8}")
    return 0



# --- hpvmmigrate -----------------------------------------------------------------------------------
def migrate_main(argv):
    opts = _opts(argv)
    vm = _guest("hpvmmigrate", opts)
    dest = opts.get("-h")
    if not isinstance(dest, str):
        raise core.SimError("hpvmmigrate: missing -h <target VM Host>", 2)
    if dest == core.node_name():
        raise core.SimError(f"hpvmmigrate: The target host '{dest}' is the source host.", 1)
    if not opts.get("-o"):
        raise core.SimError("hpvmmigrate: offline migration is not simulated: use -o", 2)
    if not _up_here(vm):
        raise core.SimError(f"hpvmmigrate: The guest '{vm['name']}' must be running on this host for an "
                            f"online migration.", 1)
    print(f"hpvmmigrate: Connected to target VM Host '{dest}'")
    print(f"hpvmmigrate: Guest '{vm['name']}' migrated online to '{dest}'")
    vm["node"] = dest
    core.save(vm)
    return 0



# --- hpvmdevmgmt -----------------------------------------------------------------------------------
def _table_path():
    # not *.json: core.all_vms reads every .json of the tech folder as a VM
    return core.state_dir() / TECH / f"devices.{core.node_name()}.table"


def _load_table() -> dict:
    path = _table_path()
    table = json.loads(path.read_text()) if path.exists() else {}
    for vm in core.all_vms(TECH):
        for dev in vm.get("disks", []):
            entry = table.setdefault(dev, {"share": "NO", "guests": []})
            if vm["name"] not in entry["guests"]:
                entry["guests"].append(vm["name"])
    return table


def _save_table(table):
    path = _table_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1, sort_keys=True))


def devmgmt_main(argv):
    opts = _opts(argv)
    table = _load_table()
    if opts.get("-l"):
        for dev, entry in sorted(table.items()):
            devtype = "DISK" if dev.startswith("/dev/") else "FILE"
            print(f"{dev}:CONFIG=gdev,EXIST=YES,DEVTYPE={devtype},SHARE={entry['share']}:"
                  f"{','.join(entry['guests'])}:")
        return 0
    if isinstance(opts.get("-a"), str):
        spec = opts["-a"].split(":")
        if spec[0] != "gdev" or len(spec) < 2:
            raise core.SimError(f"hpvmdevmgmt: invalid device specification '{opts['-a']}'", 2)
        table.setdefault(spec[1], {"share": "NO", "guests": []})
        _save_table(table)
        return 0
    if isinstance(opts.get("-m"), str):
        spec = opts["-m"].split(":")
        if spec[0] != "gdev" or len(spec) < 4 or spec[2] != "attr" or not spec[3].startswith("SHARE="):
            raise core.SimError(f"hpvmdevmgmt: invalid modify specification '{opts['-m']}'", 2)
        if spec[1] not in table:
            raise core.SimError(f"hpvmdevmgmt: device '{spec[1]}' is not in the device database", 1)
        table[spec[1]]["share"] = spec[3].split("=", 1)[1].upper()
        _save_table(table)
        return 0
    print("usage: hpvmdevmgmt -l all | -a gdev:<dev> | -m gdev:<dev>:attr:SHARE=YES|NO", file=sys.stderr)
    return 2

