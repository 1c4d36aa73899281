"""`vcd`: VMware's vcd-cli (VM power operations and info) against one simulated vCloud Director.

Like a cloud, vCloud is shared by every node. VMs are simulators.core records of tech `vcloud`
(name = the VM name, `extra.vapp` = its vApp). A session is per node (vcd keeps it in the user's
profile): `vcd login` on that node first, else `Can't restore session, please login again.`

    vcd [-j|--json] [-n|--no-wait] [--colorized|--no-colorized] COMMAND
    vcd login HOST ORG USER [-p|--password PW] [-v|--vdc VDC] [-i] [-w]
    vcd logout
    vcd vm info VAPP VM                      (pyvcloud vm_to_dict: status `Powered on` / `Powered off`...)
    vcd vm power-on|power-off|shutdown|reboot VAPP VM

Power operations return a task: with `--no-wait` the task as a property table at once (the VM stays
`Powered off` while its power-on task runs, i.e. while the simulated VM boots), else vcd waits for
the task (60 s at most) and prints `task: <id>, <operation>, result: success`. Errors go through
click: `Usage: ...`, `Error: <message>` on stderr, rc 2 (with `-j`: {"error": ...} on stdout, rc 1).
Knobs (vmsim fail): start (power-on) and stop (shutdown) as in simulators.core.
"""

import json
import sys
import time
import uuid
from datetime import datetime, timezone

from simulators import core

TECH = "vcloud"
TASK_WAIT = 60
STATUS = {"off": "Powered off", "booting": "Powered off", "running": "Powered on", "stopping": "Powered on"}
USAGE = {"info": "<vapp-name> <vm-name>", "power-on": "<vapp-name> <vm-name>",
         "power-off": "<vapp-name> <vm-name>", "shutdown": "<vapp-name> <vm-name>",
         "reboot": "<vapp-name> <vm-name>"}
CLEAR = "\x1b[2K\r"            # vcd-cli's stdout() prefix (erases its progress line)


class VcdError(core.SimError):
    pass


def iso(ts) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"


def session_path():
    return core.state_dir() / TECH / f".session-{core.node_name()}"


