"""Solaris zones: `zoneadm`, `zonecfg`, `zlogin` and the global zone's `svcs` (state: simulators.core).

A zone's life on one node: no configuration -> `configured` (zonecfg) -> `installed` (zoneadm attach)
-> `ready` (zoneadm ready) -> `running` (zoneadm boot) -> `shutting_down` (init 0 inside) ->
`installed` -> `configured` (zoneadm detach). The configuration is per node (each global zone has
its own zonecfg); the zone itself (its zonepath, on shared storage) runs on one node at a time.

Kept in the VM record: the core run state (booting shows as `ready`, running as `running`,
stopping as `shutting_down`), and `extra.zstate[<node>]` = `configured | installed | ready | absent`
for the node's view when the zone does not run there. A node without an entry sees the zone
`installed` (attached) when it is the VM's node (`vmsim define zone z --node n1`), else `configured`
(a zone `zonecfg -f` created exists on its node only).

Failure knobs (`vmsim fail zone <name> ...`), beyond the core's start=/stop=:
    attach=fail      a plain `zoneadm attach` fails (package mismatch); `attach -F` works
    milestone=hang   svc:/milestone/multi-user:default never comes online inside the zone
    ssh=refuse       the zone does not accept zlogin (its console service is dead)
"""

import sys
import time
import zlib

from simulators import core
from simulators.guest import guest_command

MULTI_USER = "svc:/milestone/multi-user:default"
RUNNING_VIEW = {"booting": "ready", "running": "running", "stopping": "shutting_down"}


def zone_id(vm) -> int:
    """A stable zone id for a zone with a live kernel context (ready or running)."""
    return zlib.crc32(vm["name"].encode()) % 200 + 1


def zonepath(vm) -> str:
    return vm["extra"].get("zonepath") or f"/zones/{vm['name']}"


def node_state(vm, node=None) -> str | None:
    """The zone's state as `node` sees it (None: no such zone configured there)."""
    node = node or core.node_name()
    if vm["node"] == node and vm["state"] != "off":
        return RUNNING_VIEW[vm["state"]]
    default = "installed" if vm["node"] == node else vm["extra"].get("elsewhere", "configured")
    state = vm["extra"].get("zstate", {}).get(node, default)
    return None if state == "absent" else state


def set_node_state(vm, state) -> None:
    vm["extra"].setdefault("zstate", {})[core.node_name()] = state
    core.save(vm)


def get_zone(name, prog="zoneadm"):
    """The zone record, or the real CLI's error when this node has no such zone."""
    vm = core.find("zone", name)
    if vm is None or node_state(vm) is None:
        raise core.SimError(f"{prog}: {name}: No such zone configured" if prog == "zoneadm"
                            else f"{name}: No such zone configured")
    return vm


def list_line(vm, parsable) -> str:
    state = node_state(vm)
    zid = str(zone_id(vm)) if state in ("ready", "running", "shutting_down") else "-"
    brand, iptype = vm["extra"].get("brand", "native"), vm["extra"].get("ip-type", "shared")
    uuid = vm["extra"].get("uuid", "")
    if parsable:
        return ":".join([zid, vm["name"], state, zonepath(vm), uuid, brand, iptype])
    return f"{zid:>4} {vm['name']:<16} {state:<10} {zonepath(vm):<30} {brand:<8} {iptype:<6}"


# --- zoneadm -------------------------------------------------------------------------------------
def zoneadm_main(argv):
    name = None
    if argv[:1] == ["-z"] and len(argv) >= 2:
        name, argv = argv[1], argv[2:]
    if not argv:
        raise core.SimError("usage: zoneadm [-z <zone>] <subcommand> [options]", 253)
    sub, opts = argv[0], argv[1:]
    if sub == "list":
        return zoneadm_list(name, opts)
    if name is None:
        raise core.SimError(f"zoneadm: {sub}: a zone name is required (-z <zone>)", 253)
    vm = get_zone(name)
    action = ZONEADM.get(sub)
    if action is None:
        raise core.SimError(f"zoneadm: {sub}: unknown subcommand", 253)
    return action(vm, opts)


