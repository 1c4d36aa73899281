"""`ldm`: the Logical Domains Manager of a SPARC control domain.

State: simulators.core, tech `ldom` (`vmsim define ldom <name> [--autoboot] [--disk /dev/dsk/...]`).
A domain is `inactive`, `bound` or `active` on a node: `active` while it runs (or shuts down) there;
`bound` once `ldm bind` (or a run) bound it there and it is not running, including while `ldm start`
loads it (flag `s`, starting: the guest is not up yet); `inactive` otherwise (also on the nodes it
does not run on).
`primary` (the control domain) is always listed, active.

    ldm list [-p] [<name>]                the domains (`-p`: `VERSION 1.6` then `DOMAIN|name=..|state=..|...`)
    ldm list -o disk -p <name>            its virtual disks: `VDISK|name=..|vol=<vol>@primary-vds0|...`
    ldm list-services -p                  VCC, VSW, then `VDS|name=primary-vds0|...` and one
                                          `|vol=<vol>|opts=|dev=<dev>|mpgroup=` line per exported volume
    ldm bind|unbind|start|stop [-f] <name>   (and the *-domain long forms)
    ldm list-variable auto-boot? <name>   `auto-boot?=true|false` (vmsim --autoboot)

Knobs: start=fail|hang|crash|stuck apply to `ldm start`; a graceful stop happens inside the guest
(`/usr/sbin/init 5` through ssh, simulators.guest): stop=hang keeps it shutting down, `ldm stop` still
stops it.
"""

import sys
import time

from simulators import core

TECH = "ldom"
VDS = "primary-vds0"
USAGE = "Usage: ldm list [-p] [-o disk] [<ldom>] | list-services -p | bind|unbind|start|stop [-f] <ldom> | " \
        "list-variable <var> <ldom>"


def _bound_here(vm) -> bool:
    """Record a domain seen running here as bound here (it stays bound when its guest powers off)."""
    me = core.node_name()
    if vm["state"] != "off" and vm["node"] == me and vm.get("bound_on") != me:
        vm["bound_on"] = me
        core.save(vm)
    return vm.get("bound_on") == me


def state(vm) -> str:
    bound = _bound_here(vm)
    if core.here(vm) and vm["state"] in ("running", "stopping"):
        return "active"
    return "bound" if bound else "inactive"


def flags(vm) -> str:
    st = state(vm)
    if st == "active":
        return "-n----" if vm["state"] == "running" else "-s----"
    if st == "bound" and vm["state"] == "booting" and core.here(vm):
        return "-s----"
    return "------"


def _domain(name) -> dict:
    vm = core.find(TECH, name)
    if vm is None:
        raise core.SimError(f"LDom {name} does not exist", 1)
    return vm


def _port(vm) -> int:
    names = [v["name"] for v in core.all_vms(TECH)]
    return 5000 + (names.index(vm["name"]) if vm["name"] in names else 0)


def _volumes(vm) -> list:
    return [(f"{vm['name']}-vol{i}", dev) for i, dev in enumerate(vm.get("disks", []))]


def _domain_line(vm) -> str:
    st = state(vm)
    up = st == "active"
    uptime = int(max(0, time.time() - vm["since"])) if up else ""
    util = "0.4" if up else ""
    return (f"DOMAIN|name={vm['name']}|state={st}|flags={flags(vm)}|cons={_port(vm)}|"
            f"ncpu={vm['extra'].get('ncpu', '8')}|mem={vm['extra'].get('mem', '4294967296')}|"
            f"util={util}|norm_util={util}|uptime={uptime}")


PRIMARY = "DOMAIN|name=primary|state=active|flags=-n-cv-|cons=UART|ncpu=8|mem=8589934592|util=0.5|" \
          "norm_util=0.5|uptime=864000"


def _list(args):
    parseable = "-p" in args
    words = [a for a in args if a != "-p"]
    output = None
    if "-o" in words:
        i = words.index("-o")
        output = words[i + 1] if i + 1 < len(words) else None
        del words[i:i + 2]
        if output != "disk":
            raise core.SimError(f"Invalid output format: {output}\n{USAGE}", 1)
    vms = [_domain(words[0])] if words else core.all_vms(TECH)
    if output == "disk":
        if not parseable or not words:
            raise core.SimError("the simulated ldm lists disks with: ldm list -o disk -p <ldom>", 2)
        vm = vms[0]
        print("VERSION 1.6")
        print(f"DOMAIN|name={vm['name']}|")
        for i, (vol, _dev) in enumerate(_volumes(vm)):
            print(f"VDISK|name=vdisk{i}|vol={vol}@{VDS}|timeout=|dev=disk@{i}|server=primary|mpgroup=|id={i}")
        return 0
    if parseable:
        print("VERSION 1.6")
        if not words:
            print(PRIMARY)
        for vm in vms:
            print(_domain_line(vm))
        return 0
    print(f"{'NAME':<16} {'STATE':<10} {'FLAGS':<7} {'CONS':<6} {'VCPU':<5} {'MEMORY':<8} {'UTIL':<5} UPTIME")
    if not words:
        print(f"{'primary':<16} {'active':<10} {'-n-cv-':<7} {'UART':<6} {'8':<5} {'8G':<8} {'0.5%':<5} 10d")
    for vm in vms:
        st = state(vm)
        print(f"{vm['name']:<16} {st:<10} {flags(vm):<7} {_port(vm):<6} {vm['extra'].get('ncpu', '8'):<5} "
              f"{'4G':<8} {('0.4%' if st == 'active' else ''):<5} {('1m' if st == 'active' else '')}")
    return 0


