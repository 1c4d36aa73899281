"""`xm`: the Xen 3 / OVM toolstack CLI for the ovm containers.

    xm create CFG               Using config file "CFG".  /  Started domain NAME (id=N)
    xm shutdown DOM             (silent)
    xm destroy DOM              (silent)
    xm list [--state=running] [DOM...]
                                Name  ID  Mem VCPUs  State  Time(s), Domain-0 first
    xm info                     host : ..., xen_caps : ...
    xm migrate -l DOM HOST      (silent) the domain now runs on HOST

The domain is named by the cfg's `name` (an OVM cfg names it after its uuid): that name is the
simulated VM's id (tech `ovm`), its guest host name the cfg's `OVM_simple_name` (else the name).
`xm create` needs the cfg file, like the real one; a VM `vmsim define`d with that id keeps its
knobs. Only domains active on this node are listed: a domain booting in the simulation shows
paused (`--p---`, not `running` for `--state=running`), a running or shutting-down one `-b----`.
Knobs: simulators.core (start/stop fail|hang|crash|stuck, `migrate=fail`), simulators.hosts
(`xend: false` makes every command fail the way xm does without xend).
"""

import re
import sys
import time

from simulators import core, hosts

TECH = "ovm"
HEADER = f"{'Name':<40}{'ID':>5}{'Mem':>6}{'VCPUs':>6}{'State':>11}{'Time(s)':>10}"
NO_XEND = "Error: Unable to connect to xend: No such file or directory. Is xend running?"


def _error(text, rc=1):
    raise core.SimError(f"Error: {text}", rc)


def cfg_values(text) -> dict:
    """The simple `key = 'value'` / `key = number` assignments of a Xen cfg (python syntax)."""
    values = {}
    for match in re.finditer(r"""^\s*(\w+)\s*=\s*(?:(['"])(.*?)\2|(\d+))\s*$""", text, re.M):
        values[match.group(1)] = match.group(3) if match.group(2) else int(match.group(4))
    return values


def cfg_disks(text) -> list:
    match = re.search(r"^\s*disk\s*=\s*\[(.*?)\]", text, re.S | re.M)
    if match is None:
        return []
    entries = [m[1] for m in re.findall(r"""(['"])(.*?)\1""", match.group(1))]
    return [e.split(",")[0][4:] for e in entries if e.startswith("phy:")]


def _domain(name):
    """The VM active on this node under the domain name (or uuid) `name`."""
    vm = core.find(TECH, name)
    if vm is None or not core.here(vm):
        _error(f"Domain '{name}' does not exist.")
    return vm


def create(args):
    if not args:
        _error("'xm create' requires at least 1 argument.\n\nUsage: xm create <ConfigFile> [options] [vars]")
    path = args[0]
    print(f'Using config file "{path}".')
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        _error(f"Unable to open config file: {path}\nUsage: xm create <ConfigFile> [options] [vars]")
    values = cfg_values(text)
    name = values.get("name")
    if not name:
        _error("Missing domain name in the configuration (name = ...)")
    vm = core.find(TECH, str(name))
    if vm is None:
        vm = core.new_vm(TECH, str(name), str(values.get("OVM_simple_name") or name))
    vm["disks"] = cfg_disks(text)
    vm["extra"].update({"cfg": path, "memory": values.get("memory", 1024), "vcpus": values.get("vcpus", 1)})
    if values.get("uuid"):
        vm["extra"]["uuid"] = values["uuid"]
    if core.here(vm):
        _error(f"Domain '{name}' already exists with ID '{vm['extra'].get('domid', 1)}'")
    core.save(vm)
    core.stuck_if(vm, "start")
    if core.failing(vm, "start"):
        _error("Device 51712 (vbd) could not be connected. Hotplug scripts not working.")
    vm["extra"]["domid"] = hosts.next_domid()
    core.set_state(vm, "booting")
    print(f"Started domain {name} (id={vm['extra']['domid']})")


def shutdown(args):
    if not args:
        _error("'xm shutdown' requires 1 argument.\n\nUsage: xm shutdown <Domain> [-waRH]")
    vm = _domain(args[-1])
    core.stuck_if(vm, "stop")
    if core.failing(vm, "stop"):
        _error(f"Domain '{args[-1]}' did not accept the shutdown request")
    if vm["state"] != "stopping":
        core.set_state(vm, "stopping")


def destroy(args):
    if not args:
        _error("'xm destroy' requires 1 argument.\n\nUsage: xm destroy <Domain>")
    core.set_state(_domain(args[0]), "off")


def _row(name, domid, mem, vcpus, state, cpu):
    return f"{name:<40}{domid:>5}{mem:>6}{vcpus:>6}{state:>11}{cpu:>10.1f}"


def list_(args):
    state_filter = None
    names = []
    for arg in args:
        if arg.startswith("--state="):
            state_filter = arg.split("=", 1)[1]
        elif arg in ("-l", "--long", "--label"):
            _error(f"option {arg} is not simulated")
        else:
            names.append(arg)
    now = time.time()
    rows = [] if names else [("Domain-0", 0, 2048, 4, "r-----", 4242.0, "running")]
    for vm in core.all_vms(TECH):
        if not core.here(vm) or (names and vm["id"] not in names):
            continue
        shown = ("--p---", "paused") if vm["state"] == "booting" else ("-b----", "running")
        rows.append((vm["id"], vm["extra"].get("domid", 1), vm["extra"].get("memory", 1024),
                     vm["extra"].get("vcpus", 1), shown[0], max(0.0, now - vm["since"]), shown[1]))
    for name in names:
        if not any(r[0] == name for r in rows):
            _error(f"Domain '{name}' does not exist.")
    print(HEADER)
    for name, domid, mem, vcpus, flags, cpu, state in rows:
        if state_filter is None or state_filter == state:
            print(_row(name, domid, mem, vcpus, flags, cpu))


def info(args):
    node = core.node_name()
    for key, value in (("host", node), ("release", "2.6.18-128.2.1.4.25.el5ovs"), ("version", "#1 SMP"),
                       ("machine", "i686"), ("nr_cpus", 4), ("nr_nodes", 1), ("cores_per_socket", 4),
                       ("threads_per_core", 1), ("cpu_mhz", 2400), ("hw_caps", "bfebfbff:20100800"),
                       ("virt_caps", "hvm"), ("total_memory", 8190), ("free_memory", 5634),
                       ("xen_major", 3), ("xen_minor", 4), ("xen_extra", ".0"),
                       ("xen_caps", "xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p"),
                       ("xend_config_format", 4)):
        print(f"{key:<23}: {value}")


def migrate(args):
    words = [a for a in args if not a.startswith("-")]
    if len(words) != 2:
        _error("'xm migrate' requires 2 arguments.\n\nUsage: xm migrate <Domain> <Host> [-l|--live]")
    vm = _domain(words[0])
    if core.failing(vm, "migrate"):
        _error(f"can't connect: Connection refused (to {words[1]})")
    vm["node"] = words[1]
    core.save(vm)


COMMANDS = {"create": create, "shutdown": shutdown, "destroy": destroy, "list": list_, "info": info,
            "migrate": migrate}


def xm_main(argv):
    if not argv:
        print("Usage: xm <subcommand> [args]", file=sys.stderr)
        return 1
    func = COMMANDS.get(argv[0])
    if func is None:
        _error(f"Subcommand {argv[0]} not found!")
    if not hosts.host()["xend"]:
        raise core.SimError(NO_XEND, 1)
    func(argv[1:])
    return 0
