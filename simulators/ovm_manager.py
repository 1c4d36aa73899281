"""The Oracle VM 2 manager's CLI (`ovm`) and the OVM servers' agent init script (`ovs-agent`).

    ovm -u USER -p PASSWORD [-S SEP] svr ls
        Server_Name;Server_Host;Status;Server_Pool lines (SEP between fields; columns without -S)
    ovm ... vm conf -n VM -s POOL -e|-d       enable / disable the manager's HA for VM
    ovm ... vm info -n VM -s POOL             `key: value` lines, HA as the 2.x CLI spells it:
                                              `Hign Availability: Enabled|Disabled`
    ovs-agent status|start|stop               `ok! process <daemon> exists.` per agent daemon

The manager is one host for every simulated node: its accounts, servers (node -> pool) and VMs
(name -> pool, HA flag) live in <state>/ovm_manager.json, written by configure(). A VM the manager
was not told about is still found when an ovm VM of that name exists in the simulation (pool: the
pool of the node it was defined on), as a manager discovers the guests of its servers. A wrong
password gets the CLI's authentication error (rc 1). The agent's daemons: simulators.hosts
`ovs_agent_down` (or `ovs-agent stop`).
"""

import json
import sys

from simulators import core, hosts

DAEMONS = ("OVSAgentServer", "OVSMonitorServer", "OVSLogServer", "OVSPolicyServer", "OVSRemasterServer",
           "OVSStatServer")
AUTH_FAILED = "Error: Authentication failed. Invalid username or password."


def _path():
    return core.state_dir() / "ovm_manager.json"


def load() -> dict:
    path = _path()
    data = json.loads(path.read_text()) if path.exists() else {}
    for key in ("users", "servers", "vms"):
        data.setdefault(key, {})
    return data


def save(data) -> None:
    _path().write_text(json.dumps(data, indent=1, sort_keys=True))


def configure(users=None, servers=None, vms=None) -> dict:
    """Set up the manager: users {name: password}, servers {node: pool}, vms {name: pool}."""
    data = load()
    data["users"].update(users or {})
    data["servers"].update(servers or {})
    for name, pool in (vms or {}).items():
        data["vms"].setdefault(name, {"ha": False})["pool"] = pool
    save(data)
    return data


class Usage(core.SimError):
    def __init__(self, text):
        super().__init__(f"Error: {text}\nUsage: ovm -u <username> -p <password> [-S <separator>] "
                         "<object> <action> [options]", 2)


def _options(argv):
    """(-u, -p, -S values, remaining words): short options with attached or separate values."""
    opts, words, i = {}, [], 0
    while i < len(argv):
        word = argv[i]
        if len(word) >= 2 and word[0] == "-" and word[1] in "upS" and not words:
            if len(word) > 2:
                opts[word[1]] = word[2:]
            elif i + 1 < len(argv):
                i += 1
                opts[word[1]] = argv[i]
            else:
                raise Usage(f"option {word} requires a value")
        else:
            words.append(word)
        i += 1
    return opts, words


def _flags(words):
    """VM command options: -n NAME -s POOL -e -d."""
    flags, i = {}, 0
    while i < len(words):
        if words[i] in ("-n", "-s") and i + 1 < len(words):
            flags[words[i]] = words[i + 1]
            i += 2
        else:
            flags[words[i]] = True
            i += 1
    return flags


def _vm(data, name, pool):
    vm = data["vms"].get(name)
    if vm is None:
        for record in core.all_vms("ovm"):
            if record["name"] == name and data["servers"].get(record["node"]):
                vm = data["vms"][name] = {"pool": data["servers"][record["node"]], "ha": False}
                break
    if vm is None or vm.get("pool") != pool:
        print(f'Error: Virtual machine "{name}" not found in server pool "{pool}".')
        return None
    return vm


def _print_rows(rows, sep):
    if sep is not None:
        for row in rows:
            print(sep.join(row))
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(f"{v:<{w}}" for v, w in zip(row, widths)).rstrip())


def ovm_main(argv):
    opts, words = _options(argv)
    if "u" not in opts or "p" not in opts:
        raise Usage("username and password are required (-u, -p)")
    data = load()
    if data["users"].get(opts["u"]) != opts["p"]:
        print(AUTH_FAILED)
        return 1
    sep = opts.get("S")
    if words[:2] == ["svr", "ls"]:
        rows = [("Server_Name", "Server_Host", "Status", "Server_Pool")]
        rows += [(node, node, "Active", pool) for node, pool in sorted(data["servers"].items())]
        _print_rows(rows, sep)
        return 0
    if words[:2] in (["vm", "conf"], ["vm", "info"]):
        flags = _flags(words[2:])
        if "-n" not in flags or "-s" not in flags:
            raise Usage(f"'vm {words[1]}' requires -n <vm name> and -s <server pool>")
        vm = _vm(data, flags["-n"], flags["-s"])
        if vm is None:
            return 1
        if words[1] == "conf":
            if flags.get("-e") == flags.get("-d"):
                raise Usage("'vm conf' takes one of -e (enable HA) or -d (disable HA)")
            vm["ha"] = bool(flags.get("-e"))
            save(data)
            print(f'Virtual machine "{flags["-n"]}" configured: High Availability '
                  f'{"enabled" if vm["ha"] else "disabled"}.')
            return 0
        record = next((r for r in core.all_vms("ovm") if r["name"] == flags["-n"]), None)
        running = record is not None and record["state"] in ("running", "stopping")
        for key, value in (("Name", flags["-n"]), ("Server Pool", flags["-s"]),
                           ("Server", record["node"] if running else ""),
                           ("Status", "Running" if running else "Powered Off"),
                           ("Hign Availability", "Enabled" if vm["ha"] else "Disabled")):
            print(f"{key}: {value}")
        return 0
    raise Usage(f"unknown command '{' '.join(words[:2])}'")


def agent_main(argv):
    """/etc/init.d/ovs-agent: status lists the agent daemons; stop/start flip them all."""
    verb = argv[0] if argv else ""
    if verb == "stop":
        hosts.set_host(ovs_agent_down=list(DAEMONS))
        print("Stopping OVS Agent:                                        [  OK  ]")
        return 0
    if verb == "start":
        hosts.set_host(ovs_agent_down=[])
        print("Starting OVS Agent:                                        [  OK  ]")
        return 0
    if verb != "status":
        print("Usage: /etc/init.d/ovs-agent {start|stop|status|restart}", file=sys.stderr)
        return 2
    down = set(hosts.host()["ovs_agent_down"])
    for daemon in DAEMONS:
        print(f"failed! process {daemon} not exists." if daemon in down else f"ok! process {daemon} exists.")
    return 3 if down else 0
