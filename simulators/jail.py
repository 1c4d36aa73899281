"""FreeBSD jails: `jail -c`, `jail -r` and `jls` (state: simulators.core, tech `jail`).

The VM record is the jail, named by its host name (`vmsim define jail <hostname>`); `jail -c`
records its jail name, path and addresses:

    jail -c name=N path=P host.hostname=H [ip4.addr=a,b] [ip6.addr=...] command=/bin/sh /etc/rc
    jail -r N|JID
    jls              JID, first address, host name, path of the jails of this node

`jail -c` needs `path` to be a directory (as the real one does). A jail shows in `jls` from the
end of its boot (its /etc/rc ran) until `jail -r` finished removing it.
"""

import os
import zlib

from simulators import core

HEADER = "   JID  IP Address      Hostname                      Path"


def jid(vm) -> int:
    return zlib.crc32(vm["name"].encode()) % 900 + 1


def params(argv) -> tuple[dict, list]:
    """(param=value pairs, the command words: everything from `command=`)."""
    found, command = {}, []
    for i, word in enumerate(argv):
        key, sep, value = word.partition("=")
        if not sep:
            raise core.SimError(f"jail: unknown parameter: {word}", 1)
        if key == "command":
            command = [value, *argv[i + 1:]]
            break
        found[key] = value
    return found, command


def listed(vm) -> bool:
    return core.here(vm) and vm["state"] in ("running", "stopping")


def by_jail_name(key):
    for vm in core.all_vms("jail"):
        if key in (vm["extra"].get("jailname"), str(jid(vm))) and vm["state"] != "off" and core.here(vm):
            return vm
    return None


def create(argv):
    found, command = params(argv)
    for key in ("name", "path", "host.hostname"):
        if key not in found:
            raise core.SimError(f"jail: {key} is required", 1)
    name, path, host = found["name"], found["path"], found["host.hostname"]
    if "." in name:
        raise core.SimError(f'jail: name "{name}": Invalid argument (no "." in a jail name)', 1)
    if not os.path.isdir(path):
        raise core.SimError(f"jail: path {path}: No such file or directory", 1)
    vm = core.find("jail", host)
    if vm is None:
        raise core.SimError(f"jail: {name}: exec /bin/sh: No such file or directory", 1)
    if vm["state"] != "off" and core.here(vm):
        raise core.SimError(f'jail: "{name}" already exists', 1)
    if vm["state"] != "off":
        raise core.SimError(f"jail: {name}: {path} is busy (the jail runs on {vm['node']})", 1)
    core.stuck_if(vm, "start")
    if core.failing(vm, "start"):
        raise core.SimError(f"jail: {name}: command failed: {' '.join(command) or '/bin/sh /etc/rc'}: "
                            f"exited on signal 1", 1)
    vm["extra"].update({"jailname": name, "path": path, "ip4": found.get("ip4.addr", ""),
                        "ip6": found.get("ip6.addr", "")})
    core.set_state(vm, "booting")
    print(f"{name}: created")
    return 0


def remove(key):
    vm = by_jail_name(key)
    if vm is None:
        raise core.SimError(f'jail: "{key}" not found', 1)
    core.stuck_if(vm, "stop")
    if core.failing(vm, "stop"):
        raise core.SimError(f"jail: {key}: /bin/sh /etc/rc.shutdown: failed", 1)
    if vm["state"] != "stopping":
        core.set_state(vm, "stopping")
    print(f"{key}: removed")
    return 0


def jail_main(argv):
    if argv[:1] == ["-c"]:
        return create(argv[1:])
    if argv[:1] == ["-r"] and len(argv) == 2:
        return remove(argv[1])
    raise core.SimError("usage: jail -c param=value ... command=command ... | jail -r jail", 64)


def jls_main(argv):
    print(HEADER)
    for vm in core.all_vms("jail"):
        if listed(vm):
            ip = vm["extra"].get("ip4", "").split(",")[0] or vm["extra"].get("ip6", "").split(",")[0]
            print(f"{jid(vm):6d}  {ip:<15.15s} {vm['name']:<29.29s} {vm['extra'].get('path', '')[:74]}")
    return 0