def zoneadm_list(name, opts):
    flags = "".join(o.lstrip("-") for o in opts)
    parsable, verbose = "p" in flags, "v" in flags
    if name is not None:
        vms = [get_zone(name)]
    else:
        every = "c" in flags or "i" in flags
        vms = [vm for vm in core.all_vms("zone") if node_state(vm) is not None]
        if not every:
            vms = [vm for vm in vms if node_state(vm) == "running"]
        else:
            vms = [vm for vm in vms if "c" in flags or node_state(vm) != "configured"]
    if verbose and not parsable:
        print(f"{'ID':>4} {'NAME':<16} {'STATUS':<10} {'PATH':<30} {'BRAND':<8} {'IP':<6}")
        print(f"{'0':>4} {'global':<16} {'running':<10} {'/':<30} {'native':<8} {'shared':<6}")
    elif name is None:
        print("0:global:running:/::native:shared" if parsable else "global")
    for vm in vms:
        print(list_line(vm, parsable) if (parsable or verbose) else vm["name"])
    return 0


def must_be(vm, states, what):
    state = node_state(vm)
    if state not in states:
        raise core.SimError(f"zoneadm: zone '{vm['name']}': must be {' or '.join(states)} before {what}.")
    return state


def attach(vm, opts):
    must_be(vm, ("configured",), "attach")
    if core.failing(vm, "attach") and "-F" not in opts:
        print(f"zoneadm: zone '{vm['name']}': ERROR: attach failed: the zone's packages do not match "
              f"the global zone (use -F to force)", file=sys.stderr)
        return 1
    print(f"Attaching zone {vm['name']} ...")
    set_node_state(vm, "installed")
    return 0


def detach(vm, opts):
    must_be(vm, ("installed",), "detach")
    set_node_state(vm, "configured")
    return 0


def ready(vm, opts):
    if must_be(vm, ("installed", "ready"), "ready") == "installed":
        set_node_state(vm, "ready")
    return 0


def boot(vm, opts):
    if vm["state"] != "off" and vm["node"] != core.node_name():
        raise core.SimError(f"zoneadm: zone '{vm['name']}': must be installed before boot.")
    if node_state(vm) == "running":
        raise core.SimError(f"zoneadm: zone '{vm['name']}': zone is already running.")
    must_be(vm, ("installed", "ready"), "boot")
    core.stuck_if(vm, "start")
    if core.failing(vm, "start"):
        raise core.SimError(f"zoneadm: zone '{vm['name']}': call to zoneadmd failed")
    vm["extra"].setdefault("zstate", {})[core.node_name()] = "installed"   # where a halt leaves it
    core.set_state(vm, "booting")
    return 0


def halt(vm, opts):
    """Tear the zone down at once, whatever runs in it (booting, running, shutting down, or ready)."""
    if core.here(vm):
        vm["extra"].setdefault("zstate", {})[core.node_name()] = "installed"
        core.set_state(vm, "off")
        return 0
    if node_state(vm) == "ready":
        set_node_state(vm, "installed")
        return 0
    raise core.SimError(f"zoneadm: zone '{vm['name']}': must be ready or running before halt.")


def shutdown(vm, opts):
    must_be(vm, ("running",), "shutdown")
    return init0(vm)


ZONEADM = {"attach": attach, "detach": detach, "ready": ready, "boot": boot, "halt": halt,
           "shutdown": shutdown}


# --- zonecfg -------------------------------------------------------------------------------------
def export_text(vm) -> str:
    autoboot = "true" if vm.get("autoboot") else "false"
    return (f"create -b\nset zonepath={zonepath(vm)}\nset brand={vm['extra'].get('brand', 'native')}\n"
            f"set autoboot={autoboot}\nset ip-type={vm['extra'].get('ip-type', 'shared')}\n")