def tabulate(rows, headers) -> str:
    """tabulate's `simple` format: headers, dashes, columns two spaces apart."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def prop_values(obj: dict) -> str:
    def cell(value):
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items())
        return "" if value is None else value
    return tabulate([[k, cell(v)] for k, v in sorted(obj.items())], ["property", "value"])


def restore_session():
    path = session_path()
    if not path.exists():
        raise VcdError("Can't restore session, please login again.")
    session = json.loads(path.read_text())
    if not session.get("vdc"):
        raise VcdError("select a virtual datacenter")
    return session


def find_vm(vapp, name):
    vms = core.all_vms(TECH)
    in_vapp = [vm for vm in vms if vm["extra"].get("vapp") == vapp]
    if not in_vapp:
        raise VcdError(f"vApp named '{vapp}' not found")
    for vm in in_vapp:
        if vm["name"] == name:
            return vm
    raise VcdError(f"Can't find VM '{name}'")


def vm_urn(vm) -> str:
    return vm["id"] if vm["id"].startswith("urn:") else f"urn:vcloud:vm:{vm['id']}"


def vm_to_dict(vm, vapp) -> dict:
    addr = core.vm_address(vm)
    nic = {"name": "NIC 0", "network": vm["extra"].get("network", "vapp-net"), "mode": "POOL",
           "connected": "true", "mac": "00:50:56:01:00:%02x" % (sum(map(ord, vm["name"])) % 256)}
    if addr:
        nic["ip"] = addr
    return {"name": vm["name"], "id": vm_urn(vm), "deployed": str(vm["state"] != "off").lower(),
            "status": STATUS[vm["state"]], "needs-customization": "false", "computer-name": vm["name"],
            "primary-nic": "nic-0", "nic-0": nic, "vm-tools-version": "12352", "os": "centos8_64Guest",
            "cpu": "2", "cores-per-socket": "1", "memory-MB": "4096",
            "disk-2000": {"name": "Hard disk 1", "size-MB": "16384", "adapter-type": "Paravirtual (SCSI)",
                          "bus": "0", "unit": "0"},
            "vapp": vapp}


def bad_request(vm, what):
    return VcdError(f"Status code: 400/BAD_REQUEST, [ {uuid.uuid4()} ] The requested operation could not be "
                    f"executed since VM \"{vm['name']}\" is not {what}.")


def server_error():
    return VcdError(f"Status code: 500/INTERNAL_SERVER_ERROR, [ {uuid.uuid4()} ] Unable to perform this "
                    f"action. Contact your cloud administrator.")


# operation: (knob, states it applies to, state word if not, operationName, verb, target state)
POWER = {
    "power-on": ("start", ("off",), "powered off", "vappPowerOn", "Powering on", "booting"),
    "shutdown": ("stop", ("running",), "powered on", "vappShutdownGuest", "Shutting down", "stopping"),
    "power-off": ("stop", ("running", "booting", "stopping"), "powered on", "vappPowerOff", "Powering off", "off"),
    "reboot": ("start", ("running",), "powered on", "vappRebootGuest", "Rebooting", "booting"),
}
DONE = {"booting": "running", "stopping": "off", "off": "off"}


def power(op, vm, no_wait):
    knob, allowed, word, op_name, verb, target = POWER[op]
    core.stuck_if(vm, knob)
    if vm["state"] not in allowed:
        raise bad_request(vm, word)
    if core.failing(vm, knob):
        raise server_error()
    core.set_state(vm, target)
    task_id, started = str(uuid.uuid4()), time.time()
    operation = f"{verb} Virtual Machine {vm['name']}({vm_urn(vm).rsplit(':', 1)[-1]})"
    if no_wait:
        task = {"cancelRequested": "false", "expiryTime": iso(started + 30 * 86400),
                "id": f"urn:vcloud:task:{task_id}", "name": "task", "operation": operation,
                "operationName": op_name, "serviceNamespace": "com.vmware.vcloud", "startTime": iso(started),
                "status": "running" if target != "off" else "success"}
        print(CLEAR + prop_values(task))
        return 0

    def finish():
        done = core.load(TECH, vm["id"])
        if done is None or done["state"] != DONE[target]:
            raise VcdError(f"Task {task_id} timed out after {TASK_WAIT} seconds.")
        print(f"{CLEAR}task: {task_id}, {operation}, result: success")
        return 0

    if target == "off":
        return finish()
    needed = vm["boot"] if target == "booting" else vm["shutdown"]
    raise core.After(min(needed, TASK_WAIT), finish)


def parse_globals(argv):
    opts, i = {"json": False, "no_wait": False}, 0
    while i < len(argv) and argv[i].startswith("-"):
        word = argv[i]
        if word in ("-j", "--json"):
            opts["json"] = True
        elif word in ("-n", "--no-wait"):
            opts["no_wait"] = True
        i += 1
    return opts, argv[i:]


def login(args):
    positional, opts, i = [], {}, 0
    while i < len(args):
        if args[i] in ("-p", "--password", "-v", "--vdc", "--session-id"):
            opts[args[i]] = args[i + 1]
            i += 2
            continue
        if not args[i].startswith("-"):
            positional.append(args[i])
        i += 1
    if len(positional) != 3:
        raise VcdError("Missing argument 'HOST ORG USER'.")
    host, org, user = positional
    vdc = opts.get("-v") or opts.get("--vdc") or ""
    path = session_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "org": org, "user": user, "vdc": vdc}))
    print(f"{user} logged in, org: '{org}', vdc: '{vdc}'")
    return 0


def main(argv):
    opts, words = parse_globals(argv)
    command = " ".join(words[:2])
    try:
        if words[:1] == ["login"]:
            return login(words[1:])
        if words[:1] == ["logout"]:
            session_path().unlink(missing_ok=True)
            print("Logged out.")
            return 0
        if words[:1] != ["vm"] or len(words) < 2 or words[1] not in USAGE:
            raise VcdError(f"No such command '{' '.join(words[:2])}'.")
        args = [w for w in words[2:] if not w.startswith("-")]
        if len(args) != 2:
            raise VcdError("Missing argument '<vapp-name>'." if not args else "Missing argument '<vm-name>'.")
        restore_session()
        vm = find_vm(*args)
        if words[1] == "info":
            info = vm_to_dict(vm, args[0])
            print(json.dumps(info, sort_keys=True, indent=4, separators=(",", ": ")) if opts["json"]
                  else CLEAR + prop_values(info))
            return 0
        return power(words[1], vm, opts["no_wait"])
    except VcdError as exc:
        if opts["json"]:
            print(json.dumps({"error": str(exc)}, sort_keys=True, indent=4, separators=(",", ": ")))
            return 1
        usage = USAGE.get(words[1] if len(words) > 1 else "", "")
        print(CLEAR, end="")           # vcd-cli's stderr() clears its progress line on stdout first
        print(f"Usage: vcd {command} [OPTIONS] {usage}".rstrip() + f"\nTry 'vcd {command} -h' for help.\n\n"
              f"Error: {exc}", file=sys.stderr)
        return 2