def _list_services(args):
    if "-p" not in args:
        raise core.SimError("the simulated ldm lists services with: ldm list-services -p", 2)
    print("VERSION 1.6")
    print("VCC|name=primary-vcc0|ldom=primary|port-range=5000-5100")
    print("VSW|name=primary-vsw0|ldom=primary|mac-addr=00:14:4f:fa:0e:21|net-dev=nxge0|dev=switch@0|mode=")
    print(f"VDS|name={VDS}|ldom=primary")
    for vm in core.all_vms(TECH):
        for vol, dev in _volumes(vm):
            print(f"|vol={vol}|opts=|dev={dev}|mpgroup=")
    return 0


def _bind(vm):
    st = state(vm)
    if vm["state"] != "off" and vm["node"] != core.node_name():
        raise core.SimError(f"LDom {vm['name']} is active on {vm['node']}: its resources cannot be bound here", 1)
    if st != "inactive":
        raise core.SimError(f"LDom {vm['name']} is already bound", 1)
    vm["bound_on"] = core.node_name()
    core.save(vm)
    return 0


def _unbind(vm):
    st = state(vm)
    if st == "active" or (core.here(vm) and vm["state"] == "booting"):
        raise core.SimError(f"LDom {vm['name']} must be stopped before it can be unbound", 1)
    if st == "inactive":
        raise core.SimError(f"LDom {vm['name']} is not bound", 1)
    vm["bound_on"] = None
    core.save(vm)
    return 0


def _start(vm):
    core.stuck_if(vm, "start")
    st = state(vm)
    if st == "active" or (core.here(vm) and vm["state"] == "booting"):
        raise core.SimError(f"LDom {vm['name']} is already started", 1)
    if st != "bound":
        raise core.SimError(f"LDom {vm['name']} must be bound before it can be started", 1)
    if core.failing(vm, "start"):
        raise core.SimError(f"Failed to start LDom {vm['name']}: the hypervisor could not allocate its "
                            f"memory (simulated failure)", 1)
    print(f"LDom {vm['name']} started")
    core.set_state(vm, "booting")
    return 0


def _stop(vm, force):
    if not core.here(vm):
        raise core.SimError(f"LDom {vm['name']} is not running", 1)
    print(f"LDom {vm['name']} stopped")
    core.set_state(vm, "off")
    return 0


def _list_variable(args):
    if len(args) < 2:
        raise core.SimError(USAGE, 1)
    vm = _domain(args[-1])
    for var in args[:-1]:
        if var == "auto-boot?":
            print(f"auto-boot?={'true' if vm.get('autoboot') else 'false'}")
        elif var in vm.get("extra", {}):
            print(f"{var}={vm['extra'][var]}")
    return 0


ACTIONS = {"bind": _bind, "bind-domain": _bind, "unbind": _unbind, "unbind-domain": _unbind,
           "start": _start, "start-domain": _start}


def ldm_main(argv):
    if not argv:
        print(USAGE, file=sys.stderr)
        return 1
    cmd, args = argv[0], argv[1:]
    if cmd in ("list", "ls", "list-domain", "ls-dom"):
        return _list(args)
    if cmd in ("list-services", "ls-services"):
        return _list_services(args)
    if cmd in ("list-variable", "ls-var"):
        return _list_variable(args)
    if cmd in ACTIONS:
        names = [a for a in args if not a.startswith("-")]
        if len(names) != 1:
            raise core.SimError(USAGE, 1)
        return ACTIONS[cmd](_domain(names[0]))
    if cmd in ("stop", "stop-domain"):
        names = [a for a in args if not a.startswith("-")]
        if len(names) != 1:
            raise core.SimError(USAGE, 1)
        return _stop(_domain(names[0]), force="-f" in args)
    raise core.SimError(f"Unknown command {cmd}\n{USAGE}", 1)
