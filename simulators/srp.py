"""HP-UX Secure Resource Partitions: `srp` and `srp_su` (state: simulators.core, tech `srp`).

    srp -start NAME | -stop NAME
    srp -status NAME [-v]        NAME TYPE STATE SUBTYPE ROOTPATH, STATE started/stopped (starting,
                                 stopping while in transition); another node's SRP shows `stopped`
    srp -list NAME -v            the compartment's services and their key=value settings
    srp -batch -export NAME -xfile F
    srp -batch -import -xfile F [key=value...]
    srp_su NAME USER -c CMD      run CMD in a started SRP (pwd, hostname...; see simulators.guest)

Per-VM extra settings: `rootpath` (default /var/hpsrp/<name>), `ip`, `type` (system), `subtype`
(private). `vmsim define srp NAME --autoboot` sets the init service's autostart=1.
"""

import sys
import xml.etree.ElementTree as ET

from simulators import core
from simulators.guest import guest_command

STATE_WORD = {"off": "stopped", "booting": "starting", "running": "started", "stopping": "stopping"}


def rootpath(vm) -> str:
    return vm["extra"].get("rootpath") or f"/var/hpsrp/{vm['name']}"


def get_srp(name):
    vm = core.find("srp", name)
    if vm is None:
        raise core.SimError(f"srp: Error: SRP compartment '{name}' does not exist")
    return vm


def state_here(vm) -> str:
    return STATE_WORD[vm["state"]] if core.here(vm) else "stopped"


def status(vm, verbose):
    ex = vm["extra"]
    print(f"{'NAME':<12} {'TYPE':<9} {'STATE':<11} {'SUBTYPE':<10} ROOTPATH")
    print(f"{vm['name']:<12} {ex.get('type', 'system'):<9} {state_here(vm):<11} "
          f"{ex.get('subtype', 'private'):<10} {rootpath(vm)}")
    if verbose:
        up = "UP" if state_here(vm) == "started" else "DOWN"
        print(f"\n    IP:{ex.get('ip', '')}      Interface:lan0:1 ({up})   id: 1")
        print("    MEM Entitle:50.00%    MEM Max:(none)    Usage:0.00%")
        print("    CPU Entitle:9.09%    CPU Max:(none)    Usage:0.00%")
    return 0


def list_verbose(vm):
    autostart = "1" if vm.get("autoboot") else "0"
    for service, settings in (("provision", {"srp_name": vm["name"], "rootpath": rootpath(vm)}),
                              ("init", {"autostart": autostart, "user": "root"})):
        print(f"Name: {vm['name']}  Template: {vm['extra'].get('type', 'system')} Service: {service} ID: 1")
        print("-" * 70)
        print()
        for key, value in settings.items():
            print(f"{key}={value}")
        print()
    return 0


def start(vm):
    if core.here(vm) and vm["state"] in ("booting", "running"):
        raise core.SimError(f"srp: Error: SRP '{vm['name']}' is already started")
    if vm["state"] != "off" and not core.here(vm):
        raise core.SimError(f"srp: Error: SRP '{vm['name']}' rootpath {rootpath(vm)} is in use")
    core.stuck_if(vm, "start")
    if core.failing(vm, "start"):
        raise core.SimError(f"srp: Error: failed to start SRP '{vm['name']}': /sbin/init.d/srp_init "
                            f"returned 1")
    print(f"Starting SRP '{vm['name']}' ...")
    core.set_state(vm, "booting")
    return 0


def stop(vm):
    if not core.here(vm) or vm["state"] == "off":
        raise core.SimError(f"srp: Error: SRP '{vm['name']}' is not started")
    core.stuck_if(vm, "stop")
    if core.failing(vm, "stop"):
        raise core.SimError(f"srp: Error: failed to stop SRP '{vm['name']}'")
    print(f"Stopping SRP '{vm['name']}' ...")
    if vm["state"] != "stopping":
        core.set_state(vm, "stopping")
    return 0


def export(vm, xfile):
    root = ET.Element("srp", name=vm["name"])
    for key, value in sorted({**vm["extra"], "rootpath": rootpath(vm),
                              "autostart": "1" if vm.get("autoboot") else "0"}.items()):
        ET.SubElement(root, "param", name=key).text = str(value)
    ET.ElementTree(root).write(xfile, encoding="unicode", xml_declaration=True)
    return 0


def import_(xfile, settings):
    try:
        root = ET.parse(xfile).getroot()
    except (OSError, ET.ParseError) as exc:
        raise core.SimError(f"srp: Error: cannot read {xfile}: {exc}")
    name = root.get("name")
    params = {p.get("name"): p.text or "" for p in root.findall("param")}
    vm = core.find("srp", name) or core.new_vm("srp", name, name)
    autostart = settings.get("autostart", params.pop("autostart", "0"))
    vm["autoboot"] = autostart in ("1", "yes")
    vm["extra"].update(params)
    core.save(vm)
    print(f"SRP '{name}' imported")
    return 0


def option(argv, flag):
    if flag in argv and argv.index(flag) + 1 < len(argv):
        return argv[argv.index(flag) + 1]
    raise core.SimError(f"srp: Error: {flag} needs a value", 2)


def srp_main(argv):
    if "-batch" in argv:
        argv = [a for a in argv if a != "-batch"]
    if not argv:
        raise core.SimError("usage: srp -start|-stop|-status|-list|-export|-import ...", 2)
    op = argv[0]
    if op == "-import":
        settings = dict(a.split("=", 1) for a in argv[1:] if "=" in a)
        return import_(option(argv, "-xfile"), settings)
    if len(argv) < 2:
        raise core.SimError(f"srp: Error: {op} needs an SRP name", 2)
    vm = get_srp(argv[1])
    if op == "-start":
        return start(vm)
    if op == "-stop":
        return stop(vm)
    if op == "-status":
        return status(vm, "-v" in argv)
    if op == "-list":
        return list_verbose(vm)
    if op == "-export":
        return export(vm, option(argv, "-xfile"))
    raise core.SimError(f"srp: Error: unknown operation {op}", 2)


def srp_su_main(argv):
    """srp_su NAME USER -c CMD: a login shell in the compartment."""
    if len(argv) < 2:
        raise core.SimError("usage: srp_su <srp> [<user>] [-c <command>]", 2)
    vm = get_srp(argv[0])
    if state_here(vm) != "started" or vm["fail"].get("ssh") == "refuse":
        print(f"srp_su: SRP '{vm['name']}' is not started", file=sys.stderr)
        return 1
    words = argv[argv.index("-c") + 1:] if "-c" in argv else []
    return guest_command(vm, words)