def zonecfg_main(argv):
    if argv[:1] != ["-z"] or len(argv) < 3:
        raise core.SimError("usage: zonecfg -z <zone> [-f <command file> | <subcommand>]", 253)
    name, rest = argv[1], argv[2:]
    if rest[0] == "-f" and len(rest) == 2:
        return zonecfg_file(name, rest[1])
    vm = get_zone(name, prog="zonecfg")
    sub = rest[0]
    if sub == "export":
        text = export_text(vm)
        if rest[1:2] == ["-f"] and len(rest) == 3:
            with open(rest[2], "w") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
        return 0
    if sub == "info":
        if rest[1:] == ["zonepath"]:
            print(f"zonepath: {zonepath(vm)}")
        else:
            print(f"zonename: {vm['name']}\nzonepath: {zonepath(vm)}\nautoboot: "
                  f"{'true' if vm.get('autoboot') else 'false'}")
        return 0
    if sub == "delete":
        if "-F" not in rest[1:]:
            raise core.SimError(f"zonecfg: delete needs -F when not interactive", 253)
        state = node_state(vm)
        if state != "configured":
            raise core.SimError(f"Zone {name} is in the {state} state; detach it first.")
        set_node_state(vm, "absent")
        return 0
    raise core.SimError(f"zonecfg: {sub}: unknown subcommand", 253)


def zonecfg_file(name, path):
    """Configure the zone from a command file (what `zonecfg export` wrote)."""
    try:
        text = open(path).read()
    except OSError as exc:
        raise core.SimError(f"zonecfg: {path}: {exc.strerror}")
    settings = {}
    for line in text.splitlines():
        words = line.split(None, 1)
        if len(words) == 2 and words[0] == "set" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            settings[key.strip()] = value.strip()
    vm = core.find("zone", name)
    created = vm is None
    if created:     # configured on this node only
        vm = core.new_vm("zone", name, name, extra={"elsewhere": "absent"})
    if "zonepath" in settings:
        vm["extra"]["zonepath"] = settings["zonepath"]
    for key in ("brand", "ip-type"):
        if key in settings:
            vm["extra"][key] = settings[key]
    if "autoboot" in settings:
        vm["autoboot"] = settings["autoboot"] == "true"
    if created or node_state(vm) is None:
        vm["extra"].setdefault("zstate", {})[core.node_name()] = "configured"
    core.save(vm)
    return 0


# --- inside the zone -------------------------------------------------------------------------------
def init0(vm):
    core.stuck_if(vm, "stop")
    if core.failing(vm, "stop"):
        raise core.SimError("init: cannot change run level: Resource temporarily unavailable")
    vm["extra"].setdefault("zstate", {})[core.node_name()] = "installed"
    core.set_state(vm, "stopping")
    return 0


def milestone_state(vm) -> str:
    """multi-user comes online a little after the zone's init starts (a quarter of its boot time)."""
    if vm["fail"].get("milestone") == "hang" or vm["state"] != "running":
        return "offline*"
    return "online" if time.time() - vm["since"] >= vm["boot"] / 4 else "offline*"


def svcs_state(words, milestone) -> int:
    """`svcs -H -o state <fmri>`: the state column of one service instance."""
    fmris = [w for w in words[1:] if not w.startswith("-") and w not in ("state",)]
    for fmri in fmris or [MULTI_USER]:
        print(milestone if fmri == MULTI_USER else "online")
    return 0


def zlogin_main(argv):
    opts = []
    while argv and argv[0].startswith("-"):
        opts.append(argv.pop(0))
    if not argv:
        raise core.SimError("usage: zlogin [-CES] [-e c] [-l user] zonename [command [argument ...]]", 2)
    name, words = argv[0], argv[1:]
    vm = get_zone(name, prog="zlogin")
    state = node_state(vm)
    if state != "running":
        raise core.SimError(f"zlogin: login allowed only to running zones ({name} is '{state}').")
    if vm["fail"].get("ssh") == "refuse":
        raise core.SimError(f"zlogin: could not connect to {name}'s zoneadmd: Connection refused")
    cmd = " ".join(words).split()
    if cmd in (["/sbin/init", "0"], ["init", "0"], ["/usr/sbin/init", "0"]):
        return init0(vm)
    if cmd and cmd[0].rpartition("/")[2] == "svcs":
        return svcs_state(cmd, milestone_state(vm))
    if cmd == ["pwd"]:
        print("/")
        return 0
    return guest_command(vm, words)


def svcs_main(argv):
    """The global zone's svcs: every service online (the host runs)."""
    return svcs_state(["svcs", *argv], "online")
