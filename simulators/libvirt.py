"""`virsh`: libvirt's shell for the kvm and xen containers, as libvirt 4-6 prints it (before the quoted names of 7.x).

    virsh define FILE.xml     Domain vm1 defined from FILE.xml    (kvm, or xen when <domain type='xen'>)
    virsh start NAME          Domain vm1 started
    virsh shutdown NAME       Domain vm1 is being shutdown
    virsh destroy NAME        Domain vm1 destroyed
    virsh dominfo NAME        Id/Name/UUID/OS Type/State/.../Autostart lines
    virsh list [--all]        the Id Name State table
    virsh capabilities        host capabilities XML (hvm guests unless the host knob hvm=false)

A domain is known once `virsh define`d here or `vmsim define kvm|xen NAME`d. States as virsh shows
them: a domain still booting in the simulation is `paused` (not up yet, so wait-up waits), running is
`running` (kvm) or `idle` (a Xen domain at rest is blocked, which virsh calls idle); a guest shutting
down stays running until it is off; a domain active on another node is `shut off` here (each host's
libvirt knows only its own domains). Failure knobs: simulators.core.
"""

import sys
import uuid as uuidlib
from xml.etree import ElementTree

from simulators import core, hosts

TECHS = ("kvm", "xen")
RUNNING_WORD = {"kvm": "running", "xen": "idle"}


def _err(*lines, rc=1):
    raise core.SimError("\n".join(f"error: {line}" for line in lines), rc)


def _domain(name):
    for tech in TECHS:
        vm = core.find(tech, name)
        if vm is not None:
            return vm
    _err(f"failed to get domain '{name}'")


def _state_word(vm):
    if not core.here(vm):
        return "shut off"
    if vm["state"] == "booting":
        return "paused"
    return RUNNING_WORD.get(vm["tech"], "running")


def _uuid(vm):
    return vm["extra"].get("uuid") or str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"libvirt:{vm['name']}"))


def _active(vm, name, verb):
    if not core.here(vm):
        _err(f"Failed to {verb} domain {name}", "Requested operation is not valid: domain is not running")


def define(args):
    if len(args) != 1:
        _err("command 'define' requires <file> option")
    path = args[0]
    try:
        root = ElementTree.parse(path).getroot()
    except OSError as exc:
        _err(f"Failed to open file '{path}': {exc.strerror}")
    except ElementTree.ParseError as exc:
        _err(f"(domain_definition):{exc.position[0]}: {exc}")
    name = root.findtext("name")
    if not name:
        _err("XML error: missing domain name information")
    tech = "xen" if root.get("type") == "xen" else "kvm"
    disks = [s.get("dev") for s in root.iter("source") if s.get("dev")]
    vm = core.find(tech, name)
    if vm is None:
        vm = core.new_vm(tech, name, name)
    vm["disks"] = disks
    if root.findtext("uuid"):
        vm["extra"]["uuid"] = root.findtext("uuid")
    core.save(vm)
    print(f"Domain {name} defined from {path}\n")


def start(args):
    vm = _domain(args[0])
    if core.here(vm):
        _err(f"Failed to start domain {args[0]}", "Requested operation is not valid: domain is already running")
    core.stuck_if(vm, "start")
    if core.failing(vm, "start"):
        _err(f"Failed to start domain {args[0]}",
             "internal error: process exited while connecting to monitor: qemu: could not open disk image")
    vm["extra"]["domid"] = hosts.next_domid()
    core.set_state(vm, "booting")
    print(f"Domain {args[0]} started\n")


def shutdown(args):
    vm = _domain(args[0])
    _active(vm, args[0], "shutdown")
    core.stuck_if(vm, "stop")
    if core.failing(vm, "stop"):
        _err(f"Failed to shutdown domain {args[0]}", "Timed out during operation: cannot acquire state change lock")
    if vm["state"] != "stopping":
        core.set_state(vm, "stopping")
    print(f"Domain {args[0]} is being shutdown\n")


def destroy(args):
    vm = _domain(args[0])
    _active(vm, args[0], "destroy")
    core.set_state(vm, "off")
    print(f"Domain {args[0]} destroyed\n")


def dominfo(args):
    vm = _domain(args[0])
    state = _state_word(vm)
    active = state != "shut off"
    rows = [("Id", str(vm["extra"].get("domid", 1)) if active else "-"), ("Name", vm["name"]),
            ("UUID", _uuid(vm)), ("OS Type", "hvm" if vm["tech"] == "kvm" else "linux"), ("State", state),
            ("CPU(s)", "1")]
    if active:
        rows.append(("CPU time", "12.4s"))
    rows += [("Max memory", "1048576 KiB"), ("Used memory", "1048576 KiB"), ("Persistent", "yes"),
             ("Autostart", "enable" if vm.get("autoboot") else "disable"), ("Managed save", "no"),
             ("Security model", "none"), ("Security DOI", "0")]
    for key, value in rows:
        print(f"{key + ':':<16}{value}")
    print()


def list_(args):
    every = "--all" in args
    rows = []
    for tech in TECHS:
        for vm in core.all_vms(tech):
            state = _state_word(vm)
            if state == "shut off" and not every:
                continue
            rows.append(("-" if state == "shut off" else str(vm["extra"].get("domid", 1)), vm["name"], state))
    width = max([4] + [len(r[1]) for r in rows])
    print(f" {'Id':<4} {'Name':<{width}}   State")
    print("-" * (width + 17))
    for domid, name, state in rows:
        print(f" {domid:<4} {name:<{width}}   {state}")
    print()


def capabilities(args):
    guests = ""
    if hosts.host()["hvm"]:
        guests = ("  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n"
                  "      <wordsize>64</wordsize>\n      <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
                  "      <domain type='qemu'/>\n      <domain type='kvm'/>\n    </arch>\n  </guest>\n")
    print(f"<capabilities>\n\n  <host>\n    <uuid>{uuidlib.uuid5(uuidlib.NAMESPACE_DNS, core.node_name())}</uuid>\n"
          "    <cpu>\n      <arch>x86_64</arch>\n      <model>Skylake-Client-IBRS</model>\n    </cpu>\n"
          f"  </host>\n\n{guests}</capabilities>\n")


COMMANDS = {"define": define, "start": start, "shutdown": shutdown, "destroy": destroy, "dominfo": dominfo,
            "list": list_, "capabilities": capabilities}
NEEDS_DOMAIN = {"start", "shutdown", "destroy", "dominfo"}


def virsh_main(argv):
    if not argv:
        print("virsh: interactive shell not simulated; give a command", file=sys.stderr)
        return 1
    cmd, args = argv[0], argv[1:]
    if cmd in NEEDS_DOMAIN and args[:1] == ["--domain"]:     # virsh: the operand by its option name
        args = args[1:]
        if not args:
            _err("option '--domain' requires an argument")
    func = COMMANDS.get(cmd)
    if func is None:
        _err(f"unknown command: '{cmd}'")
    if cmd in NEEDS_DOMAIN and not args:
        _err(f"command '{cmd}' requires <domain> option")
    func(args)
    return 0
